// The fixed-point arithmetic rules: namespace bbs::fixed_rules holds every rule on the raw
// integers of bbs::fixed16<F> and bbs::fixed8<Fw, Fx> (core/fixed_point.hpp): rounding,
// saturation, wrap-around accumulation, requantization, alpha / beta, as small constexpr
// functions. CPU backends and the FPGA kernel call the same functions, so they cannot disagree.
// This file uses only <cstdint> and C++14 constexpr, so an HLS kernel includes it as it is.
//
// The semantics (docs/VALUE_TYPES.md has the long form):
//   float -> fixed   round to nearest, ties away from zero, then saturate to [-32768, 32767]
//                    ([-128, 127] for fixed8); NaN is an error (value_error) in every converting
//                    function.
//   products         int16 * int16 is exact in int32 (|p| <= 2^30), int8 * int16 too (<= 2^22).
//   accumulation     int32 with two's-complement wrap-around (done in uint32, no signed
//                    overflow). Addition mod 2^32 is associative, so any summation order gives
//                    the same bits; the result is the exact sum whenever the exact sum itself
//                    lies in [-2^31, 2^31) (intermediate overflow is harmless).
//   requantize       Q(Fw + Fx) int32 -> Q(Fx) int16, a shift by the weights' fraction bits Fw
//                    (F for fixed16, whose sums are Q(2F)): round half up
//                    (floor(acc / 2^Fw + 1/2)), saturate.
//   alpha, beta      floats, each rounded once to Q15.16 (an int32, |value| < 2^15); the result
//                    sat(round_half_up((acc * alpha + y * beta * 2^Fw) / 2^(Fw+16))) is computed
//                    exactly in int64. alpha = 1 is exactly requantize, beta = 1 adds y before
//                    the one final saturation, beta = 0 never reads y.
#pragma once

#include <cstdint>

namespace bbs {
namespace fixed_rules {

constexpr std::int32_t raw_min = -32768;
constexpr std::int32_t raw_max = 32767;
/// The int8 range of fixed8 weights.
constexpr std::int32_t raw8_min = -128;
constexpr std::int32_t raw8_max = 127;
/// alpha and beta are Q15.16: one unit of the scale is 2^16.
constexpr int scale_frac_bits = 16;
constexpr std::int64_t scale_one = std::int64_t(1) << scale_frac_bits;

/// floor(v / 2^shift) for any int64 v, 0 <= shift <= 62, without right-shifting a negative
/// number (implementation-defined before C++20): ~v is -v - 1 >= 0 when v < 0.
constexpr std::int64_t floor_shift(std::int64_t v, int shift) { return v >= 0 ? v >> shift : ~((~v) >> shift); }

/// Clamps to the int16 range.
constexpr std::int16_t saturate(std::int64_t v) {
  return static_cast<std::int16_t>(v > raw_max ? raw_max : (v < raw_min ? raw_min : v));
}

/// Whether saturate(v) changes v.
constexpr bool saturates(std::int64_t v) { return v > raw_max || v < raw_min; }

/// round(v) with ties away from zero, for |v| < 2^52 (callers saturate before calling).
/// v - trunc(v) is exact in double, so the tie test is exact.
constexpr std::int64_t round_half_away(double v) {
  const auto t = static_cast<std::int64_t>(v);  // truncates toward zero
  const double frac = v - static_cast<double>(t);
  return frac >= 0.5 ? t + 1 : (frac <= -0.5 ? t - 1 : t);
}

/// Whether v * 2^frac_bits, rounded to nearest, lies outside [lo, hi].
constexpr bool rounds_outside(double v, int frac_bits, std::int32_t lo, std::int32_t hi) {
  const double scaled = v * static_cast<double>(std::int64_t(1) << frac_bits);
  return scaled >= static_cast<double>(hi) + 0.5 || scaled <= static_cast<double>(lo) - 0.5;
}

/// v * 2^frac_bits rounded to nearest (ties away from zero) and saturated to [lo, hi]. v must not
/// be NaN (the typed wrappers throw value_error); infinities saturate. Multiplying by a power
/// of two is exact, so the result is the correctly rounded raw value of v.
constexpr std::int32_t quantize_to(double v, int frac_bits, std::int32_t lo, std::int32_t hi) {
  const double scaled = v * static_cast<double>(std::int64_t(1) << frac_bits);
  if (scaled >= static_cast<double>(hi) + 0.5) return hi;
  if (scaled <= static_cast<double>(lo) - 0.5) return lo;
  return static_cast<std::int32_t>(round_half_away(scaled));
}

/// quantize_to the int16 range: the raw value of a fixed16.
constexpr std::int16_t quantize(double v, int frac_bits) {
  return static_cast<std::int16_t>(quantize_to(v, frac_bits, raw_min, raw_max));
}

/// Whether quantize(v, frac_bits) saturates: the rounded value lies outside [-32768, 32767].
constexpr bool quantize_saturates(double v, int frac_bits) { return rounds_outside(v, frac_bits, raw_min, raw_max); }

/// quantize_to the int8 range: the raw value of a fixed8 weight.
constexpr std::int8_t quantize8(double v, int frac_bits) {
  return static_cast<std::int8_t>(quantize_to(v, frac_bits, raw8_min, raw8_max));
}

/// Whether quantize8(v, frac_bits) saturates: the rounded value lies outside [-128, 127].
constexpr bool quantize8_saturates(double v, int frac_bits) { return rounds_outside(v, frac_bits, raw8_min, raw8_max); }

/// The real value of a raw integer with F fraction bits (exact in float and double).
constexpr double dequantize(std::int32_t raw, int frac_bits) {
  return static_cast<double>(raw) / static_cast<double>(std::int64_t(1) << frac_bits);
}

/// The int32 accumulator as the unsigned sum it is computed in: wrap-around without UB.
using accumulator = std::uint32_t;

/// acc + a * x mod 2^32 (an int8 weight converts to int16 exactly). The product is exact in
/// int32; its conversion to uint32 and the unsigned addition are defined modulo 2^32.
constexpr accumulator multiply_add(accumulator acc, std::int16_t a, std::int16_t x) {
  return acc + static_cast<accumulator>(static_cast<std::int32_t>(a) * static_cast<std::int32_t>(x));
}

/// The two's-complement int32 an accumulator holds (portable: no implementation-defined cast).
constexpr std::int32_t to_signed(accumulator acc) {
  return acc <= 0x7FFFFFFFu ? static_cast<std::int32_t>(acc) : -static_cast<std::int32_t>(~acc) - 1;
}

/// Drops frac_bits fraction bits of a sum (the weights' F: Q(2F) -> Q(F) for fixed16, Q(Fw + Fx)
/// -> Q(Fx) for fixed8): round half up, floor(acc / 2^F + 1/2) = (acc >> F) + bit F-1 of acc,
/// then saturate to int16. F = 0 is the identity before saturation.
constexpr std::int16_t requantize(std::int32_t acc, int frac_bits) {
  return frac_bits == 0 ? saturate(acc) : saturate(floor_shift(acc, frac_bits) + (floor_shift(acc, frac_bits - 1) & 1));
}

/// Whether a float alpha or beta can be used: finite and |v| * 2^16 rounds below 2^31.
constexpr bool scale_in_range(double v) { return v == v && v < 32767.99999 && v > -32767.99999; }

/// A float alpha or beta as Q15.16 (round to nearest, ties away from zero). Requires
/// scale_in_range(v); the typed wrapper throws value_error otherwise.
constexpr std::int32_t quantize_scale(double v) {
  return static_cast<std::int32_t>(round_half_away(v * static_cast<double>(scale_one)));
}

/// y = alpha * A x + beta * y for one output: acc is the dot product with frac_bits more fraction
/// bits than y (the weights' F, as in requantize), alpha_q and beta_q are Q15.16, y the current
/// int16 output (ignored when beta_q == 0). Exact in int64: |acc * alpha_q| <= 2^62 and
/// |y * beta_q * 2^F| <= 2^61. Rounds half up once, saturates once.
constexpr std::int16_t scale_and_add(std::int32_t acc, std::int32_t alpha_q, std::int32_t beta_q, std::int16_t y,
                                     int frac_bits) {
  const std::int64_t scaled =
      static_cast<std::int64_t>(acc) * alpha_q +
      (beta_q == 0 ? 0 : static_cast<std::int64_t>(y) * beta_q * (std::int64_t(1) << frac_bits));
  const int shift = frac_bits + scale_frac_bits;
  return saturate(floor_shift(scaled, shift) + (floor_shift(scaled, shift - 1) & 1));
}

/// y + r for two raw values with one saturation: what beta = 1, alpha = 1 gives on top of requantize.
constexpr std::int16_t saturating_add(std::int32_t a, std::int32_t b) {
  return saturate(static_cast<std::int64_t>(a) + b);
}

}  // namespace fixed_rules
}  // namespace bbs

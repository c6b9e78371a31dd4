// Fixed point: bbs::fixed16<F>, the paper's 16-bit weight and activation format (an int16 in
// Q(15-F).F), and bbs::fixed8<Fw, Fx>, int8 weights in Q(7-Fw).Fw that multiply fixed16<Fx>
// activations. Namespace bbs::fixed_rules holds every arithmetic rule on them (rounding,
// saturation, wrap-around accumulation, requantization, alpha / beta) as small constexpr
// functions. CPU backends and the future FPGA kernel call the same functions, so they cannot
// disagree. The rules use only <cstdint> and C++14 constexpr: an HLS kernel may include this
// file with BBS_FIXED_RULES_ONLY defined to get namespace fixed_rules alone.
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

#if !defined(BBS_UMBRELLA_INCLUDED) && !defined(BBS_FIXED_RULES_ONLY)
#error "Internal bbs header: include <bbs/bbs.hpp> instead."
#endif

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
  return frac_bits == 0 ? saturate(acc)
                        : saturate(floor_shift(acc, frac_bits) + (floor_shift(acc, frac_bits - 1) & 1));
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
  const std::int64_t scaled = static_cast<std::int64_t>(acc) * alpha_q +
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

#ifndef BBS_FIXED_RULES_ONLY

#include <cmath>
#include <limits>
#include <ostream>
#include <type_traits>

namespace bbs {
namespace detail {

/// A type name such as "fixed16<12>" or "fixed8<7,12>" as a constant (value_traits::name).
struct fixed_type_name {
  char text[16] = {};
};

constexpr fixed_type_name make_fixed_type_name(int bits, int frac_bits, int activation_frac_bits) {
  fixed_type_name n;
  int i = 0;
  for (const char c : {'f', 'i', 'x', 'e', 'd'}) n.text[i++] = c;
  if (bits >= 10) n.text[i++] = static_cast<char>('0' + bits / 10);
  n.text[i++] = static_cast<char>('0' + bits % 10);
  n.text[i++] = '<';
  for (const int f : {frac_bits, activation_frac_bits}) {
    if (f < 0) continue;
    if (n.text[i - 1] != '<') n.text[i++] = ',';
    if (f >= 10) n.text[i++] = static_cast<char>('0' + f / 10);
    n.text[i++] = static_cast<char>('0' + f % 10);
  }
  n.text[i] = '>';
  return n;
}

/// What fixed16 and fixed8 share: a raw integer of type Raw standing for raw / 2^FracBits, the
/// conversions, comparisons and printing. No arithmetic operators: the kernels use fixed_rules on
/// raw values, and a type without operator+ cannot silently mix rounding rules.
template <typename Derived, typename Raw, int FracBits>
class fixed_number {
 public:
  using raw_type = Raw;
  static constexpr int frac_bits = FracBits;
  /// Value of one raw step, 2^-F.
  static constexpr double resolution = 1.0 / static_cast<double>(std::int64_t(1) << FracBits);

  static constexpr Derived from_raw(Raw raw) {
    Derived f;
    static_cast<fixed_number&>(f).raw_ = raw;
    return f;
  }
  constexpr Raw raw() const { return raw_; }

  constexpr explicit operator double() const { return fixed_rules::dequantize(raw_, FracBits); }
  /// Exact: 16 significant bits fit float's 24.
  constexpr explicit operator float() const { return static_cast<float>(fixed_rules::dequantize(raw_, FracBits)); }

  static constexpr Derived max() { return from_raw(std::numeric_limits<Raw>::max()); }
  static constexpr Derived lowest() { return from_raw(std::numeric_limits<Raw>::min()); }

  friend constexpr bool operator==(Derived a, Derived b) { return a.raw() == b.raw(); }
  friend constexpr bool operator!=(Derived a, Derived b) { return a.raw() != b.raw(); }
  friend constexpr bool operator<(Derived a, Derived b) { return a.raw() < b.raw(); }

  /// Prints the value and the raw integer, e.g. "1.5 (raw 6144)".
  friend std::ostream& operator<<(std::ostream& os, Derived f) {
    return os << static_cast<double>(f) << " (raw " << static_cast<int>(f.raw()) << ")";
  }

 protected:
  /// v rounded to nearest (ties away from zero) and saturated to Raw; value_error on NaN.
  static constexpr Raw convert(double v, const char* type_name) {
    if (v != v) throw_error<value_error>(type_name, ": cannot convert NaN to fixed point");
    return static_cast<Raw>(fixed_rules::quantize_to(v, FracBits, std::numeric_limits<Raw>::min(),
                                                     std::numeric_limits<Raw>::max()));
  }

  Raw raw_ = 0;
};

}  // namespace detail

/// A 16-bit fixed-point number in Q(15-FracBits).FracBits: value = raw() / 2^FracBits, raw an
/// int16. fixed16<12> is Q3.12, range [-8, 8 - 2^-12], step 2^-12. Weights and activations of the
/// paper's format. Conversions are explicit.
template <int FracBits>
class fixed16 : public detail::fixed_number<fixed16<FracBits>, std::int16_t, FracBits> {
  static_assert(FracBits >= 0 && FracBits <= 15, "fixed16<F>: F (fraction bits) must be 0..15");

 public:
  static constexpr detail::fixed_type_name name = detail::make_fixed_type_name(16, FracBits, -1);

  /// Zero.
  constexpr fixed16() = default;

  /// Converts any arithmetic value: rounded to nearest (ties away from zero) and saturated, as
  /// fixed_rules::quantize. Throws value_error on NaN.
  template <typename A, typename = std::enable_if_t<std::is_arithmetic<A>::value>>
  constexpr explicit fixed16(A v) {
    this->raw_ = this->convert(static_cast<double>(v), name.text);
  }
};

/// An 8-bit fixed-point weight in Q(7-WeightFracBits).WeightFracBits (value = raw() / 2^Fw, raw an
/// int8) that multiplies fixed16<ActivationFracBits> activations: x and y are fixed16<Fx>, sums
/// are int32 in Q(Fw + Fx), and each output drops Fw bits (fixed_rules::scale_and_add). fixed8<7,
/// 12> holds weights in [-1, 1 - 2^-7] against Q3.12 activations. One byte per weight: with its
/// one-byte index, two bytes per stored entry against fixed16's three and float's five.
template <int WeightFracBits, int ActivationFracBits>
class fixed8 : public detail::fixed_number<fixed8<WeightFracBits, ActivationFracBits>, std::int8_t, WeightFracBits> {
  static_assert(WeightFracBits >= 0 && WeightFracBits <= 7, "fixed8<Fw, Fx>: Fw (weight fraction bits) must be 0..7");
  static_assert(ActivationFracBits >= 0 && ActivationFracBits <= 15,
                "fixed8<Fw, Fx>: Fx (activation fraction bits) must be 0..15");

 public:
  static constexpr detail::fixed_type_name name = detail::make_fixed_type_name(8, WeightFracBits, ActivationFracBits);
  /// The activations' format.
  using activation = fixed16<ActivationFracBits>;

  /// Zero.
  constexpr fixed8() = default;

  /// Converts any arithmetic value: rounded to nearest (ties away from zero) and saturated to
  /// [-128, 127] raw, as fixed_rules::quantize8. Throws value_error on NaN.
  template <typename A, typename = std::enable_if_t<std::is_arithmetic<A>::value>>
  constexpr explicit fixed8(A v) {
    this->raw_ = this->convert(static_cast<double>(v), name.text);
  }
};

template <typename T>
struct is_fixed16 : std::false_type {};
template <int F>
struct is_fixed16<fixed16<F>> : std::true_type {};

template <typename T>
struct is_fixed8 : std::false_type {};
template <int Fw, int Fx>
struct is_fixed8<fixed8<Fw, Fx>> : std::true_type {};

/// fixed16 or fixed8: integer weights, int32 wrap-around sums, fixed16 activations.
template <typename T>
struct is_fixed_point : std::integral_constant<bool, is_fixed16<T>::value || is_fixed8<T>::value> {};

namespace detail {

/// alpha or beta of a fixed-point kernel as Q15.16; throws value_error for NaN, infinity or
/// |v| >= 32768 (a scale that cannot be represented is refused, not saturated).
inline std::int32_t fixed_scale(double v, const char* what) {
  if (!fixed_rules::scale_in_range(v)) {
    throw_error<value_error>("fixed-point kernel: ", what, " = ", v,
                             " cannot be used; alpha and beta must be finite with |value| < 32768 (Q15.16)");
  }
  return fixed_rules::quantize_scale(v);
}

}  // namespace detail
}  // namespace bbs

#endif  // BBS_FIXED_RULES_ONLY

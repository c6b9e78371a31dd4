// Sigmoid and tanh on 16-bit fixed point without floating point at run time: a table of the
// function at steps of 1/64 on [0, 16] (Q20 entries), linear interpolation between entries in
// int64, one rounding to Q(F), and the symmetries sigmoid(-x) = 1 - sigmoid(x),
// tanh(-x) = -tanh(x). What an FPGA would do with a small ROM and one multiplier.
//
// The rule lives in core because it is arithmetic, like fixed_rules: layers, every backend's
// vectorised version (backend/<name>/activation.hpp) and the FPGA datapath follow it bit for bit.
//
// Error against the exact function (docs/NN.md has the measured values): interpolation at most
// h^2 / 8 * max|f''| (h = 1/64: sigmoid 2.9e-6, tanh 2.4e-5), table rounding 2^-21, the final
// rounding half a step 2^-(F+1); past |x| = 16 the endpoint value, off by at most 1.2e-7.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>

#include "bbs/core/config.hpp"
#include "bbs/core/fixed_point.hpp"

namespace bbs {

/// Upper bound on |approximation - exact| of fixed_sigmoid / fixed_tanh for fixed16<F>: half a
/// step of the output plus the table's own error (interpolation and Q20 rounding, < 2.5e-5).
/// The test of this file checks every one of the 65536 inputs against it.
template <int F>
constexpr double fixed_activation_error_bound() {
  return fixed16<F>::resolution / 2 + 2.5e-5;
}

namespace detail {

/// f(i / 64) for i = 0..1024 in Q20: covers [0, 16].
struct ActivationTable {
  static constexpr int steps_per_unit_log2 = 6;
  static constexpr int entries = 16 * 64 + 1;
  static constexpr int value_frac_bits = 20;
  std::array<std::int64_t, entries> q20{};
  /// Entry i in the low 32 bits and entry i + 1 in the high 32 (each is at most 2^20), for
  /// i < entries - 1: both ends of an interpolation segment in one 64-bit vector gather.
  std::array<std::int64_t, entries - 1> segments{};
};

template <typename Function>
ActivationTable make_activation_table(Function&& f) {
  ActivationTable t;
  for (int i = 0; i < ActivationTable::entries; ++i) {
    t.q20[static_cast<std::size_t>(i)] = static_cast<std::int64_t>(std::llround(
        f(static_cast<double>(i) / 64.0) * static_cast<double>(std::int64_t(1) << ActivationTable::value_frac_bits)));
  }
  for (std::size_t i = 0; i + 1 < ActivationTable::entries; ++i) {
    t.segments[i] = t.q20[i] | static_cast<std::int64_t>(static_cast<std::uint64_t>(t.q20[i + 1]) << 32);
  }
  return t;
}

inline const ActivationTable& sigmoid_table() {
  static const ActivationTable table = make_activation_table([](double x) { return 1.0 / (1.0 + std::exp(-x)); });
  return table;
}

inline const ActivationTable& tanh_table() {
  static const ActivationTable table = make_activation_table([](double x) { return std::tanh(x); });
  return table;
}

/// f(|raw| / 2^F) in Q20 by linear interpolation in the table (integer arithmetic only).
inline std::int64_t interpolate_q20(const ActivationTable& t, std::int32_t raw, int frac_bits) {
  const std::int64_t u = raw < 0 ? -static_cast<std::int64_t>(raw) : raw;
  const std::int64_t scaled = u << ActivationTable::steps_per_unit_log2;  // |x| * 64 in Q(F)
  const std::int64_t segment = scaled >> frac_bits;
  if (segment >= ActivationTable::entries - 1) return t.q20[ActivationTable::entries - 1];
  const std::int64_t rem = scaled - (segment << frac_bits);  // in [0, 2^F)
  const std::int64_t lo = t.q20[static_cast<std::size_t>(segment)];
  const std::int64_t hi = t.q20[static_cast<std::size_t>(segment + 1)];
  const std::int64_t step = (hi - lo) * rem;  // >= 0: both functions increase
  return lo + (frac_bits == 0 ? step : ((step >> frac_bits) + ((step >> (frac_bits - 1)) & 1)));
}

/// A Q20 value to Q(F): round half up, saturate.
inline std::int16_t q20_to_raw(std::int64_t v, int frac_bits) {
  const int shift = ActivationTable::value_frac_bits - frac_bits;
  return fixed_rules::saturate(fixed_rules::floor_shift(v, shift) + (fixed_rules::floor_shift(v, shift - 1) & 1));
}

}  // namespace detail

/// Logistic sigmoid of a raw value with `in_frac` fraction bits, as a raw value with `out_frac`
/// (per-tensor formats, core/fixed_formats.hpp): the table interpolated at the input's
/// resolution, one rounding to Q(out_frac), saturated. 0 <= in_frac, out_frac <= 15.
inline std::int16_t fixed_sigmoid_raw(std::int32_t raw, int in_frac, int out_frac) {
  const std::int64_t y = detail::interpolate_q20(detail::sigmoid_table(), raw, in_frac);
  const std::int64_t one = std::int64_t(1) << detail::ActivationTable::value_frac_bits;
  return detail::q20_to_raw(raw < 0 ? one - y : y, out_frac);
}

/// Hyperbolic tangent of a raw value with `in_frac` fraction bits, as a raw value with `out_frac`.
inline std::int16_t fixed_tanh_raw(std::int32_t raw, int in_frac, int out_frac) {
  const std::int64_t y = detail::interpolate_q20(detail::tanh_table(), raw, in_frac);
  return detail::q20_to_raw(raw < 0 ? -y : y, out_frac);
}

/// Logistic sigmoid of a fixed16<F>, within fixed_activation_error_bound<F>() of the exact value.
template <int F>
fixed16<F> fixed_sigmoid(fixed16<F> x) {
  return fixed16<F>::from_raw(fixed_sigmoid_raw(x.raw(), F, F));
}

/// Hyperbolic tangent of a fixed16<F>, within fixed_activation_error_bound<F>() of the exact value.
template <int F>
fixed16<F> fixed_tanh(fixed16<F> x) {
  return fixed16<F>::from_raw(fixed_tanh_raw(x.raw(), F, F));
}

}  // namespace bbs

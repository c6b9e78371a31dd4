// Sigmoid and tanh on 16-bit fixed point without floating point at run time: a table of the
// function at steps of 1/64 on [0, 16] (Q20 entries), linear interpolation between entries in
// int64, one rounding to Q(F), and the symmetries sigmoid(-x) = 1 - sigmoid(x),
// tanh(-x) = -tanh(x). What an FPGA would do with a small ROM and one multiplier.
//
// Error against the exact function (docs/NN.md has the measured values): interpolation at most
// h^2 / 8 * max|f''| (h = 1/64: sigmoid 2.9e-6, tanh 2.4e-5), table rounding 2^-21, the final
// rounding half a step 2^-(F+1); past |x| = 16 the endpoint value, off by at most 1.2e-7.
#pragma once

#ifndef BBS_UMBRELLA_INCLUDED
#error "Internal bbs header: include <bbs/bbs.hpp> instead."
#endif

#include <array>
#include <cmath>
#include <cstdint>

namespace bbs {
namespace nn {

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
  /// The same entries as int32 (each is at most 2^20), for the AVX-512 gathers.
  std::array<std::int32_t, entries> q20_int32{};
};

template <typename Function>
ActivationTable make_activation_table(Function&& f) {
  ActivationTable t;
  for (int i = 0; i < ActivationTable::entries; ++i) {
    t.q20[static_cast<std::size_t>(i)] = static_cast<std::int64_t>(std::llround(
        f(static_cast<double>(i) / 64.0) * static_cast<double>(std::int64_t(1) << ActivationTable::value_frac_bits)));
    t.q20_int32[static_cast<std::size_t>(i)] = static_cast<std::int32_t>(t.q20[static_cast<std::size_t>(i)]);
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

#ifdef BBS_SIMD_HAVE_AVX512
BBS_SIMD_KERNELS_BEGIN

/// fixed_sigmoid (Sigmoid) or fixed_tanh of the raw values p[0, n), 16 at a time, in place, bit
/// for bit the scalar rule: the same table (as int32), the same int arithmetic in int32 lanes
/// (every intermediate fits: |x| * 64 < 2^22, (hi - lo) * rem < 2^14 * 2^15), the same roundings
/// (half up by shifts) and saturation. frac_bits in 1..15. Returns how many values it did (a
/// multiple of 16); the caller finishes the rest with the scalar functions.
template <bool Sigmoid>
BBS_TARGET_AVX512 index fixed_activation_avx512(std::int16_t* p, index n, int frac_bits, const ActivationTable& t) {
  constexpr int last_entry = ActivationTable::entries - 1;
  const int out_shift = ActivationTable::value_frac_bits - frac_bits;
  const __m128i in_shift_v = _mm_cvtsi32_si128(frac_bits);
  const __m128i in_shift1_v = _mm_cvtsi32_si128(frac_bits - 1);
  const __m128i out_shift_v = _mm_cvtsi32_si128(out_shift);
  const __m128i out_shift1_v = _mm_cvtsi32_si128(out_shift - 1);
  const __m512i rem_mask = _mm512_set1_epi32((1 << frac_bits) - 1);
  const __m512i last_segment = _mm512_set1_epi32(last_entry);
  const __m512i below_last = _mm512_set1_epi32(last_entry - 1);
  const __m512i last_value = _mm512_set1_epi32(t.q20_int32[last_entry]);
  const __m512i one_bit = _mm512_set1_epi32(1);
  const __m512i q20_one = _mm512_set1_epi32(1 << ActivationTable::value_frac_bits);
  const __m512i zero = _mm512_setzero_si512();
  const int* table = t.q20_int32.data();
  index i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512i raw = _mm512_cvtepi16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i)));
    const __m512i scaled = _mm512_slli_epi32(_mm512_abs_epi32(raw), ActivationTable::steps_per_unit_log2);
    const __m512i segment = _mm512_sra_epi32(scaled, in_shift_v);
    const __mmask16 beyond = _mm512_cmpge_epi32_mask(segment, last_segment);
    const __m512i index_lo = _mm512_min_epi32(segment, below_last);  // in range for the gathers
    const __m512i lo = _mm512_i32gather_epi32(index_lo, table, 4);
    const __m512i hi = _mm512_i32gather_epi32(_mm512_add_epi32(index_lo, one_bit), table, 4);
    const __m512i step = _mm512_mullo_epi32(_mm512_sub_epi32(hi, lo), _mm512_and_si512(scaled, rem_mask));
    __m512i y = _mm512_add_epi32(lo, _mm512_add_epi32(_mm512_sra_epi32(step, in_shift_v),
                                                      _mm512_and_si512(_mm512_sra_epi32(step, in_shift1_v), one_bit)));
    y = _mm512_mask_blend_epi32(beyond, y, last_value);
    const __mmask16 negative = _mm512_cmplt_epi32_mask(raw, zero);
    y = _mm512_mask_sub_epi32(y, negative, Sigmoid ? q20_one : zero, y);  // 1 - y, or -y
    const __m512i rounded = _mm512_add_epi32(_mm512_sra_epi32(y, out_shift_v),
                                             _mm512_and_si512(_mm512_sra_epi32(y, out_shift1_v), one_bit));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(p + i), _mm512_cvtsepi32_epi16(rounded));
  }
  return i;
}

BBS_SIMD_KERNELS_END
#endif

/// fixed_sigmoid / fixed_tanh of p[0, n) in place: the AVX-512 kernel where the CPU runs it (the
/// simd backend's check), the scalar rule for the rest.
template <bool Sigmoid, int F, typename Scalar>
void fixed_activation_in_place(fixed16<F>* p, index n, Scalar&& scalar) {
  index done = 0;
#ifdef BBS_SIMD_HAVE_AVX512
  if constexpr (F > 0) {
    if (simd_detail::uses_avx512(simd_detail::best_isa())) {
      static_assert(sizeof(fixed16<F>) == sizeof(std::int16_t), "a fixed16 is its raw int16");
      done = fixed_activation_avx512<Sigmoid>(reinterpret_cast<std::int16_t*>(p), n, F,
                                              Sigmoid ? sigmoid_table() : tanh_table());
    }
  }
#endif
  for (index i = done; i < n; ++i) p[i] = scalar(p[i]);
}

}  // namespace detail

/// Logistic sigmoid of a fixed16<F>, within fixed_activation_error_bound<F>() of the exact value.
template <int F>
fixed16<F> fixed_sigmoid(fixed16<F> x) {
  const std::int64_t y = detail::interpolate_q20(detail::sigmoid_table(), x.raw(), F);
  const std::int64_t one = std::int64_t(1) << detail::ActivationTable::value_frac_bits;
  return fixed16<F>::from_raw(detail::q20_to_raw(x.raw() < 0 ? one - y : y, F));
}

/// Hyperbolic tangent of a fixed16<F>, within fixed_activation_error_bound<F>() of the exact value.
template <int F>
fixed16<F> fixed_tanh(fixed16<F> x) {
  const std::int64_t y = detail::interpolate_q20(detail::tanh_table(), x.raw(), F);
  return fixed16<F>::from_raw(detail::q20_to_raw(x.raw() < 0 ? -y : y, F));
}

}  // namespace nn
}  // namespace bbs

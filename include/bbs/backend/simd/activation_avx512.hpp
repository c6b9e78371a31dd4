// AVX-512 fixed16 sigmoid and tanh (core/fixed_activation.hpp's table rule), 16 values at a time,
// from one fixed-point format to another (the same one for fixed16<F>); and the rest of an LSTM
// cell's element-wise step under per-tensor formats (core/fixed_formats.hpp), 8 at a time.
#pragma once

#include <cstdint>

#include "bbs/backend/simd/isa.hpp"
#include "bbs/core/fixed_activation.hpp"

#ifdef BBS_SIMD_HAVE_AVX512
#include <immintrin.h>

BBS_SIMD_KERNELS_BEGIN

namespace bbs {
namespace backend {
namespace simd_impl {

/// fixed_sigmoid_raw (Sigmoid) or fixed_tanh_raw of the raw values p[0, n) in Q(in_frac), to raw
/// values in Q(out_frac), 16 at a time, in place, bit for bit the scalar rule: the same table (its
/// segments as int32 pairs), the same int arithmetic in int32 lanes (every intermediate fits: |x| * 64 < 2^22,
/// (hi - lo) * rem < 2^14 * 2^15), the same roundings (half up by shifts) and saturation. in_frac
/// in 1..15, out_frac in 0..15. Returns how many values it did (a multiple of 16); the caller
/// finishes the rest with the scalar functions.
template <bool Sigmoid>
BBS_TARGET_AVX512 index fixed_activation_avx512(std::int16_t* p, index n, int in_frac, int out_frac,
                                                const detail::ActivationTable& t) {
  constexpr int last_entry = detail::ActivationTable::entries - 1;
  const int out_shift = detail::ActivationTable::value_frac_bits - out_frac;
  const __m128i in_shift_v = _mm_cvtsi32_si128(in_frac);
  const __m128i in_shift1_v = _mm_cvtsi32_si128(in_frac - 1);
  const __m128i out_shift_v = _mm_cvtsi32_si128(out_shift);
  const __m128i out_shift1_v = _mm_cvtsi32_si128(out_shift - 1);
  const __m512i rem_mask = _mm512_set1_epi32((1 << in_frac) - 1);
  const __m512i last_segment = _mm512_set1_epi32(last_entry);
  const __m512i below_last = _mm512_set1_epi32(last_entry - 1);
  const __m512i last_value = _mm512_set1_epi32(static_cast<int>(t.q20[last_entry]));
  const __m512i one_bit = _mm512_set1_epi32(1);
  const __m512i q20_one = _mm512_set1_epi32(1 << detail::ActivationTable::value_frac_bits);
  const __m512i zero = _mm512_setzero_si512();
  const auto* segments = reinterpret_cast<const long long*>(t.segments.data());
  const __m512i low_halves = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i high_halves = _mm512_add_epi32(low_halves, one_bit);
  index i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512i raw = _mm512_cvtepi16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i)));
    const __m512i scaled = _mm512_slli_epi32(_mm512_abs_epi32(raw), detail::ActivationTable::steps_per_unit_log2);
    const __m512i segment = _mm512_sra_epi32(scaled, in_shift_v);
    const __mmask16 beyond = _mm512_cmpge_epi32_mask(segment, last_segment);
    const __m512i index_lo = _mm512_min_epi32(segment, below_last);  // in range for the gathers
    // Both ends of each segment in one 64-bit gather per 8 lanes, then split into lo and hi.
    const __m512i first8 = _mm512_i32gather_epi64(_mm512_castsi512_si256(index_lo), segments, 8);
    const __m512i last8 = _mm512_i32gather_epi64(_mm512_extracti64x4_epi64(index_lo, 1), segments, 8);
    const __m512i lo = _mm512_permutex2var_epi32(first8, low_halves, last8);
    const __m512i hi = _mm512_permutex2var_epi32(first8, high_halves, last8);
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

/// fixed_rules::shift_round(v, shift) saturated to int16 (fixed_rules::rescale's last steps), in
/// 8 int64 lanes: an arithmetic shift floors, plus the last bit shifted out (half up); a shift of
/// zero or less is exact.
BBS_TARGET_AVX512 inline __m128i round_shift_saturate_epi64(__m512i v, int shift) {
  if (shift <= 0) return _mm512_cvtsepi64_epi16(_mm512_sll_epi64(v, _mm_cvtsi32_si128(-shift)));
  const __m512i floor = _mm512_sra_epi64(v, _mm_cvtsi32_si128(shift));
  const __m512i half = _mm512_and_si512(_mm512_sra_epi64(v, _mm_cvtsi32_si128(shift - 1)), _mm512_set1_epi64(1));
  return _mm512_cvtsepi64_epi16(_mm512_add_epi64(floor, half));
}

/// 8 int16 values as int64 lanes.
BBS_TARGET_AVX512 inline __m512i load8_epi16_epi64(const std::int16_t* p) {
  return _mm512_cvtepi16_epi64(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

/// c[j] = fixed_rules::lstm_cell_update(f[j], c[j], i[j], g[j], act, cell), 8 at a time, bit for
/// bit: the exact sum f c 2^act + i g 2^cell in int64 (|each| < 2^45), one rounding to Q(cell),
/// saturated. Returns how many it did (a multiple of 8).
BBS_TARGET_AVX512 inline index lstm_cell_update_avx512(const std::int16_t* i, const std::int16_t* f,
                                                       const std::int16_t* g, std::int16_t* c, index n, int act,
                                                       int cell) {
  const __m128i act_v = _mm_cvtsi32_si128(act);
  const __m128i cell_v = _mm_cvtsi32_si128(cell);
  index j = 0;
  for (; j + 8 <= n; j += 8) {
    const __m512i fc = _mm512_sll_epi64(_mm512_mul_epi32(load8_epi16_epi64(f + j), load8_epi16_epi64(c + j)), act_v);
    const __m512i ig = _mm512_sll_epi64(_mm512_mul_epi32(load8_epi16_epi64(i + j), load8_epi16_epi64(g + j)), cell_v);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(c + j), round_shift_saturate_epi64(_mm512_add_epi64(fc, ig), 2 * act));
  }
  return j;
}

/// b[j] = fixed_rules::gate_product(a[j], b[j], act, out), 8 at a time, bit for bit. Returns how
/// many it did (a multiple of 8).
BBS_TARGET_AVX512 inline index gate_product_avx512(const std::int16_t* a, std::int16_t* b, index n, int act, int out) {
  index j = 0;
  for (; j + 8 <= n; j += 8) {
    const __m512i ab = _mm512_mul_epi32(load8_epi16_epi64(a + j), load8_epi16_epi64(b + j));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(b + j), round_shift_saturate_epi64(ab, 2 * act - out));
  }
  return j;
}

}  // namespace simd_impl
}  // namespace backend
}  // namespace bbs

BBS_SIMD_KERNELS_END
#endif

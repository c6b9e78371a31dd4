// AVX-512 fixed16 sigmoid and tanh (core/fixed_activation.hpp's table rule), 16 values at a time.
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

/// fixed_sigmoid (Sigmoid) or fixed_tanh of the raw values p[0, n), 16 at a time, in place, bit
/// for bit the scalar rule: the same table (as int32), the same int arithmetic in int32 lanes
/// (every intermediate fits: |x| * 64 < 2^22, (hi - lo) * rem < 2^14 * 2^15), the same roundings
/// (half up by shifts) and saturation. frac_bits in 1..15. Returns how many values it did (a
/// multiple of 16); the caller finishes the rest with the scalar functions.
template <bool Sigmoid>
BBS_TARGET_AVX512 index fixed_activation_avx512(std::int16_t* p, index n, int frac_bits,
                                                const detail::ActivationTable& t) {
  constexpr int last_entry = detail::ActivationTable::entries - 1;
  const int out_shift = detail::ActivationTable::value_frac_bits - frac_bits;
  const __m128i in_shift_v = _mm_cvtsi32_si128(frac_bits);
  const __m128i in_shift1_v = _mm_cvtsi32_si128(frac_bits - 1);
  const __m128i out_shift_v = _mm_cvtsi32_si128(out_shift);
  const __m128i out_shift1_v = _mm_cvtsi32_si128(out_shift - 1);
  const __m512i rem_mask = _mm512_set1_epi32((1 << frac_bits) - 1);
  const __m512i last_segment = _mm512_set1_epi32(last_entry);
  const __m512i below_last = _mm512_set1_epi32(last_entry - 1);
  const __m512i last_value = _mm512_set1_epi32(t.q20_int32[last_entry]);
  const __m512i one_bit = _mm512_set1_epi32(1);
  const __m512i q20_one = _mm512_set1_epi32(1 << detail::ActivationTable::value_frac_bits);
  const __m512i zero = _mm512_setzero_si512();
  const int* table = t.q20_int32.data();
  index i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512i raw = _mm512_cvtepi16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i)));
    const __m512i scaled = _mm512_slli_epi32(_mm512_abs_epi32(raw), detail::ActivationTable::steps_per_unit_log2);
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

}  // namespace simd_impl
}  // namespace backend
}  // namespace bbs

BBS_SIMD_KERNELS_END
#endif

// AVX-512 SpMV on the canonical CSB layout: the 16 consecutive entries of one slot come from 16
// different banks, so one 16-lane gather fetches their x values (column = bank * bank_size +
// in-bank index) and one FMA consumes them. Lanes whose column is padding (>= cols) are masked off
// and never read x. One accumulator vector per row; the order of the sum differs from the
// reference, within value_traits' dot-product bound.
#pragma once

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#include <immintrin.h>

#define BBS_SIMD_HAVE_AVX512 1

// GCC 12 warns that the _mm512_undefined_* placeholders inside its own intrinsics "may be used
// uninitialized" once they are inlined into a target("avx512f") function: a known false positive.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace bbs {
namespace simd_detail {

#define BBS_TARGET_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl")))

BBS_TARGET_AVX512 inline __m512i load_indices_avx512(const std::uint8_t* p, __mmask16 m) {
  return _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(m, p));
}
BBS_TARGET_AVX512 inline __m512i load_indices_avx512(const std::uint16_t* p, __mmask16 m) {
  return _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, p));
}

/// y = alpha * A * x + beta * y for float, AVX-512 (F, BW, VL) with gathers. Columns must fit int32.
template <typename I>
BBS_TARGET_AVX512 void spmv_avx512_rows(const CsbView<float>& a, const I* idx, float alpha, const float* x, float beta,
                                        float* y) {
  const index nb = a.num_banks();
  const index k = a.nnz_per_bank();
  const index per_row = a.row_entries();
  const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const __m512i bank_stride = _mm512_set1_epi32(static_cast<int>(a.bank_size()));
  const __m512i cols = _mm512_set1_epi32(static_cast<int>(a.cols));
  for (index r = 0; r < a.rows; ++r) {
    const float* v = a.values + r * per_row;
    const I* id = idx + r * per_row;
    __m512 acc = _mm512_setzero_ps();
    for (index s = 0; s < k; ++s) {
      for (index b0 = 0; b0 < nb; b0 += 16) {
        const index n = nb - b0 < 16 ? nb - b0 : 16;
        const __mmask16 m = static_cast<__mmask16>(n == 16 ? 0xFFFF : (1u << n) - 1);
        const index e = s * nb + b0;
        const __m512i bank = _mm512_add_epi32(lane, _mm512_set1_epi32(static_cast<int>(b0)));
        const __m512i col = _mm512_add_epi32(_mm512_mullo_epi32(bank, bank_stride), load_indices_avx512(id + e, m));
        const __mmask16 inside = _mm512_mask_cmplt_epi32_mask(m, col, cols);
        const __m512 xv = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), inside, col, x, 4);
        acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(inside, v + e), xv, acc);
      }
    }
    const float sum = alpha * _mm512_reduce_add_ps(acc);
    y[r] = beta == 0.0f ? sum : sum + beta * y[r];
  }
}

inline void spmv_avx512(const CsbView<float>& a, float alpha, const float* x, float beta, float* y) {
  a.with_indices([&](auto idx) { spmv_avx512_rows(a, idx, alpha, x, beta, y); });
}

#undef BBS_TARGET_AVX512

}  // namespace simd_detail
}  // namespace bbs

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#endif

// AVX2 float SpMM on the panels of spmm_panel.hpp: the AVX-512 kernel's loop with each 16-wide
// panel row held in two ymm registers, so every matrix entry is two FMAs (one per 8 right-hand
// sides). Two accumulator pairs hide the FMA latency.
#pragma once

#include "bbs/backend/simd/spmm_panel.hpp"
#include "bbs/backend/simd/isa.hpp"
#include "bbs/core/value_traits.hpp"
#include "bbs/storage/csb_view.hpp"

#ifdef BBS_SIMD_HAVE_AVX2
#include <immintrin.h>

BBS_SIMD_KERNELS_BEGIN

namespace bbs {
namespace backend {
namespace simd_impl {

template <typename I>
BBS_TARGET_AVX2 void spmm_avx2_panel(const CsbView<float>& a, const I* idx, index first, index last, const float* panel,
                                     index stride, index w, float alpha, float beta, float* y, index ldy) {
  const index nb = a.num_banks();
  const index k = a.nnz_per_bank();
  const index per_row = a.row_entries();
  alignas(32) float out[spmm_panel_width];
  for (index r = first; r < last; ++r) {
    const float* v = a.values + r * per_row;
    const I* id = idx + r * per_row;
    __m256 lo0 = _mm256_setzero_ps(), hi0 = _mm256_setzero_ps();
    __m256 lo1 = _mm256_setzero_ps(), hi1 = _mm256_setzero_ps();
    for (index s = 0; s < k; ++s, v += nb, id += nb) {
      const float* bank = panel;
      index b = 0;
      for (; b + 2 <= nb; b += 2, bank += 2 * stride) {
        const float* p0 = bank + index(id[b]) * 16;
        const float* p1 = bank + stride + index(id[b + 1]) * 16;
        const __m256 v0 = _mm256_set1_ps(v[b]);
        const __m256 v1 = _mm256_set1_ps(v[b + 1]);
        lo0 = _mm256_fmadd_ps(v0, _mm256_load_ps(p0), lo0);
        hi0 = _mm256_fmadd_ps(v0, _mm256_load_ps(p0 + 8), hi0);
        lo1 = _mm256_fmadd_ps(v1, _mm256_load_ps(p1), lo1);
        hi1 = _mm256_fmadd_ps(v1, _mm256_load_ps(p1 + 8), hi1);
      }
      if (b < nb) {
        const float* p0 = bank + index(id[b]) * 16;
        const __m256 v0 = _mm256_set1_ps(v[b]);
        lo0 = _mm256_fmadd_ps(v0, _mm256_load_ps(p0), lo0);
        hi0 = _mm256_fmadd_ps(v0, _mm256_load_ps(p0 + 8), hi0);
      }
    }
    _mm256_store_ps(out, _mm256_add_ps(lo0, lo1));
    _mm256_store_ps(out + 8, _mm256_add_ps(hi0, hi1));
    store_spmm_row(out, w, alpha, beta, y + r, ldy);
  }
}

/// Rows [first, last) of Y = alpha * A * X + beta * Y (X: cols x n, Y: rows x n, column-major; Y is
/// the whole matrix).
inline void spmm_avx2(const CsbView<float>& a, index first, index last, index n, float alpha, const float* x, index ldx,
                      float beta, float* y, index ldy) {
  spmm_by_panels(a, n, x, ldx, y, ldy, [&](auto idx, const float* panel, index stride, index w, float* y_panel) {
    spmm_avx2_panel(a, idx, first, last, panel, stride, w, alpha, beta, y_panel, ldy);
  });
}

}  // namespace simd_impl
}  // namespace backend
}  // namespace bbs

BBS_SIMD_KERNELS_END
#endif

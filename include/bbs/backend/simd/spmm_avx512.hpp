// AVX-512 float SpMM (several right-hand sides): reads each matrix entry once per 16 right-hand
// sides instead of once per vector. Every matrix entry (value v, column c) is one FMA,
// acc += broadcast(v) * P[c], on the panel P of spmm_panel.hpp, which updates one row of Y for all
// 16 right-hand sides at once.
//
// Rows go one by one over the canonical arrays (so maps and row slices take this kernel too), with
// four accumulators to hide the FMA latency. Per entry the kernel issues one 64-byte panel load,
// one broadcast and one FMA, which bounds it near one entry per 1.3 cycles on this AMD core (load
// ports);
// a bank-major walk over blocks of row groups, tried to keep P in L1, was slower.
#pragma once

#include "bbs/backend/simd/spmm_panel.hpp"
#include "bbs/backend/simd/isa.hpp"
#include "bbs/core/value_traits.hpp"
#include "bbs/storage/csb_view.hpp"

#ifdef BBS_SIMD_HAVE_AVX512
#include <immintrin.h>

BBS_SIMD_KERNELS_BEGIN

namespace bbs {
namespace backend {
namespace simd_impl {

template <typename I>
BBS_TARGET_AVX512 void spmm_avx512_panel(const CsbView<float>& a, const I* idx, index first, index last,
                                         const float* panel, index stride, index w, float alpha, float beta, float* y,
                                         index ldy) {
  const index nb = a.num_banks();
  const index k = a.nnz_per_bank();
  const index per_row = a.row_entries();
  alignas(64) float out[spmm_panel_width];
  for (index r = first; r < last; ++r) {
    const float* v = a.values + r * per_row;
    const I* id = idx + r * per_row;
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    __m512 acc2 = _mm512_setzero_ps(), acc3 = _mm512_setzero_ps();
    for (index s = 0; s < k; ++s, v += nb, id += nb) {
      const float* bank = panel;
      index b = 0;
      for (; b + 4 <= nb; b += 4, bank += 4 * stride) {
        acc0 = _mm512_fmadd_ps(_mm512_set1_ps(v[b]), _mm512_load_ps(bank + index(id[b]) * 16), acc0);
        acc1 = _mm512_fmadd_ps(_mm512_set1_ps(v[b + 1]), _mm512_load_ps(bank + stride + index(id[b + 1]) * 16), acc1);
        acc2 =
            _mm512_fmadd_ps(_mm512_set1_ps(v[b + 2]), _mm512_load_ps(bank + 2 * stride + index(id[b + 2]) * 16), acc2);
        acc3 =
            _mm512_fmadd_ps(_mm512_set1_ps(v[b + 3]), _mm512_load_ps(bank + 3 * stride + index(id[b + 3]) * 16), acc3);
      }
      for (; b < nb; ++b, bank += stride) {
        acc0 = _mm512_fmadd_ps(_mm512_set1_ps(v[b]), _mm512_load_ps(bank + index(id[b]) * 16), acc0);
      }
    }
    _mm512_store_ps(out, _mm512_add_ps(_mm512_add_ps(acc0, acc1), _mm512_add_ps(acc2, acc3)));
    store_spmm_row(out, w, alpha, beta, y + r, ldy);
  }
}

/// Rows [first, last) of Y = alpha * A * X + beta * Y (X: cols x n, Y: rows x n, column-major; Y is
/// the whole matrix).
inline void spmm_avx512(const CsbView<float>& a, index first, index last, index n, float alpha, const float* x,
                        index ldx, float beta, float* y, index ldy) {
  spmm_by_panels(a, n, x, ldx, y, ldy, [&](auto idx, const float* panel, index stride, index w, float* y_panel) {
    spmm_avx512_panel(a, idx, first, last, panel, stride, w, alpha, beta, y_panel, ldy);
  });
}

}  // namespace simd_impl
}  // namespace backend
}  // namespace bbs

BBS_SIMD_KERNELS_END
#endif

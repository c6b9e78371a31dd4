// SIMD SpMM: for float on AVX-512 and AVX2 kernels that read A once per 16 right-hand sides
// (spmm_panel.hpp); otherwise one SIMD SpMV per right-hand side.
#pragma once

#include <type_traits>

#include "bbs/backend/common/requires_backend.hpp"
#include "bbs/backend/simd/isa.hpp"
#include "bbs/backend/simd/spmm_avx2.hpp"
#include "bbs/backend/simd/spmm_avx512.hpp"
#include "bbs/backend/simd/spmm_panel.hpp"
#include "bbs/backend/simd/spmv.hpp"
#include "bbs/backend/simd/tag.hpp"

namespace bbs {
namespace backend {
namespace simd_impl {

/// Fewest right-hand sides a panel must hold to beat one SpMV per column. A panel costs the same
/// whatever its width: on AVX-512 about 6 (past the caches) to 10 (in cache) permute SpMVs, so
/// narrower panels lose; AVX2's gather SpMV is slower than a panel already at 2 columns.
constexpr index spmm_min_panel_avx512 = 8;
constexpr index spmm_min_panel_avx2 = 2;

/// How many of n right-hand sides to run through panels: all full panels, plus the last partial
/// one when it holds at least min_panel columns.
inline index paneled_columns(index n, index min_panel) {
  const index rest = n % spmm_panel_width;
  return rest >= min_panel ? n : n - rest;
}

/// Rows [first, last) of Y = alpha * A * X + beta * Y with one variant; Y is the whole matrix.
/// Tests call it for every variant the CPU supports.
template <typename T>
void spmm_rows(Isa isa, const CsbView<T>& a, index first, index last, index n, scalar_t<T> alpha,
               const activation_t<T>* x, index ldx, scalar_t<T> beta, activation_t<T>* y, index ldy) {
  index paneled = 0;  // leading columns that go through 16-wide panels; the rest are SpMVs
  if constexpr (std::is_same<T, float>::value) {
    if (a.stored_entries() > 0) {
#ifdef BBS_SIMD_HAVE_AVX512
      if (uses_avx512(isa)) {
        paneled = paneled_columns(n, spmm_min_panel_avx512);
        spmm_avx512(a, first, last, paneled, alpha, x, ldx, beta, y, ldy);
      }
#endif
#ifdef BBS_SIMD_HAVE_AVX2
      if (isa == Isa::avx2) {
        paneled = paneled_columns(n, spmm_min_panel_avx2);
        spmm_avx2(a, first, last, paneled, alpha, x, ldx, beta, y, ldy);
      }
#endif
    }
  }
  for (index j = paneled; j < n; ++j) spmv_rows(isa, a, first, last, alpha, x + j * ldx, beta, y + j * ldy);
}

}  // namespace simd_impl

template <typename Backend, typename T>
void spmm(Backend, requires_backend<simd>, const CsbView<T>& a, index n, scalar_t<T> alpha, const activation_t<T>* x,
          index ldx, scalar_t<T> beta, activation_t<T>* y, index ldy) {
  simd_impl::spmm_rows(simd_impl::best_isa(), a, 0, a.rows, n, alpha, x, ldx, beta, y, ldy);
}

template <typename Backend, typename T>
void spmm_rows(Backend, requires_backend<simd>, const CsbView<T>& a, index first, index last, index n,
               scalar_t<T> alpha, const activation_t<T>* x, index ldx, scalar_t<T> beta, activation_t<T>* y,
               index ldy) {
  simd_impl::spmm_rows(simd_impl::best_isa(), a, first, last, n, alpha, x, ldx, beta, y, ldy);
}

}  // namespace backend
}  // namespace bbs

// SIMD SpMM: one SIMD SpMV per right-hand side for now; a kernel that reads A once per batch is
// the next step (issue: fast CPU backends).
#pragma once

namespace bbs {
namespace backend {

template <typename T>
void spmm(simd, const CsbView<T>& a, index n, T alpha, const T* x, index ldx, T beta, T* y, index ldy) {
  spmm_rows(simd{}, a, 0, a.rows, n, alpha, x, ldx, beta, y, ldy);
}

template <typename T>
void spmm_rows(simd, const CsbView<T>& a, index first, index last, index n, T alpha, const T* x, index ldx, T beta,
               T* y, index ldy) {
  for (index j = 0; j < n; ++j) spmv_rows(simd{}, a, first, last, alpha, x + j * ldx, beta, y + j * ldy);
}

}  // namespace backend
}  // namespace bbs

// SIMD SpMM: one SIMD SpMV per right-hand side for now; a kernel that reads A once per batch is
// the next step (issue: fast CPU backends).
#pragma once

namespace bbs {
namespace backend {

template <typename T>
void spmm(simd, const CsbView<T>& a, index n, scalar_t<T> alpha, const activation_t<T>* x, index ldx, scalar_t<T> beta,
          activation_t<T>* y, index ldy) {
  spmm_by_columns(simd{}, a, n, alpha, x, ldx, beta, y, ldy);
}

}  // namespace backend
}  // namespace bbs

// Reference SpMM: Y = alpha * A * X + beta * Y for a dense X with n columns, in plain loops.
#pragma once

namespace bbs {
namespace backend {

/// X is A.cols x n and Y is A.rows x n, both column-major with leading dimensions ldx and ldy.
/// Column j of Y is exactly spmv(reference, A, alpha, X[:, j], beta, Y[:, j]): the reference
/// defines SpMM as n independent SpMVs, so every backend's SpMM is checked against SpMV.
template <typename T>
void spmm(reference, const CsbView<T>& a, index n, scalar_t<T> alpha, const activation_t<T>* x, index ldx,
          scalar_t<T> beta, activation_t<T>* y, index ldy) {
  spmm_by_columns(reference{}, a, n, alpha, x, ldx, beta, y, ldy);
}

}  // namespace backend
}  // namespace bbs

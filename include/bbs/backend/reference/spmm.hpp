// Reference SpMM: Y = alpha * A * X + beta * Y for a dense X with n columns, in plain loops.
#pragma once

#include "bbs/backend/common/requires_backend.hpp"
#include "bbs/backend/common/spmm_by_columns.hpp"
#include "bbs/backend/reference/spmv.hpp"
#include "bbs/backend/reference/tag.hpp"

namespace bbs {
namespace backend {

/// X is A.cols x n and Y is A.rows x n, both column-major with leading dimensions ldx and ldy.
/// Column j of Y is exactly spmv(reference, A, alpha, X[:, j], beta, Y[:, j]): the reference
/// defines SpMM as n independent SpMVs, so every backend's SpMM is checked against SpMV.
/// Inherited by backends without an SpMM of their own (fpga), it runs the SpMVs on the backend
/// that asked: `Backend`.
template <typename Backend, typename T>
void spmm(Backend tag, requires_backend<reference>, const CsbView<T>& a, index n, scalar_t<T> alpha,
          const activation_t<T>* x, index ldx, scalar_t<T> beta, activation_t<T>* y, index ldy) {
  spmm_by_columns(tag, a, n, alpha, x, ldx, beta, y, ldy);
}

}  // namespace backend
}  // namespace bbs

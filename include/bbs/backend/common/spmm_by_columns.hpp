// SpMM as one SpMV per right-hand side: the definition of SpMM (the reference backend uses it as
// is) and the fallback of backends without a batched kernel yet.
#pragma once

#include "bbs/backend/common/requires_backend.hpp"
#include "bbs/core/value_traits.hpp"
#include "bbs/storage/csb_view.hpp"

namespace bbs {
namespace backend {

/// Y = alpha * A * X + beta * Y column by column with Backend's SpMV; X and Y column-major.
template <typename Backend, typename T>
void spmm_by_columns(Backend tag, const CsbView<T>& a, index n, scalar_t<T> alpha, const activation_t<T>* x, index ldx,
                     scalar_t<T> beta, activation_t<T>* y, index ldy) {
  for (index j = 0; j < n; ++j) spmv(tag, tag, a, alpha, x + j * ldx, beta, y + j * ldy);
}

}  // namespace backend
}  // namespace bbs

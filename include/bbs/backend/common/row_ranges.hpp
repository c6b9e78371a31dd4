// Row ranges: rows [first, last) of a product, the unit of work the openmp backend hands each
// thread. By default a backend runs on the rows' own slice of the canonical arrays; a backend whose
// fast path works on an arrangement of the whole matrix (simd's cached row groups) overloads these
// (backend/common/requires_backend.hpp); the openmp backend calls them on its inner backend.
#pragma once

#include "bbs/backend/common/requires_backend.hpp"
#include "bbs/core/value_traits.hpp"
#include "bbs/storage/csb_view.hpp"
#include "bbs/backend/reference/tag.hpp"

namespace bbs {
namespace backend {

/// y[first, last) = alpha * A[first, last) * x + beta * y[first, last); y is the whole vector.
template <typename Backend, typename T>
void spmv_rows(Backend tag, requires_backend<reference>, const CsbView<T>& a, index first, index last,
               scalar_t<T> alpha, const activation_t<T>* x, scalar_t<T> beta, activation_t<T>* y) {
  spmv(tag, tag, a.rows_slice(first, last), alpha, x, beta, y + first);
}

/// Rows [first, last) of Y = alpha * A * X + beta * Y; Y is the whole matrix (leading dim ldy).
template <typename Backend, typename T>
void spmm_rows(Backend tag, requires_backend<reference>, const CsbView<T>& a, index first, index last, index n,
               scalar_t<T> alpha, const activation_t<T>* x, index ldx, scalar_t<T> beta, activation_t<T>* y,
               index ldy) {
  spmm(tag, tag, a.rows_slice(first, last), n, alpha, x, ldx, beta, y + first, ldy);
}

}  // namespace backend
}  // namespace bbs

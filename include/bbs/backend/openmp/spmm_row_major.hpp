// OpenMP row-major SpMM: each thread runs the inner backend's row-major SpMM on its own rows of A
// and Y (a row slice of A; rows of a row-major Y are a pointer offset), so results are
// bit-identical to the inner backend with any thread count. Every thread reads all of X.
#pragma once

#include "bbs/backend/common/requires_backend.hpp"
#include "bbs/backend/common/row_ranges.hpp"
#include "bbs/backend/openmp/partition.hpp"
#include "bbs/backend/openmp/tag.hpp"
#include "bbs/core/value_traits.hpp"
#include "bbs/storage/csb_view.hpp"

namespace bbs {
namespace backend {

template <typename Backend, typename Inner, typename T>
void spmm_row_major(Backend, requires_backend<openmp_over<Inner>>, const CsbView<T>& a, index n, scalar_t<T> alpha,
                    const activation_t<T>* x, index ldx, scalar_t<T> beta, activation_t<T>* y, index ldy) {
  if constexpr (is_fixed_point<T>::value) {
    // Refuse a bad alpha or beta here, on the calling thread: an exception cannot leave a
    // parallel region.
    detail::fixed_scale(alpha, "alpha");
    detail::fixed_scale(beta, "beta");
  }
  const int threads = openmp_impl::threads_for(a.stored_entries() * n, a.rows);
  openmp_impl::for_row_ranges(a.rows, threads, [&](int, index first, index last) {
    spmm_row_major(Inner{}, Inner{}, a.rows_slice(first, last), n, alpha, x, ldx, beta, y + first * ldy, ldy);
  });
}

}  // namespace backend
}  // namespace bbs

// OpenMP SpMM: each thread runs the inner backend's SpMM on its own rows of A and Y
// (backend::spmm_rows).
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
void spmm(Backend, requires_backend<openmp_over<Inner>>, const CsbView<T>& a, index n, scalar_t<T> alpha,
          const activation_t<T>* x, index ldx, scalar_t<T> beta, activation_t<T>* y, index ldy) {
  const int threads = openmp_impl::threads_for(a.stored_entries() * n, a.rows);
  openmp_impl::for_row_ranges(a.rows, threads, [&](int, index first, index last) {
    spmm_rows(Inner{}, Inner{}, a, first, last, n, alpha, x, ldx, beta, y, ldy);
  });
}

}  // namespace backend
}  // namespace bbs

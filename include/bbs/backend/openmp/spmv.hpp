// OpenMP SpMV: each thread runs the inner backend on its own rows and its own part of y
// (backend::spmv_rows), so results are bit-identical to the inner backend with any thread count.
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
void spmv(Backend, requires_backend<openmp_over<Inner>>, const CsbView<T>& a, scalar_t<T> alpha,
          const activation_t<T>* x, scalar_t<T> beta, activation_t<T>* y) {
  const int threads = openmp_impl::threads_for(a.stored_entries(), a.rows);
  openmp_impl::for_row_ranges(a.rows, threads, [&](int, index first, index last) {
    spmv_rows(Inner{}, Inner{}, a, first, last, alpha, x, beta, y);
  });
}

}  // namespace backend
}  // namespace bbs

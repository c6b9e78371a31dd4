// OpenMP SpMV: each thread runs the inner backend on its own rows and its own part of y
// (backend::spmv_rows), so results are bit-identical to the inner backend with any thread count.
#pragma once

namespace bbs {
namespace backend {

template <typename Inner, typename T>
void spmv(openmp_over<Inner>, const CsbView<T>& a, scalar_t<T> alpha, const activation_t<T>* x, scalar_t<T> beta,
          activation_t<T>* y) {
  const int threads = openmp_detail::threads_for(a.stored_entries(), a.rows);
  openmp_detail::for_row_ranges(a.rows, threads, [&](int, index first, index last) {
    spmv_rows(Inner{}, a, first, last, alpha, x, beta, y);
  });
}

}  // namespace backend
}  // namespace bbs

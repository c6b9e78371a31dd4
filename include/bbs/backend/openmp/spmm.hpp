// OpenMP SpMM: each thread runs the inner backend's SpMM on its own rows of A and Y
// (backend::spmm_rows).
#pragma once

namespace bbs {
namespace backend {

template <typename Inner, typename T>
void spmm(openmp_over<Inner>, const CsbView<T>& a, index n, scalar_t<T> alpha, const activation_t<T>* x, index ldx,
          scalar_t<T> beta, activation_t<T>* y, index ldy) {
  const int threads = openmp_detail::threads_for(a.stored_entries() * n, a.rows);
  openmp_detail::for_row_ranges(a.rows, threads, [&](int, index first, index last) {
    spmm_rows(Inner{}, a, first, last, n, alpha, x, ldx, beta, y, ldy);
  });
}

}  // namespace backend
}  // namespace bbs

// OpenMP row-major SpMM: each thread runs the inner backend's row-major SpMM on its own rows of A
// and Y (a row slice of A; rows of a row-major Y are a pointer offset), so results are
// bit-identical to the inner backend with any thread count. Every thread reads all of X.
#pragma once

namespace bbs {
namespace backend {

template <typename Inner, typename T>
void spmm_row_major(openmp_over<Inner>, const CsbView<T>& a, index n, scalar_t<T> alpha, const activation_t<T>* x,
                    index ldx, scalar_t<T> beta, activation_t<T>* y, index ldy) {
  if constexpr (is_fixed_point<T>::value) {
    // Refuse a bad alpha or beta here, on the calling thread: an exception cannot leave a
    // parallel region.
    detail::fixed_scale(alpha, "alpha");
    detail::fixed_scale(beta, "beta");
  }
  const int threads = openmp_detail::threads_for(a.stored_entries() * n, a.rows);
  openmp_detail::for_row_ranges(a.rows, threads, [&](int, index first, index last) {
    spmm_row_major(Inner{}, a.rows_slice(first, last), n, alpha, x, ldx, beta, y + first * ldy, ldy);
  });
}

}  // namespace backend
}  // namespace bbs

// OpenMP transposed SpMV: rows scatter into every column of y, so each thread sums its rows'
// contribution into a private vector and the partial sums are added in thread order.
#pragma once

#include <vector>

namespace bbs {
namespace backend {

template <typename Inner, typename T>
void spmv_transposed(openmp_over<Inner>, const CsbView<T>& a, T alpha, const T* x, T beta, T* y) {
  const int threads = openmp_detail::threads_for(a.stored_entries(), a.rows);
  if (threads <= 1) {
    spmv_transposed(Inner{}, a, alpha, x, beta, y);
    return;
  }
  const auto cols = static_cast<std::size_t>(a.cols);
  std::vector<T> partial(cols * static_cast<std::size_t>(threads), T(0));
  openmp_detail::for_row_ranges(a.rows, threads, [&](int t, index first, index last) {
    spmv_transposed(Inner{}, a.rows_slice(first, last), T(1), x + first, T(0),
                    partial.data() + static_cast<std::size_t>(t) * cols);
  });
  using acc_t = typename value_traits<T>::accumulator;
  for (std::size_t c = 0; c < cols; ++c) {
    acc_t sum = acc_t(0);
    for (int t = 0; t < threads; ++t) sum += acc_t(partial[static_cast<std::size_t>(t) * cols + c]);
    const acc_t scaled = acc_t(alpha) * sum;
    y[c] = beta == T(0) ? T(scaled) : T(scaled + acc_t(beta) * acc_t(y[c]));
  }
}

}  // namespace backend
}  // namespace bbs

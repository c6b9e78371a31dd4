// OpenMP transposed SpMV: rows scatter into every column of y, so each thread sums its rows'
// contribution into a private vector and the partial sums are added in thread order.
// Fixed point runs on one thread: partial sums requantized per thread and then added would round
// twice and not match the reference bit for bit; exact int32 partial sums need a kernel that
// exposes its accumulators (future work).
#pragma once

#include <vector>

#include "bbs/backend/common/requires_backend.hpp"
#include "bbs/backend/common/row_ranges.hpp"
#include "bbs/backend/openmp/partition.hpp"
#include "bbs/backend/openmp/tag.hpp"
#include "bbs/core/value_traits.hpp"
#include "bbs/storage/csb_view.hpp"

namespace bbs {
namespace backend {

template <typename Backend, typename Inner, typename T>
void spmv_transposed(Backend, requires_backend<openmp_over<Inner>>, const CsbView<T>& a, scalar_t<T> alpha,
                     const activation_t<T>* x, scalar_t<T> beta, activation_t<T>* y) {
  using act_t = activation_t<T>;
  using sc_t = scalar_t<T>;
  if constexpr (is_fixed_point<T>::value) {
    spmv_transposed(Inner{}, Inner{}, a, alpha, x, beta, y);
  } else {
    const int threads = openmp_impl::threads_for(a.stored_entries(), a.rows);
    if (threads <= 1) {
      spmv_transposed(Inner{}, Inner{}, a, alpha, x, beta, y);
      return;
    }
    const auto cols = static_cast<std::size_t>(a.cols);
    std::vector<act_t> partial(cols * static_cast<std::size_t>(threads), act_t(0));
    openmp_impl::for_row_ranges(a.rows, threads, [&](int t, index first, index last) {
      spmv_transposed(Inner{}, Inner{}, a.rows_slice(first, last), sc_t(1), x + first, sc_t(0),
                      partial.data() + static_cast<std::size_t>(t) * cols);
    });
    using acc_t = typename value_traits<T>::accumulator;
    for (std::size_t c = 0; c < cols; ++c) {
      acc_t sum = acc_t(0);
      for (int t = 0; t < threads; ++t) sum += acc_t(partial[static_cast<std::size_t>(t) * cols + c]);
      const acc_t scaled = acc_t(alpha) * sum;
      y[c] = beta == sc_t(0) ? act_t(scaled) : act_t(scaled + acc_t(beta) * acc_t(y[c]));
    }
  }
}

}  // namespace backend
}  // namespace bbs

// Reference transposed SpMV: y = alpha * A^T * x + beta * y, in plain loops.
#pragma once

#include <vector>

namespace bbs {
namespace backend {

/// x has A.rows entries, y has A.cols. beta == 0 overwrites y without reading it. Each column's
/// sum is accumulated in value_traits<T>::accumulator over rows in ascending order.
template <typename T>
void spmv_transposed(reference, const CsbView<T>& a, T alpha, const T* x, T beta, T* y) {
  using acc_t = typename value_traits<T>::accumulator;
  const index nb = a.num_banks();
  const index k = a.nnz_per_bank();
  std::vector<acc_t> sum(static_cast<std::size_t>(a.cols), acc_t(0));
  a.with_indices([&](auto idx) {
    for (index r = 0; r < a.rows; ++r) {
      const index row_begin = r * a.row_entries();
      for (index s = 0; s < k; ++s) {
        for (index b = 0; b < nb; ++b) {
          const index e = row_begin + s * nb + b;
          const index col = b * a.bank_size() + idx[e];
          if (col < a.cols) sum[static_cast<std::size_t>(col)] += acc_t(a.values[e]) * acc_t(x[r]);
        }
      }
    }
  });
  for (index c = 0; c < a.cols; ++c) {
    const acc_t scaled = acc_t(alpha) * sum[static_cast<std::size_t>(c)];
    y[c] = beta == T(0) ? T(scaled) : T(scaled + acc_t(beta) * acc_t(y[c]));
  }
}

}  // namespace backend
}  // namespace bbs

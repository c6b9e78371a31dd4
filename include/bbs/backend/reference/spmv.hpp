// Reference SpMV: y = alpha * A * x + beta * y, in plain loops. The oracle for every backend.
#pragma once

namespace bbs {
namespace backend {

/// x has A.cols entries, y has A.rows. beta == 0 overwrites y without reading it (BLAS rule),
/// so y may start uninitialised. Sums run in value_traits<T>::accumulator, one row at a time,
/// entries in storage order; padding entries (column >= cols) are skipped.
template <typename T>
void spmv(reference, const CsbView<T>& a, T alpha, const T* x, T beta, T* y) {
  using acc_t = typename value_traits<T>::accumulator;
  const index nb = a.num_banks();
  const index k = a.nnz_per_bank();
  a.with_indices([&](auto idx) {
    for (index r = 0; r < a.rows; ++r) {
      const index row_begin = r * a.row_entries();
      acc_t sum = acc_t(0);
      for (index s = 0; s < k; ++s) {
        for (index b = 0; b < nb; ++b) {
          const index e = row_begin + s * nb + b;
          const index col = b * a.bank_size() + idx[e];
          if (col < a.cols) sum += acc_t(a.values[e]) * acc_t(x[col]);
        }
      }
      const acc_t scaled = acc_t(alpha) * sum;
      y[r] = beta == T(0) ? T(scaled) : T(scaled + acc_t(beta) * acc_t(y[r]));
    }
  });
}

}  // namespace backend
}  // namespace bbs

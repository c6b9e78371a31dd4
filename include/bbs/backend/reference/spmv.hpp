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
  const index per_row = a.row_entries();
  a.with_indices([&](auto idx) {
    for (index r = 0; r < a.rows; ++r) {
      acc_t sum = acc_t(0);
      for (index e = r * per_row; e < (r + 1) * per_row; ++e) {
        const index col = ((e - r * per_row) % nb) * a.bank_size() + idx[e];
        if (col < a.cols) sum += acc_t(a.values[e]) * acc_t(x[col]);
      }
      const acc_t scaled = acc_t(alpha) * sum;
      y[r] = beta == T(0) ? T(scaled) : T(scaled + acc_t(beta) * acc_t(y[r]));
    }
  });
}

}  // namespace backend
}  // namespace bbs

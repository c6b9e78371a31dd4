// Reference SpMV: y = alpha * A * x + beta * y, in plain loops. The oracle for every backend.
#pragma once

#include "bbs/backend/common/requires_backend.hpp"
#include "bbs/backend/reference/tag.hpp"
#include "bbs/core/fixed_point.hpp"
#include "bbs/core/value_traits.hpp"
#include "bbs/storage/csb_view.hpp"

namespace bbs {
namespace backend {

/// x has A.cols entries, y has A.rows. beta == 0 overwrites y without reading it (BLAS rule),
/// so y may start uninitialised. Sums run in value_traits<T>::accumulator, one row at a time,
/// entries in storage order; padding entries (column >= cols) are skipped. Fixed point (fixed16,
/// fixed8) follows core/fixed_point.hpp: wrap-around int32 sums, then fixed_rules::scale_and_add
/// dropping the weights' fraction bits.
template <typename Backend, typename T>
void spmv(Backend, requires_backend<reference>, const CsbView<T>& a, scalar_t<T> alpha, const activation_t<T>* x,
          scalar_t<T> beta, activation_t<T>* y) {
  using acc_t = typename value_traits<T>::accumulator;
  using act_t = activation_t<T>;
  const index nb = a.num_banks();
  const index k = a.nnz_per_bank();
  if constexpr (is_fixed_point<T>::value) {
    const std::int32_t alpha_q = detail::fixed_scale(alpha, "alpha");
    const std::int32_t beta_q = detail::fixed_scale(beta, "beta");
    a.with_indices([&](auto idx) {
      for (index r = 0; r < a.rows; ++r) {
        const index row_begin = r * a.row_entries();
        acc_t sum = 0;
        for (index s = 0; s < k; ++s) {
          for (index b = 0; b < nb; ++b) {
            const index e = row_begin + s * nb + b;
            const index col = b * a.bank_size() + idx[e];
            if (col < a.cols) sum = fixed_rules::multiply_add(sum, a.values[e].raw(), x[col].raw());
          }
        }
        const std::int16_t old = beta_q == 0 ? std::int16_t(0) : y[r].raw();
        y[r] = act_t::from_raw(
            fixed_rules::scale_and_add(fixed_rules::to_signed(sum), alpha_q, beta_q, old, T::frac_bits));
      }
    });
  } else {
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
        y[r] = beta == scalar_t<T>(0) ? act_t(scaled) : act_t(scaled + acc_t(beta) * acc_t(y[r]));
      }
    });
  }
}

}  // namespace backend
}  // namespace bbs

// Reference transposed SpMV: y = alpha * A^T * x + beta * y, in plain loops.
#pragma once

#include <vector>

#include "bbs/backend/common/requires_backend.hpp"
#include "bbs/backend/reference/tag.hpp"
#include "bbs/core/fixed_point.hpp"
#include "bbs/core/value_traits.hpp"
#include "bbs/storage/csb_view.hpp"

namespace bbs {
namespace backend {

/// x has A.rows entries, y has A.cols. beta == 0 overwrites y without reading it. Each column's
/// sum is accumulated in value_traits<T>::accumulator over rows in ascending order (fixed point:
/// wrap-around int32 sums, then fixed_rules::scale_and_add, as in spmv).
template <typename Backend, typename T>
void spmv_transposed(Backend, requires_backend<reference>, const CsbView<T>& a, scalar_t<T> alpha,
                     const activation_t<T>* x, scalar_t<T> beta, activation_t<T>* y) {
  using acc_t = typename value_traits<T>::accumulator;
  using act_t = activation_t<T>;
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
          if (col >= a.cols) continue;
          acc_t& c = sum[static_cast<std::size_t>(col)];
          if constexpr (is_fixed_point<T>::value) {
            c = fixed_rules::multiply_add(c, a.values[e].raw(), x[r].raw());
          } else {
            c += acc_t(a.values[e]) * acc_t(x[r]);
          }
        }
      }
    }
  });
  if constexpr (is_fixed_point<T>::value) {
    const std::int32_t alpha_q = detail::fixed_scale(alpha, "alpha");
    const std::int32_t beta_q = detail::fixed_scale(beta, "beta");
    for (index c = 0; c < a.cols; ++c) {
      const std::int16_t old = beta_q == 0 ? std::int16_t(0) : y[c].raw();
      y[c] = act_t::from_raw(fixed_rules::scale_and_add(fixed_rules::to_signed(sum[static_cast<std::size_t>(c)]),
                                                        alpha_q, beta_q, old, T::frac_bits));
    }
  } else {
    for (index c = 0; c < a.cols; ++c) {
      const acc_t scaled = acc_t(alpha) * sum[static_cast<std::size_t>(c)];
      y[c] = beta == scalar_t<T>(0) ? act_t(scaled) : act_t(scaled + acc_t(beta) * acc_t(y[c]));
    }
  }
}

}  // namespace backend
}  // namespace bbs

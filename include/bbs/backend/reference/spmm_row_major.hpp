// Reference row-major SpMM: Y = alpha * A * X + beta * Y with X (A.cols x n) and Y (A.rows x n)
// stored row by row, in plain loops. The specification of kernel::spmm_row_major.
#pragma once

#include <algorithm>

#include "bbs/backend/common/requires_backend.hpp"
#include "bbs/backend/reference/tag.hpp"
#include "bbs/core/fixed_point.hpp"
#include "bbs/core/value_traits.hpp"
#include "bbs/storage/csb_view.hpp"

namespace bbs {
namespace backend {

/// Row r of X starts at x + r * ldx, row r of Y at y + r * ldy (ldx, ldy >= n). Output (r, p) is
/// exactly spmv(reference, A, alpha, X[:, p], beta, Y[:, p])[r]: the same sum in
/// value_traits<T>::accumulator over the row's entries in storage order (padding skipped), the
/// same alpha / beta rule (fixed point: wrap-around int32 sum, one fixed_rules::scale_and_add;
/// beta == 0 never reads Y). The loops run entry by entry over a tile of pixels, so the sums of a
/// tile grow side by side in the order each one's SpMV would add them.
template <typename Backend, typename T>
void spmm_row_major(Backend, requires_backend<reference>, const CsbView<T>& a, index n, scalar_t<T> alpha,
                    const activation_t<T>* x, index ldx, scalar_t<T> beta, activation_t<T>* y, index ldy) {
  using acc_t = typename value_traits<T>::accumulator;
  using act_t = activation_t<T>;
  constexpr index tile = 256;
  acc_t sum[tile];
  const index nb = a.num_banks();
  const index k = a.nnz_per_bank();
  // The loops, given how one entry adds into a tile's w sums (add_entry(sum, value, x row, w)) and
  // how the sums become outputs (finish(sum, y row, w)).
  const auto run = [&](auto add_entry, auto finish) {
    a.with_indices([&](auto idx) {
      for (index r = 0; r < a.rows; ++r) {
        const index row_begin = r * a.row_entries();
        for (index p0 = 0; p0 < n; p0 += tile) {
          const index w = std::min(tile, n - p0);
          std::fill(sum, sum + w, acc_t(0));
          for (index s = 0; s < k; ++s) {
            for (index b = 0; b < nb; ++b) {
              const index e = row_begin + s * nb + b;
              const index col = b * a.bank_size() + idx[e];
              if (col < a.cols) add_entry(sum, a.values[e], x + col * ldx + p0, w);
            }
          }
          finish(sum, y + r * ldy + p0, w);
        }
      }
    });
  };
  if constexpr (is_fixed_point<T>::value) {
    const std::int32_t alpha_q = detail::fixed_scale(alpha, "alpha");
    const std::int32_t beta_q = detail::fixed_scale(beta, "beta");
    run(
        [](acc_t* s, T value, const act_t* xr, index w) {
          const auto v = value.raw();
          for (index p = 0; p < w; ++p) s[p] = fixed_rules::multiply_add(s[p], v, xr[p].raw());
        },
        [&](const acc_t* s, act_t* yr, index w) {
          for (index p = 0; p < w; ++p) {
            const std::int16_t old = beta_q == 0 ? std::int16_t(0) : yr[p].raw();
            yr[p] = act_t::from_raw(
                fixed_rules::scale_and_add(fixed_rules::to_signed(s[p]), alpha_q, beta_q, old, T::frac_bits));
          }
        });
  } else {
    run(
        [](acc_t* s, T value, const act_t* xr, index w) {
          const acc_t v = acc_t(value);
          for (index p = 0; p < w; ++p) s[p] += v * acc_t(xr[p]);
        },
        [&](const acc_t* s, act_t* yr, index w) {
          for (index p = 0; p < w; ++p) {
            const acc_t scaled = acc_t(alpha) * s[p];
            yr[p] = beta == scalar_t<T>(0) ? act_t(scaled) : act_t(scaled + acc_t(beta) * acc_t(yr[p]));
          }
        });
  }
}

}  // namespace backend
}  // namespace bbs

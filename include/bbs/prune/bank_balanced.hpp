// Bank-balanced pruning: every bank of every row keeps its nnz_per_bank largest-magnitude entries.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <type_traits>
#include <vector>

#include <Eigen/Core>

#include "bbs/matrix/bbs_matrix.hpp"

namespace bbs {
namespace detail {

/// Throws value_error if w(r, c) is NaN or infinite: magnitudes must be ordered to prune.
template <typename T>
void check_finite_weight(T w, index r, index c) {
  if (!std::isfinite(static_cast<double>(w))) {
    throw_error<value_error>("prune: weight (", r, ", ", c, ") is ", static_cast<double>(w),
                             "; pruning needs finite weights");
  }
}

/// Ranks positions [0, n) of a bank or row by magnitude: larger first, ties to the lower position.
/// On return the first `keep` entries of `order` are the kept positions, in ascending position order.
template <typename Magnitude>
void select_largest(std::vector<index>& order, index n, index keep, Magnitude&& magnitude) {
  order.resize(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), index(0));
  const auto by_magnitude = [&](index a, index b) {
    const double ma = magnitude(a);
    const double mb = magnitude(b);
    return ma > mb || (ma == mb && a < b);
  };
  std::nth_element(order.begin(), order.begin() + keep, order.end(), by_magnitude);
  std::sort(order.begin(), order.begin() + keep);
}

/// Builds the bank-balanced matrix whose kept entries select(r, first, width, real, order) picks:
/// it fills the first `real` entries of `order` with the kept positions of the bank of row r
/// that starts at column `first` (`width` columns), ascending; w(r, c) gives their values.
template <typename T, typename Index, typename Source, typename Select>
BbsMatrix<T> build_bank_balanced_indexed(index rows, index cols, const BankConfig& cfg, const Source& w,
                                         Select&& select) {
  const index n = checked_stored_entries(rows, cols, cfg);
  const index nb = cfg.num_banks(cols);
  const index k = cfg.nnz_per_bank;
  const index bs = cfg.bank_size;
  std::vector<T> values(static_cast<std::size_t>(n));
  std::vector<Index> indices(static_cast<std::size_t>(n));
  std::vector<index> order;
  for (index r = 0; r < rows; ++r) {
    for (index b = 0; b < nb; ++b) {
      const index first = b * bs;
      const index width = std::min(bs, cols - first);
      const index real = std::min(k, width);
      select(r, first, width, real, order);
      for (index s = 0; s < k; ++s) {
        const auto e = static_cast<std::size_t>(csb_entry(r, s, b, nb, k));
        // Slots past the real columns of a partial last bank are padding: the zero-padded
        // columns width, width + 1, ..., which hold zero.
        const index i = s < real ? order[static_cast<std::size_t>(s)] : width + (s - real);
        indices[e] = static_cast<Index>(i);
        values[e] = s < real ? static_cast<T>(w(r, first + i)) : T(0);
      }
    }
  }
  return BbsMatrix<T>(rows, cols, cfg, std::move(values), std::move(indices));
}

/// build_bank_balanced with the index type cfg's bank size needs.
template <typename T, typename Source, typename Select>
BbsMatrix<T> build_bank_balanced(index rows, index cols, const BankConfig& cfg, const Source& w, Select&& select) {
  if (cfg.index_width() == IndexWidth::u8)
    return build_bank_balanced_indexed<T, std::uint8_t>(rows, cols, cfg, w, select);
  return build_bank_balanced_indexed<T, std::uint16_t>(rows, cols, cfg, w, select);
}

/// Core of prune(): w(r, c) reads the dense source; works for any storage order or library.
template <typename T, typename Source>
BbsMatrix<T> prune_source(index rows, index cols, const BankConfig& cfg, const Source& w) {
  return build_bank_balanced<T>(
      rows, cols, cfg, w, [&](index r, index first, index width, index real, std::vector<index>& order) {
        for (index i = 0; i < width; ++i) check_finite_weight(w(r, first + i), r, first + i);
        select_largest(order, width, real, [&](index i) { return std::abs(static_cast<double>(w(r, first + i))); });
      });
}

}  // namespace detail

/// Prunes a dense matrix to bank-balanced sparsity.
///
/// Every row is cut into banks of cfg.bank_size consecutive columns; each bank keeps its
/// cfg.nnz_per_bank entries of largest magnitude. Ties keep the entry in the lower column. When
/// cols is not a multiple of bank_size, the last bank is zero-padded: it keeps min(k, width) real
/// entries and, if k exceeds its width, padding entries with value zero. Throws value_error on a
/// NaN or infinite weight.
template <typename T, typename Derived>
BbsMatrix<T> prune(const Eigen::DenseBase<Derived>& w, const BankConfig& cfg) {
  const auto& evaluated = w.derived().eval();  // evaluates expressions once; plain matrices by reference
  return detail::prune_source<T>(evaluated.rows(), evaluated.cols(), cfg,
                                 [&](index r, index c) { return evaluated(r, c); });
}

}  // namespace bbs

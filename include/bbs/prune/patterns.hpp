// The comparison pruning patterns of the BBS paper's Figure 1 (unstructured, unstructured per row,
// bank-balanced, block) as masks, and how much of the weights' magnitude each one keeps. This is
// what justifies bank balance: nearly the magnitude of unstructured pruning, far more than blocks.
#pragma once

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "bbs/core/bank_config.hpp"
#include "bbs/core/error.hpp"
#include "bbs/prune/bank_balanced.hpp"

namespace bbs {

/// Which entries of a weight matrix a pattern keeps (true) or drops (false); same shape as the weights.
using PruneMask = Eigen::Array<bool, Eigen::Dynamic, Eigen::Dynamic>;

/// How much of a weight matrix W a mask keeps. Every ratio whose denominator is zero is defined
/// as 1 (nothing was there, so nothing was lost): an empty W has density 1, an all-zero W has l1
/// and l2 fractions 1 under any mask.
struct RetainedMagnitude {
  double density;      ///< kept entries / all entries
  double l1_fraction;  ///< sum |kept| / sum |W|
  double l2_fraction;  ///< ||kept||_F / ||W||_F
};

/// One row of compare_patterns(): a pattern's name and what it keeps.
struct PatternRetained {
  std::string pattern;
  RetainedMagnitude retained;
};

/// The rows of compare_patterns(), in the order of the paper's Figure 1.
using PatternReport = std::vector<PatternRetained>;

// ---------------------------------------------------------------------------------------------
// Shared helpers.

namespace detail {

/// |W| in double. Row-major, so that row-major positions and each row are contiguous.
using MagnitudeArray = Eigen::Array<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// |W| in double; throws value_error (naming the first bad entry in row-major order) on NaN or inf.
template <typename Derived>
MagnitudeArray magnitudes(const Eigen::DenseBase<Derived>& w) {
  const auto& evaluated = w.derived().eval();
  MagnitudeArray m(evaluated.rows(), evaluated.cols());
  // Copied in square tiles: a column-major source copied row by row would be read with a stride
  // of a whole column per entry, several times slower on large matrices.
  constexpr index tile = 64;
  for (index r = 0; r < m.rows(); r += tile) {
    for (index c = 0; c < m.cols(); c += tile) {
      const index h = std::min(tile, m.rows() - r);
      const index wd = std::min(tile, m.cols() - c);
      m.block(r, c, h, wd) = evaluated.block(r, c, h, wd).template cast<double>().array().abs();
    }
  }
  if (!m.allFinite()) {
    for (index r = 0; r < m.rows(); ++r) {
      for (index c = 0; c < m.cols(); ++c) check_finite_weight(evaluated(r, c), r, c);
    }
  }
  return m;
}

inline void check_sparsity(const char* who, double sparsity) {
  if (!(sparsity >= 0.0 && sparsity <= 1.0)) {
    throw_error<config_error>(who, ": sparsity must be in [0, 1], got ", sparsity);
  }
}

inline void check_block_size(const char* who, index block_rows, index block_cols) {
  if (block_rows < 1 || block_cols < 1) {
    throw_error<config_error>(who, ": block size must be at least 1 x 1, got ", block_rows, " x ", block_cols);
  }
}

/// Rounds a wanted number of kept items with BankConfig::from_sparsity's rule: to the nearest
/// integer, halves up, at least 1 when anything is wanted, at most n.
inline index round_kept(double wanted, index n) {
  if (n <= 0 || !(wanted > 0.0)) return 0;
  // from_sparsity's 1e-9 absorbs the binary representation error of a decimal sparsity, so
  // 0.9 of 15 is 1.5 and rounds up. That error grows with n, and so does the slack here.
  const double slack = 1e-9 + 1e-15 * static_cast<double>(n);
  const double rounded = std::floor(wanted + 0.5 + slack);
  if (rounded >= static_cast<double>(n)) return n;
  return std::max(index(1), static_cast<index>(rounded));
}

/// Entries kept out of n at the given sparsity: round_kept(n * (1 - sparsity)), and 0 at sparsity
/// 1 or for n = 0 (the only case where a sparsity below 1 keeps nothing).
inline index kept_count(index n, double sparsity) {
  if (sparsity >= 1.0) return 0;
  return round_kept(static_cast<double>(n) * (1.0 - sparsity), n);
}

/// Number of tiles of size `block` that cover n (the last one may be partial); no overflow for huge blocks.
inline index tile_count(index n, index block) { return n / block + (n % block != 0 ? 1 : 0); }

/// A power of two that brings the largest magnitude just below 1 when it is larger, so sums of
/// squares cannot overflow. Scaling by a power of two is exact, so sums (and their ties) are
/// exactly those of the unscaled magnitudes unless those overflowed or the scaled ones underflow
/// (terms below about 1e-300 of the largest, which cannot change a sum anyway).
inline double overflow_scale(double largest) {
  if (!(largest > 1.0)) return 1.0;
  int exponent = 0;
  std::frexp(largest, &exponent);
  return std::ldexp(1.0, -exponent);
}

/// Keeps the `keep` largest magnitudes of the whole matrix; ties to the lower row-major position.
inline PruneMask global_top_mask(const MagnitudeArray& m, index keep) {
  if (keep >= m.size()) return PruneMask::Constant(m.rows(), m.cols(), true);  // no need to rank
  PruneMask mask = PruneMask::Constant(m.rows(), m.cols(), false);
  if (keep == 0) return mask;
  const double* data = m.data();
  std::vector<index> order;
  select_largest(order, m.size(), keep, [data](index p) { return data[p]; });
  for (index s = 0; s < keep; ++s) {
    const index p = order[static_cast<std::size_t>(s)];
    mask(p / m.cols(), p % m.cols()) = true;
  }
  return mask;
}

/// Keeps the `keep` largest magnitudes of every row; ties to the lower column.
inline PruneMask row_top_mask(const MagnitudeArray& m, index keep) {
  PruneMask mask = PruneMask::Constant(m.rows(), m.cols(), false);
  if (keep == 0) return mask;
  std::vector<index> order;
  for (index r = 0; r < m.rows(); ++r) {
    const double* row = m.data() + r * m.cols();
    select_largest(order, m.cols(), keep, [row](index c) { return row[c]; });
    for (index s = 0; s < keep; ++s) mask(r, order[static_cast<std::size_t>(s)]) = true;
  }
  return mask;
}

/// Keeps the `keep` tiles of largest Frobenius norm; ties to the lower tile in row-major tile order.
inline PruneMask block_top_mask(const MagnitudeArray& m, index block_rows, index block_cols, index keep) {
  PruneMask mask = PruneMask::Constant(m.rows(), m.cols(), false);
  if (keep == 0) return mask;
  const index tile_rows = tile_count(m.rows(), block_rows);
  const index tile_cols = tile_count(m.cols(), block_cols);
  const auto tile = [&](auto& a, index t) {
    const index r = (t / tile_cols) * block_rows;
    const index c = (t % tile_cols) * block_cols;
    return a.block(r, c, std::min(block_rows, m.rows() - r), std::min(block_cols, m.cols() - c));
  };
  // Squared norms rank the tiles exactly as norms do, without a square root that could merge
  // two nearly equal norms into a tie.
  const double scale = overflow_scale(m.maxCoeff());
  std::vector<double> squared_norm(static_cast<std::size_t>(tile_rows * tile_cols));
  for (index t = 0; t < tile_rows * tile_cols; ++t) {
    squared_norm[static_cast<std::size_t>(t)] = (tile(m, t) * scale).square().sum();
  }
  std::vector<index> order;
  select_largest(order, tile_rows * tile_cols, keep,
                 [&squared_norm](index t) { return squared_norm[static_cast<std::size_t>(t)]; });
  for (index s = 0; s < keep; ++s) tile(mask, order[static_cast<std::size_t>(s)]).setConstant(true);
  return mask;
}

/// retained_magnitude() on precomputed magnitudes (mask shape already checked).
inline RetainedMagnitude retained(const MagnitudeArray& m, const PruneMask& mask) {
  if (m.size() == 0) return {1.0, 1.0, 1.0};
  const double scale = overflow_scale(m.maxCoeff());
  index kept = 0;
  double l1_kept = 0.0, l1_all = 0.0, l2_kept = 0.0, l2_all = 0.0;
  // The kept sums add a subset of the same non-negative terms in the same order as the full sums,
  // and rounding is monotone, so the fractions never exceed 1.
  for (index r = 0; r < m.rows(); ++r) {
    for (index c = 0; c < m.cols(); ++c) {
      const double x = m(r, c) * scale;
      l1_all += x;
      l2_all += x * x;
      if (mask(r, c)) {
        ++kept;
        l1_kept += x;
        l2_kept += x * x;
      }
    }
  }
  const auto fraction = [](double part, double whole) { return whole == 0.0 ? 1.0 : part / whole; };
  return {static_cast<double>(kept) / static_cast<double>(m.size()), fraction(l1_kept, l1_all),
          std::sqrt(fraction(l2_kept, l2_all))};
}

}  // namespace detail

// ---------------------------------------------------------------------------------------------
// The patterns. Each takes any dense Eigen expression and throws value_error on a NaN or
// infinite weight. Kept counts use BankConfig::from_sparsity's rounding rule (nearest, halves
// up, at least 1 below sparsity 1), except that an empty matrix (or tile grid) keeps 0.

/// Unstructured (global) pruning: the round((1 - sparsity) * rows * cols) largest magnitudes of
/// the whole matrix. Ties keep the lower row-major position. Throws config_error for a sparsity
/// outside [0, 1].
template <typename Derived>
PruneMask unstructured_mask(const Eigen::DenseBase<Derived>& w, double sparsity) {
  detail::check_sparsity("unstructured_mask", sparsity);
  const detail::MagnitudeArray m = detail::magnitudes(w);
  return detail::global_top_mask(m, detail::kept_count(m.size(), sparsity));
}

/// Unstructured pruning of each row separately: every row keeps its round((1 - sparsity) * cols)
/// largest magnitudes. Ties keep the lower column. Throws config_error for a sparsity outside [0, 1].
template <typename Derived>
PruneMask unstructured_row_mask(const Eigen::DenseBase<Derived>& w, double sparsity) {
  detail::check_sparsity("unstructured_row_mask", sparsity);
  const detail::MagnitudeArray m = detail::magnitudes(w);
  return detail::row_top_mask(m, detail::kept_count(m.cols(), sparsity));
}

/// Block pruning: the matrix is tiled by block_rows x block_cols tiles from the top left (tiles
/// on the bottom and right edges may be partial) and the round((1 - sparsity) * tiles) tiles of
/// largest Frobenius norm are kept whole. A partial tile competes with its smaller norm. Ties keep
/// the lower tile in row-major tile order. Throws config_error for a block size below 1 or a
/// sparsity outside [0, 1]; the sparsity counts tiles, so the entry density can differ from it
/// when edge tiles are partial.
template <typename Derived>
PruneMask block_mask(const Eigen::DenseBase<Derived>& w, index block_rows, index block_cols, double sparsity) {
  detail::check_block_size("block_mask", block_rows, block_cols);
  detail::check_sparsity("block_mask", sparsity);
  const detail::MagnitudeArray m = detail::magnitudes(w);
  const index tiles = detail::tile_count(m.rows(), block_rows) * detail::tile_count(m.cols(), block_cols);
  return detail::block_top_mask(m, block_rows, block_cols, detail::kept_count(tiles, sparsity));
}

/// Bank-balanced pruning as a mask: exactly the entries bbs::prune(w, cfg) keeps (explicitly
/// kept zeros included, padding of a partial last bank excluded).
template <typename Derived>
PruneMask bank_balanced_mask(const Eigen::DenseBase<Derived>& w, const BankConfig& cfg) {
  const BbsMatrix<double> pruned = prune<double>(w, cfg);
  PruneMask mask = PruneMask::Constant(pruned.rows(), pruned.cols(), false);
  pruned.forEach([&mask](index r, index c, double) { mask(r, c) = true; });
  return mask;
}

/// Density and L1/L2 magnitude fractions that `mask` keeps of `w` (see RetainedMagnitude for the
/// 0/0 = 1 convention). Computed in double with a power-of-two rescaling, so weights near the
/// double range do not overflow. Throws shape_error if the shapes differ.
template <typename Derived>
RetainedMagnitude retained_magnitude(const Eigen::DenseBase<Derived>& w, const PruneMask& mask) {
  if (mask.rows() != w.rows() || mask.cols() != w.cols()) {
    detail::throw_error<shape_error>("retained_magnitude: the mask is ", mask.rows(), " x ", mask.cols(),
                                     " but the weights are ", w.rows(), " x ", w.cols());
  }
  return detail::retained(detail::magnitudes(w), mask);
}

/// Figure 1 of the paper in numbers: what unstructured (global), unstructured per row,
/// bank-balanced (cfg) and block (block_rows x block_cols) pruning keep of w, all at the density
/// of the bank-balanced pattern. The unstructured patterns keep exactly as many entries as
/// bank-balanced pruning (every bank-balanced row keeps the same count); block pruning keeps the
/// nearest whole number of tiles, which is the same density whenever the blocks divide the matrix
/// and that density times the tile count is an integer. Each row reports its actual density.
/// Throws config_error for a block size below 1 or an invalid cfg, value_error on NaN or inf.
template <typename Derived>
PatternReport compare_patterns(const Eigen::DenseBase<Derived>& w, const BankConfig& cfg, index block_rows,
                               index block_cols) {
  detail::check_block_size("compare_patterns", block_rows, block_cols);
  cfg.validate();
  const auto& evaluated = w.derived().eval();
  const detail::MagnitudeArray m = detail::magnitudes(evaluated);
  const PruneMask banked = bank_balanced_mask(evaluated, cfg);

  const index kept = banked.count();
  const index per_row = m.rows() == 0 ? 0 : kept / m.rows();
  const index tiles = detail::tile_count(m.rows(), block_rows) * detail::tile_count(m.cols(), block_cols);
  const double density = m.size() == 0 ? 0.0 : static_cast<double>(kept) / static_cast<double>(m.size());
  const index kept_tiles = detail::round_kept(density * static_cast<double>(tiles), tiles);

  return {
      {"unstructured (global)", detail::retained(m, detail::global_top_mask(m, kept))},
      {"unstructured per row", detail::retained(m, detail::row_top_mask(m, per_row))},
      {detail::concat("bank-balanced (bank ", cfg.bank_size, ", k ", cfg.nnz_per_bank, ")"),
       detail::retained(m, banked)},
      {detail::concat("block ", block_rows, "x", block_cols),
       detail::retained(m, detail::block_top_mask(m, block_rows, block_cols, kept_tiles))},
  };
}

/// The report as an aligned text table: one line per pattern with its density and L1/L2 fractions.
inline std::string to_string(const PatternReport& report) {
  const std::string title = "pattern";
  std::size_t width = title.size();
  for (const PatternRetained& row : report) width = std::max(width, row.pattern.size());
  const int name_width = static_cast<int>(width);
  std::ostringstream os;
  os << std::left << std::setw(name_width) << title << std::right << std::setw(10) << "density" << std::setw(10)
     << "L1 kept" << std::setw(10) << "L2 kept" << '\n';
  os << std::fixed << std::setprecision(4);
  for (const PatternRetained& row : report) {
    os << std::left << std::setw(name_width) << row.pattern << std::right << std::setw(10) << row.retained.density
       << std::setw(10) << row.retained.l1_fraction << std::setw(10) << row.retained.l2_fraction << '\n';
  }
  return os.str();
}

inline std::ostream& operator<<(std::ostream& os, const PatternReport& report) { return os << to_string(report); }

}  // namespace bbs

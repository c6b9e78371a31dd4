// Calibrated bank-balanced pruning: one-shot, without retraining. Picks each bank's kept weights
// and updates them from calibration inputs so that the layer's outputs W X change as little as
// possible (the Optimal Brain Surgeon update, applied column by column as SparseGPT does; Frantar
// & Alistarh, "SparseGPT", 2023), under the bank-balanced constraint: every bank of every row
// keeps exactly nnz_per_bank weights, as bbs::prune does.
//
// With H = X X^T + lambda I (X: cols x samples, the layer's inputs) and U the upper Cholesky
// factor of H^-1 (H^-1 = U^T U), the columns are processed left to right:
//   at the first column of a bank, each row keeps the k columns of the bank with the largest
//     saliency w_c^2 / U_cc^2 (the increase of ||(W - W') X||^2 that removing w_c alone causes,
//     with the weights as updated so far); ties go to the lower column;
//   at column j, each row whose weight j is pruned sets it to zero and moves the error
//     e = w_j / U_jj onto its later columns: w_c -= e U_jc for c > j.
// U_jj^2 is [H_F^-1]_00 and U_j,c / U_jj is [H_F^-1]_0c / [H_F^-1]_00 for F = {j, ..., cols - 1}:
// the exact OBS update of the columns not yet processed. Kept columns never move after their own
// step, so the result is SparseGPT's, not the global least-squares optimum for the final mask.
#pragma once

#include <cmath>
#include <vector>

#include <Eigen/Cholesky>
#include <Eigen/Core>

#include "bbs/core/bank_config.hpp"
#include "bbs/core/error.hpp"
#include "bbs/matrix/bbs_matrix.hpp"
#include "bbs/prune/bank_balanced.hpp"
#include "bbs/prune/patterns.hpp"

namespace bbs {

/// Options of prune_calibrated.
struct CalibrationOptions {
  /// lambda = damping * mean(diag(X X^T)): keeps H invertible when inputs are correlated or
  /// some never vary (SparseGPT's percdamp). Must be > 0.
  double damping = 0.01;
};

namespace detail {

/// Throws value_error naming the first entry of m that is NaN or infinite; `what` names m.
template <typename Derived>
void require_finite(const char* who, const Eigen::MatrixBase<Derived>& m, const char* what) {
  for (index c = 0; c < m.cols(); ++c) {
    for (index r = 0; r < m.rows(); ++r) {
      const double v = static_cast<double>(m(r, c));
      if (!std::isfinite(v)) {
        throw_error<value_error>(who, ": ", what, " (", r, ", ", c, ") is ", v, "; calibration needs finite ", what,
                                 "s");
      }
    }
  }
}

/// The upper Cholesky factor U of (X X^T + lambda I)^-1, lambda = damping * mean diagonal.
inline Eigen::MatrixXd calibration_inverse_factor(const char* who, const Eigen::MatrixXd& x, double damping) {
  const index n = x.rows();
  Eigen::MatrixXd lower = Eigen::MatrixXd::Zero(n, n);
  lower.selfadjointView<Eigen::Lower>().rankUpdate(x);  // half of X X^T's flops
  Eigen::MatrixXd h = lower.selfadjointView<Eigen::Lower>();
  // An input that is always zero carries no information: give it unit curvature so that H stays
  // invertible; its weights are then ranked by magnitude alone.
  for (index j = 0; j < n; ++j) {
    if (h(j, j) == 0.0) h(j, j) = 1.0;
  }
  const double lambda = damping * h.diagonal().mean();
  h.diagonal().array() += lambda;
  Eigen::LLT<Eigen::MatrixXd> llt(h);
  if (llt.info() != Eigen::Success) {
    throw_error<value_error>(who, ": X X^T + ", lambda,
                             " I is not positive definite; raise CalibrationOptions::damping");
  }
  const Eigen::MatrixXd inverse = llt.solve(Eigen::MatrixXd::Identity(n, n));
  Eigen::LLT<Eigen::MatrixXd> inverse_llt(inverse);
  if (inverse_llt.info() != Eigen::Success) {
    throw_error<value_error>(who, ": (X X^T + ", lambda,
                             " I)^-1 lost positive definiteness in rounding; raise CalibrationOptions::damping");
  }
  return inverse_llt.matrixU();
}

/// Checks W, X and the options (errors name `who`); returns U, the upper Cholesky factor of H^-1.
template <typename DerivedW, typename DerivedX>
Eigen::MatrixXd calibration_factor(const char* who, const Eigen::MatrixBase<DerivedW>& w,
                                   const Eigen::MatrixBase<DerivedX>& x, const CalibrationOptions& options) {
  if (x.rows() != w.cols()) {
    throw_error<shape_error>(who, ": the calibration inputs X are ", x.rows(), " x ", x.cols(), ", expected ", w.cols(),
                             " rows (one per column of W, ", w.rows(), " x ", w.cols(), "), one column per sample");
  }
  if (!(options.damping > 0.0) || !std::isfinite(options.damping)) {
    throw_error<config_error>(who, ": damping is ", options.damping, ", expected > 0");
  }
  require_finite(who, w, "weight");
  require_finite(who, x, "calibration input");
  return calibration_inverse_factor(who, x.template cast<double>(), options.damping);
}

/// The column sweep shared by every pattern. For each block of `block` columns from the left,
/// choose(first, width, saliency) returns which weights of the block stay (a rows x width mask),
/// given their saliencies w_c^2 / U_cc^2 with the weights as updated so far; then each column of
/// the block in turn: its pruned weights become exactly zero and their errors w_j / U_jj move onto
/// the later columns. w is updated in place; the returned mask (rows x cols) is what stayed.
template <typename Choose>
PruneMask calibrated_sweep(Eigen::MatrixXd& w, const Eigen::MatrixXd& u, index block, Choose&& choose) {
  const index rows = w.rows();
  const index cols = w.cols();
  PruneMask kept(rows, cols);
  for (index first = 0; first < cols; first += block) {
    const index width = std::min(block, cols - first);
    MagnitudeArray saliency(rows, width);
    for (index i = 0; i < width; ++i) {
      const double d = u(first + i, first + i);
      saliency.col(i) = (w.col(first + i).array() / d).square();
    }
    kept.middleCols(first, width) = choose(first, width, saliency);
    for (index j = first; j < first + width; ++j) {
      Eigen::VectorXd error = Eigen::VectorXd::Zero(rows);
      for (index r = 0; r < rows; ++r) {
        if (!kept(r, j)) {
          error(r) = w(r, j) / u(j, j);
          w(r, j) = 0.0;
        }
      }
      const index rest = cols - j - 1;
      if (rest > 0) w.rightCols(rest).noalias() -= error * u.row(j).tail(rest);
    }
  }
  return kept;
}

}  // namespace detail

/// One-shot calibrated bank-balanced pruning of W (rows x cols) with calibration inputs X
/// (cols x samples: one input vector of the layer per column, as the layer would multiply them).
/// The mask is bank-balanced under cfg exactly as bbs::prune's (a partial last bank keeps
/// min(k, width) real entries); the kept weights are updated to compensate for the pruned ones.
/// N:M sparsity is the configuration BankConfig(M, N). Arithmetic in double. Cost:
/// O(cols^3 + rows cols^2). Throws shape_error when X does not have cols rows, config_error on a
/// bad damping, value_error on NaN or infinity.
template <typename T, typename DerivedW, typename DerivedX>
BbsMatrix<T> prune_calibrated(const Eigen::MatrixBase<DerivedW>& w, const Eigen::MatrixBase<DerivedX>& x,
                              const BankConfig& cfg, const CalibrationOptions& options = {}) {
  cfg.validate();
  const Eigen::MatrixXd u = detail::calibration_factor("prune_calibrated", w, x, options);
  Eigen::MatrixXd wd = w.template cast<double>();
  std::vector<index> order;
  const PruneMask kept =
      detail::calibrated_sweep(wd, u, cfg.bank_size, [&](index, index width, const detail::MagnitudeArray& saliency) {
        const index real = std::min(cfg.nnz_per_bank, width);
        PruneMask bank = PruneMask::Constant(saliency.rows(), width, false);
        for (index r = 0; r < saliency.rows(); ++r) {
          detail::select_largest(order, width, real, [&](index i) { return saliency(r, i); });
          for (index s = 0; s < real; ++s) bank(r, order[static_cast<std::size_t>(s)]) = true;
        }
        return bank;
      });
  return detail::build_bank_balanced<T>(
      wd.rows(), wd.cols(), cfg, [&](index r, index c) { return wd(r, c); },
      [&](index r, index first, index width, index, std::vector<index>& positions) {
        positions.clear();
        for (index i = 0; i < width; ++i) {
          if (kept(r, first + i)) positions.push_back(i);
        }
      });
}

/// One-shot calibrated unstructured pruning, for comparison with prune_calibrated: the same sweep
/// over blocks of `block` columns (SparseGPT's 128), each block keeping its
/// round((1 - sparsity) * rows * width) weights of largest saliency wherever they are (ties to
/// the lower row-major position). Returns the dense matrix, pruned weights exactly zero. Throws as
/// prune_calibrated, and config_error for a sparsity outside [0, 1] or a block below 1.
template <typename T, typename DerivedW, typename DerivedX>
Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic> prune_calibrated_unstructured(const Eigen::MatrixBase<DerivedW>& w,
                                                                               const Eigen::MatrixBase<DerivedX>& x,
                                                                               double sparsity,
                                                                               const CalibrationOptions& options = {},
                                                                               index block = 128) {
  detail::check_sparsity("prune_calibrated_unstructured", sparsity);
  if (block < 1)
    detail::throw_error<config_error>("prune_calibrated_unstructured: block is ", block, ", expected >= 1");
  const Eigen::MatrixXd u = detail::calibration_factor("prune_calibrated_unstructured", w, x, options);
  Eigen::MatrixXd wd = w.template cast<double>();
  detail::calibrated_sweep(wd, u, block, [&](index, index, const detail::MagnitudeArray& saliency) {
    return detail::global_top_mask(saliency, detail::kept_count(saliency.size(), sparsity));
  });
  return wd.template cast<T>();
}

}  // namespace bbs

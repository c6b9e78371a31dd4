// Calibrated bank-balanced pruning (include/bbs/prune/calibrated.hpp): against an independent
// reference that solves the OBS update with explicit inverses of the trailing Hessian blocks, on
// tiny shapes with partial last banks; the mask's bank balance; the reconstruction error
// ||W X - W' X|| against magnitude pruning on correlated inputs; and the error messages.
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <string>
#include <random>
#include <vector>

#include <Eigen/LU>

#include "source_tree.hpp"  // BBS_TEST_DATA_DIR, BBS_MODELS_DIR, BBS_CLI
#include "testbed.hpp"

namespace {

using Eigen::MatrixXd;
using Eigen::VectorXd;

/// Inputs with correlated features: X = L Z for a random mixing L, plus a little noise, as real
/// layer inputs are (neighbouring pixels, hidden units that move together).
MatrixXd correlated_inputs(bbs::index features, bbs::index samples, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  const bbs::index latent = std::max<bbs::index>(2, features / 4);
  MatrixXd mix(features, latent), z(latent, samples), noise(features, samples);
  for (bbs::index i = 0; i < mix.size(); ++i) mix.data()[i] = normal(rng);
  for (bbs::index i = 0; i < z.size(); ++i) z.data()[i] = normal(rng);
  for (bbs::index i = 0; i < noise.size(); ++i) noise.data()[i] = 0.1 * normal(rng);
  return mix * z + noise;
}

MatrixXd random_weights(bbs::index rows, bbs::index cols, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  MatrixXd w(rows, cols);
  for (bbs::index i = 0; i < w.size(); ++i) w.data()[i] = normal(rng);
  return w;
}

/// The algorithm of calibrated.hpp written from its definition, one row at a time: H damped as
/// documented; the saliency of column c is w_c^2 / [inv(H[c:, c:])]_00; pruning column j moves
/// w_j onto the later columns with the first row of inv(H[j:, j:]). Explicit inverses, no
/// Cholesky factor: an independent check of the factor arithmetic.
MatrixXd reference_calibrated(const MatrixXd& w, const MatrixXd& x, const bbs::BankConfig& cfg, double damping) {
  const bbs::index n = w.cols();
  MatrixXd h = x * x.transpose();
  for (bbs::index j = 0; j < n; ++j) {
    if (h(j, j) == 0.0) h(j, j) = 1.0;
  }
  h.diagonal().array() += damping * h.diagonal().mean();
  std::vector<MatrixXd> trailing_inverse(static_cast<std::size_t>(n));
  for (bbs::index j = 0; j < n; ++j) {
    trailing_inverse[static_cast<std::size_t>(j)] = h.bottomRightCorner(n - j, n - j).inverse();
  }
  MatrixXd out = w;
  for (bbs::index r = 0; r < w.rows(); ++r) {
    VectorXd row = w.row(r).transpose();
    std::vector<bool> keep(static_cast<std::size_t>(n), false);
    for (bbs::index first = 0; first < n; first += cfg.bank_size) {
      const bbs::index width = std::min(cfg.bank_size, n - first);
      const bbs::index real = std::min(cfg.nnz_per_bank, width);
      // Keep the `real` largest saliencies, ties to the lower column: rank by (-saliency, column).
      std::vector<bbs::index> cols(static_cast<std::size_t>(width));
      for (bbs::index i = 0; i < width; ++i) cols[static_cast<std::size_t>(i)] = first + i;
      const auto saliency = [&](bbs::index c) {
        return row(c) * row(c) / trailing_inverse[static_cast<std::size_t>(c)](0, 0);
      };
      std::stable_sort(cols.begin(), cols.end(), [&](bbs::index a, bbs::index b) { return saliency(a) > saliency(b); });
      for (bbs::index s = 0; s < real; ++s) keep[static_cast<std::size_t>(cols[static_cast<std::size_t>(s)])] = true;
      for (bbs::index j = first; j < first + width; ++j) {
        if (keep[static_cast<std::size_t>(j)]) continue;
        const MatrixXd& inv = trailing_inverse[static_cast<std::size_t>(j)];
        row.tail(n - j) -= (row(j) / inv(0, 0)) * inv.row(0).transpose();
        row(j) = 0.0;  // exactly: the update above leaves rounding there
      }
    }
    out.row(r) = row.transpose();
  }
  return out;
}

double reconstruction_error(const MatrixXd& w, const MatrixXd& pruned, const MatrixXd& x) {
  return ((w - pruned) * x).norm();
}

}  // namespace

TEST_CASE("calibrated pruning matches the explicit-inverse reference on tiny shapes", "[prune][calibrated]") {
  struct Case {
    bbs::index rows, cols;
    bbs::BankConfig cfg;
  };
  const Case cases[] = {
      {1, 4, bbs::BankConfig(4, 2)}, {3, 10, bbs::BankConfig(4, 2)},  // partial last bank of 2
      {4, 7, bbs::BankConfig(3, 1)}, {2, 9, bbs::BankConfig(9, 3)},   // one bank, whole rows
      {5, 6, bbs::BankConfig(4, 3)}, {3, 8, bbs::BankConfig(2, 2)}};  // keep 3 of a 2-wide bank; keep all
  std::uint32_t seed = 1;
  for (const auto& c : cases) {
    const MatrixXd w = random_weights(c.rows, c.cols, seed++);
    const MatrixXd x = correlated_inputs(c.cols, 3 * c.cols, seed++);
    for (const double damping : {0.01, 0.5}) {
      INFO(c.rows << " x " << c.cols << ", bank " << c.cfg.bank_size << " keep " << c.cfg.nnz_per_bank << ", damping "
                  << damping);
      const auto got = bbs::prune_calibrated<double>(w, x, c.cfg, bbs::CalibrationOptions{damping});
      got.validate();
      const MatrixXd want = reference_calibrated(w, x, c.cfg, damping);
      const MatrixXd dense = got.toDense();
      // Same mask: the reference's zeros are exact.
      for (bbs::index i = 0; i < want.size(); ++i) CHECK((want.data()[i] == 0.0) == (dense.data()[i] == 0.0));
      CHECK((dense - want).cwiseAbs().maxCoeff() <= 1e-9 * (1.0 + want.cwiseAbs().maxCoeff()));
    }
  }
}

TEST_CASE("calibrated pruning matches tools/python/bbs_pruning.py on shared fixtures", "[prune][calibrated][python]") {
  // test/data/masks/calibrated.npz: tools/fixtures/make_mask_fixtures.py ran
  // calibrated_bank_balanced (PyTorch, float64) on w with inputs x (samples x cols).
  const auto arrays = bbs::read_npz(std::string(BBS_TEST_DATA_DIR) + "/masks/calibrated.npz");
  std::map<std::string, MatrixXd> m;
  for (const auto& a : arrays) m[a.first] = a.second.matrix<double>();
  const MatrixXd& w = m.at("w");
  const MatrixXd x = m.at("x").transpose();
  int compared = 0;
  for (const auto& [name, want] : m) {
    int bank = 0, keep = 0, block = 0;
    double sparsity = 0;
    MatrixXd got;
    if (std::sscanf(name.c_str(), "calibrated_b%d_k%d", &bank, &keep) == 2) {
      got = bbs::prune_calibrated<double>(w, x, bbs::BankConfig(bank, keep)).toDense();
    } else if (std::sscanf(name.c_str(), "unstructured_s%lf_block%d", &sparsity, &block) == 2) {
      got = bbs::prune_calibrated_unstructured<double>(w, x, sparsity, {}, block);
    } else {
      continue;
    }
    INFO(name);
    for (bbs::index i = 0; i < want.size(); ++i) CHECK((want.data()[i] == 0.0) == (got.data()[i] == 0.0));
    CHECK((got - want).cwiseAbs().maxCoeff() <= 1e-9 * (1.0 + want.cwiseAbs().maxCoeff()));
    ++compared;
  }
  CHECK(compared == 7);
}

TEST_CASE("calibrated pruning keeps the bank balance and reconstructs better than magnitude pruning",
          "[prune][calibrated]") {
  const bbs::index rows = 48, cols = 100, samples = 400;  // 100 = 6 banks of 16 + a partial bank of 4
  const MatrixXd w = random_weights(rows, cols, 11);
  const MatrixXd x = correlated_inputs(cols, samples, 12);
  for (const bbs::BankConfig cfg : {bbs::BankConfig(16, 8), bbs::BankConfig(16, 4), bbs::BankConfig(16, 2)}) {
    INFO("bank 16, keep " << cfg.nnz_per_bank);
    const auto calibrated = bbs::prune_calibrated<float>(w.cast<float>(), x.cast<float>(), cfg);
    calibrated.validate();
    const auto magnitude = bbs::prune<float>(w.cast<float>(), cfg);
    // The same number of weights in every bank of every row as bbs::prune keeps.
    const Eigen::MatrixXf dense = calibrated.toDense();
    for (bbs::index r = 0; r < rows; ++r) {
      for (bbs::index first = 0; first < cols; first += cfg.bank_size) {
        const bbs::index width = std::min(cfg.bank_size, cols - first);
        const auto nonzero = (dense.row(r).segment(first, width).array() != 0.0f).count();
        CHECK(nonzero <= std::min(cfg.nnz_per_bank, width));
      }
    }
    CHECK(calibrated.nonZeros() == magnitude.nonZeros());
    const double e_calibrated = reconstruction_error(w, dense.cast<double>(), x);
    const double e_magnitude = reconstruction_error(w, magnitude.toDense().cast<double>(), x);
    std::printf("calibrated pruning, bank 16 keep %d: ||W X - W' X|| %.4g (magnitude %.4g, %.2fx)\n",
                static_cast<int>(cfg.nnz_per_bank), e_calibrated, e_magnitude, e_magnitude / e_calibrated);
    CHECK(e_calibrated < e_magnitude);
  }
}

TEST_CASE("calibrated unstructured pruning keeps each block's share and beats magnitude pruning",
          "[prune][calibrated]") {
  const bbs::index rows = 40, cols = 90, samples = 360;
  const MatrixXd w = random_weights(rows, cols, 41);
  const MatrixXd x = correlated_inputs(cols, samples, 42);
  for (const double sparsity : {0.5, 0.75, 0.875}) {
    INFO("sparsity " << sparsity);
    const bbs::index block = 32;  // blocks of 32, 32 and 26 columns
    const MatrixXd got = bbs::prune_calibrated_unstructured<double>(w, x, sparsity, {}, block);
    for (bbs::index first = 0; first < cols; first += block) {
      const bbs::index width = std::min(block, cols - first);
      const auto kept = (got.middleCols(first, width).array() != 0.0).count();
      CHECK(kept == static_cast<bbs::index>(std::lround((1.0 - sparsity) * double(rows * width))));
    }
    const bbs::PruneMask magnitude_mask = bbs::unstructured_mask(w, sparsity);
    const MatrixXd magnitude = magnitude_mask.select(w, MatrixXd::Zero(rows, cols));
    const auto bbs_calibrated = bbs::prune_calibrated<double>(w, x, bbs::BankConfig::from_sparsity(16, sparsity));
    const double e_calibrated = reconstruction_error(w, got, x);
    const double e_magnitude = reconstruction_error(w, magnitude, x);
    const double e_bbs = reconstruction_error(w, bbs_calibrated.toDense(), x);
    std::printf(
        "sparsity %.3f: ||W X - W' X|| unstructured calibrated %.4g, magnitude %.4g; BBS (bank 16) calibrated "
        "%.4g\n",
        sparsity, e_calibrated, e_magnitude, e_bbs);
    CHECK(e_calibrated < e_magnitude);
  }
  CHECK_THROWS_AS(bbs::prune_calibrated_unstructured<float>(w, x, 1.5), bbs::config_error);
  CHECK_THROWS_AS(bbs::prune_calibrated_unstructured<float>(w, x, 0.5, {}, 0), bbs::config_error);
}

TEST_CASE("calibrated pruning refuses bad inputs with messages that name them", "[prune][calibrated]") {
  const MatrixXd w = random_weights(4, 8, 21);
  const MatrixXd x = correlated_inputs(8, 16, 22);
  const bbs::BankConfig cfg(4, 2);
  using Catch::Contains;
  CHECK_THROWS_AS(bbs::prune_calibrated<float>(w, x.topRows(7), cfg), bbs::shape_error);
  CHECK_THROWS_WITH(bbs::prune_calibrated<float>(w, x.topRows(7), cfg),
                    Contains("7 x 16") && Contains("expected 8 rows"));
  CHECK_THROWS_AS(bbs::prune_calibrated<float>(w, x, cfg, bbs::CalibrationOptions{0.0}), bbs::config_error);
  CHECK_THROWS_WITH(bbs::prune_calibrated<float>(w, x, cfg, bbs::CalibrationOptions{-1.0}), Contains("damping is -1"));
  MatrixXd bad_w = w;
  bad_w(2, 5) = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_AS(bbs::prune_calibrated<float>(bad_w, x, cfg), bbs::value_error);
  CHECK_THROWS_WITH(bbs::prune_calibrated<float>(bad_w, x, cfg), Contains("weight (2, 5) is nan"));
  MatrixXd bad_x = x;
  bad_x(3, 9) = std::numeric_limits<double>::infinity();
  CHECK_THROWS_AS(bbs::prune_calibrated<float>(w, bad_x, cfg), bbs::value_error);
  CHECK_THROWS_WITH(bbs::prune_calibrated<float>(w, bad_x, cfg), Contains("calibration input (3, 9) is inf"));
}

TEST_CASE("an input that never varies leaves calibrated pruning well defined", "[prune][calibrated]") {
  const MatrixXd w = random_weights(3, 8, 31);
  MatrixXd x = correlated_inputs(8, 32, 32);
  x.row(5).setZero();  // a dead input: H has a zero row and column before the damping
  const auto got = bbs::prune_calibrated<double>(w, x, bbs::BankConfig(4, 2));
  got.validate();
  const MatrixXd want = reference_calibrated(w, x, bbs::BankConfig(4, 2), 0.01);
  CHECK((got.toDense() - want).cwiseAbs().maxCoeff() <= 1e-9 * (1.0 + want.cwiseAbs().maxCoeff()));
}

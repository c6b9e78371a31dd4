// The shared testbed: shapes (tiny, awkward, large), random bank-balanced matrices with fixed
// seeds, and tolerances derived from the value type. Every backend's tests use it.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <bbs/bbs.hpp>
#include <catch2/catch.hpp>

namespace bbs_test {

using bbs::index;

struct Shape {
  index rows;
  index cols;
  bbs::BankConfig config;
  std::string name() const {
    return std::to_string(rows) + "x" + std::to_string(cols) + " bank " + std::to_string(config.bank_size) + " k " +
           std::to_string(config.nnz_per_bank);
  }
};

/// Every shape with 0..6 rows and columns, every bank size 1..7, nnz_per_bank 0, 1, mid and full.
inline std::vector<Shape> tiny_shapes() {
  std::vector<Shape> shapes;
  for (index r = 0; r <= 6; ++r) {
    for (index c = 0; c <= 6; ++c) {
      for (index bs = 1; bs <= 7; ++bs) {
        for (index k : {index(0), index(1), bs / 2, bs}) {
          if (k > bs) continue;
          shapes.push_back({r, c, bbs::BankConfig(bs, k)});
        }
      }
    }
  }
  return shapes;
}

/// Awkward shapes: primes, columns not divisible by the bank, k larger than the last bank.
inline std::vector<Shape> awkward_shapes() {
  return {
      {67, 127, bbs::BankConfig(16, 4)},
      {67, 127, bbs::BankConfig(64, 8)},
      {67, 127, bbs::BankConfig(127, 13)},
      {1, 1000, bbs::BankConfig(64, 8)},
      {33, 65, bbs::BankConfig(64, 64)},
      {17, 70, bbs::BankConfig(32, 20)},
      {5, 300, bbs::BankConfig(300, 7)},
      {9, 513, bbs::BankConfig(257, 3)},
      {127, 67, bbs::BankConfig(8, 1)},
      {3, 130, bbs::BankConfig(256, 200)},
      {12, 12, bbs::BankConfig(1, 1)},
      {12, 12, bbs::BankConfig(5, 0)},
      // k > 64: one row per SIMD row group, several registers per bank, padded last register.
      {37, 300, bbs::BankConfig(128, 70)},
      {21, 600, bbs::BankConfig(200, 90)},
      // Keep counts that are not powers of two, around the SIMD lane counts (issue 19's list).
      {31, 64, bbs::BankConfig(16, 5)},
      {40, 200, bbs::BankConfig(64, 12)},
      {23, 99, bbs::BankConfig(33, 17)},
      {29, 132, bbs::BankConfig(66, 33)},
      {13, 128, bbs::BankConfig(64, 64)},
      // Every weight kept (dense layers in model files): one bank, padded banks, 16-bit indices.
      {37, 300, bbs::BankConfig(300, 300)},
      {19, 70, bbs::BankConfig(16, 16)},
      {5, 1000, bbs::BankConfig(1000, 1000)},
      // The 8-bit index limit: bank 256 full and with a one-column last bank; bank 257 is above.
      {5, 256, bbs::BankConfig(256, 16)},
      {6, 257, bbs::BankConfig(256, 16)},
      {4, 257, bbs::BankConfig(257, 257)},
      // One column: N x 1 (a bank wider than the matrix, and bank 1).
      {300, 1, bbs::BankConfig(4, 2)},
      {1000, 1, bbs::BankConfig(1, 1)},
  };
}

/// Large shapes (including the 1024 x 1000, bank 64 case of a non-dividing bank).
inline std::vector<Shape> large_shapes() {
  return {{1024, 1000, bbs::BankConfig(64, 8)},
          {512, 2048, bbs::BankConfig::from_sparsity(64, 0.875)},
          {300, 1100, bbs::BankConfig(512, 37)}};
}

/// Dense Gaussian matrix with a fixed seed.
template <typename T>
Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic> random_dense(index rows, index cols, std::uint32_t seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<double> dist(0.0, 1.0);
  Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic> m(rows, cols);
  for (index j = 0; j < cols; ++j)
    for (index i = 0; i < rows; ++i) m(i, j) = static_cast<T>(dist(gen));
  return m;
}

template <typename T>
Eigen::Matrix<T, Eigen::Dynamic, 1> random_vector(index n, std::uint32_t seed) {
  return random_dense<T>(n, 1, seed);
}

/// A random bank-balanced matrix of the given shape (pruned from a Gaussian matrix).
template <typename T>
bbs::BbsMatrix<T> random_bbs(const Shape& s, std::uint32_t seed) {
  return bbs::prune<T>(random_dense<T>(s.rows, s.cols, seed), s.config);
}

/// Checks |got - want| <= bound(n) * (|A| |x|) elementwise, where scale holds |A| |x|: the forward
/// error bound of a reordered dot product, plus a tiny absolute floor for exact zeros.
template <typename Got, typename Want, typename Scale>
void require_close(const Got& got, const Want& want, const Scale& scale, double bound) {
  REQUIRE(got.rows() == want.rows());
  REQUIRE(got.cols() == want.cols());
  for (index j = 0; j < got.cols(); ++j) {
    for (index i = 0; i < got.rows(); ++i) {
      const double g = static_cast<double>(got(i, j));
      const double w = static_cast<double>(want(i, j));
      const double tol = bound * static_cast<double>(scale(i, j)) + 1e-300;
      if (!(std::abs(g - w) <= tol)) {
        INFO("entry (" << i << ", " << j << "): got " << g << ", want " << w << ", tolerance " << tol);
        REQUIRE(std::abs(g - w) <= tol);
      }
    }
  }
}

/// Compares a product result against the dense reference dense_a * x (computed in double), with
/// the tolerance of a dot product of the bank-balanced row length.
template <typename T, typename Got, typename DenseA, typename X>
void require_product_close(const Got& got, const DenseA& dense_a, const X& x, index terms) {
  const Eigen::MatrixXd a = dense_a.template cast<double>();
  const Eigen::MatrixXd xd = x.template cast<double>();
  const Eigen::MatrixXd want = a * xd;
  const Eigen::MatrixXd scale = a.cwiseAbs() * xd.cwiseAbs();
  require_close(got, want, scale, bbs::dot_error_bound<T>(terms + 2));
}

#ifdef _OPENMP
/// For its lifetime: the openmp backend splits even the tiniest product across threads, whatever
/// the machine's load (set_openmp_min_entries_per_thread(1), set_openmp_adaptive(false)), so that
/// the split paths are what a test runs. The defaults come back on destruction.
struct ForceOpenmpSplitting {
  ForceOpenmpSplitting() {
    bbs::set_openmp_min_entries_per_thread(1);
    bbs::set_openmp_adaptive(false);
  }
  ~ForceOpenmpSplitting() {
    bbs::set_openmp_min_entries_per_thread(bbs::backend::openmp_impl::default_min_entries_per_thread);
    bbs::set_openmp_adaptive(true);
  }
  ForceOpenmpSplitting(const ForceOpenmpSplitting&) = delete;
  ForceOpenmpSplitting& operator=(const ForceOpenmpSplitting&) = delete;
};
#endif

}  // namespace bbs_test

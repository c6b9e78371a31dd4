// Tests for bank-balanced pruning: exactly k per bank, the kept entries are the largest of their
// bank, deterministic ties, the zero-padded last bank, and bad weights.
#include <limits>

#include "testbed.hpp"

using bbs::BankConfig;

namespace {
/// Checks the pruning properties of a against its source w, bank by bank.
template <typename T>
void require_bank_balanced(const Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>& w, const bbs::BbsMatrix<T>& a) {
  const auto cfg = a.bankConfig();
  const auto dense = a.toDense();
  for (bbs::index r = 0; r < w.rows(); ++r) {
    for (bbs::index b = 0; b < a.numBanks(); ++b) {
      const bbs::index first = b * cfg.bank_size;
      const bbs::index width = std::min(cfg.bank_size, w.cols() - first);
      std::vector<bool> kept(static_cast<std::size_t>(width), false);
      bbs::index n_kept = 0;
      for (typename bbs::BbsMatrix<T>::InnerIterator it(a, r); it; ++it) {
        if (it.col() >= first && it.col() < first + width) {
          kept[static_cast<std::size_t>(it.col() - first)] = true;
          ++n_kept;
          REQUIRE(it.value() == w(r, it.col()));
        }
      }
      REQUIRE(n_kept == std::min(cfg.nnz_per_bank, width));
      // Every kept magnitude is >= every dropped magnitude; on ties the kept one is to the left.
      for (bbs::index i = 0; i < width; ++i) {
        for (bbs::index j = 0; j < width; ++j) {
          if (!kept[std::size_t(i)] || kept[std::size_t(j)]) continue;
          const auto ki = std::abs(w(r, first + i));
          const auto dj = std::abs(w(r, first + j));
          REQUIRE(ki >= dj);
          if (ki == dj) REQUIRE(i < j);
        }
      }
      for (bbs::index i = 0; i < width; ++i) {
        if (!kept[std::size_t(i)]) REQUIRE(dense(r, first + i) == T(0));
      }
    }
  }
}
}  // namespace

TEMPLATE_TEST_CASE("prune keeps the nnz_per_bank largest entries of every bank", "[prune]", float, double) {
  std::vector<bbs_test::Shape> shapes = bbs_test::tiny_shapes();
  for (const auto& s : bbs_test::awkward_shapes()) shapes.push_back(s);
  shapes.push_back({1024, 1000, BankConfig(64, 8)});  // columns not divisible by the bank
  std::uint32_t seed = 40;
  for (const auto& s : shapes) {
    INFO(s.name());
    const auto w = bbs_test::random_dense<TestType>(s.rows, s.cols, seed++);
    const auto a = bbs::prune<TestType>(w, s.config);
    REQUIRE_NOTHROW(a.validate());
    require_bank_balanced(w, a);
  }
}

TEST_CASE("prune breaks ties towards the lower column", "[prune][ties]") {
  Eigen::MatrixXf w(2, 8);
  w << 1, -1, 1, -1, 2, 2, 2, 2,  //
      0, 0, 0, 0, 0, 0, 0, 0;
  const auto a = bbs::prune<float>(w, BankConfig(4, 2));
  Eigen::MatrixXf want(2, 8);
  want << 1, -1, 0, 0, 2, 2, 0, 0,  //
      0, 0, 0, 0, 0, 0, 0, 0;
  CHECK(a.toDense() == want);
  // The all-zero row keeps explicit zeros at in-bank 0 and 1.
  CHECK(a.toSparse().nonZeros() == 8);
  CHECK(a.coeff(1, 0) == 0.0f);
}

TEST_CASE("prune handles a 1024 x 1000 matrix with banks of 64", "[prune][padding]") {
  const auto w = bbs_test::random_dense<float>(1024, 1000, 77);
  const auto a = bbs::prune<float>(w, BankConfig::from_sparsity(64, 0.875));
  CHECK(a.numBanks() == 16);
  CHECK(a.storedEntries() == 1024 * 16 * 8);
  CHECK(a.nonZeros() == 1024 * 16 * 8);  // the last bank has 40 columns, more than 8: no padding
  const auto b = bbs::prune<float>(w, BankConfig(64, 48));
  CHECK(b.nonZeros() == 1024 * (15 * 48 + 40));  // the last bank keeps all 40 real columns
  CHECK(b.storedEntries() == 1024 * 16 * 48);
}

TEST_CASE("prune accepts Eigen expressions, row-major and Array inputs", "[prune]") {
  const Eigen::MatrixXd w = bbs_test::random_dense<double>(9, 20, 5);
  const auto reference = bbs::prune<double>(w, BankConfig(5, 2));
  const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> row_major = w;
  CHECK(bbs::prune<double>(row_major, BankConfig(5, 2)).toDense() == reference.toDense());
  CHECK(bbs::prune<double>(w.array(), BankConfig(5, 2)).toDense() == reference.toDense());
  CHECK(bbs::prune<double>(2.0 * w, BankConfig(5, 2)).toDense() == 2.0 * reference.toDense());
  CHECK(bbs::prune<float>(w, BankConfig(5, 2)).toDense() == reference.toDense().cast<float>());
  const Eigen::MatrixXd big = bbs_test::random_dense<double>(20, 40, 6);
  CHECK(bbs::prune<double>(big.block(3, 7, 9, 20), BankConfig(5, 2)).toDense() ==
        bbs::prune<double>(Eigen::MatrixXd(big.block(3, 7, 9, 20)), BankConfig(5, 2)).toDense());
}

TEST_CASE("prune refuses NaN and infinite weights", "[prune][errors]") {
  Eigen::MatrixXf w = Eigen::MatrixXf::Ones(3, 4);
  w(2, 1) = std::numeric_limits<float>::quiet_NaN();
  CHECK_THROWS_AS(bbs::prune<float>(w, BankConfig(2, 1)), bbs::value_error);
  CHECK_THROWS_WITH(bbs::prune<float>(w, BankConfig(2, 1)), Catch::Contains("weight (2, 1) is nan"));
  w(2, 1) = -std::numeric_limits<float>::infinity();
  CHECK_THROWS_WITH(bbs::prune<float>(w, BankConfig(2, 1)), Catch::Contains("weight (2, 1) is -inf"));
}

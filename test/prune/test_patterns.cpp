// Tests for the comparison pruning patterns (prune/patterns.hpp): each mask against a plain
// full-sort reference, kept counts, deterministic ties, retained magnitude, errors, and the
// paper's ordering unstructured >= per row >= bank-balanced >= block at equal density, and the
// masks tools/python/bbs_pruning.py (PyTorch) computed for the shared matrices in test/data/masks.
#include <algorithm>
#include <cmath>
#include <exception>
#include <map>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

#include "source_tree.hpp"  // BBS_TEST_DATA_DIR, BBS_MODELS_DIR, BBS_CLI
#include "testbed.hpp"

// Not `index`: at global scope that name is also the C library function from <strings.h>.
using Index = bbs::index;

namespace {

using bbs::PruneMask;
using Eigen::MatrixXd;

// ---------------------------------------------------------------------------------------------
// Deliberately simple references: score every candidate, sort them all, keep a prefix.

/// Keeps the first `keep` candidates ranked by score (larger first, ties to the lower candidate).
std::vector<Index> reference_top(const std::vector<double>& score, Index keep) {
  std::vector<Index> order(score.size());
  std::iota(order.begin(), order.end(), Index(0));
  std::stable_sort(order.begin(), order.end(), [&](Index a, Index b) {
    return score[static_cast<std::size_t>(a)] > score[static_cast<std::size_t>(b)];
  });
  order.resize(static_cast<std::size_t>(keep));
  return order;
}

/// The rounding rule written out for the sparsities used in the sweeps (exact binary fractions).
Index expected_kept(Index n, double sparsity) {
  if (n == 0 || sparsity == 1.0) return 0;
  return std::max(Index(1), static_cast<Index>(std::floor(static_cast<double>(n) * (1.0 - sparsity) + 0.5)));
}

PruneMask reference_global(const MatrixXd& w, Index keep) {
  std::vector<double> score;
  for (Index r = 0; r < w.rows(); ++r)
    for (Index c = 0; c < w.cols(); ++c) score.push_back(std::abs(w(r, c)));
  PruneMask mask = PruneMask::Constant(w.rows(), w.cols(), false);
  for (Index p : reference_top(score, keep)) mask(p / w.cols(), p % w.cols()) = true;
  return mask;
}

PruneMask reference_rows(const MatrixXd& w, Index keep) {
  PruneMask mask = PruneMask::Constant(w.rows(), w.cols(), false);
  for (Index r = 0; r < w.rows(); ++r) {
    std::vector<double> score;
    for (Index c = 0; c < w.cols(); ++c) score.push_back(std::abs(w(r, c)));
    for (Index c : reference_top(score, keep)) mask(r, c) = true;
  }
  return mask;
}

Index tiles_along(Index n, Index block) { return (n + block - 1) / block; }

PruneMask reference_blocks(const MatrixXd& w, Index br, Index bc, Index keep) {
  const Index tr = tiles_along(w.rows(), br);
  const Index tc = tiles_along(w.cols(), bc);
  std::vector<double> score(static_cast<std::size_t>(tr * tc), 0.0);
  for (Index r = 0; r < w.rows(); ++r)
    for (Index c = 0; c < w.cols(); ++c) score[static_cast<std::size_t>((r / br) * tc + c / bc)] += w(r, c) * w(r, c);
  PruneMask mask = PruneMask::Constant(w.rows(), w.cols(), false);
  for (Index t : reference_top(score, keep)) {
    for (Index r = (t / tc) * br; r < std::min(w.rows(), (t / tc + 1) * br); ++r)
      for (Index c = (t % tc) * bc; c < std::min(w.cols(), (t % tc + 1) * bc); ++c) mask(r, c) = true;
  }
  return mask;
}

PruneMask reference_banks(const MatrixXd& w, const bbs::BankConfig& cfg) {
  PruneMask mask = PruneMask::Constant(w.rows(), w.cols(), false);
  for (Index r = 0; r < w.rows(); ++r) {
    for (Index first = 0; first < w.cols(); first += cfg.bank_size) {
      std::vector<double> score;
      for (Index c = first; c < std::min(w.cols(), first + cfg.bank_size); ++c) score.push_back(std::abs(w(r, c)));
      const Index keep = std::min(cfg.nnz_per_bank, static_cast<Index>(score.size()));
      for (Index i : reference_top(score, keep)) mask(r, first + i) = true;
    }
  }
  return mask;
}

bool same(const PruneMask& a, const PruneMask& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() && (a == b).all();
}

/// Small integers in [-3, 3]: many ties, so the tie rule decides most of each mask.
MatrixXd tie_heavy(Index rows, Index cols, std::uint32_t seed) {
  return bbs_test::random_dense<double>(rows, cols, seed).unaryExpr([](double x) {
    return std::max(-3.0, std::min(3.0, std::round(x * 1.5)));
  });
}

/// Every tile is either kept whole or dropped whole.
bool tiles_whole(const PruneMask& mask, Index br, Index bc) {
  for (Index r = 0; r < mask.rows(); ++r)
    for (Index c = 0; c < mask.cols(); ++c)
      if (mask(r, c) != mask((r / br) * br, (c / bc) * bc)) return false;
  return true;
}

const double sweep_sparsities[] = {0.0, 0.25, 0.5, 0.75, 0.875, 1.0};

}  // namespace

// ---------------------------------------------------------------------------------------------
// Kept counts and the rounding rule.

TEST_CASE("pattern kept counts follow from_sparsity's rounding rule", "[prune][patterns]") {
  const MatrixXd w = bbs_test::random_dense<double>(4, 4, 11);
  CHECK(bbs::unstructured_mask(w, 0.9).count() == 2);  // 1.6
  CHECK(bbs::unstructured_mask(w, 0.5).count() == 8);
  CHECK(bbs::unstructured_mask(w, 0.99).count() == 1);  // 0.16, but never zero below sparsity 1
  CHECK(bbs::unstructured_mask(w, 1.0).count() == 0);
  CHECK(bbs::unstructured_mask(w, 0.0).count() == 16);
  const MatrixXd row5 = bbs_test::random_dense<double>(3, 5, 12);
  CHECK(bbs::unstructured_mask(row5, 0.9).count() == 2);       // 1.5, half rounds up
  CHECK(bbs::unstructured_row_mask(row5, 0.5).count() == 9);   // 2.5 per row rounds up to 3
  CHECK(bbs::unstructured_row_mask(row5, 0.9).count() == 3);   // 0.5 per row rounds up to 1
  CHECK(bbs::unstructured_row_mask(row5, 0.99).count() == 3);  // never zero below sparsity 1
  // 6 tiles of 2 x 2 keep 3: the two full tiles, then the first of the equal 2-entry edge tiles.
  CHECK(bbs::block_mask(MatrixXd::Ones(3, 5), 2, 2, 0.5).count() == 10);
  CHECK(bbs::unstructured_mask(MatrixXd(0, 7), 0.5).count() == 0);
  CHECK(bbs::unstructured_mask(MatrixXd(0, 7), 0.5).cols() == 7);
}

TEST_CASE("kept_count's slack grows with n so decimal halves still round up", "[prune][patterns]") {
  CHECK(bbs::detail::kept_count(10, 0.95) == 1);                 // 0.5
  CHECK(bbs::detail::kept_count(15, 0.9) == 2);                  // 1.5
  CHECK(bbs::detail::kept_count(1000000005, 0.9) == 100000001);  // 100000000.5, computed below it by more than 1e-9
  CHECK(bbs::detail::kept_count(1000000004, 0.9) == 100000000);  // 100000000.4
  CHECK(bbs::detail::kept_count(0, 0.5) == 0);
  CHECK(bbs::detail::kept_count(7, 0.0) == 7);
}

// ---------------------------------------------------------------------------------------------
// Each pattern against its reference, on every tiny shape and on awkward ones.

TEST_CASE("patterns match their references on tiny shapes", "[prune][patterns][tiny]") {
  for (Index rows = 0; rows <= 6; ++rows) {
    for (Index cols = 0; cols <= 6; ++cols) {
      for (int kind = 0; kind < 2; ++kind) {
        const auto seed = static_cast<std::uint32_t>(100 * rows + 10 * cols + kind);
        const MatrixXd w = kind == 0 ? bbs_test::random_dense<double>(rows, cols, seed) : tie_heavy(rows, cols, seed);
        for (double s : sweep_sparsities) {
          INFO(rows << "x" << cols << (kind == 0 ? " gaussian" : " tie-heavy") << " sparsity " << s);
          const PruneMask global = bbs::unstructured_mask(w, s);
          CHECK(global.count() == expected_kept(rows * cols, s));
          CHECK(same(global, reference_global(w, expected_kept(rows * cols, s))));
          const PruneMask per_row = bbs::unstructured_row_mask(w, s);
          CHECK(per_row.count() == rows * expected_kept(cols, s));
          CHECK(same(per_row, reference_rows(w, expected_kept(cols, s))));
          for (Index br = 1; br <= 7; ++br) {
            for (Index bc = 1; bc <= 7; ++bc) {
              INFO("block " << br << "x" << bc);
              const PruneMask blocks = bbs::block_mask(w, br, bc, s);
              const Index tiles = tiles_along(rows, br) * tiles_along(cols, bc);
              CHECK(same(blocks, reference_blocks(w, br, bc, expected_kept(tiles, s))));
              CHECK(tiles_whole(blocks, br, bc));
            }
          }
        }
      }
    }
  }
}

TEST_CASE("bank_balanced_mask is the pattern prune keeps on tiny and awkward shapes", "[prune][patterns]") {
  std::vector<bbs_test::Shape> shapes = bbs_test::tiny_shapes();
  for (const bbs_test::Shape& s : bbs_test::awkward_shapes()) shapes.push_back(s);
  std::uint32_t seed = 1;
  for (const bbs_test::Shape& s : shapes) {
    INFO(s.name());
    const MatrixXd w =
        (seed % 2 == 0) ? bbs_test::random_dense<double>(s.rows, s.cols, seed) : tie_heavy(s.rows, s.cols, seed);
    ++seed;
    const PruneMask mask = bbs::bank_balanced_mask(w, s.config);
    CHECK(same(mask, reference_banks(w, s.config)));
  }
}

TEST_CASE("patterns match their references on awkward shapes with partial blocks", "[prune][patterns]") {
  const MatrixXd gaussian = bbs_test::random_dense<double>(67, 127, 7);
  const MatrixXd ties = tie_heavy(67, 127, 8);
  for (const MatrixXd* w : {&gaussian, &ties}) {
    for (double s : {0.5, 0.875, 0.9, 0.9375}) {
      INFO("sparsity " << s);
      const Index n = bbs::detail::kept_count(67 * 127, s);
      const PruneMask global = bbs::unstructured_mask(*w, s);
      CHECK(global.count() == n);
      CHECK(same(global, reference_global(*w, n)));
      CHECK(same(bbs::unstructured_row_mask(*w, s), reference_rows(*w, bbs::detail::kept_count(127, s))));
      for (auto block : {std::pair<Index, Index>{8, 8}, {4, 16}, {5, 3}, {67, 127}, {100, 200}, {1, 1}, {1, 127}}) {
        INFO("block " << block.first << "x" << block.second);
        const Index tiles = tiles_along(67, block.first) * tiles_along(127, block.second);
        const PruneMask blocks = bbs::block_mask(*w, block.first, block.second, s);
        CHECK(same(blocks, reference_blocks(*w, block.first, block.second, bbs::detail::kept_count(tiles, s))));
        CHECK(tiles_whole(blocks, block.first, block.second));
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The defining properties, checked directly rather than through a reference.

TEST_CASE("global mask keeps exactly the largest entries", "[prune][patterns]") {
  const MatrixXd w = bbs_test::random_dense<double>(67, 127, 21);
  const PruneMask mask = bbs::unstructured_mask(w, 0.875);
  CHECK(mask.count() == bbs::detail::kept_count(67 * 127, 0.875));
  const Eigen::ArrayXXd a = w.array().abs();
  const double smallest_kept = mask.select(a, std::numeric_limits<double>::infinity()).minCoeff();
  const double largest_dropped = mask.select(-1.0, a).maxCoeff();
  CHECK(smallest_kept >= largest_dropped);
}

TEST_CASE("per-row mask keeps the largest entries of every row", "[prune][patterns]") {
  const MatrixXd w = bbs_test::random_dense<double>(67, 127, 22);
  const PruneMask mask = bbs::unstructured_row_mask(w, 0.9);
  const Eigen::ArrayXXd a = w.array().abs();
  for (Index r = 0; r < w.rows(); ++r) {
    CHECK(mask.row(r).count() == 13);  // 12.7
    const double smallest_kept = mask.row(r).select(a.row(r), std::numeric_limits<double>::infinity()).minCoeff();
    const double largest_dropped = mask.row(r).select(-1.0, a.row(r)).maxCoeff();
    CHECK(smallest_kept >= largest_dropped);
  }
}

TEST_CASE("block mask keeps whole tiles of larger norm than every dropped tile", "[prune][patterns]") {
  const MatrixXd w = bbs_test::random_dense<double>(67, 127, 23);
  const Index br = 8, bc = 16;  // 9 x 8 tiles, the last row and column of tiles partial
  const PruneMask mask = bbs::block_mask(w, br, bc, 0.75);
  CHECK(tiles_whole(mask, br, bc));
  double smallest_kept = std::numeric_limits<double>::infinity();
  double largest_dropped = -1.0;
  Index kept_tiles = 0;
  for (Index r = 0; r < w.rows(); r += br) {
    for (Index c = 0; c < w.cols(); c += bc) {
      const double norm = w.block(r, c, std::min(br, w.rows() - r), std::min(bc, w.cols() - c)).norm();
      if (mask(r, c)) {
        ++kept_tiles;
        smallest_kept = std::min(smallest_kept, norm);
      } else {
        largest_dropped = std::max(largest_dropped, norm);
      }
    }
  }
  CHECK(kept_tiles == 18);  // 72 tiles * 0.25
  CHECK(smallest_kept >= largest_dropped);
}

TEST_CASE("ties go to the lower position, deterministically", "[prune][patterns]") {
  const MatrixXd ones = MatrixXd::Ones(4, 5);
  PruneMask want = PruneMask::Constant(4, 5, false);
  want.topRows(2).setConstant(true);  // 10 of 20, the first two rows in row-major order
  CHECK(same(bbs::unstructured_mask(ones, 0.5), want));
  CHECK(same(bbs::unstructured_mask(-ones, 0.5), want));  // magnitude, not value
  want.setConstant(false);
  want.leftCols(3).setConstant(true);  // 2.5 per row rounds up to 3: the first three columns
  CHECK(same(bbs::unstructured_row_mask(ones, 0.5), want));
  // 2 x 3 tiles of 2 x 2; the right column of tiles is 2 x 1 and has the smaller norm. Keeping 3
  // of 6 takes three of the four equal full tiles, in row-major tile order.
  want.setConstant(false);
  want.topLeftCorner(2, 4).setConstant(true);
  want.block(2, 0, 2, 2).setConstant(true);
  CHECK(same(bbs::block_mask(ones, 2, 2, 0.5), want));
  // The same input always gives the same mask.
  const MatrixXd w = tie_heavy(67, 127, 5);
  CHECK(same(bbs::unstructured_mask(w, 0.875), bbs::unstructured_mask(w, 0.875)));
  CHECK(same(bbs::block_mask(w, 4, 4, 0.875), bbs::block_mask(w, 4, 4, 0.875)));
}

TEST_CASE("1x1 blocks are unstructured pruning", "[prune][patterns]") {
  const MatrixXd w = tie_heavy(33, 65, 9);
  for (double s : {0.5, 0.9}) CHECK(same(bbs::block_mask(w, 1, 1, s), bbs::unstructured_mask(w, s)));
}

TEST_CASE("patterns accept any dense Eigen expression", "[prune][patterns]") {
  const MatrixXd w = bbs_test::random_dense<double>(20, 30, 31);
  const PruneMask want = bbs::unstructured_mask(w, 0.75);
  CHECK(same(bbs::unstructured_mask(w * -2.0, 0.75), want));
  CHECK(same(bbs::unstructured_mask(w.array(), 0.75), want));
  CHECK(same(bbs::unstructured_mask(Eigen::Matrix<double, -1, -1, Eigen::RowMajor>(w), 0.75), want));
  // float rounding may create ties, so the float reference is the float matrix itself.
  const MatrixXd rounded = w.cast<float>().cast<double>();
  CHECK(same(bbs::unstructured_mask(w.cast<float>(), 0.75), reference_global(rounded, 150)));
  CHECK(same(bbs::unstructured_row_mask(w.transpose(), 0.5), reference_rows(w.transpose(), 10)));
  CHECK(same(bbs::block_mask(w.block(2, 3, 10, 10), 3, 3, 0.5), reference_blocks(w.block(2, 3, 10, 10), 3, 3, 8)));
  CHECK(same(bbs::bank_balanced_mask(w.cast<float>(), bbs::BankConfig(8, 2)),
             reference_banks(rounded, bbs::BankConfig(8, 2))));
  const Eigen::MatrixXi integers = tie_heavy(6, 6, 3).cast<int>();
  CHECK(same(bbs::unstructured_mask(integers, 0.5), reference_global(integers.cast<double>(), 18)));
}

// ---------------------------------------------------------------------------------------------
// retained_magnitude.

TEST_CASE("retained_magnitude reports density and L1/L2 fractions", "[prune][patterns]") {
  MatrixXd w(2, 2);
  w << 1, -2, 3, -4;
  PruneMask mask(2, 2);
  mask << false, true, false, true;  // keeps -2 and -4
  const bbs::RetainedMagnitude r = bbs::retained_magnitude(w, mask);
  CHECK(r.density == 0.5);
  CHECK(r.l1_fraction == Approx(0.6));                     // 6 / 10
  CHECK(r.l2_fraction == Approx(std::sqrt(20.0 / 30.0)));  // ||(2, 4)|| / ||(1, 2, 3, 4)||
  const bbs::RetainedMagnitude all = bbs::retained_magnitude(w, PruneMask::Constant(2, 2, true));
  CHECK(all.density == 1.0);
  CHECK(all.l1_fraction == 1.0);
  CHECK(all.l2_fraction == 1.0);
  const bbs::RetainedMagnitude none = bbs::retained_magnitude(w, PruneMask::Constant(2, 2, false));
  CHECK(none.density == 0.0);
  CHECK(none.l1_fraction == 0.0);
  CHECK(none.l2_fraction == 0.0);
}

TEST_CASE("retained_magnitude defines 0/0 as 1", "[prune][patterns]") {
  const bbs::RetainedMagnitude empty = bbs::retained_magnitude(MatrixXd(0, 3), PruneMask(0, 3));
  CHECK(empty.density == 1.0);
  CHECK(empty.l1_fraction == 1.0);
  CHECK(empty.l2_fraction == 1.0);
  const bbs::RetainedMagnitude zeros = bbs::retained_magnitude(MatrixXd::Zero(3, 3), PruneMask::Constant(3, 3, false));
  CHECK(zeros.density == 0.0);
  CHECK(zeros.l1_fraction == 1.0);
  CHECK(zeros.l2_fraction == 1.0);
}

TEST_CASE("retained_magnitude does not overflow near the double range", "[prune][patterns]") {
  const MatrixXd w = bbs_test::random_dense<double>(30, 40, 41);
  const PruneMask mask = bbs::unstructured_mask(w, 0.75);
  const bbs::RetainedMagnitude small = bbs::retained_magnitude(w, mask);
  const bbs::RetainedMagnitude huge = bbs::retained_magnitude(w * 1e300, mask);
  CHECK(huge.l1_fraction == Approx(small.l1_fraction));
  CHECK(huge.l2_fraction == Approx(small.l2_fraction));
  CHECK(same(bbs::block_mask(w * 1e300, 4, 4, 0.75), bbs::block_mask(w, 4, 4, 0.75)));
}

// ---------------------------------------------------------------------------------------------
// Errors.

TEST_CASE("patterns reject bad configurations, NaN and inf weights, and mismatched masks", "[prune][patterns]") {
  MatrixXd w = bbs_test::random_dense<double>(3, 4, 51);
  CHECK_THROWS_WITH(bbs::block_mask(w, 0, 2, 0.5), Catch::Contains("block_mask") && Catch::Contains("0 x 2"));
  CHECK_THROWS_AS(bbs::block_mask(w, 2, -1, 0.5), bbs::config_error);
  CHECK_THROWS_WITH(bbs::block_mask(w, 2, 2, 1.5), Catch::Contains("sparsity must be in [0, 1]"));
  CHECK_THROWS_AS(bbs::block_mask(w, 2, 2, -0.1), bbs::config_error);
  CHECK_THROWS_AS(bbs::block_mask(w, 2, 2, std::nan("")), bbs::config_error);
  CHECK_THROWS_AS(bbs::block_mask(MatrixXd(0, 0), 0, 1, 0.5), bbs::config_error);
  CHECK_THROWS_WITH(bbs::unstructured_mask(w, std::nan("")),
                    Catch::Contains("unstructured_mask") && Catch::Contains("nan"));
  CHECK_THROWS_AS(bbs::unstructured_row_mask(w, 2.0), bbs::config_error);
  CHECK_THROWS_WITH(bbs::compare_patterns(w, bbs::BankConfig(2, 1), 0, 4), Catch::Contains("compare_patterns"));
  bbs::BankConfig broken(4, 1);
  broken.nnz_per_bank = 5;
  CHECK_THROWS_AS(bbs::compare_patterns(w, broken, 2, 2), bbs::config_error);

  const PruneMask mask = PruneMask::Constant(4, 3, true);
  CHECK_THROWS_WITH(bbs::retained_magnitude(w, mask), Catch::Contains("4 x 3") && Catch::Contains("3 x 4"));
  CHECK_THROWS_AS(bbs::retained_magnitude(w, mask), bbs::shape_error);

  w(1, 2) = std::nan("");
  CHECK_THROWS_WITH(bbs::unstructured_mask(w, 0.5), Catch::Contains("(1, 2)") && Catch::Contains("finite"));
  CHECK_THROWS_AS(bbs::unstructured_row_mask(w, 0.5), bbs::value_error);
  CHECK_THROWS_AS(bbs::block_mask(w, 2, 2, 0.5), bbs::value_error);
  CHECK_THROWS_AS(bbs::bank_balanced_mask(w, bbs::BankConfig(2, 1)), bbs::value_error);
  CHECK_THROWS_AS(bbs::retained_magnitude(w, PruneMask::Constant(3, 4, true)), bbs::value_error);
  CHECK_THROWS_AS(bbs::compare_patterns(w, bbs::BankConfig(2, 1), 2, 2), bbs::value_error);
  w(1, 2) = -std::numeric_limits<double>::infinity();
  CHECK_THROWS_WITH(bbs::block_mask(w, 2, 2, 0.5), Catch::Contains("(1, 2)") && Catch::Contains("inf"));
  const Eigen::MatrixXf overflow = Eigen::MatrixXf::Constant(2, 2, 3e38f) * 2.0f;
  CHECK_THROWS_AS(bbs::unstructured_mask(overflow, 0.5), bbs::value_error);
}

// ---------------------------------------------------------------------------------------------
// compare_patterns: equal density, and the paper's ordering.

TEST_CASE("compare_patterns compares all four patterns at the bank-balanced density", "[prune][patterns]") {
  const MatrixXd w = bbs_test::random_dense<double>(256, 512, 61);
  const bbs::BankConfig cfg(64, 8);
  const bbs::PatternReport report = bbs::compare_patterns(w, cfg, 8, 8);
  REQUIRE(report.size() == 4);
  CHECK(report[0].pattern == "unstructured (global)");
  CHECK(report[1].pattern == "unstructured per row");
  CHECK(report[2].pattern == "bank-balanced (bank 64, k 8)");
  CHECK(report[3].pattern == "block 8x8");
  for (const bbs::PatternRetained& row : report) CHECK(row.retained.density == 0.125);
  // The rows are exactly retained_magnitude of the public masks.
  const bbs::RetainedMagnitude global = bbs::retained_magnitude(w, bbs::unstructured_mask(w, 0.875));
  CHECK(report[0].retained.l1_fraction == global.l1_fraction);
  CHECK(report[0].retained.l2_fraction == global.l2_fraction);
  const bbs::RetainedMagnitude banked = bbs::retained_magnitude(w, bbs::bank_balanced_mask(w, cfg));
  CHECK(report[2].retained.l1_fraction == banked.l1_fraction);
  const bbs::RetainedMagnitude blocks = bbs::retained_magnitude(w, bbs::block_mask(w, 8, 8, 0.875));
  CHECK(report[3].retained.l2_fraction == blocks.l2_fraction);
}

TEST_CASE("compare_patterns on awkward, tiny and empty shapes", "[prune][patterns]") {
  // 67 x 127, bank 64 k 8: the partial last bank keeps 8 of 63, so every row keeps 16 of 127.
  const MatrixXd w = bbs_test::random_dense<double>(67, 127, 62);
  const bbs::PatternReport report = bbs::compare_patterns(w, bbs::BankConfig(64, 8), 8, 16);
  const double density = 16.0 / 127.0;
  CHECK(report[0].retained.density == density);
  CHECK(report[1].retained.density == density);
  CHECK(report[2].retained.density == density);
  // 9 x 8 tiles * 16/127 = 9.07 -> 9 tiles; partial ones change the entry density.
  const PruneMask blocks = reference_blocks(w, 8, 16, 9);
  CHECK(report[3].retained.density == static_cast<double>(blocks.count()) / (67.0 * 127.0));
  CHECK(report[3].retained.l1_fraction == bbs::retained_magnitude(w, blocks).l1_fraction);
  for (Index rows = 0; rows <= 6; ++rows) {
    for (Index cols = 0; cols <= 6; ++cols) {
      INFO(rows << "x" << cols);
      const MatrixXd t = tie_heavy(rows, cols, static_cast<std::uint32_t>(rows * 7 + cols));
      const bbs::PatternReport r = bbs::compare_patterns(t, bbs::BankConfig(4, 1), 2, 3);
      REQUIRE(r.size() == 4);
      CHECK(r[0].retained.density == r[2].retained.density);
      CHECK(r[1].retained.density == r[2].retained.density);
      for (const bbs::PatternRetained& row : r) {
        CHECK(row.retained.l1_fraction >= 0.0);
        CHECK(row.retained.l1_fraction <= 1.0);
        CHECK(row.retained.l2_fraction <= 1.0);
      }
    }
  }
}

TEST_CASE("Figure 1 ordering: unstructured >= per row >= bank-balanced >= block", "[prune][patterns][paper]") {
  const MatrixXd w = bbs_test::random_dense<double>(512, 512, 2019);
  for (double s : {0.5, 0.875, 0.9375}) {
    const bbs::BankConfig cfg = bbs::BankConfig::from_sparsity(64, s);
    for (auto block : {std::pair<Index, Index>{8, 8}, {4, 16}}) {
      INFO("sparsity " << s << ", block " << block.first << "x" << block.second);
      const bbs::PatternReport r = bbs::compare_patterns(w, cfg, block.first, block.second);
      REQUIRE(r.size() == 4);
      for (const bbs::PatternRetained& row : r) CHECK(row.retained.density == Approx(1.0 - s).epsilon(1e-12));
      for (std::size_t i = 0; i + 1 < r.size(); ++i) {
        INFO(r[i].pattern << " vs " << r[i + 1].pattern);
        CHECK(r[i].retained.l1_fraction >= r[i + 1].retained.l1_fraction);
        CHECK(r[i].retained.l2_fraction >= r[i + 1].retained.l2_fraction);
      }
      // Bank balance costs little next to unstructured pruning; blocks cost much more.
      CHECK(r[0].retained.l2_fraction - r[2].retained.l2_fraction <
            r[2].retained.l2_fraction - r[3].retained.l2_fraction);
    }
  }
}

TEST_CASE("the report prints as an aligned table", "[prune][patterns]") {
  const bbs::PatternReport report =
      bbs::compare_patterns(bbs_test::random_dense<double>(64, 128, 71), bbs::BankConfig(64, 8), 8, 8);
  const std::string text = bbs::to_string(report);
  std::ostringstream streamed;
  streamed << report;
  CHECK(streamed.str() == text);
  std::istringstream lines(text);
  std::vector<std::string> rows;
  for (std::string line; std::getline(lines, line);) rows.push_back(line);
  REQUIRE(rows.size() == 5);
  CHECK(rows[0].find("pattern") == 0);
  CHECK(rows[0].find("density") != std::string::npos);
  CHECK(rows[0].find("L1") != std::string::npos);
  for (std::size_t i = 1; i < rows.size(); ++i) {
    CHECK(rows[i].size() == rows[0].size());
    CHECK(rows[i].find(report[i - 1].pattern) == 0);
  }
  CHECK(rows[3].find("0.1250") != std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// Shared matrices: the masks tools/python/bbs_pruning.py (PyTorch) computed for them, written by
// tools/fixtures/make_mask_fixtures.py into test/data/masks, must be exactly the C++ masks.

namespace {

std::string mask_fixture(const std::string& name) { return std::string(BBS_TEST_DATA_DIR) + "/masks/" + name; }

PruneMask as_mask(const bbs::NpyArray& a) { return a.matrix<double>().array() != 0.0; }

/// Reads "<prefix><integer>" at the front of `rest` and drops it; false if absent.
bool take_integer(std::string& rest, const std::string& prefix, Index& value) {
  if (rest.compare(0, prefix.size(), prefix) != 0) return false;
  std::size_t used = 0;
  try {
    value = static_cast<Index>(std::stoll(rest.substr(prefix.size()), &used));
  } catch (const std::exception&) {
    return false;
  }
  rest.erase(0, prefix.size() + used);
  return used > 0;
}

/// Reads "<prefix><decimal>" making up all of `rest`; false if absent or followed by more.
bool take_sparsity(const std::string& rest, const std::string& prefix, double& value) {
  if (rest.compare(0, prefix.size(), prefix) != 0) return false;
  std::size_t used = 0;
  try {
    value = std::stod(rest.substr(prefix.size()), &used);
  } catch (const std::exception&) {
    return false;
  }
  return used > 0 && prefix.size() + used == rest.size();
}

}  // namespace

TEST_CASE("Python and C++ masks are equal on shared matrices", "[prune][patterns][python]") {
  const std::vector<std::string> matrices = {"ties", "tall", "wide", "gaussian", "zeros"};
  Index compared_total = 0;
  for (const std::string& matrix : matrices) {
    const auto arrays = bbs::read_npz(mask_fixture(matrix + ".npz"));
    REQUIRE(!arrays.empty());
    REQUIRE(arrays.front().first == "w");
    const MatrixXd w = arrays.front().second.matrix<double>();
    const Eigen::MatrixXf wf = arrays.front().second.matrix<float>();
    REQUIRE(wf.cast<double>() == w);  // every fixture is exact in float, so prune<float> sees the same weights
    std::map<std::string, Index> compared;
    for (std::size_t i = 1; i < arrays.size(); ++i) {
      const std::string& name = arrays[i].first;
      INFO(matrix << ".npz: " << name);
      const PruneMask want = as_mask(arrays[i].second);
      REQUIRE(want.rows() == w.rows());
      REQUIRE(want.cols() == w.cols());
      Index bank = 0, k = 0, br = 0, bc = 0;
      double s = 0.0;
      std::string rest = name;
      if (take_integer(rest, "bbs_b", bank) && take_integer(rest, "_k", k) && rest.empty()) {
        const bbs::BankConfig cfg(bank, k);
        CHECK(same(bbs::bank_balanced_mask(w, cfg), want));
        // bbs::prune stores exactly the masked entries, with their values and signs (negative zeros too).
        Index stored = 0;
        bool values_match = true, inside_mask = true;
        bbs::prune<float>(wf, cfg).forEach([&](Index r, Index c, float value) {
          ++stored;
          inside_mask = inside_mask && want(r, c);
          values_match = values_match && value == wf(r, c) && std::signbit(value) == std::signbit(wf(r, c));
        });
        CHECK(inside_mask);
        CHECK(values_match);
        CHECK(stored == want.count());
        ++compared["bbs"];
      } else if (take_sparsity(name, "unstructured_s", s)) {
        CHECK(same(bbs::unstructured_mask(w, s), want));
        ++compared["unstructured"];
      } else if (take_sparsity(name, "row_s", s)) {
        CHECK(same(bbs::unstructured_row_mask(w, s), want));
        ++compared["row"];
      } else if (take_integer(rest, "block_r", br) && take_integer(rest, "_c", bc) && take_sparsity(rest, "_s", s)) {
        CHECK(same(bbs::block_mask(w, br, bc, s), want));
        ++compared["block"];
      } else {
        FAIL("unknown mask name");
      }
    }
    INFO(matrix << ".npz");
    CHECK(compared["bbs"] >= 5);  // the test cannot pass by comparing nothing
    CHECK(compared["unstructured"] >= 3);
    CHECK(compared["row"] >= 3);
    CHECK(compared["block"] >= 3);
    compared_total += static_cast<Index>(arrays.size()) - 1;
  }
  CHECK(compared_total >= 100);
}

TEST_CASE("Python and C++ round kept counts alike", "[prune][patterns][python]") {
  const auto arrays = bbs::read_npz(mask_fixture("rounding.npz"));
  REQUIRE(arrays.size() == 2);
  REQUIRE(arrays[0].first == "from_sparsity");
  REQUIRE(arrays[1].first == "kept_count");
  const MatrixXd from_sparsity = arrays[0].second.matrix<double>();
  const MatrixXd kept = arrays[1].second.matrix<double>();
  REQUIRE(from_sparsity.cols() == 3);
  REQUIRE(kept.cols() == 3);
  CHECK(from_sparsity.rows() >= 100);
  CHECK(kept.rows() >= 100);
  for (Index i = 0; i < from_sparsity.rows(); ++i) {
    const auto bank = static_cast<Index>(from_sparsity(i, 0));
    INFO("bank " << bank << " sparsity " << from_sparsity(i, 1));
    CHECK(bbs::BankConfig::from_sparsity(bank, from_sparsity(i, 1)).nnz_per_bank ==
          static_cast<Index>(from_sparsity(i, 2)));
  }
  for (Index i = 0; i < kept.rows(); ++i) {
    const auto n = static_cast<Index>(kept(i, 0));
    INFO("n " << n << " sparsity " << kept(i, 1));
    CHECK(bbs::detail::kept_count(n, kept(i, 1)) == static_cast<Index>(kept(i, 2)));
  }
}

// Tests for BbsMatrix: construction, conversions to and from Eigen, element access, iteration,
// memory footprint, and the errors of each.
#include "testbed.hpp"

using bbs::BankConfig;
using bbs::BbsMatrix;
using bbs_test::Shape;

TEMPLATE_TEST_CASE("toDense, toSparse, coeff, forEach and InnerIterator agree on every shape", "[matrix]", float,
                   double) {
  std::vector<Shape> shapes = bbs_test::tiny_shapes();
  for (const auto& s : bbs_test::awkward_shapes()) shapes.push_back(s);
  std::uint32_t seed = 1;
  for (const Shape& s : shapes) {
    INFO(s.name());
    const auto w = bbs_test::random_dense<TestType>(s.rows, s.cols, seed++);
    const BbsMatrix<TestType> a = bbs::prune<TestType>(w, s.config);
    REQUIRE(a.rows() == s.rows);
    REQUIRE(a.cols() == s.cols);
    REQUIRE(a.bankConfig() == s.config);
    REQUIRE_NOTHROW(a.validate());

    const auto dense = a.toDense();
    // Every stored value is the original weight at its column.
    bbs::index counted = 0;
    a.forEach([&](bbs::index r, bbs::index c, TestType v) {
      REQUIRE(v == w(r, c));
      REQUIRE(dense(r, c) == v);
      ++counted;
    });
    REQUIRE(counted == a.nonZeros());
    const bbs::index width = s.cols == 0 ? 0 : s.cols - (a.numBanks() - 1) * s.config.bank_size;
    const bbs::index per_row =
        s.cols == 0 ? 0 : (a.numBanks() - 1) * s.config.nnz_per_bank + std::min(s.config.nnz_per_bank, width);
    REQUIRE(a.nonZeros() == s.rows * per_row);
    REQUIRE(a.storedEntries() == s.rows * a.numBanks() * s.config.nnz_per_bank);

    const auto sparse = a.toSparse();
    REQUIRE(sparse.nonZeros() == a.nonZeros());
    REQUIRE(Eigen::MatrixX<TestType>(sparse) == dense);

    for (bbs::index r = 0; r < s.rows; ++r) {
      for (bbs::index c = 0; c < s.cols; ++c) REQUIRE(a.coeff(r, c) == dense(r, c));
      bbs::index in_row = 0;
      for (typename BbsMatrix<TestType>::InnerIterator it(a, r); it; ++it) {
        REQUIRE(it.row() == r);
        REQUIRE(it.value() == dense(r, it.col()));
        ++in_row;
      }
      REQUIRE(in_row == per_row);
    }

    // fromSparse inverts toSparse exactly.
    const auto back = BbsMatrix<TestType>::fromSparse(sparse, s.config);
    REQUIRE(back.toDense() == dense);
    REQUIRE(back.nonZeros() == a.nonZeros());
  }
}

TEST_CASE("A BbsMatrix<float> with 8-bit indices takes 5 bytes per stored entry", "[matrix][memory]") {
  const auto a = bbs_test::random_bbs<float>({1024, 1024, BankConfig(64, 8)}, 3);
  CHECK(a.indexWidth() == bbs::IndexWidth::u8);
  CHECK(a.memoryBytes() == static_cast<std::size_t>(a.nonZeros()) * 5);
  CHECK(sizeof(BbsMatrix<float>) < 256);  // O(1) beyond the arrays (three vectors and the layout cache)
  const auto d = bbs_test::random_bbs<double>({64, 1024, BankConfig(512, 8)}, 3);
  CHECK(d.indexWidth() == bbs::IndexWidth::u16);
  CHECK(d.memoryBytes() == static_cast<std::size_t>(d.nonZeros()) * 10);
}

TEST_CASE("The pattern constructor makes a valid all-zero matrix", "[matrix]") {
  const BbsMatrix<float> a(5, 7, BankConfig(3, 2));
  CHECK_NOTHROW(a.validate());
  CHECK(a.toDense().isZero());
  CHECK(a.storedEntries() == 5 * 3 * 2);
  BbsMatrix<float> b(2, 4, BankConfig(2, 1));
  b.valueData()[0] = 3.0f;  // row 0, bank 0, in-bank index 0
  CHECK(b.coeff(0, 0) == 3.0f);
}

TEST_CASE("Adopting CSB arrays checks sizes, index width and invariants", "[matrix][errors]") {
  const BankConfig cfg(4, 2);
  std::vector<float> values(8, 1.0f);
  std::vector<std::uint8_t> indices = {0, 0, 1, 1, 0, 0, 1, 1};
  CHECK_NOTHROW(BbsMatrix<float>(2, 8, cfg, values, indices));
  CHECK_THROWS_AS(BbsMatrix<float>(2, 8, cfg, std::vector<float>(7), indices), bbs::shape_error);
  CHECK_THROWS_WITH(BbsMatrix<float>(2, 8, cfg, std::vector<float>(7), indices),
                    Catch::Contains("stores 8 entries, got 7 values"));
  CHECK_THROWS_WITH(BbsMatrix<float>(2, 8, cfg, values, std::vector<std::uint16_t>(8)),
                    Catch::Contains("needs 8-bit indices, got 16-bit"));
  std::vector<std::uint8_t> bad = indices;
  bad[2] = 0;  // slot 1 of bank 0 repeats index 0
  CHECK_THROWS_AS(BbsMatrix<float>(2, 8, cfg, values, bad), bbs::format_error);
  CHECK_THROWS_AS(BbsMatrix<float>(-1, 8, cfg), bbs::shape_error);
}

TEST_CASE("coeff refuses out-of-range positions", "[matrix][errors]") {
  const auto a = bbs_test::random_bbs<float>({3, 5, BankConfig(2, 1)}, 9);
  CHECK_THROWS_AS(a.coeff(3, 0), bbs::shape_error);
  CHECK_THROWS_WITH(a.coeff(0, -1), Catch::Contains("coeff(0, -1) is outside the 3 x 5 matrix"));
}

TEST_CASE("fromSparse refuses a pattern that is not bank-balanced", "[matrix][errors]") {
  Eigen::SparseMatrix<float> s(2, 8);
  s.insert(0, 0) = 1;
  s.insert(0, 5) = 2;
  s.insert(1, 1) = 3;
  s.insert(1, 2) = 4;  // row 1 bank 0 holds two entries, bank 1 none
  CHECK_THROWS_AS(BbsMatrix<float>::fromSparse(s, BankConfig(4, 1)), bbs::format_error);
  CHECK_THROWS_WITH(BbsMatrix<float>::fromSparse(s, BankConfig(4, 1)),
                    Catch::Contains("row 1 bank 0 (columns 0..3) stores 2 entries, expected 1"));
  s.coeffRef(1, 2) = 0;
  s.prune(0.0f);  // now row 1: bank 0 one entry, bank 1 none
  CHECK_THROWS_WITH(BbsMatrix<float>::fromSparse(s, BankConfig(4, 1)),
                    Catch::Contains("row 1 bank 1 (columns 4..7) stores 0 entries"));
  s.insert(1, 6) = 5;
  CHECK(BbsMatrix<float>::fromSparse(s, BankConfig(4, 1)).coeff(1, 6) == 5);
}

TEST_CASE("BbsMap views external arrays without copying", "[matrix][map]") {
  const auto a = bbs_test::random_bbs<float>({67, 127, BankConfig(16, 4)}, 21);
  const auto* idx = static_cast<const std::uint8_t*>(a.indexData());
  const bbs::BbsMap<float> m(a.rows(), a.cols(), a.bankConfig(), a.valueData(), idx);
  CHECK(m.view().values == a.valueData());
  CHECK(m.toDense() == a.toDense());
  const BbsMatrix<float> copy(m);
  CHECK(copy.toDense() == a.toDense());
  CHECK(copy.valueData() != a.valueData());

  const std::uint16_t* wide = nullptr;
  CHECK_THROWS_WITH(bbs::BbsMap<float>(a.rows(), a.cols(), a.bankConfig(), a.valueData(), wide),
                    Catch::Contains("needs 8-bit indices"));
  std::vector<std::uint8_t> broken(idx, idx + a.storedEntries());
  broken[0] = 200;
  CHECK_THROWS_AS(bbs::BbsMap<float>(a.rows(), a.cols(), a.bankConfig(), a.valueData(), broken.data()),
                  bbs::format_error);
}

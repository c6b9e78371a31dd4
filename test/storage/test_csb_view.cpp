// Tests for the canonical CSB layout (slot-major interleaving, padding) and CsbView::validate,
// and for entry offsets past 2^31 and 2^32.
#include <sys/mman.h>

#include "testbed.hpp"

using bbs::BankConfig;
using bbs::BbsMatrix;

namespace {
// Row 0: [1 0 2 0 | 0 3 0 4], row 1: [0 5 6 0 | 7 0 0 8]; banks of 4, two entries each.
// Slot-major: slot 0 of bank 0, slot 0 of bank 1, slot 1 of bank 0, slot 1 of bank 1.
const std::vector<float> kValues = {1, 3, 2, 4, 5, 7, 6, 8};
const std::vector<std::uint8_t> kIndices = {0, 1, 2, 3, 1, 0, 2, 3};
}  // namespace

TEST_CASE("CSB interleaves the banks slot by slot, as in the paper", "[storage][csb]") {
  Eigen::MatrixXf dense(2, 8);
  dense << 1, 0, 2, 0, 0, 3, 0, 4, 0, 5, 6, 0, 7, 0, 0, 8;
  const auto pruned = bbs::prune<float>(dense, BankConfig(4, 2));
  const auto v = pruned.view();
  REQUIRE(v.stored_entries() == 8);
  CHECK(std::vector<float>(v.values, v.values + 8) == kValues);
  const auto* idx = static_cast<const std::uint8_t*>(v.indices);
  CHECK(std::vector<std::uint8_t>(idx, idx + 8) == kIndices);

  const BbsMatrix<float> built(2, 8, BankConfig(4, 2), kValues, kIndices);
  CHECK(built.toDense() == dense);
}

TEST_CASE("A partial last bank is zero-padded", "[storage][csb]") {
  // 1 x 6 with banks of 4: the second bank has 2 real columns (4, 5); k = 3 needs one padding slot.
  Eigen::MatrixXf dense(1, 6);
  dense << 1, 2, 3, 4, 5, 6;
  const auto a = bbs::prune<float>(dense, BankConfig(4, 3));
  const auto v = a.view();
  CHECK(v.num_banks() == 2);
  CHECK(v.last_bank_width() == 2);
  CHECK(v.stored_entries() == 6);
  CHECK(v.nonzeros() == 5);  // 3 in the full bank, 2 real ones in the padded bank
  const auto* idx = static_cast<const std::uint8_t*>(v.indices);
  // Bank 1 keeps in-bank 0 and 1 (columns 4, 5) and pads with in-bank 2 (column 6), value 0.
  CHECK(idx[1] == 0);
  CHECK(idx[3] == 1);
  CHECK(idx[5] == 2);
  CHECK(v.values[5] == 0.0f);
  Eigen::MatrixXf want(1, 6);
  want << 0, 2, 3, 4, 5, 6;
  CHECK(a.toDense() == want);
}

TEST_CASE("validate names every broken invariant", "[storage][csb]") {
  const BankConfig cfg(4, 2);
  CHECK_NOTHROW(bbs::CsbView<float>{2, 8, cfg, kValues.data(), kIndices.data()}.validate());

  auto out_of_bank = kIndices;
  out_of_bank[3] = 4;
  auto v1 = kValues;
  const bbs::CsbView<float> bad_range{2, 8, cfg, v1.data(), out_of_bank.data()};
  CHECK_THROWS_WITH(bad_range.validate(), Catch::Contains("in-bank index 4 is not below bank_size 4"));

  auto not_increasing = kIndices;
  not_increasing[6] = 1;  // row 1, bank 0, slot 1 repeats index 1
  const bbs::CsbView<float> bad_order{2, 8, cfg, v1.data(), not_increasing.data()};
  CHECK_THROWS_AS(bad_order.validate(), bbs::format_error);
  CHECK_THROWS_WITH(bad_order.validate(),
                    Catch::Contains("row 1 bank 0 slot 1") && Catch::Contains("does not increase"));

  // With 6 columns, bank 1's in-bank indices 2 and 3 are padding and must hold zero.
  const std::vector<float> values = {1, 3, 2, 4, 5, 7, 6, 8};
  const std::vector<std::uint8_t> indices = {0, 0, 2, 1, 1, 0, 2, 2};
  const bbs::CsbView<float> bad_padding{2, 6, cfg, values.data(), indices.data()};
  CHECK_THROWS_WITH(bad_padding.validate(), Catch::Contains("padding column 6") && Catch::Contains("nonzero"));

  const bbs::CsbView<float> null_values{2, 8, cfg, nullptr, kIndices.data()};
  CHECK_THROWS_WITH(null_values.validate(), Catch::Contains("value array is null"));
  CHECK_NOTHROW(bbs::CsbView<float>{0, 8, cfg, nullptr, nullptr}.validate());
}

TEST_CASE("Entry counts refuse overflow and negative shapes", "[storage][csb]") {
  CHECK_THROWS_AS(bbs::detail::checked_stored_entries(-1, 4, BankConfig(4, 1)), bbs::shape_error);
  CHECK_THROWS_WITH(bbs::detail::checked_stored_entries(bbs::index(1) << 40, bbs::index(1) << 40, BankConfig(1, 1)),
                    Catch::Contains("overflows"));
  CHECK(bbs::detail::checked_stored_entries(3, 10, BankConfig(4, 2)) == 3 * 3 * 2);
  // 2^61 entries fit the index type, not their bytes: refused before anything is allocated.
  CHECK_THROWS_WITH(bbs::detail::checked_stored_entries(bbs::index(1) << 31, bbs::index(1) << 30, BankConfig(1, 1)),
                    Catch::Contains("size in bytes overflows"));
  CHECK_THROWS_AS(BbsMatrix<double>(bbs::index(1) << 31, bbs::index(1) << 30, BankConfig(1, 1)), bbs::shape_error);
}

namespace {

/// Reserved, never committed memory (MAP_NORESERVE): pages cost nothing until written.
struct Reservation {
  explicit Reservation(std::size_t bytes) : size(bytes) {
    p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  }
  ~Reservation() {
    if (p != MAP_FAILED) ::munmap(p, size);
  }
  Reservation(const Reservation&) = delete;
  Reservation& operator=(const Reservation&) = delete;
  std::size_t size;
  void* p;
};

}  // namespace

TEST_CASE("Row slices past entry 2^31 and 2^32 multiply the right entries on every backend", "[storage][csb][limits]") {
  // 2^24 + 1 rows of 16 banks of 256 columns, 16 entries per bank: 2^32 + 256 entries, 16 GiB of
  // float values and 4 GiB of 8-bit indices, reserved but never committed: only the rows
  // written below are touched.
  const bbs::index rows = (bbs::index(1) << 24) + 1, cols = 4096, per_row = 256;
  const BankConfig cfg(256, 16);
  const auto entries = static_cast<std::size_t>(rows * per_row);
  Reservation values(entries * sizeof(float)), indices(entries);
  if (values.p == MAP_FAILED || indices.p == MAP_FAILED) {
    WARN("could not reserve 20 GiB of address space; the test did not run");
    return;
  }
  auto* v = static_cast<float*>(values.p);
  auto* idx = static_cast<std::uint8_t*>(indices.p);
  const bbs::CsbView<float> whole{rows, cols, cfg, v, idx, nullptr};
  const Eigen::VectorXf x = bbs_test::random_vector<float>(cols, 5);
  // Rows 2^23 - 1 and 2^23 hold entries 2^31 - 256 .. 2^31 + 255; rows 2^24 - 1 and 2^24 hold
  // entries 2^32 - 256 .. 2^32 + 255 (the last one).
  for (const bbs::index first : {(bbs::index(1) << 23) - 1, (bbs::index(1) << 24) - 1}) {
    INFO("rows " << first << " and " << first + 1);
    Eigen::MatrixXf dense = Eigen::MatrixXf::Zero(2, cols);
    for (bbs::index r = first; r < first + 2; ++r) {
      for (bbs::index s = 0; s < 16; ++s) {
        for (bbs::index b = 0; b < 16; ++b) {
          const bbs::index e = whole.entry(r, s, b);
          const bbs::index in_bank = s * 16 + (r + b) % 16;  // distinct within the bank
          idx[e] = static_cast<std::uint8_t>(in_bank);
          v[e] = static_cast<float>((r % 7) + 1) * 0.125f * static_cast<float>(s - b);
          dense(r - first, b * 256 + in_bank) = v[e];
        }
      }
    }
    const bbs::CsbView<float> slice = whole.rows_slice(first, first + 2);
    REQUIRE(slice.values == v + first * per_row);
    slice.validate();
    const Eigen::VectorXf want = dense * x;
    const Eigen::VectorXf xt = bbs_test::random_vector<float>(2, 6);
    const Eigen::VectorXf want_t = dense.transpose() * xt;
    bbs::for_each_backend([&](auto tag) {
      INFO("backend " << decltype(tag)::name);
      Eigen::VectorXf y = Eigen::VectorXf::Constant(2, -1.0f);
      bbs::kernel::spmv(tag, slice, 1.0f, x.data(), 0.0f, y.data());
      CHECK((y - want).cwiseAbs().maxCoeff() <= 1e-4f * (1.0f + want.cwiseAbs().maxCoeff()));
      Eigen::VectorXf yt = Eigen::VectorXf::Constant(cols, -1.0f);
      bbs::kernel::spmv_transposed(tag, slice, 1.0f, xt.data(), 0.0f, yt.data());
      CHECK((yt - want_t).cwiseAbs().maxCoeff() <= 1e-4f * (1.0f + want_t.cwiseAbs().maxCoeff()));
    });
  }
}

TEST_CASE("csb_entry, entry, column_of and for_each_entry walk the canonical order", "[storage][csb]") {
  // The matrix of the first test: entry e = (r k + s) nb + b.
  const BbsMatrix<float> a(2, 8, BankConfig(4, 2), kValues, kIndices);
  const auto v = a.view();
  CHECK(bbs::csb_entry(1, 1, 0, 2, 2) == 6);
  CHECK(v.entry(0, 1, 1) == 3);
  CHECK(v.entry(1, 0, 1) == 5);
  CHECK(v.column_of(5) == 4);  // row 1, slot 0, bank 1, in-bank 0
  std::vector<bbs::index> storage, columns;
  v.for_each_entry([&](bbs::index r, bbs::index c, bbs::index e) {
    CHECK(v.column_of(e) == c);
    CHECK(v.values[e] == a.toDense()(r, c));
    storage.push_back(c + 8 * r);
  });
  CHECK(storage == std::vector<bbs::index>{0, 5, 2, 7, 9, 12, 10, 15});
  v.for_each_entry<bbs::EntryOrder::columns>(
      [&](bbs::index r, bbs::index c, bbs::index) { columns.push_back(c + 8 * r); });
  CHECK(columns == std::vector<bbs::index>{0, 2, 5, 7, 9, 10, 12, 15});
  std::vector<bbs::index> row1;
  v.for_each_entry_in_row(1, [&](bbs::index c, bbs::index e) { row1.push_back(c * 100 + e); });
  CHECK(row1 == std::vector<bbs::index>{104, 405, 206, 707});
}

TEST_CASE("for_each_entry skips the padding of a partial last bank", "[storage][csb]") {
  // 2 x 6, banks of 4, k = 3: every row has one padding slot in bank 1 (in-bank 2, column 6).
  Eigen::MatrixXf dense(2, 6);
  dense << 1, 2, 3, 4, 5, 6, -1, -2, -3, -4, -5, -6;
  const auto a = bbs::prune<float>(dense, BankConfig(4, 3));
  const auto v = a.view();
  bbs::index visited = 0;
  v.for_each_entry([&](bbs::index r, bbs::index c, bbs::index e) {
    REQUIRE(c < v.cols);
    CHECK(v.values[e] == a.toDense()(r, c));
    ++visited;
  });
  CHECK(visited == v.nonzeros());
  CHECK(v.stored_entries() - visited == 2);
  CHECK(v.column_of(v.entry(0, 2, 1)) == 6);  // the padding slot: past the last column
}

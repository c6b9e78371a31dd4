// The SIMD backend's row-group arrangement: group sizes, and every entry of the canonical arrays
// found at the place the layout comment promises.
#include "testbed.hpp"

using Index = bbs::index;
using bbs::backend::simd_impl::choose_group_rows;
using bbs::backend::simd_impl::RowGroups;

TEST_CASE("row groups use the fewest padding lanes and share x among as many rows as fit", "[simd][row_groups]") {
  const auto round16 = [](Index n) { return (n + 15) / 16 * 16; };
  for (Index shared : {64, 128}) {
    for (Index k = 1; k <= 256; ++k) {
      INFO("k " << k << ", " << shared << " lanes shared");
      const Index r = choose_group_rows(k, 16, shared);
      REQUIRE(r >= 1);
      if (k > shared) {
        CHECK(r == 1);
        continue;
      }
      CHECK(r * k <= shared);
      // No other group size in range pads less.
      for (Index other = 1; other * k <= shared; ++other) {
        CHECK(double(other * k) / double(round16(other * k)) <= double(r * k) / double(round16(r * k)) + 1e-12);
      }
    }
  }
  CHECK(choose_group_rows(8, 16, 128) == 16);  // the paper's 87.5 % at bank 64: 16 rows, 128 lanes, no padding
  CHECK(choose_group_rows(12, 16, 128) == 8);  // keep 12: 8 rows, 96 lanes (4 rows when 64 are shared)
  CHECK(choose_group_rows(12, 16, 64) == 4);
  CHECK(choose_group_rows(1, 16, 128) == 128);
  CHECK(choose_group_rows(16, 16, 128) == 8);
  CHECK(choose_group_rows(8, 32, 128) == 16);  // int16: 32 lanes per vector, 128 shared
  CHECK(choose_group_rows(8, 8, 32) == 4);     // double
  CHECK(choose_group_rows(0, 16, 128) == 1);
  CHECK(RowGroups<float>::max_shared_lanes == 128);
  CHECK(RowGroups<double>::max_shared_lanes == 32);
}

namespace {

/// Every canonical entry of v sits at lane j row_lanes + s of its group's bank block; all other
/// lanes are zero.
template <typename T>
void check_arrangement(const bbs::CsbView<T>& v) {
  const RowGroups<T> g = RowGroups<T>::build(v);
  const Index k = v.nnz_per_bank(), nb = v.num_banks();
  const Index l = g.row_lanes;
  REQUIRE(l == (sizeof(T) == 2 ? (k + 1) / 2 * 2 : k));
  REQUIRE(g.lanes % RowGroups<T>::vector_lanes == 0);
  REQUIRE(g.lanes >= g.group_rows * l);
  REQUIRE(g.groups == (v.rows + g.group_rows - 1) / g.group_rows);
  REQUIRE(Index(g.values.size()) == g.groups * nb * g.lanes);
  REQUIRE(reinterpret_cast<std::uintptr_t>(g.values.data()) % 64 == 0);
  const auto* idx = static_cast<const std::uint8_t*>(v.indices);
  Index placed = 0;
  for (Index group = 0; group < g.groups; ++group) {
    for (Index b = 0; b < nb; ++b) {
      for (Index lane = 0; lane < g.lanes; ++lane) {
        const Index j = lane / (l == 0 ? 1 : l), slot = lane % (l == 0 ? 1 : l);
        const Index r = group * g.group_rows + j;
        const T value = g.block_values(group, b)[lane];
        const std::uint8_t in_bank = g.block_indices(group, b)[lane];
        if (k > 0 && j < g.group_rows && slot < k && r < v.rows) {
          const Index e = r * nb * k + slot * nb + b;
          CHECK(value == v.values[e]);
          CHECK(in_bank == idx[e]);
          ++placed;
        } else {
          CHECK(value == T(0));
          CHECK(in_bank == 0);
        }
      }
    }
  }
  CHECK(placed == v.stored_entries());
}

}  // namespace

TEST_CASE("row groups hold every canonical entry where the layout says, and zeros elsewhere", "[simd][row_groups]") {
  for (const bbs_test::Shape& s :
       {bbs_test::Shape{13, 100, bbs::BankConfig(16, 3)}, bbs_test::Shape{9, 130, bbs::BankConfig(64, 8)},
        bbs_test::Shape{5, 300, bbs::BankConfig(128, 70)}, bbs_test::Shape{4, 7, bbs::BankConfig(5, 5)},
        bbs_test::Shape{6, 600, bbs::BankConfig(256, 131)}}) {
    INFO(s.name());
    const auto a = bbs_test::random_bbs<float>(s, 21);
    check_arrangement(a.view());
    // 16-bit values (fixed point's raw int16): rows padded to an even number of lanes.
    std::vector<std::int16_t> raw(static_cast<std::size_t>(a.storedEntries()));
    for (std::size_t e = 0; e < raw.size(); ++e) raw[e] = static_cast<std::int16_t>(1000 * a.valueData()[e]);
    check_arrangement(bbs::CsbView<std::int16_t>{a.rows(), a.cols(), s.config, raw.data(), a.indexData(), nullptr});
  }
}

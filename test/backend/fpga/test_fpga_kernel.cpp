// C simulation of the FPGA kernel (backends/fpga/hw/spmv.hpp) compiled with g++: each building
// block on hand-built words, then the top functions on packed matrices against the reference
// backend, on every testbed shape that fits, for several PE counts. Fixed point bit for bit, float
// within the reordered-sum bound.
#include <cstring>
#include <limits>
#include <vector>

#include "backend/fpga/fpga_testbed.hpp"

// Configured with BBS_WITH_FPGA=OFF, test/'s glob still builds this file: it then holds no tests.
#ifdef BBS_WITH_FPGA

namespace layout = bbs::fpga_hw;
namespace hw = bbs::fpga_hw;
using bbs_test::Q12;
using bbs_test::Shape;

namespace {

template <typename T, int t_Lanes, int t_Depth>
bbs::fpga_runtime::KernelLimits test_limits() {
  return {std::is_same<T, float>::value ? layout::value_float32 : layout::value_fixed16, t_Lanes, t_Depth,
          "test kernel"};
}

/// Packs a for a <t_Lanes, t_Depth> kernel and runs the fixed16 top function on it.
template <int t_Lanes, int t_Depth, typename Q>
Eigen::Matrix<Q, Eigen::Dynamic, 1> kernel_spmv(const bbs::BbsMatrix<Q>& a, float alpha,
                                                const Eigen::Matrix<Q, Eigen::Dynamic, 1>& x, float beta,
                                                const Eigen::Matrix<Q, Eigen::Dynamic, 1>& y0) {
  const auto packed = bbs::fpga_runtime::pack_matrix(a.view(), test_limits<Q, t_Lanes, t_Depth>());
  std::vector<std::int16_t> xd(static_cast<std::size_t>(a.cols())), yd(static_cast<std::size_t>(a.rows()));
  bbs::fpga_runtime::to_device_elements<Q>(x.data(), a.cols(), xd.data());
  bbs::fpga_runtime::to_device_elements<Q>(y0.data(), a.rows(), yd.data());
  const int status = hw::spmv_fixed16<t_Lanes, t_Depth>(packed.words.data(), xd.data(), yd.data(),
                                                        bbs::detail::fixed_scale(alpha, "alpha"),
                                                        bbs::detail::fixed_scale(beta, "beta"));
  REQUIRE(status == hw::header_ok);
  Eigen::Matrix<Q, Eigen::Dynamic, 1> y(a.rows());
  bbs::fpga_runtime::from_device_elements<Q>(yd.data(), a.rows(), y.data());
  return y;
}

template <int t_Lanes, int t_Depth>
Eigen::VectorXf kernel_spmv(const bbs::BbsMatrix<float>& a, float alpha, const Eigen::VectorXf& x, float beta,
                            const Eigen::VectorXf& y0) {
  const auto packed = bbs::fpga_runtime::pack_matrix(a.view(), test_limits<float, t_Lanes, t_Depth>());
  Eigen::VectorXf y = y0;
  const int status = hw::spmv_float<t_Lanes, t_Depth>(packed.words.data(), x.data(), y.data(), alpha, beta);
  REQUIRE(status == hw::header_ok);
  return y;
}

/// Every testbed shape that fits the kernel, fixed16 bit for bit against the reference backend,
/// with alpha = 1 / beta = 0 (requantize) and alpha = 0.75 / beta = -1.5 (scale_and_add).
template <int t_Lanes, int t_Depth>
void check_fixed16_top() {
  int checked = 0;
  std::uint32_t seed = 100;
  for (const Shape& s : bbs_test::all_shapes()) {
    if (!bbs_test::fits_kernel(s, t_Lanes, t_Depth)) continue;
    INFO(s.name() << ", " << t_Lanes << " lanes");
    const auto a = bbs_test::random_fixed_bbs<Q12>(s, ++seed);
    const auto x = bbs_test::random_fixed_vector<Q12>(s.cols, seed + 1);
    const auto y0 = bbs_test::random_fixed_vector<Q12>(s.rows, seed + 2);
    for (const auto& ab : {std::pair<float, float>{1.0f, 0.0f}, {0.75f, -1.5f}, {1.0f, 1.0f}}) {
      Eigen::Matrix<Q12, Eigen::Dynamic, 1> want = y0;
      bbs::kernel::spmv(bbs::backend::reference{}, a.view(), ab.first, x.data(), ab.second, want.data());
      const auto got = kernel_spmv<t_Lanes, t_Depth>(a, ab.first, x, ab.second, y0);
      REQUIRE(bbs_test::raw_values(got) == bbs_test::raw_values(want));
    }
    ++checked;
  }
  REQUIRE(checked > 100);  // the sweep really ran
}

template <int t_Lanes, int t_Depth>
void check_float_top() {
  int checked = 0;
  std::uint32_t seed = 300;
  for (const Shape& s : bbs_test::all_shapes()) {
    if (!bbs_test::fits_kernel(s, t_Lanes, t_Depth)) continue;
    INFO(s.name() << ", " << t_Lanes << " lanes");
    const auto a = bbs_test::random_bbs<float>(s, ++seed);
    const Eigen::VectorXf x = bbs_test::random_vector<float>(s.cols, seed + 1);
    const Eigen::VectorXf y0 = bbs_test::random_vector<float>(s.rows, seed + 2);
    // beta == 0 must not read y: NaN there stays out of the result.
    const Eigen::VectorXf nan_y = Eigen::VectorXf::Constant(s.rows, std::numeric_limits<float>::quiet_NaN());
    Eigen::VectorXf want(s.rows);
    bbs::kernel::spmv(bbs::backend::reference{}, a.view(), 1.0f, x.data(), 0.0f, want.data());
    bbs_test::require_float_close_to_reference(kernel_spmv<t_Lanes, t_Depth>(a, 1.0f, x, 0.0f, nan_y), want, a, x, 1.0f,
                                               0.0f, y0);
    want = y0;
    bbs::kernel::spmv(bbs::backend::reference{}, a.view(), 0.75f, x.data(), -1.5f, want.data());
    bbs_test::require_float_close_to_reference(kernel_spmv<t_Lanes, t_Depth>(a, 0.75f, x, -1.5f, y0), want, a, x, 0.75f,
                                               -1.5f, y0);
    ++checked;
  }
  REQUIRE(checked > 100);
}

layout::wide_word packed_header(const Shape& s, int lanes, int depth) {
  const auto a = bbs_test::random_bbs<float>(s, 1);
  return bbs::fpga_runtime::pack_matrix(a.view(), {layout::value_float32, lanes, depth, "test kernel"}).words[0];
}

}  // namespace

TEST_CASE("fpga kernel: wide_word fields round-trip and stay in their bits") {
  layout::wide_word w{};
  layout::set_field(w, layout::value_lsb(layout::value_fixed16, 3), 16, 0xBEEF);
  layout::set_field(w, layout::address_lsb(15), 16, 0x1234);
  layout::set_field(w, layout::value_lsb(layout::value_float32, 7), 32, 0xDEADBEEF);
  CHECK(layout::get_field(w, layout::value_lsb(layout::value_fixed16, 3), 16) == 0xBEEF);
  CHECK(layout::get_field(w, layout::address_lsb(15), 16) == 0x1234);
  CHECK(layout::get_field(w, layout::value_lsb(layout::value_float32, 7), 32) == 0xDEADBEEF);
  // Overwriting one field leaves its neighbours alone.
  layout::set_field(w, layout::value_lsb(layout::value_fixed16, 3), 16, 0);
  CHECK(layout::get_field(w, layout::value_lsb(layout::value_fixed16, 2), 16) == 0);
  CHECK(layout::get_field(w, layout::value_lsb(layout::value_fixed16, 4), 16) == 0);
  CHECK(layout::get_field(w, layout::address_lsb(15), 16) == 0x1234);
  // Bytes are little-endian: the header's magic is the first four bytes of the buffer.
  layout::header_set(w, layout::field_magic, layout::magic);
  unsigned char bytes[4];
  std::memcpy(bytes, &w, 4);
  CHECK(std::string(bytes, bytes + 4) == "BBSF");
  CHECK(hw::int16_from_bits(0xFFFF) == -1);
  CHECK(hw::int16_from_bits(0x8000) == -32768);
  CHECK(hw::int16_from_bits(0x7FFF) == 32767);
}

TEST_CASE("fpga kernel: check_header accepts what the packer wrote and names each mismatch") {
  const Shape s{5, 100, bbs::BankConfig(16, 4)};  // 7 banks: 2 groups of 4 lanes, depth 32
  const layout::wide_word h = packed_header(s, 4, 64);
  CHECK(hw::check_header<4, 64>(h, layout::value_float32) == hw::header_ok);
  CHECK(hw::check_header<4, 64>(h, layout::value_fixed16) == hw::header_wrong_value_kind);
  CHECK(hw::check_header<8, 64>(h, layout::value_float32) == hw::header_wrong_lanes);
  CHECK(hw::check_header<4, 16>(h, layout::value_float32) == hw::header_x_too_deep);
  auto broken = [&](layout::header_field f, std::uint32_t v) {
    layout::wide_word b = h;
    layout::header_set(b, f, v);
    return hw::check_header<4, 64>(b, layout::value_float32);
  };
  CHECK(broken(layout::field_magic, 0) == hw::header_bad_magic);
  CHECK(broken(layout::field_version, 99) == hw::header_bad_version);
  CHECK(broken(layout::field_groups, 3) == hw::header_inconsistent);  // depth no longer groups * bank_size
  CHECK(broken(layout::field_cols, 129) == hw::header_inconsistent);  // more columns than the groups cover
  CHECK(broken(layout::field_cols, 60) == hw::header_inconsistent);   // the second group would be empty
  CHECK(broken(layout::field_words_per_row, 9) == hw::header_inconsistent);
  CHECK(broken(layout::field_frac_bits, 16) == hw::header_inconsistent);
  // Huge fields whose products wrap around in 32 bits are still refused.
  layout::wide_word wrap = h;
  layout::header_set(wrap, layout::field_groups, 0x80000000u);
  layout::header_set(wrap, layout::field_bank_size, 2);
  layout::header_set(wrap, layout::field_x_depth, 0);
  CHECK(hw::check_header<4, 64>(wrap, layout::value_float32) == hw::header_inconsistent);
}

TEST_CASE("fpga kernel: the top functions compute nothing on a refused header") {
  const Shape s{3, 10, bbs::BankConfig(5, 2)};
  const auto a = bbs_test::random_bbs<float>(s, 2);
  auto packed = bbs::fpga_runtime::pack_matrix(a.view(), {layout::value_float32, 2, 16, "test kernel"});
  layout::header_set(packed.words[0], layout::field_magic, 0);
  const std::vector<float> x(10, 1.0f);
  std::vector<float> y(3, 42.0f);
  CHECK(hw::spmv_float<2, 16>(packed.words.data(), x.data(), y.data(), 1.0f, 0.0f) == hw::header_bad_magic);
  CHECK(y == std::vector<float>(3, 42.0f));
  std::vector<std::int16_t> xq(10, 1), yq(3, 7);
  CHECK(hw::spmv_fixed16<2, 16>(packed.words.data(), xq.data(), yq.data(), 65536, 0) == hw::header_bad_magic);
  CHECK(yq == std::vector<std::int16_t>(3, 7));
}

TEST_CASE("fpga kernel: load_x_banks puts column b * bank_size + i in PE b % lanes at (b / lanes) * bank_size + i") {
  for (int bank_size : {1, 3, 4}) {
    for (bbs::index cols : {bbs::index(1), bbs::index(7), bbs::index(12), bbs::index(13)}) {
      INFO("bank_size " << bank_size << ", cols " << cols);
      constexpr int lanes = 3;
      constexpr int depth = 16;
      const bbs::index banks = (cols + bank_size - 1) / bank_size;
      hw::matrix_shape shape{};
      shape.cols = static_cast<std::uint32_t>(cols);
      shape.bank_size = static_cast<std::uint32_t>(bank_size);
      shape.groups = static_cast<std::uint32_t>((banks + lanes - 1) / lanes);
      std::vector<float> x(static_cast<std::size_t>(cols));
      for (bbs::index c = 0; c < cols; ++c) x[static_cast<std::size_t>(c)] = static_cast<float>(c + 1);
      float buffer[lanes][depth];
      for (auto& row : buffer)
        for (float& v : row) v = -1.0f;  // marks entries the loader never wrote
      hw::load_x_banks<lanes, depth>(x.data(), shape, buffer);
      for (bbs::index b = 0; b < bbs::index(shape.groups) * lanes; ++b) {
        for (bbs::index i = 0; i < bank_size; ++i) {
          const bbs::index c = b * bank_size + i;
          const float got = buffer[b % lanes][(b / lanes) * bank_size + i];
          CHECK(got == (c < cols ? static_cast<float>(c + 1) : 0.0f));
        }
      }
    }
  }
}

TEST_CASE("fpga kernel: lane_products skips padding lanes and wraps fixed-point sums mod 2^32") {
  constexpr int lanes = 4;
  constexpr int depth = 8;
  std::int16_t xq[lanes][depth] = {};
  layout::wide_word w{};
  for (int p = 0; p < lanes; ++p) {
    xq[p][p + 1] = 32767;
    layout::set_field(w, layout::value_lsb(layout::value_fixed16, p), 16, 0x7FFF);
    layout::set_field(w, layout::address_lsb(p), 16, static_cast<std::uint32_t>(p + 1));
  }
  // 4 * 32767^2 overflows int32: the sum is the value mod 2^32.
  CHECK(bbs::fixed_rules::to_signed(hw::lane_products<lanes, depth>(w, xq, depth)) ==
        static_cast<std::int32_t>(4LL * 32767 * 32767 - 4294967296LL));
  layout::set_field(w, layout::address_lsb(2), 16, layout::padding_address);
  layout::set_field(w, layout::address_lsb(3), 16, depth);  // past the buffer: also ignored
  CHECK(hw::lane_products<lanes, depth>(w, xq, depth) == 2u * 32767u * 32767u);
  // Only the x entries the header says were loaded count: lane 1's address 2 is past a depth of 2.
  CHECK(hw::lane_products<lanes, depth>(w, xq, 2) == 32767u * 32767u);

  // Float: an odd lane count exercises the adder tree's carried element; padding lanes would
  // multiply infinity by zero if they were read.
  constexpr int flanes = 5;
  float xf[flanes][depth];
  for (auto& row : xf)
    for (float& v : row) v = std::numeric_limits<float>::infinity();
  layout::wide_word f{};
  float want = 0.0f;
  for (int p = 0; p < flanes; ++p) {
    const float a = static_cast<float>(p + 1);
    xf[p][0] = 0.5f * static_cast<float>(p);
    std::uint32_t bits;
    std::memcpy(&bits, &a, 4);
    layout::set_field(f, layout::value_lsb(layout::value_float32, p), 32, bits);
    layout::set_field(f, layout::address_lsb(p), 16, p == 3 ? layout::padding_address : 0u);
    if (p != 3) want += a * xf[p][0];
  }
  CHECK(hw::lane_products<flanes, depth>(f, xf, depth) == want);
}

TEST_CASE("fpga kernel: row_dot sums every word of a row like the reference") {
  const Shape s{4, 200, bbs::BankConfig(16, 5)};  // 13 banks: 4 groups of 4 lanes, last group short
  const auto a = bbs_test::random_fixed_bbs<Q12>(s, 11);
  const auto packed = bbs::fpga_runtime::pack_matrix(a.view(), test_limits<Q12, 4, 64>());
  const auto x = bbs_test::random_fixed_vector<Q12>(s.cols, 12);
  hw::matrix_shape shape = hw::read_shape(packed.words[0]);
  std::vector<std::int16_t> xd(static_cast<std::size_t>(s.cols));
  bbs::fpga_runtime::to_device_elements<Q12>(x.data(), s.cols, xd.data());
  std::int16_t buffer[4][64];
  hw::load_x_banks<4, 64>(xd.data(), shape, buffer);
  for (bbs::index r = 0; r < s.rows; ++r) {
    bbs::fixed_rules::accumulator want = 0;
    a.forEach([&](bbs::index row, bbs::index col, Q12 v) {
      if (row == r) want = bbs::fixed_rules::multiply_add(want, v.raw(), x(col).raw());
    });
    const auto* row =
        packed.words.data() + layout::entry_word(static_cast<std::uint64_t>(r), shape.words_per_row, 0, shape.slots, 0);
    CHECK(hw::row_dot_fixed16<4, 64>(row, shape.words_per_row, buffer, shape.x_depth) == want);
  }
}

TEST_CASE("fpga kernel: fixed16 top function is bit-exact with the reference backend, several PE counts") {
  SECTION("1 PE") { check_fixed16_top<1, 1024>(); }
  SECTION("4 PEs") { check_fixed16_top<4, 512>(); }
  SECTION("16 PEs (the shipped kernel)") { check_fixed16_top<hw::fixed16_lanes, hw::fixed16_depth>(); }
}

TEST_CASE("fpga kernel: float top function matches the reference backend, several PE counts") {
  SECTION("2 PEs") { check_float_top<2, 1024>(); }
  SECTION("3 PEs") { check_float_top<3, 512>(); }
  SECTION("8 PEs (the shipped kernel)") { check_float_top<hw::float_lanes, hw::float_depth>(); }
}

TEST_CASE("fpga kernel: other fraction widths are bit-exact too") {
  const Shape s{67, 127, bbs::BankConfig(16, 4)};
  const auto a = bbs_test::random_fixed_bbs<bbs::fixed16<0>>(s, 21);
  const auto x = bbs_test::random_fixed_vector<bbs::fixed16<0>>(s.cols, 22);
  const auto y0 = bbs_test::random_fixed_vector<bbs::fixed16<0>>(s.rows, 23);
  Eigen::Matrix<bbs::fixed16<0>, Eigen::Dynamic, 1> want = y0;
  bbs::kernel::spmv(bbs::backend::reference{}, a.view(), 0.5f, x.data(), 2.0f, want.data());
  CHECK(bbs_test::raw_values(kernel_spmv<4, 64>(a, 0.5f, x, 2.0f, y0)) == bbs_test::raw_values(want));
  const auto a15 = bbs_test::random_fixed_bbs<bbs::fixed16<15>>(s, 24);
  const auto x15 = bbs_test::random_fixed_vector<bbs::fixed16<15>>(s.cols, 25);
  const auto y15 = bbs_test::random_fixed_vector<bbs::fixed16<15>>(s.rows, 26);
  Eigen::Matrix<bbs::fixed16<15>, Eigen::Dynamic, 1> want15 = y15;
  bbs::kernel::spmv(bbs::backend::reference{}, a15.view(), -1.0f, x15.data(), 0.25f, want15.data());
  CHECK(bbs_test::raw_values(kernel_spmv<16, 64>(a15, -1.0f, x15, 0.25f, y15)) == bbs_test::raw_values(want15));
}

TEST_CASE("fpga kernel: the packer refuses a matrix the kernel cannot hold, naming the limits") {
  const Shape s{2, 1000, bbs::BankConfig(64, 8)};  // 16 banks of 64: 4 PEs need 4 * 64 = 256 entries
  const auto a = bbs_test::random_bbs<float>(s, 3);
  CHECK_NOTHROW(bbs::fpga_runtime::pack_matrix(a.view(), test_limits<float, 4, 256>()));
  try {
    bbs::fpga_runtime::pack_matrix(a.view(), test_limits<float, 4, 255>());
    FAIL("pack_matrix accepted a matrix that does not fit");
  } catch (const bbs::device_error& e) {
    const std::string what = e.what();
    CHECK(what.find("too large for kernel test kernel") != std::string::npos);
    CHECK(what.find("256 x entries per PE") != std::string::npos);
    CHECK(what.find("holds 255 per PE") != std::string::npos);
  }
}

#endif  // BBS_WITH_FPGA

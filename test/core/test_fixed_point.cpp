// Tests for fixed point (core/fixed_point.hpp): every rule of namespace fixed_rules at its edges
// (ties, saturation limits, wrap-around, requantization, alpha / beta), checked against formulas
// written independently here (floating floor, int64 division), and the fixed16 and fixed8 types
// and their value_traits.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <type_traits>
#include <vector>

#include "testbed.hpp"

namespace fr = bbs::fixed_rules;
using Q12 = bbs::fixed16<12>;

namespace {

/// floor(n / d) for d > 0 with C++'s truncating division corrected: independent of floor_shift.
std::int64_t floor_div(std::int64_t n, std::int64_t d) {
  std::int64_t q = n / d;
  if (n % d != 0 && n < 0) --q;
  return q;
}

std::int64_t clamp16(std::int64_t v) { return std::min<std::int64_t>(32767, std::max<std::int64_t>(-32768, v)); }

/// Round half up of acc / 2^f, then clamp: the requantization rule written as a division.
std::int64_t want_requantize(std::int64_t acc, int f) {
  return clamp16(f == 0 ? acc : floor_div(acc + (std::int64_t(1) << (f - 1)), std::int64_t(1) << f));
}

/// The exact sum reduced to the int32 two's-complement range (mod 2^32).
std::int32_t wrap32(std::int64_t exact) {
  const std::int64_t m = ((exact % 4294967296LL) + 4294967296LL) % 4294967296LL;
  return static_cast<std::int32_t>(m >= 2147483648LL ? m - 4294967296LL : m);
}

}  // namespace

TEST_CASE("float to fixed rounds to nearest with ties away from zero", "[fixed_point]") {
  // F = 0: the raw value is the rounded number itself.
  CHECK(fr::quantize(0.5, 0) == 1);
  CHECK(fr::quantize(-0.5, 0) == -1);
  CHECK(fr::quantize(1.5, 0) == 2);
  CHECK(fr::quantize(-1.5, 0) == -2);
  CHECK(fr::quantize(2.5, 0) == 3);
  CHECK(fr::quantize(-2.5, 0) == -3);
  CHECK(fr::quantize(2.4999999, 0) == 2);
  CHECK(fr::quantize(-2.4999999, 0) == -2);
  CHECK(fr::quantize(2.5000001, 0) == 3);
  // F = 12: ties at odd multiples of 2^-13, each side of zero.
  for (int k : {0, 1, 2, 3, 100, 4095, 32766}) {
    const double tie = (k + 0.5) / 4096.0;
    INFO("k = " << k);
    CHECK(fr::quantize(tie, 12) == k + 1);
    CHECK(fr::quantize(-tie, 12) == -(k + 1));
    CHECK(fr::quantize(std::nextafter(tie, 0.0), 12) == k);
    CHECK(fr::quantize(-std::nextafter(tie, 0.0), 12) == -k);
  }
  // Exact values convert exactly; the type's constructor uses the same rule (constexpr too).
  static_assert(Q12(1.5).raw() == 6144, "1.5 in Q3.12");
  static_assert(Q12(-1.5).raw() == -6144, "-1.5 in Q3.12");
  CHECK(Q12(3.5 / 4096).raw() == 4);
  CHECK(Q12(-3.5 / 4096).raw() == -4);
  CHECK(Q12(0).raw() == 0);
  CHECK(Q12(1).raw() == 4096);
}

TEST_CASE("float to fixed saturates at both limits and says so", "[fixed_point]") {
  // Upper limit 32767: 32767.4999 rounds inside, 32767.5 rounds to 32768 and saturates.
  CHECK(fr::quantize(32767.4999 / 4096, 12) == 32767);
  CHECK_FALSE(fr::quantize_saturates(32767.4999 / 4096, 12));
  CHECK(fr::quantize(32767.5 / 4096, 12) == 32767);
  CHECK(fr::quantize_saturates(32767.5 / 4096, 12));
  CHECK(fr::quantize(8.0, 12) == 32767);
  CHECK(fr::quantize(1e30, 12) == 32767);
  CHECK(fr::quantize(std::numeric_limits<double>::infinity(), 12) == 32767);
  // Lower limit -32768 is representable: -32768.4999 rounds to it, -32768.5 rounds away and saturates.
  CHECK(fr::quantize(-8.0, 12) == -32768);
  CHECK_FALSE(fr::quantize_saturates(-8.0, 12));
  CHECK(fr::quantize(-32768.4999 / 4096, 12) == -32768);
  CHECK_FALSE(fr::quantize_saturates(-32768.4999 / 4096, 12));
  CHECK(fr::quantize(-32768.5 / 4096, 12) == -32768);
  CHECK(fr::quantize_saturates(-32768.5 / 4096, 12));
  CHECK(fr::quantize(-std::numeric_limits<double>::infinity(), 12) == -32768);
  // Q0.15 cannot hold 1: it saturates to 1 - 2^-15.
  CHECK(bbs::fixed16<15>(1.0).raw() == 32767);
  CHECK(bbs::fixed16<15>(-1.0).raw() == -32768);
  CHECK(bbs::fixed16<0>(40000).raw() == 32767);
}

TEST_CASE("NaN cannot become fixed point", "[fixed_point]") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_AS(Q12(nan), bbs::value_error);
  CHECK_THROWS_WITH(Q12(nan), Catch::Contains("fixed16<12>: cannot convert NaN to fixed point"));
  CHECK_THROWS_AS(bbs::value_traits<Q12>::from_float(std::numeric_limits<float>::quiet_NaN()), bbs::value_error);
}

TEST_CASE("fixed16 stores an int16 and converts exactly to float", "[fixed_point]") {
  static_assert(sizeof(Q12) == 2, "one int16");
  static_assert(std::is_trivially_copyable<Q12>::value, "memcpy-able (files, kernels)");
  static_assert(!std::is_convertible<float, Q12>::value && !std::is_convertible<Q12, float>::value,
                "conversions are explicit");
  for (int raw : {-32768, -32767, -4096, -1, 0, 1, 4095, 32767}) {
    const Q12 q = Q12::from_raw(static_cast<std::int16_t>(raw));
    CHECK(q.raw() == raw);
    CHECK(static_cast<float>(q) == static_cast<float>(raw) / 4096.0f);
    CHECK(static_cast<double>(q) == raw / 4096.0);
    CHECK(Q12(static_cast<float>(q)) == q);  // float round trip
  }
  CHECK(Q12::max().raw() == 32767);
  CHECK(Q12::lowest().raw() == -32768);
  CHECK(Q12::from_raw(3) != Q12::from_raw(4));
  CHECK(Q12::from_raw(3) < Q12::from_raw(4));
}

TEST_CASE("products accumulate in int32 with two's-complement wrap-around", "[fixed_point]") {
  CHECK(fr::to_signed(0x80000000u) == std::numeric_limits<std::int32_t>::min());
  CHECK(fr::to_signed(0xFFFFFFFFu) == -1);
  CHECK(fr::to_signed(0x7FFFFFFFu) == std::numeric_limits<std::int32_t>::max());
  // Four products of 2^30 are 2^32: exactly 0 after wrap-around.
  fr::accumulator acc = 0;
  for (int i = 0; i < 4; ++i) acc = fr::multiply_add(acc, -32768, -32768);
  CHECK(fr::to_signed(acc) == 0);
  // Three maximal products overflow int32; the accumulator holds the exact sum mod 2^32.
  acc = 0;
  for (int i = 0; i < 3; ++i) acc = fr::multiply_add(acc, 32767, 32767);
  CHECK(fr::to_signed(acc) == wrap32(3LL * 32767 * 32767));
  CHECK(fr::to_signed(acc) < 0);
  // Taking them off again brings back exactly 0: intermediate overflow is harmless.
  for (int i = 0; i < 3; ++i) acc = fr::multiply_add(acc, -32767, 32767);
  CHECK(fr::to_signed(acc) == 0);

  // Any order gives the same bits: forward, backward and shuffled sums of random full-range products.
  std::mt19937 gen(42);
  std::uniform_int_distribution<int> raw(-32768, 32767);
  std::vector<std::pair<std::int16_t, std::int16_t>> terms(5000);
  std::int64_t exact = 0;
  for (auto& t : terms) {
    t = {static_cast<std::int16_t>(raw(gen)), static_cast<std::int16_t>(raw(gen))};
    exact += std::int64_t(t.first) * t.second;
  }
  const auto sum = [](const auto& ts) {
    fr::accumulator a = 0;
    for (const auto& t : ts) a = fr::multiply_add(a, t.first, t.second);
    return fr::to_signed(a);
  };
  const std::int32_t forward = sum(terms);
  CHECK(forward == wrap32(exact));
  std::reverse(terms.begin(), terms.end());
  CHECK(sum(terms) == forward);
  std::shuffle(terms.begin(), terms.end(), gen);
  CHECK(sum(terms) == forward);
}

TEST_CASE("requantization rounds half up and saturates", "[fixed_point]") {
  // F = 4: acc counts 1/256, the result 1/16.
  CHECK(fr::requantize(24, 4) == 2);    // 1.5 -> 2
  CHECK(fr::requantize(-24, 4) == -1);  // -1.5 -> -1 (half up, not away from zero)
  CHECK(fr::requantize(8, 4) == 1);     // 0.5 -> 1
  CHECK(fr::requantize(-8, 4) == 0);    // -0.5 -> 0
  CHECK(fr::requantize(7, 4) == 0);
  CHECK(fr::requantize(-9, 4) == -1);
  CHECK(fr::requantize(std::numeric_limits<std::int32_t>::max(), 1) == 32767);
  CHECK(fr::requantize(std::numeric_limits<std::int32_t>::min(), 15) == -32768);
  CHECK(fr::requantize(5, 0) == 5);
  CHECK(fr::requantize(-40000, 0) == -32768);
  // Every F against floor((acc + 2^(F-1)) / 2^F), on edges and random accumulators.
  std::mt19937 gen(7);
  std::uniform_int_distribution<std::int32_t> any(std::numeric_limits<std::int32_t>::min(),
                                                  std::numeric_limits<std::int32_t>::max());
  for (int f = 0; f <= 15; ++f) {
    std::vector<std::int32_t> accs = {0, 1, -1, std::numeric_limits<std::int32_t>::max(),
                                      std::numeric_limits<std::int32_t>::min()};
    for (std::int32_t m = -40; m <= 40; ++m) accs.push_back(m * (1 << f) / 2 + (m % 3));
    for (int i = 0; i < 2000; ++i) accs.push_back(any(gen) >> (i % 17));
    for (std::int32_t acc : accs) {
      INFO("F = " << f << ", acc = " << acc);
      REQUIRE(fr::requantize(acc, f) == want_requantize(acc, f));
    }
  }
}

TEST_CASE("alpha and beta: alpha 1 is requantize, beta 1 adds y before one saturation", "[fixed_point]") {
  const std::int32_t one = 65536;
  std::mt19937 gen(11);
  std::uniform_int_distribution<std::int32_t> any(std::numeric_limits<std::int32_t>::min(),
                                                  std::numeric_limits<std::int32_t>::max());
  std::uniform_int_distribution<int> any16(-32768, 32767);
  for (int f = 0; f <= 15; ++f) {
    for (int i = 0; i < 3000; ++i) {
      const std::int32_t acc = any(gen) >> (i % 20);
      const auto y = static_cast<std::int16_t>(any16(gen));
      INFO("F = " << f << ", acc = " << acc << ", y = " << y);
      // beta = 0 ignores y, alpha = 1 is plain requantization.
      REQUIRE(fr::scale_and_add(acc, one, 0, y, f) == fr::requantize(acc, f));
      // beta = 1: y added to the unsaturated requantized sum, one saturation at the end.
      const std::int64_t unsaturated = f == 0 ? acc : floor_div(acc + (std::int64_t(1) << (f - 1)), std::int64_t(1) << f);
      REQUIRE(fr::scale_and_add(acc, one, one, y, f) == clamp16(unsaturated + y));
      // General alpha, beta: round half up of (acc * alpha + y * beta * 2^F) / 2^(F+16).
      const std::int32_t alpha = any(gen) >> 14;
      const std::int32_t beta = any(gen) >> 14;
      const std::int64_t v = std::int64_t(acc) * alpha + std::int64_t(y) * beta * (std::int64_t(1) << f);
      const std::int64_t unit = std::int64_t(1) << (f + 16);
      REQUIRE(fr::scale_and_add(acc, alpha, beta, y, f) == clamp16(floor_div(v + unit / 2, unit)));
    }
  }
  // One saturation, not two: the sum saturates alone (2500 at F = 4 -> 40000) but y brings it back.
  CHECK(fr::scale_and_add(40000 * 16, one, one, -20000, 4) == 20000);
  CHECK(fr::saturating_add(40000, -20000) == 20000);
  CHECK(fr::saturating_add(30000, 30000) == 32767);
  // alpha = -1 negates the exact sum and then rounds half up: -1.5 -> -1.
  CHECK(fr::scale_and_add(24, -one, 0, 0, 4) == -1);
  // The float scales: exact for dyadic values, rounded (ties away) to 2^-16 otherwise.
  CHECK(fr::quantize_scale(1.0) == one);
  CHECK(fr::quantize_scale(-1.0) == -one);
  CHECK(fr::quantize_scale(0.75) == 49152);
  CHECK(fr::quantize_scale(0.3) == 19661);
  CHECK(fr::scale_in_range(32767.0));
  CHECK_FALSE(fr::scale_in_range(32768.0));
  CHECK_FALSE(fr::scale_in_range(-32768.0));
  CHECK_FALSE(fr::scale_in_range(std::numeric_limits<double>::quiet_NaN()));
  CHECK_FALSE(fr::scale_in_range(std::numeric_limits<double>::infinity()));
}

TEST_CASE("value_traits of fixed16 record F in the file code and the name", "[fixed_point][value_traits]") {
  using T = bbs::value_traits<Q12>;
  CHECK(T::file_code == 28);
  CHECK(std::string(T::name) == "fixed16<12>");
  CHECK(bbs::value_traits<bbs::fixed16<0>>::file_code == 16);
  CHECK(bbs::value_traits<bbs::fixed16<15>>::file_code == 31);
  CHECK(std::string(bbs::value_type_name(16)) == "fixed16<0>");
  CHECK(std::string(bbs::value_type_name(31)) == "fixed16<15>");
  CHECK(std::string(bbs::value_type_name(15)) == "unknown");
  static_assert(std::is_same<T::activation, Q12>::value, "x and y are fixed point");
  static_assert(std::is_same<T::scalar, float>::value, "alpha and beta are float");
  static_assert(std::is_same<bbs::scalar_t<float>, float>::value && std::is_same<bbs::activation_t<double>, double>::value,
                "float and double are their own activation and scalar");
  CHECK(T::epsilon == 1.0 / 8192);
  CHECK(T::to_float(Q12::from_raw(-6144)) == -1.5f);
  CHECK(T::from_float(0.25f).raw() == 1024);
  CHECK(Eigen::NumTraits<Q12>::epsilon().raw() == 1);
  CHECK(Eigen::NumTraits<Q12>::highest().raw() == 32767);
}

using W7 = bbs::fixed8<7, 12>;

TEST_CASE("fixed8 weights round to nearest, ties away from zero, and saturate to int8", "[fixed_point][fixed8]") {
  CHECK(fr::quantize8(0.5, 0) == 1);
  CHECK(fr::quantize8(-0.5, 0) == -1);
  CHECK(fr::quantize8(2.4999, 0) == 2);
  for (int k : {0, 1, 17, 63, 126}) {
    const double tie = (k + 0.5) / 128.0;
    INFO("k = " << k);
    CHECK(fr::quantize8(tie, 7) == k + 1);
    CHECK(fr::quantize8(-tie, 7) == -(k + 1));
    CHECK(fr::quantize8(std::nextafter(tie, 0.0), 7) == k);
    CHECK_FALSE(fr::quantize8_saturates(tie, 7));
  }
  // 127.5 rounds to 128: saturates to 127. -128.4999 rounds to -128, representable; -128.5 saturates.
  CHECK(fr::quantize8(127.4999 / 128, 7) == 127);
  CHECK_FALSE(fr::quantize8_saturates(127.4999 / 128, 7));
  CHECK(fr::quantize8(127.5 / 128, 7) == 127);
  CHECK(fr::quantize8_saturates(127.5 / 128, 7));
  CHECK(fr::quantize8(-1.0, 7) == -128);
  CHECK_FALSE(fr::quantize8_saturates(-1.0, 7));
  CHECK(fr::quantize8(-128.5 / 128, 7) == -128);
  CHECK(fr::quantize8_saturates(-128.5 / 128, 7));
  CHECK(fr::quantize8(std::numeric_limits<double>::infinity(), 3) == 127);
  CHECK(fr::quantize8(-std::numeric_limits<double>::infinity(), 3) == -128);
  static_assert(W7(0.5).raw() == 64, "0.5 in Q0.7");
  CHECK(W7(1.0).raw() == 127);
  CHECK(W7(-1.0).raw() == -128);
  CHECK(bbs::fixed8<0, 0>(300).raw() == 127);
  CHECK(bbs::fixed8<2, 5>(-3.125).raw() == -13);  // -12.5 rounds away from zero
  const double nan = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_WITH(W7(nan), Catch::Contains("fixed8<7,12>: cannot convert NaN to fixed point"));
  CHECK_THROWS_AS(bbs::value_traits<W7>::from_float(std::numeric_limits<float>::quiet_NaN()), bbs::value_error);
}

TEST_CASE("fixed8 stores an int8 that converts exactly to float", "[fixed_point][fixed8]") {
  static_assert(sizeof(W7) == 1, "one int8");
  static_assert(std::is_trivially_copyable<W7>::value, "memcpy-able (files, kernels)");
  static_assert(!std::is_convertible<float, W7>::value && !std::is_convertible<W7, float>::value,
                "conversions are explicit");
  for (int raw = -128; raw <= 127; ++raw) {
    const W7 w = W7::from_raw(static_cast<std::int8_t>(raw));
    REQUIRE(w.raw() == raw);
    REQUIRE(static_cast<float>(w) == static_cast<float>(raw) / 128.0f);
    REQUIRE(W7(static_cast<float>(w)) == w);
  }
  CHECK(W7::max().raw() == 127);
  CHECK(W7::lowest().raw() == -128);
  CHECK(W7::from_raw(-3) < W7::from_raw(2));
}

TEST_CASE("an int8 x int16 sum requantizes by the weights' fraction bits", "[fixed_point][fixed8]") {
  // Q0.7 weights times Q3.12 activations sum in Q3.19; dropping 7 bits gives Q3.12.
  std::mt19937 gen(11);
  std::uniform_int_distribution<int> w8(-128, 127), x16(-32768, 32767);
  for (int trial = 0; trial < 2000; ++trial) {
    fr::accumulator acc = 0;
    std::int64_t exact = 0;
    const int n = 1 + trial % 300;
    for (int i = 0; i < n; ++i) {
      const auto w = static_cast<std::int8_t>(w8(gen));
      const auto x = static_cast<std::int16_t>(x16(gen));
      acc = fr::multiply_add(acc, w, x);
      exact += std::int64_t(w) * x;
    }
    REQUIRE(fr::to_signed(acc) == wrap32(exact));
    REQUIRE(fr::requantize(fr::to_signed(acc), 7) == want_requantize(wrap32(exact), 7));
  }
}

TEST_CASE("value_traits of fixed8 record Fw and Fx in the file code and the name", "[fixed_point][fixed8][value_traits]") {
  using T = bbs::value_traits<W7>;
  CHECK(T::file_code == 32 + 16 * 7 + 12);
  CHECK(std::string(T::name) == "fixed8<7,12>");
  CHECK(bbs::value_traits<bbs::fixed8<0, 0>>::file_code == 32);
  CHECK(bbs::value_traits<bbs::fixed8<7, 15>>::file_code == 159);
  CHECK(std::string(bbs::value_traits<bbs::fixed8<3, 10>>::name) == "fixed8<3,10>");
  CHECK(std::string(bbs::value_type_name(32)) == "fixed8<0,0>");
  CHECK(std::string(bbs::value_type_name(32 + 16 * 5 + 9)) == "fixed8<5,9>");
  CHECK(std::string(bbs::value_type_name(159)) == "fixed8<7,15>");
  CHECK(std::string(bbs::value_type_name(160)) == "unknown");
  static_assert(std::is_same<T::activation, bbs::fixed16<12>>::value, "x and y are fixed16<Fx>");
  static_assert(std::is_same<T::scalar, float>::value, "alpha and beta are float");
  static_assert(bbs::is_fixed_point<W7>::value && bbs::is_fixed_point<Q12>::value && !bbs::is_fixed_point<float>::value,
                "both fixed-point families");
  CHECK(T::epsilon == 1.0 / 256);
  CHECK(T::to_float(W7::from_raw(-64)) == -0.5f);
  CHECK(Eigen::NumTraits<W7>::highest().raw() == 127);
  CHECK(Eigen::NumTraits<W7>::digits() == 7);
}

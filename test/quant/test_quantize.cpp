// Tests for the quantization helpers (quant/quantize.hpp): float matrices and vectors to
// fixed16<F> and back, the error bound of half a step, saturation counts, the report's
// statistics recomputed here, choose_frac_bits, and the errors on non-finite input.
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "testbed.hpp"

using bbs::BankConfig;
using bbs::fixed16;
using bbs_test::Shape;

namespace {

/// Checks a quantized matrix entry by entry against its float source: same pattern, error at
/// most half a step unless saturated, and a report that matches statistics recomputed here.
template <typename Q>
void check_matrix_quantization(const bbs::BbsMatrix<float>& a) {
  const auto q = bbs::quantize<Q>(a);
  REQUIRE(q.value.rows() == a.rows());
  REQUIRE(q.value.cols() == a.cols());
  REQUIRE(q.value.bankConfig() == a.bankConfig());
  const auto n = static_cast<std::size_t>(a.storedEntries());
  if (n > 0) {  // (an empty matrix's arrays may be null, which memcmp must not see)
    REQUIRE(std::memcmp(q.value.indexData(), a.indexData(), n * static_cast<std::size_t>(a.indexWidth())) == 0);
  }

  const double half_step = std::ldexp(1.0, -(Q::frac_bits + 1));
  const double top = double(std::numeric_limits<typename Q::raw_type>::max()) / double(1 << Q::frac_bits);
  const double bottom = double(std::numeric_limits<typename Q::raw_type>::min()) / double(1 << Q::frac_bits);
  bbs::index count = 0, saturated = 0;
  double max_error = 0, squares = 0;
  a.forEach([&](bbs::index r, bbs::index c, float v) {
    const double got = static_cast<double>(q.value.coeff(r, c));
    const double error = std::abs(got - double(v));
    // Saturated: the nearest representable value (ties away) lies outside the range.
    const double nearest = std::round(double(v) * double(1 << Q::frac_bits)) / double(1 << Q::frac_bits);
    const bool sat = nearest > top || nearest < bottom;
    INFO("entry (" << r << ", " << c << ") = " << v << " -> " << got);
    if (sat) {
      REQUIRE(got == (v > 0 ? top : bottom));
    } else {
      REQUIRE(error <= half_step);
    }
    ++count;
    saturated += sat ? 1 : 0;
    max_error = std::max(max_error, error);
    squares += error * error;
  });
  CHECK(q.report.count == count);
  CHECK(q.report.count == a.nonZeros());
  CHECK(q.report.saturated == saturated);
  CHECK(q.report.max_abs_error == max_error);
  CHECK(q.report.rms_error == Approx(count == 0 ? 0.0 : std::sqrt(squares / double(count))).epsilon(1e-12));

  // Back to float: exact (16 bits fit float), same pattern, padding still zero.
  const bbs::BbsMatrix<float> back = bbs::dequantize(q.value);
  back.validate();
  q.value.forEach([&](bbs::index r, bbs::index c, Q v) { REQUIRE(back.coeff(r, c) == static_cast<float>(v)); });
}

}  // namespace

TEMPLATE_TEST_CASE("matrix quantization errs at most half a step unless it saturates", "[quant]", fixed16<0>,
                   fixed16<4>, fixed16<12>, fixed16<15>, (bbs::fixed8<0, 0>), (bbs::fixed8<4, 12>),
                   (bbs::fixed8<7, 12>)) {
  std::uint32_t seed = 40;
  auto shapes = bbs_test::awkward_shapes();
  for (const auto& s : bbs_test::large_shapes()) shapes.push_back(s);
  for (const auto& s : shapes) {
    INFO(s.name());
    // Gaussian weights spread over the format's range, so some saturate at large F.
    const Eigen::MatrixXf w = bbs_test::random_dense<float>(s.rows, s.cols, seed += 3) * 3.0f;
    check_matrix_quantization<TestType>(bbs::prune<float>(w, s.config));
  }
  for (const auto& s : bbs_test::tiny_shapes()) {
    INFO(s.name());
    check_matrix_quantization<TestType>(bbs_test::random_bbs<float>(s, seed += 3));
  }
}

TEST_CASE("quantization counts saturation at both limits", "[quant]") {
  using Q = fixed16<12>;  // range [-8, 8 - 2^-12]
  Eigen::MatrixXf w(1, 8);
  w << 100.0f, -100.0f, 7.9998f, -8.0f, 8.0f, -8.0002f, 0.5f, 1e-6f;
  const auto q = bbs::quantize<Q>(bbs::prune<float>(w, BankConfig(8, 8)));
  CHECK(q.report.count == 8);
  CHECK(q.report.saturated == 4);  // 100, -100, 8.0, -8.0002 (rounds to -8.000244, past -8)
  CHECK(q.value.coeff(0, 0) == Q::max());
  CHECK(q.value.coeff(0, 1) == Q::lowest());
  CHECK(q.value.coeff(0, 3) == Q::lowest());
  CHECK(q.value.coeff(0, 7).raw() == 0);
  CHECK(q.report.max_abs_error == Approx(100.0 - 32767.0 / 4096));
}

TEST_CASE("vector quantization and dequantization", "[quant]") {
  using Q = fixed16<10>;
  const Eigen::VectorXf x = bbs_test::random_vector<float>(500, 3) * 10.0f;
  const auto q = bbs::quantize<Q>(x);
  static_assert(std::is_same<decltype(q.value), Eigen::Matrix<Q, Eigen::Dynamic, 1>>::value, "a vector of Q");
  REQUIRE(q.value.size() == 500);
  const Eigen::VectorXf back = bbs::dequantize(q.value);
  bbs::index saturated = 0;
  double max_error = 0;
  for (bbs::index i = 0; i < 500; ++i) {
    INFO("element " << i << " = " << x(i));
    const double error = std::abs(double(back(i)) - double(x(i)));
    if (std::abs(x(i)) < 31.9) {
      REQUIRE(error <= 1.0 / 2048);
    } else {
      ++saturated;
    }
    REQUIRE(back(i) == static_cast<float>(q.value(i)));
    max_error = std::max(max_error, error);
  }
  CHECK(saturated > 0);  // sigma 10 reaches past 32 for a few of 500
  CHECK(q.report.saturated == saturated);
  CHECK(q.report.max_abs_error == max_error);
  // A matrix of activations (several right-hand sides) works the same way.
  const Eigen::MatrixXd xs = Eigen::MatrixXd::Constant(3, 2, 0.25);
  const auto qs = bbs::quantize<Q>(xs);
  CHECK(qs.value(2, 1).raw() == 256);
  CHECK(qs.report.count == 6);
  CHECK(qs.report.max_abs_error == 0);
}

TEST_CASE("quantization refuses NaN and infinity, naming the position", "[quant]") {
  Eigen::MatrixXf w = Eigen::MatrixXf::Ones(3, 8);
  auto a = bbs::prune<float>(w, BankConfig(4, 4));
  a.valueData()[5] = std::numeric_limits<float>::quiet_NaN();  // row 0, slot 2, bank 1: column 6
  CHECK_THROWS_AS(bbs::quantize<fixed16<12>>(a), bbs::value_error);
  CHECK_THROWS_WITH(bbs::quantize<fixed16<12>>(a),
                    Catch::Contains("quantize to fixed16<12>: entry (0, 6) is nan; only finite values can be quantized"));
  Eigen::VectorXf x = Eigen::VectorXf::Zero(4);
  x(2) = -std::numeric_limits<float>::infinity();
  CHECK_THROWS_WITH(bbs::quantize<fixed16<3>>(x), Catch::Contains("quantize to fixed16<3>: element (2, 0) is -inf"));
}

TEST_CASE("choose_frac_bits picks the finest format that does not saturate", "[quant]") {
  CHECK(bbs::choose_frac_bits(0.0) == 15);
  CHECK(bbs::choose_frac_bits(0.99) == 15);
  CHECK(bbs::choose_frac_bits(1.0) == 14);  // 1 needs 32768 at F = 15
  CHECK(bbs::choose_frac_bits(7.9) == 12);
  CHECK(bbs::choose_frac_bits(8.0) == 11);
  CHECK(bbs::choose_frac_bits(32767.4) == 0);
  for (double m : {1e-3, 0.3, 1.7, 5.5, 100.0, 3000.0, 20000.0}) {
    const int f = bbs::choose_frac_bits(m);
    INFO("max_abs " << m << " -> F = " << f);
    CHECK_FALSE(bbs::fixed_rules::quantize_saturates(m, f));
    CHECK_FALSE(bbs::fixed_rules::quantize_saturates(-m, f));
    if (f < 15) CHECK(bbs::fixed_rules::quantize_saturates(m, f + 1));
  }
  CHECK_THROWS_WITH(bbs::choose_frac_bits(32767.5),
                    Catch::Contains("choose_frac_bits: max_abs 32767.5 exceeds the fixed16 range even with F = 0"));
  CHECK_THROWS_WITH(bbs::choose_frac_bits(-1.0), Catch::Contains("choose_frac_bits: max_abs is -1; expected a finite value >= 0"));
  CHECK_THROWS_AS(bbs::choose_frac_bits(std::numeric_limits<double>::quiet_NaN()), bbs::value_error);
  CHECK_THROWS_AS(bbs::choose_frac_bits(std::numeric_limits<double>::infinity()), bbs::value_error);
}

TEST_CASE("choose_frac_bits for int8 weights picks Fw = 0..7", "[quant][fixed8]") {
  CHECK(bbs::choose_frac_bits(0.0, 8) == 7);
  CHECK(bbs::choose_frac_bits(0.99, 8) == 7);
  CHECK(bbs::choose_frac_bits(1.0, 8) == 6);  // 1 needs 128 at Fw = 7
  CHECK(bbs::choose_frac_bits(127.4, 8) == 0);
  for (double m : {0.003, 0.3, 1.7, 5.0, 63.9}) {
    const int f = bbs::choose_frac_bits(m, 8);
    INFO("max_abs " << m << " -> Fw " << f);
    CHECK_FALSE(bbs::fixed_rules::quantize8_saturates(m, f));
    if (f < 7) CHECK(bbs::fixed_rules::quantize8_saturates(m, f + 1));
  }
  CHECK_THROWS_WITH(bbs::choose_frac_bits(127.5, 8),
                    Catch::Contains("max_abs 127.5 exceeds the fixed8 range even with F = 0 (values round to at most 127)"));
  CHECK_THROWS_AS(bbs::choose_frac_bits(1.0, 12), bbs::config_error);
  CHECK_THROWS_WITH(bbs::choose_frac_bits(1.0, 12), Catch::Contains("bits is 12; expected 16 (fixed16) or 8 (fixed8)"));
}

TEMPLATE_TEST_CASE("bfloat16 and half quantization rounds to nearest even within half an ulp", "[quant][float16]",
                   Eigen::bfloat16, Eigen::half) {
  using traits = bbs::value_traits<TestType>;
  const Shape s{67, 127, BankConfig(16, 4)};
  const auto a = bbs_test::random_bbs<float>(s, 5);
  const auto q = bbs::quantize<TestType>(a);
  CHECK(q.report.count == a.nonZeros());
  CHECK(q.report.saturated == 0);
  double max_error = 0;
  a.forEach([&](bbs::index r, bbs::index c, float v) {
    const float got = static_cast<float>(q.value.coeff(r, c));
    INFO("entry (" << r << ", " << c << ") = " << v << " -> " << got);
    // Normal range: relative error at most half an ulp, 2^-8 (bfloat16) or 2^-11 (half).
    REQUIRE(std::abs(double(got) - double(v)) <= traits::storage_epsilon / 2 * std::abs(double(v)));
    REQUIRE(got == static_cast<float>(traits::from_float(v)));  // Eigen's rounding, nothing else
    max_error = std::max(max_error, std::abs(double(got) - double(v)));
  });
  CHECK(q.report.max_abs_error == max_error);
  // Ties go to even: 1 + 2^-8 lies halfway between bfloat16's 1 and 1 + 2^-7 (and 1 + 2^-11 for
  // half); the even neighbour is 1. 1 + 3 * 2^-8 lies between 1 + 2^-7 and 1 + 2^-6: even is 1 + 2^-6.
  const double ulp = traits::storage_epsilon;
  Eigen::VectorXf ties(4);
  ties << float(1 + ulp / 2), float(1 + 3 * ulp / 2), float(-1 - ulp / 2), float(-1 - 3 * ulp / 2);
  const auto qt = bbs::quantize<TestType>(ties);
  CHECK(static_cast<float>(qt.value(0)) == 1.0f);
  CHECK(static_cast<float>(qt.value(1)) == float(1 + 2 * ulp));
  CHECK(static_cast<float>(qt.value(2)) == -1.0f);
  CHECK(static_cast<float>(qt.value(3)) == float(-1 - 2 * ulp));
  // Back to float is exact.
  const Eigen::VectorXf back = bbs::dequantize(qt.value);
  CHECK(back(1) == float(1 + 2 * ulp));
}

TEST_CASE("half quantization clamps past 65504 and counts it", "[quant][float16]") {
  Eigen::VectorXf x(5);
  x << 65504.0f, 65519.0f, 65520.0f, -1e6f, 1.0f;  // 65520 is the first value that rounds to infinity
  const auto q = bbs::quantize<Eigen::half>(x);
  CHECK(q.report.saturated == 2);
  CHECK(static_cast<float>(q.value(1)) == 65504.0f);
  CHECK(static_cast<float>(q.value(2)) == 65504.0f);
  CHECK(static_cast<float>(q.value(3)) == -65504.0f);
  CHECK(q.report.max_abs_error == 1e6 - 65504.0);
  // bfloat16 has float's range: only a double beyond float's range saturates.
  Eigen::VectorXd big(2);
  big << 1e39, -3e38;
  const auto qb = bbs::quantize<Eigen::bfloat16>(big);
  CHECK(qb.report.saturated == 1);
  CHECK(static_cast<double>(static_cast<float>(qb.value(0))) == bbs::value_traits<Eigen::bfloat16>::max_finite);
  CHECK_THROWS_WITH(bbs::quantize<Eigen::bfloat16>(Eigen::VectorXf::Constant(2, std::numeric_limits<float>::quiet_NaN())),
                    Catch::Contains("quantize to bfloat16: element (0, 0) is nan"));
}

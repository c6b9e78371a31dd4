// The fixed-point sigmoid / tanh rule (include/bbs/core/fixed_activation.hpp) against the exact
// functions on every one of the 65536 inputs of several formats. The vectorised versions of the
// backends are checked against this rule in test/backend/test_activation.cpp.
#include <cmath>
#include <cstdio>
#include <type_traits>

#include "testbed.hpp"

TEST_CASE("fixed-point sigmoid and tanh stay within their bound on every input", "[core][activation]") {
  const auto check = [](auto tag) {
    constexpr int F = decltype(tag)::value;
    using P = bbs::fixed16<F>;
    double worst_sigmoid = 0, worst_tanh = 0;
    for (std::int32_t raw = -32768; raw <= 32767; ++raw) {
      const P x = P::from_raw(static_cast<std::int16_t>(raw));
      const double v = static_cast<double>(x);
      worst_sigmoid =
          std::max(worst_sigmoid, std::abs(static_cast<double>(bbs::fixed_sigmoid(x)) - 1.0 / (1.0 + std::exp(-v))));
      worst_tanh = std::max(worst_tanh, std::abs(static_cast<double>(bbs::fixed_tanh(x)) - std::tanh(v)));
    }
    std::printf("fixed16<%d>: max |approximation - exact| sigmoid %.3g, tanh %.3g (bound %.3g)\n", F, worst_sigmoid,
                worst_tanh, bbs::fixed_activation_error_bound<F>());
    CHECK(worst_sigmoid <= bbs::fixed_activation_error_bound<F>());
    CHECK(worst_tanh <= bbs::fixed_activation_error_bound<F>());
    CHECK(bbs::fixed_sigmoid(P(0)) == P(0.5));
    CHECK(bbs::fixed_tanh(P(0)) == P(0));
  };
  check(std::integral_constant<int, 4>{});
  check(std::integral_constant<int, 8>{});
  check(std::integral_constant<int, 12>{});
  check(std::integral_constant<int, 14>{});
}

// Tests for per-tensor fixed-point formats (core/fixed_formats.hpp): rescaling, the kernel alpha
// that aligns a product's format, the LSTM cell update and gate product, each against a formula
// written independently here (exact rationals in long double / int64 division), the uniform
// format reproducing fixed16<F>'s arithmetic, and the activations between formats.
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>

#include "testbed.hpp"

namespace fr = bbs::fixed_rules;

namespace {

std::int64_t floor_div(std::int64_t n, std::int64_t d) {
  std::int64_t q = n / d;
  if (n % d != 0 && n < 0) --q;
  return q;
}

std::int64_t clamp16(std::int64_t v) { return std::min<std::int64_t>(32767, std::max<std::int64_t>(-32768, v)); }

/// round half up of num / 2^shift (shift may be negative: exact), not clamped.
std::int64_t want_rounded(std::int64_t num, int shift) {
  if (shift <= 0) return num * (std::int64_t(1) << -shift);
  return floor_div(2 * num + (std::int64_t(1) << shift), std::int64_t(2) << shift);
}

std::int64_t want_rescale(std::int64_t num, int shift) { return clamp16(want_rounded(num, shift)); }

}  // namespace

TEST_CASE("rescale moves a raw value between formats with one rounding and one saturation", "[fixed_formats]") {
  CHECK(fr::rescale(3, 1, 0) == 2);           // 1.5 -> 2 (half up)
  CHECK(fr::rescale(-3, 1, 0) == -1);         // -1.5 -> -1 (half up)
  CHECK(fr::rescale(5, 2, 0) == 1);           // 1.25 -> 1
  CHECK(fr::rescale(100, 4, 8) == 1600);      // adding bits is exact
  CHECK(fr::rescale(4096, 12, 15) == 32767);  // 1.0 does not fit Q0.15: saturates
  CHECK(fr::rescale_saturates(4096, 12, 15));
  CHECK_FALSE(fr::rescale_saturates(4095, 12, 15));
  CHECK(fr::rescale(-4096, 12, 15) == -32768);  // -1.0 fits exactly
  CHECK_FALSE(fr::rescale_saturates(-4096, 12, 15));
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<std::int64_t> value(-(std::int64_t(1) << 40), std::int64_t(1) << 40);
  std::uniform_int_distribution<int> bits(0, 15);
  for (int n = 0; n < 20000; ++n) {
    const std::int64_t v = n % 2 ? value(rng) : value(rng) >> 24;
    const int from = bits(rng) + (n % 3 == 0 ? 15 : 0), to = bits(rng);
    INFO(v << " from Q" << from << " to Q" << to);
    CHECK(fr::rescale(v, from, to) == want_rescale(v, from - to));
    CHECK(fr::rescale_saturates(v, from, to) == (want_rounded(v, from - to) != want_rescale(v, from - to)));
  }
}

TEST_CASE("the kernel alpha turns Q(w) x Q(x) sums into Q(y) exactly", "[fixed_formats]") {
  // In a fixed16<F> kernel, scale_and_add(acc, alpha_q, 0, 0, F) = round(acc * alpha / 2^F):
  // with alpha = 2^(y + F - w - x) that is round(acc / 2^(w + x - y)), the product in Q(y).
  std::mt19937_64 rng(11);
  std::uniform_int_distribution<std::int32_t> acc(-(1 << 30), 1 << 30);
  int checked = 0;
  for (int w = 8; w <= 15; ++w)
    for (int x = 6; x <= 15; ++x)
      for (int y = 4; y <= 15; ++y)
        for (int F = 8; F <= 13; ++F) {
          const int e = fr::kernel_alpha_exponent(w, x, y, F);
          CHECK(e == y + F - w - x);
          if (!fr::kernel_alpha_in_range(e)) continue;
          const std::int32_t a = acc(rng);
          INFO("w " << w << " x " << x << " y " << y << " F " << F << " acc " << a);
          CHECK(fr::scale_and_add(a, fr::kernel_alpha_q(e), 0, 0, F) == want_rescale(a, w + x - y));
          ++checked;
        }
  CHECK(checked > 3000);
  CHECK(fr::kernel_alpha_in_range(-16));
  CHECK(fr::kernel_alpha_in_range(14));
  CHECK_FALSE(fr::kernel_alpha_in_range(-17));
  CHECK_FALSE(fr::kernel_alpha_in_range(15));
  CHECK(fr::kernel_alpha_q(0) == 65536);
}

TEST_CASE("the LSTM cell update rounds f c + i g once into the cell's format", "[fixed_formats]") {
  std::mt19937_64 rng(3);
  std::uniform_int_distribution<std::int32_t> raw(-32768, 32767);
  for (int n = 0; n < 50000; ++n) {
    const int act = 12 + n % 4, cell = n % 16;
    const std::int32_t f = raw(rng), c = raw(rng), i = raw(rng), g = raw(rng);
    // Exact: f c / 2^act + i g / 2^(2 act - cell), in units of Q(cell).
    const std::int64_t num = static_cast<std::int64_t>(f) * c * (std::int64_t(1) << act) +
                             static_cast<std::int64_t>(i) * g * (std::int64_t(1) << cell);
    INFO("act " << act << " cell " << cell);
    CHECK(fr::lstm_cell_update(f, c, i, g, act, cell) == want_rescale(num, 2 * act));
    const long double exact = static_cast<long double>(f) * c / std::ldexp(1.0L, act) +
                              static_cast<long double>(i) * g / std::ldexp(1.0L, 2 * act - cell);
    CHECK(fr::lstm_cell_update_saturates(f, c, i, g, act, cell) == (exact >= 32767.5L || exact < -32768.5L));
  }
  // Q1.14 holds a forget gate of exactly 1: the cell state is kept bit for bit.
  CHECK(fr::lstm_cell_update(1 << 14, -12345, 0, 9999, 14, 7) == -12345);
}

TEST_CASE("the wide LSTM cell update rounds once into a 32-bit cell state", "[fixed_formats]") {
  std::mt19937_64 rng(5);
  std::uniform_int_distribution<std::int32_t> raw(-32768, 32767);
  std::uniform_int_distribution<std::int32_t> raw32(std::numeric_limits<std::int32_t>::min(),
                                                    std::numeric_limits<std::int32_t>::max());
  for (int n = 0; n < 50000; ++n) {
    const int act = 12 + n % 4, cell = 16 + n % 15;
    INFO("act " << act << " cell " << cell);
    CHECK(fr::is_wide_cell(cell));
    const std::int32_t f = raw(rng), i = raw(rng), g = raw(rng);
    const std::int32_t c = n % 3 == 0 ? raw(rng) : raw32(rng);
    // Exact: f c / 2^act + i g / 2^(2 act - cell) in units of Q(cell), rounded half up; int32 range.
    const long double exact = static_cast<long double>(f) * c / std::ldexp(1.0L, act) +
                              static_cast<long double>(i) * g / std::ldexp(1.0L, 2 * act - cell);
    const long double rounded = std::floor(exact + 0.5L);
    const long double lo = std::numeric_limits<std::int32_t>::min(), hi = std::numeric_limits<std::int32_t>::max();
    CHECK(static_cast<long double>(fr::lstm_cell_update_wide(f, c, i, g, act, cell)) ==
          std::min(hi, std::max(lo, rounded)));
    CHECK(fr::lstm_cell_update_wide_saturates(f, c, i, g, act, cell) == (rounded > hi || rounded < lo));
  }
  // A forget gate of exactly 1 keeps a 32-bit cell state bit for bit.
  CHECK(fr::lstm_cell_update_wide(1 << 14, -1234567890, 0, 9999, 14, 22) == -1234567890);
  // tanh reads a 32-bit cell state in its own format: within half an output step plus the table's error.
  for (const std::int32_t r : {-2147483647 - 1, -987654321, -4194304, -1, 0, 1, 3000000, 41943040, 2147483647}) {
    const double x = std::ldexp(static_cast<double>(r), -22);
    CHECK(std::abs(std::ldexp(bbs::fixed_tanh_raw(r, 22, 14), -14) - std::tanh(x)) <= std::ldexp(1.0, -15) + 2.5e-5);
  }
}

TEST_CASE("per-tensor rules with every format F are fixed16<F>'s arithmetic", "[fixed_formats]") {
  std::mt19937_64 rng(5);
  std::uniform_int_distribution<std::int32_t> raw(-32768, 32767);
  using Q = bbs::fixed16<11>;
  using ops = bbs::nn::elementwise<Q>;
  for (int n = 0; n < 20000; ++n) {
    const Q f = Q::from_raw(static_cast<std::int16_t>(raw(rng))), c = Q::from_raw(static_cast<std::int16_t>(raw(rng)));
    const Q i = Q::from_raw(static_cast<std::int16_t>(raw(rng))), g = Q::from_raw(static_cast<std::int16_t>(raw(rng)));
    CHECK(fr::lstm_cell_update(f.raw(), c.raw(), i.raw(), g.raw(), 11, 11) == ops::multiply_add(f, c, i, g).raw());
    CHECK(fr::gate_product(f.raw(), c.raw(), 11, 11) == ops::multiply(f, c).raw());
    CHECK(bbs::fixed_sigmoid_raw(g.raw(), 11, 11) == bbs::fixed_sigmoid(g).raw());
    CHECK(bbs::fixed_tanh_raw(g.raw(), 11, 11) == bbs::fixed_tanh(g).raw());
  }
}

TEST_CASE("sigmoid and tanh between formats stay within half an output step of the exact value", "[fixed_formats]") {
  for (const auto& [in, out] : {std::pair<int, int>{8, 14}, {12, 14}, {6, 15}, {14, 10}}) {
    double worst = 0;
    for (std::int32_t r = -32768; r <= 32767; r += 7) {
      const double x = std::ldexp(static_cast<double>(r), -in);
      worst = std::max(worst, std::abs(std::ldexp(bbs::fixed_sigmoid_raw(r, in, out), -out) - 1 / (1 + std::exp(-x))));
      worst = std::max(worst, std::abs(std::ldexp(bbs::fixed_tanh_raw(r, in, out), -out) - std::tanh(x)));
    }
    INFO("Q" << in << " -> Q" << out);
    // Half a step of the output, the table's own error (< 2.5e-5) and, for Q15, the saturation
    // of 1.0 to 1 - 2^-15.
    CHECK(worst <= std::ldexp(1.0, -out - 1) + 2.5e-5 + (out == 15 ? std::ldexp(1.0, -15) : 0.0));
  }
}

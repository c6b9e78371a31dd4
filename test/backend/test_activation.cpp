// The kernel dispatch's activations (kernel::sigmoid_in_place, kernel::tanh_in_place and their
// raw, format-changing forms) on every backend, and every SIMD variant this CPU runs: fixed16 bit
// for bit with the scalar table rule (core/fixed_activation.hpp, what the reference backend runs)
// on every raw input, and on short runs around zero that leave a tail past the last whole vector;
// float and double against the exact functions.
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <type_traits>
#include <utility>
#include <vector>

#include "testbed.hpp"

namespace {

/// Every raw value of fixed16<F>, plus one more so that the length is odd (a vector kernel's tail).
template <int F>
std::vector<bbs::fixed16<F>> every_fixed16() {
  using P = bbs::fixed16<F>;
  std::vector<P> all;
  for (std::int32_t raw = -32768; raw <= 32767; ++raw) all.push_back(P::from_raw(static_cast<std::int16_t>(raw)));
  all.push_back(P::from_raw(7));
  return all;
}

/// Runs sigmoid (in place) and tanh (in place) through `run(sigmoid?, p, n)` on every input of
/// fixed16<F> and requires the scalar rule's bits.
template <int F, typename Run>
void require_fixed_rule(const char* what, Run&& run) {
  using P = bbs::fixed16<F>;
  const std::vector<P> all = every_fixed16<F>();
  // (first, n): everything, then short runs that start near zero (unsaturated inputs) so that the
  // scalar tail after the last whole vector interpolates too.
  const bbs::index middle = 32768 - 9;
  const std::pair<bbs::index, bbs::index> runs[] = {
      {0, bbs::index(all.size())}, {middle, 0}, {middle, 1}, {middle, 15}, {middle, 17}, {middle, 33}};
  for (const auto& [first, n] : runs) {
    std::vector<P> sig(all.begin() + first, all.begin() + first + n), th = sig;
    run(true, sig.data(), n);
    run(false, th.data(), n);
    for (bbs::index i = 0; i < n; ++i) {
      const auto k = static_cast<std::size_t>(first + i);
      const auto j = static_cast<std::size_t>(i);
      if (!(sig[j] == bbs::fixed_sigmoid(all[k]) && th[j] == bbs::fixed_tanh(all[k]))) {
        INFO(what << ", F " << F << ", n " << n << ", raw " << all[k].raw());
        REQUIRE(sig[j].raw() == bbs::fixed_sigmoid(all[k]).raw());
        REQUIRE(th[j].raw() == bbs::fixed_tanh(all[k]).raw());
      }
    }
  }
}

template <typename Backend, int F>
void require_backend_fixed_rule() {
  require_fixed_rule<F>(Backend::name, [](bool sigmoid, bbs::fixed16<F>* p, bbs::index n) {
    if (sigmoid) {
      bbs::kernel::sigmoid_in_place(Backend{}, p, n);
    } else {
      bbs::kernel::tanh_in_place(Backend{}, p, n);
    }
  });
}

template <int F>
void require_every_backend_fixed_rule() {
  require_backend_fixed_rule<bbs::backend::reference, F>();
  require_backend_fixed_rule<bbs::backend::simd, F>();
  require_backend_fixed_rule<bbs::backend::automatic, F>();
#ifdef _OPENMP
  require_backend_fixed_rule<bbs::backend::openmp, F>();
#endif
  for (const auto isa : bbs::backend::simd_impl::all_isas) {
    if (!bbs::backend::simd_impl::cpu_supports(isa)) continue;
    require_fixed_rule<F>(bbs::backend::simd_impl::isa_name(isa),
                          [isa](bool sigmoid, bbs::fixed16<F>* p, bbs::index n) {
                            if (sigmoid) {
                              bbs::backend::simd_impl::fixed_activation_in_place<true>(isa, p, n);
                            } else {
                              bbs::backend::simd_impl::fixed_activation_in_place<false>(isa, p, n);
                            }
                          });
  }
}

/// Runs the raw, format-changing activations through `run(sigmoid?, p, n, in, out)` on every
/// int16 input, for formats in and out around the table's limits, and requires
/// fixed_sigmoid_raw / fixed_tanh_raw's bits.
template <typename Run>
void require_raw_rule(const char* what, Run&& run) {
  std::vector<std::int16_t> all;
  for (std::int32_t raw = -32768; raw <= 32767; ++raw) all.push_back(static_cast<std::int16_t>(raw));
  all.push_back(7);  // an odd length: a vector kernel's tail
  const std::pair<int, int> formats[] = {{0, 0}, {1, 15}, {10, 15}, {11, 12}, {12, 8}, {15, 0}, {6, 14}, {15, 15}};
  for (const auto& [in, out] : formats) {
    std::vector<std::int16_t> sig = all, th = all;
    run(true, sig.data(), bbs::index(sig.size()), in, out);
    run(false, th.data(), bbs::index(th.size()), in, out);
    for (std::size_t i = 0; i < all.size(); ++i) {
      if (sig[i] != bbs::fixed_sigmoid_raw(all[i], in, out) || th[i] != bbs::fixed_tanh_raw(all[i], in, out)) {
        INFO(what << ", Q" << in << " -> Q" << out << ", raw " << all[i]);
        REQUIRE(sig[i] == bbs::fixed_sigmoid_raw(all[i], in, out));
        REQUIRE(th[i] == bbs::fixed_tanh_raw(all[i], in, out));
      }
    }
  }
}

template <typename Backend>
void require_backend_raw_rule() {
  require_raw_rule(Backend::name, [](bool sigmoid, std::int16_t* p, bbs::index n, int in, int out) {
    if (sigmoid) {
      bbs::kernel::sigmoid_raw_in_place(Backend{}, p, n, in, out);
    } else {
      bbs::kernel::tanh_raw_in_place(Backend{}, p, n, in, out);
    }
  });
}

/// The LSTM cell update and gate product under per-tensor formats through
/// `update(i, f, g, c, n, act, cell)` and `product(a, b, n, act, out)`: bit for bit fixed_rules's
/// on random raw values, the int16 extremes included, for formats that round, shift left and
/// saturate, with lengths that leave a tail.
template <typename Update, typename Product>
void require_cell_rules(const char* what, Update&& update, Product&& product) {
  std::mt19937 gen(17);
  std::uniform_int_distribution<int> raw(-32768, 32767);
  const std::pair<int, int> formats[] = {{0, 0}, {15, 15}, {14, 10}, {12, 4}, {8, 15}, {10, 0}, {3, 15}};
  for (const bbs::index n : {bbs::index(0), bbs::index(1), bbs::index(7), bbs::index(8), bbs::index(131)}) {
    for (const auto& [act, other] : formats) {
      std::vector<std::int16_t> i(n), f(n), g(n), c(n), a(n), b(n);
      for (auto* v : {&i, &f, &g, &c, &a, &b})
        for (auto& x : *v) x = static_cast<std::int16_t>(raw(gen));
      if (n > 3) i[0] = f[0] = g[0] = c[0] = a[0] = b[0] = -32768, i[1] = f[1] = g[1] = c[1] = a[1] = b[1] = 32767;
      std::vector<std::int16_t> c_new = c, b_new = b;
      update(i.data(), f.data(), g.data(), c_new.data(), n, act, other);
      product(a.data(), b_new.data(), n, act, other);
      for (std::size_t j = 0; j < static_cast<std::size_t>(n); ++j) {
        INFO(what << ", act Q" << act << ", other Q" << other << ", n " << n << ", entry " << j);
        REQUIRE(c_new[j] == bbs::fixed_rules::lstm_cell_update(f[j], c[j], i[j], g[j], act, other));
        REQUIRE(b_new[j] == bbs::fixed_rules::gate_product(a[j], b[j], act, other));
      }
    }
  }
}

template <typename Backend>
void require_backend_cell_rules() {
  require_cell_rules(
      Backend::name,
      [](const std::int16_t* i, const std::int16_t* f, const std::int16_t* g, std::int16_t* c, bbs::index n, int act,
         int cell) { bbs::kernel::lstm_cell_update_raw(Backend{}, i, f, g, c, n, act, cell); },
      [](const std::int16_t* a, std::int16_t* b, bbs::index n, int act, int out) {
        bbs::kernel::gate_product_raw(Backend{}, a, b, n, act, out);
      });
}

template <typename A, typename Backend>
void require_floating_close() {
  std::vector<A> x;
  for (int i = -2000; i <= 2000; ++i) x.push_back(A(i) / A(100));  // [-20, 20]
  std::vector<A> sig = x, th = x;
  bbs::kernel::sigmoid_in_place(Backend{}, sig.data(), bbs::index(sig.size()));
  bbs::kernel::tanh_in_place(Backend{}, th.data(), bbs::index(th.size()));
  const double tol = 16 * static_cast<double>(std::numeric_limits<A>::epsilon());
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double v = static_cast<double>(x[i]);
    INFO(Backend::name << ", x " << v);
    REQUIRE(std::abs(static_cast<double>(sig[i]) - 1.0 / (1.0 + std::exp(-v))) <= tol);
    REQUIRE(std::abs(static_cast<double>(th[i]) - std::tanh(v)) <= tol);
  }
}

}  // namespace

TEST_CASE("fixed16 sigmoid and tanh are bit-exact with the scalar rule on every backend and variant",
          "[backend][activation]") {
  require_every_backend_fixed_rule<0>();
  require_every_backend_fixed_rule<1>();
  require_every_backend_fixed_rule<4>();
  require_every_backend_fixed_rule<12>();
  require_every_backend_fixed_rule<15>();
}

TEST_CASE("sigmoid and tanh from one raw fixed-point format to another are bit-exact on every backend and variant",
          "[backend][activation]") {
  require_backend_raw_rule<bbs::backend::reference>();
  require_backend_raw_rule<bbs::backend::simd>();
  require_backend_raw_rule<bbs::backend::automatic>();
#ifdef _OPENMP
  require_backend_raw_rule<bbs::backend::openmp>();
#endif
  for (const auto isa : bbs::backend::simd_impl::all_isas) {
    if (!bbs::backend::simd_impl::cpu_supports(isa)) continue;
    require_raw_rule(bbs::backend::simd_impl::isa_name(isa),
                     [isa](bool sigmoid, std::int16_t* p, bbs::index n, int in, int out) {
                       if (sigmoid) {
                         bbs::backend::simd_impl::fixed_activation_raw_in_place<true>(isa, p, n, in, out);
                       } else {
                         bbs::backend::simd_impl::fixed_activation_raw_in_place<false>(isa, p, n, in, out);
                       }
                     });
  }
  std::int16_t v = 0;
  CHECK_THROWS_AS(bbs::kernel::sigmoid_raw_in_place(bbs::backend::simd{}, &v, 1, 16, 8), bbs::config_error);
  CHECK_THROWS_WITH(bbs::kernel::sigmoid_raw_in_place(bbs::backend::simd{}, &v, 1, 16, 8),
                    Catch::Contains("kernel::sigmoid_raw_in_place: formats Q16 -> Q8, expected 0..15 fraction bits"));
  CHECK_THROWS_AS(bbs::kernel::tanh_raw_in_place(bbs::backend::reference{}, &v, 1, 4, -1), bbs::config_error);
  CHECK_THROWS_WITH(bbs::kernel::tanh_raw_in_place(bbs::backend::reference{}, &v, 1, 4, -1),
                    Catch::Contains("kernel::tanh_raw_in_place: formats Q4 -> Q-1"));
}

TEST_CASE("the LSTM cell update and gate product under per-tensor formats are bit-exact on every backend and variant",
          "[backend][activation]") {
  require_backend_cell_rules<bbs::backend::reference>();
  require_backend_cell_rules<bbs::backend::simd>();
  require_backend_cell_rules<bbs::backend::automatic>();
#ifdef _OPENMP
  require_backend_cell_rules<bbs::backend::openmp>();
#endif
  for (const auto isa : bbs::backend::simd_impl::all_isas) {
    if (!bbs::backend::simd_impl::cpu_supports(isa)) continue;
    require_cell_rules(
        bbs::backend::simd_impl::isa_name(isa),
        [isa](const std::int16_t* i, const std::int16_t* f, const std::int16_t* g, std::int16_t* c, bbs::index n,
              int act, int cell) { bbs::backend::simd_impl::lstm_cell_update_raw(isa, i, f, g, c, n, act, cell); },
        [isa](const std::int16_t* a, std::int16_t* b, bbs::index n, int act, int out) {
          bbs::backend::simd_impl::gate_product_raw(isa, a, b, n, act, out);
        });
  }
  std::int16_t v = 0;
  CHECK_THROWS_AS(bbs::kernel::lstm_cell_update_raw(bbs::backend::simd{}, &v, &v, &v, &v, 1, 12, 16),
                  bbs::config_error);  // a wide cell state is int32: not this operation
  CHECK_THROWS_WITH(bbs::kernel::gate_product_raw(bbs::backend::reference{}, &v, &v, 1, -2, 8),
                    Catch::Contains("kernel::gate_product_raw: formats Q-2 -> Q8"));
}

TEST_CASE("float and double sigmoid and tanh are within a few ulp on every backend", "[backend][activation]") {
  require_floating_close<float, bbs::backend::reference>();
  require_floating_close<float, bbs::backend::simd>();
  require_floating_close<double, bbs::backend::reference>();
  require_floating_close<double, bbs::backend::simd>();
#ifdef _OPENMP
  require_floating_close<float, bbs::backend::openmp>();
#endif
}

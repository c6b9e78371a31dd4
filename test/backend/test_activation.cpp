// The kernel dispatch's activations (kernel::sigmoid_in_place, kernel::tanh_in_place) on every
// backend, and every SIMD variant this CPU runs: fixed16 bit for bit with the scalar table rule
// (core/fixed_activation.hpp, what the reference backend runs) on every raw input, and on short
// runs around zero that leave a tail past the last whole vector; float and double against the
// exact functions.
#include <cmath>
#include <cstdint>
#include <limits>
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

TEST_CASE("float and double sigmoid and tanh are within a few ulp on every backend", "[backend][activation]") {
  require_floating_close<float, bbs::backend::reference>();
  require_floating_close<float, bbs::backend::simd>();
  require_floating_close<double, bbs::backend::reference>();
  require_floating_close<double, bbs::backend::simd>();
#ifdef _OPENMP
  require_floating_close<float, bbs::backend::openmp>();
#endif
}

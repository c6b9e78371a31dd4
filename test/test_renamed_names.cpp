// The names issue 13 moved keep working for one release as deprecated aliases (README,
// "Renamed"): each old spelling must still name the same entity as the new one.
#include <type_traits>

#include "testbed.hpp"

TEST_CASE("renamed namespaces and functions still answer to their old names", "[compat]") {
  STATIC_REQUIRE(std::is_same<bbs::simd_detail::Isa, bbs::backend::simd_impl::Isa>::value);
  STATIC_REQUIRE(
      std::is_same<bbs::simd_detail::cacheline_allocator<float>, bbs::detail::cacheline_allocator<float>>::value);
  CHECK(bbs::simd_detail::best_isa() == bbs::backend::simd_impl::best_isa());
#ifdef _OPENMP
  CHECK(bbs::openmp_detail::default_min_entries_per_thread ==
        bbs::backend::openmp_impl::default_min_entries_per_thread);
#endif
  using Q = bbs::fixed16<12>;
  CHECK(bbs::nn::fixed_sigmoid(Q(0.75)) == bbs::fixed_sigmoid(Q(0.75)));
  CHECK(bbs::nn::fixed_tanh(Q(-0.75)) == bbs::fixed_tanh(Q(-0.75)));
  CHECK(bbs::nn::fixed_activation_error_bound<12>() == bbs::fixed_activation_error_bound<12>());

  // elementwise<A>::sigmoid_in_place / tanh_in_place forward to the kernel operations.
  std::vector<Q> p = {Q(-2), Q(0), Q(1.5)}, old = p;
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#endif
  bbs::nn::elementwise<Q>::sigmoid_in_place(old.data(), 3);
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
  bbs::kernel::sigmoid_in_place(bbs::backend::reference{}, p.data(), 3);
  CHECK(old == p);
}

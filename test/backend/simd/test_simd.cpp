// SIMD backend: every variant this CPU supports (not only the one dispatch picks) against dense
// Eigen on every testbed shape, and the dispatching tag through the conformance suite.
#include "backend/conformance.hpp"

using bbs::simd_detail::Isa;

TEMPLATE_TEST_CASE("every SIMD variant the CPU runs matches dense Eigen on every shape", "[backend][simd]", float,
                   double) {
  for (Isa isa : {Isa::generic, Isa::avx512}) {
    if (!bbs::simd_detail::cpu_supports(isa)) {
      WARN("this CPU cannot run the " << bbs::simd_detail::isa_name(isa) << " variant; not tested here");
      continue;
    }
    std::uint32_t seed = 700;
    for (const auto& s : bbs_test::all_shapes()) {
      INFO(s.name() << ", variant " << bbs::simd_detail::isa_name(isa));
      bbs_test::check_spmv_with<TestType>(
          s, seed += 3,
          [&](const bbs::CsbView<TestType>& a, TestType alpha, const TestType* x, TestType beta, TestType* y) {
            bbs::simd_detail::spmv(isa, a, alpha, x, beta, y);
          });
    }
  }
}

TEMPLATE_TEST_CASE("the simd backend passes the conformance suite", "[backend][simd]", float, double) {
  std::uint32_t seed = 800;
  for (const auto& s : bbs_test::all_shapes()) {
    INFO(s.name());
    bbs_test::check_spmv<bbs::backend::simd, TestType>(s, seed += 3);
    bbs_test::check_spmv_transposed<bbs::backend::simd, TestType>(s, seed);
    bbs_test::check_spmm<bbs::backend::simd, TestType>(s, 3, seed);
  }
}

TEST_CASE("the AVX-512 variant never reads x past its end", "[backend][simd]") {
  // x sits at the very end of its allocation, so a read past cols is a heap overflow under ASan.
  const auto a = bbs_test::random_bbs<float>({7, 70, bbs::BankConfig(32, 20)}, 3);
  std::vector<float> storage(70);
  for (std::size_t i = 0; i < storage.size(); ++i) storage[i] = float(i % 7) - 3.0f;
  Eigen::VectorXf y(7);
  bbs::simd_detail::spmv(bbs::simd_detail::best_isa(), a.view(), 1.0f, storage.data(), 0.0f, y.data());
  const Eigen::VectorXf want = a.toDense() * Eigen::Map<const Eigen::VectorXf>(storage.data(), 70);
  CHECK((y - want).cwiseAbs().maxCoeff() <= 1e-4f);
}

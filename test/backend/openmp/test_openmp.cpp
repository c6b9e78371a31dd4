// OpenMP backend: every kernel against dense Eigen on every testbed shape, and bit-identical to
// its inner (single-threaded) backend with 1, 2 and 3 threads, also inside a parallel region.
#include <omp.h>

#include "backend/conformance.hpp"

namespace {

/// Splits even the tiniest product across threads for the duration of a test.
struct ForceSplitting {
  ForceSplitting() { bbs::set_openmp_min_entries_per_thread(1); }
  ~ForceSplitting() {
    bbs::set_openmp_min_entries_per_thread(bbs::backend::openmp_impl::default_min_entries_per_thread);
  }
};

template <typename T>
void require_identical_to_inner(const bbs_test::Shape& s, std::uint32_t seed) {
  using Vec = Eigen::Matrix<T, Eigen::Dynamic, 1>;
  using Mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;
  const auto a = bbs_test::random_bbs<T>(s, seed);
  const Vec x = bbs_test::random_vector<T>(s.cols, seed + 1);
  const Vec y0 = bbs_test::random_vector<T>(s.rows, seed + 2);
  Vec want = y0, got = y0;
  using Inner = bbs::backend::openmp::inner;
  bbs::kernel::spmv(Inner{}, a.view(), T(0.5), x.data(), T(2), want.data());
  bbs::kernel::spmv(bbs::backend::openmp{}, a.view(), T(0.5), x.data(), T(2), got.data());
  REQUIRE(got == want);

  const Mat xs = bbs_test::random_dense<T>(s.cols, 3, seed + 3);
  Mat want_m(s.rows, 3), got_m(s.rows, 3);
  bbs::kernel::spmm(Inner{}, a.view(), 3, T(1), xs.data(), s.cols, T(0), want_m.data(), s.rows);
  bbs::kernel::spmm(bbs::backend::openmp{}, a.view(), 3, T(1), xs.data(), s.cols, T(0), got_m.data(), s.rows);
  REQUIRE(got_m == want_m);
}

}  // namespace

TEMPLATE_TEST_CASE("openmp kernels match dense Eigen on every shape with 1, 2 and 3 threads", "[backend][openmp]",
                   float, double) {
  const ForceSplitting split;
  for (int threads : {1, 2, 3}) {
    omp_set_num_threads(threads);
    std::uint32_t seed = 500;
    for (const auto& s : bbs_test::all_shapes()) {
      INFO(s.name() << ", " << threads << " threads");
      bbs_test::check_spmv<bbs::backend::openmp, TestType>(s, seed += 3);
      bbs_test::check_spmv_transposed<bbs::backend::openmp, TestType>(s, seed);
      bbs_test::check_spmm<bbs::backend::openmp, TestType>(s, 4, seed);
      require_identical_to_inner<TestType>(s, seed);
    }
  }
}

TEST_CASE("openmp products inside a parallel region stay on their thread and stay correct", "[backend][openmp]") {
  const ForceSplitting split;
  omp_set_num_threads(2);
  const auto a = bbs_test::random_bbs<double>({300, 500, bbs::BankConfig(50, 5)}, 9);
  const Eigen::VectorXd x = bbs_test::random_vector<double>(500, 1);
  const Eigen::VectorXd want = a.toSparse() * x;
  std::vector<Eigen::VectorXd> results(4);
#pragma omp parallel for num_threads(2)
  for (int i = 0; i < 4; ++i) results[static_cast<std::size_t>(i)] = bbs::on<bbs::backend::openmp>(a) * x;
  for (const auto& y : results) CHECK((y - want).norm() <= 1e-12 * want.norm());
  CHECK(bbs::backend::openmp_impl::threads_for(1 << 20, 100) == 2);
}

TEST_CASE("openmp keeps small products on one thread by default", "[backend][openmp]") {
  omp_set_num_threads(2);
  CHECK(bbs::backend::openmp_impl::threads_for(1000, 1000) == 1);
  CHECK(bbs::backend::openmp_impl::threads_for(bbs::index(1) << 20, 4096) == 2);
  CHECK(bbs::backend::openmp_impl::threads_for(bbs::index(1) << 20, 1) == 1);
}

TEST_CASE("openmp is a named backend that can be the default", "[backend][openmp]") {
  const auto names = bbs::backend_names();
  CHECK(std::find(names.begin(), names.end(), "openmp") != names.end());
  bbs::set_default_backend("openmp");
  CHECK(bbs::default_backend() == "openmp");
  const auto a = bbs_test::random_bbs<float>({67, 127, bbs::BankConfig(16, 4)}, 2);
  const Eigen::VectorXf x = bbs_test::random_vector<float>(127, 3);
  const Eigen::VectorXf y = a * x;
  const Eigen::VectorXf want = bbs::on<bbs::backend::openmp::inner>(a) * x;
  CHECK(y == want);
  bbs::set_default_backend("simd");
}

// OpenMP backend: every kernel against dense Eigen on every testbed shape, and bit-identical to
// its inner (single-threaded) backend with 1, 2 and 3 threads, also inside a parallel region; the
// gate that sends it to one thread while parallel products do not pay off.
#include <omp.h>

#include <chrono>
#include <thread>
#include <vector>

#include "backend/conformance.hpp"

namespace {

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
  const bbs_test::ForceOpenmpSplitting split;
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
  const bbs_test::ForceOpenmpSplitting split;
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

TEST_CASE("openmp's gate closes when parallel products do not pay off, and backs off", "[backend][openmp]") {
  using Gate = bbs::backend::openmp_impl::ParallelGate;
  constexpr std::int64_t first = Gate::first_backoff_ns;
  constexpr std::int64_t quarter = Gate::window_ns / 4;  // one thread's time for each product below
  Gate gate;
  // Products taking `percent` of what one thread would need, four to a window.
  const auto products = [&](std::initializer_list<std::int64_t> percent, std::int64_t now) {
    for (std::int64_t p : percent) gate.record(quarter / 100 * p, quarter, now);
  };
  CHECK(gate.open(0));
  products({50, 50, 50, 50}, 1000);  // twice as fast as one thread: stays open
  CHECK(gate.open(1000));
  CHECK(gate.backoff() == 0);
  products({50, 200, 50, 50}, 1500);  // one slow product among fast ones: 350 % < 360 %, open
  CHECK(gate.open(1500));
  products({40, 300, 40}, 2000);  // time slices: together no gain...
  CHECK(gate.open(2000));         // ...which shows once the window is full
  products({300}, 2000);
  CHECK_FALSE(gate.open(2000));  // one thread for 10 ms
  CHECK_FALSE(gate.open(2000 + first - 1));
  CHECK(gate.open(2000 + first));
  CHECK(gate.backoff() == first);
  std::int64_t now = 2000 + first;
  for (std::int64_t want = 2 * first; want <= Gate::max_backoff_ns; want *= 2) {
    // The first product after reopening is not counted (it wakes the threads); closing again soon
    // doubles the wait.
    products({10000, 90, 90, 90}, now);
    CHECK(gate.open(now));
    products({90}, now);
    CHECK(gate.backoff() == want);
    CHECK_FALSE(gate.open(now + want - 1));
    CHECK(gate.open(now + want));
    now += want;
  }
  products({0, 95, 95, 95, 95}, now);
  CHECK(gate.backoff() == Gate::max_backoff_ns);        // capped at 1 s
  now += Gate::max_backoff_ns + Gate::forget_after_ns;  // a second open without closing
  products({0, 50, 50, 50, 50}, now);
  products({100, 100, 100, 100}, now);
  CHECK(gate.backoff() == first);  // back to the first step
  gate.reset();
  CHECK(gate.open(0));
  CHECK(gate.backoff() == 0);
}

TEST_CASE("openmp runs on one thread while its gate is closed, unless adaptivity is off", "[backend][openmp]") {
  namespace impl = bbs::backend::openmp_impl;
  omp_set_num_threads(2);
  bbs::set_openmp_adaptive(true);  // also opens the gate
  const bbs::index big = bbs::index(1) << 20;
  CHECK(impl::threads_for(big, 4096) == 2);

  // A product whose first thread works 6 ms on its half of the rows while the second thread lost
  // its core for 100 ms: one thread would have needed 12 ms (a full window), so the gate closes.
  const auto lost_core = [](int t, bbs::index, bbs::index) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(6);
    while (std::chrono::steady_clock::now() < until) {
    }
    if (t == 1) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  };
  impl::for_row_ranges(4096, 2, lost_core);
  CHECK(impl::parallel_gate().backoff() == impl::ParallelGate::first_backoff_ns);
  CHECK(impl::threads_for(big, 4096) == 1);

  // Products stay exact on one thread.
  const auto a = bbs_test::random_bbs<float>({300, 512, bbs::BankConfig(64, 8)}, 4);
  const Eigen::VectorXf x = bbs_test::random_vector<float>(512, 5);
  const Eigen::VectorXf want = bbs::on<bbs::backend::openmp::inner>(a) * x;
  CHECK(Eigen::VectorXf(bbs::on<bbs::backend::openmp>(a) * x) == want);

  bbs::set_openmp_adaptive(false);  // every product large enough splits, and nothing is measured
  CHECK(impl::threads_for(big, 4096) == 2);
  impl::for_row_ranges(4096, 2, lost_core);
  CHECK(impl::parallel_gate().backoff() == 0);
  CHECK(impl::threads_for(big, 4096) == 2);
  bbs::set_openmp_adaptive(true);
}

// SpMV microbenchmarks: bbs backends against the baselines a user would otherwise pick
// (Eigen::SparseMatrix<float, RowMajor> and dense Eigen GEMV) on the same pruned matrix.
// Counters (per second): GFLOP counts 2 flops per nonzero; GB is what one product must move
// (matrix arrays plus x and y), so GB/s read against a STREAM triad gives the roofline fraction.
#include <benchmark/benchmark.h>

#include <bbs/bbs.hpp>

#include <map>
#include <tuple>
#include <vector>

namespace {

struct Problem {
  bbs::BbsMatrix<float> a;
  Eigen::SparseMatrix<float, Eigen::RowMajor> sparse;
  Eigen::MatrixXf dense;
  Eigen::VectorXf x;
  Eigen::VectorXf y;
};

const Problem& problem(int n, double sparsity, int bank) {
  static std::map<std::tuple<int, double, int>, Problem> cache;
  auto key = std::make_tuple(n, sparsity, bank);
  auto it = cache.find(key);
  if (it == cache.end()) {
    Problem p;
    std::srand(1);
    const Eigen::MatrixXf w = Eigen::MatrixXf::Random(n, n);
    p.a = bbs::prune<float>(w, bbs::BankConfig::from_sparsity(bank, sparsity));
    p.sparse = p.a.toSparse();
    p.dense = p.a.toDense();
    p.x = Eigen::VectorXf::Random(n);
    p.y = Eigen::VectorXf::Zero(n);
    it = cache.emplace(key, std::move(p)).first;
  }
  return it->second;
}

const Problem& problem_of(const benchmark::State& state) {
  return problem(int(state.range(0)), 1.0 - 1.0 / double(state.range(1)), int(state.range(2)));
}

/// Times y = product(x) and reports GFLOP (2 per nonzero) and the bytes one product must move.
template <typename Product>
void time_product(benchmark::State& state, const Problem& p, double bytes, Product&& product) {
  Eigen::VectorXf y(p.a.rows());
  for (auto _ : state) {
    product(y);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  const double flops = 2.0 * double(p.a.nonZeros());
  state.counters["GFLOP"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["GB"] = benchmark::Counter(bytes * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

template <typename Backend>
void BM_bbs_spmv(benchmark::State& state) {
  const Problem& p = problem_of(state);
  const double bytes = double(p.a.memoryBytes()) + 4.0 * double(p.a.rows() + p.a.cols());
  time_product(state, p, bytes, [&](Eigen::VectorXf& y) { y.noalias() = bbs::on<Backend>(p.a) * p.x; });
}

/// Eigen parallelises its row-major sparse * dense product with OpenMP when built with it, so the
/// thread count is part of the baseline's name; Eigen's default is restored afterwards.
template <int Threads>
void BM_eigen_sparse_spmv(benchmark::State& state) {
  const Problem& p = problem_of(state);
  const int previous = Eigen::nbThreads();
  Eigen::setNbThreads(Threads);
  const double bytes = 8.0 * double(p.sparse.nonZeros()) + 4.0 * double(2 * p.a.rows() + p.a.cols());
  time_product(state, p, bytes, [&](Eigen::VectorXf& y) { y.noalias() = p.sparse * p.x; });
  Eigen::setNbThreads(previous);
}

void BM_eigen_dense_gemv(benchmark::State& state) {
  const Problem& p = problem_of(state);
  const double bytes = 4.0 * double(p.dense.size()) + 4.0 * double(p.a.rows() + p.a.cols());
  time_product(state, p, bytes, [&](Eigen::VectorXf& y) { y.noalias() = p.dense * p.x; });
}

/// STREAM-like triad a = b + s * c over arrays far larger than the caches: the memory bandwidth
/// that SpMV's "GB" counter is read against (roofline fraction = SpMV GB/s / triad GB/s).
void BM_stream_triad(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  std::vector<float> a(n, 0.0f), b(n, 1.0f), c(n, 2.0f);
  for (auto _ : state) {
    float* __restrict pa = a.data();
    const float* __restrict pb = b.data();
    const float* __restrict pc = c.data();
    for (std::size_t i = 0; i < n; ++i) pa[i] = pb[i] + 3.0f * pc[i];
    benchmark::DoNotOptimize(a.data());
    benchmark::ClobberMemory();
  }
  state.counters["GB"] =
      benchmark::Counter(3.0 * 4.0 * double(n) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_stream_triad)->Arg(1 << 25)->Unit(benchmark::kMillisecond);

// Arguments: n (square), 1 / density (8 = 87.5% sparse), bank size.
void shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"n", "inv_density", "bank"});
  for (int n : {1024, 4096}) b->Args({n, 8, 64});
  b->Args({4096, 2, 64})->Args({4096, 16, 64})->Args({4096, 8, 16})->Args({4096, 8, 256});
  b->Unit(benchmark::kMicrosecond);
}

BENCHMARK_TEMPLATE(BM_bbs_spmv, bbs::backend::reference)->Apply(shapes);
BENCHMARK_TEMPLATE(BM_bbs_spmv, bbs::backend::simd)->Apply(shapes);
#ifdef _OPENMP
BENCHMARK_TEMPLATE(BM_bbs_spmv, bbs::backend::openmp)->Apply(shapes);
#endif
BENCHMARK_TEMPLATE(BM_eigen_sparse_spmv, 1)->Apply(shapes);
#ifdef _OPENMP
BENCHMARK_TEMPLATE(BM_eigen_sparse_spmv, 2)->Apply(shapes);
#endif
BENCHMARK(BM_eigen_dense_gemv)->Apply(shapes);

}  // namespace

BENCHMARK_MAIN();

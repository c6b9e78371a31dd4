// SpMV / SpMM microbenchmarks: every bbs backend and value type against the baselines a user
// would otherwise pick, in one binary and one run, so that every ratio in docs/BENCHMARKS.md
// (written by scripts/bench-report from this program's JSON) comes from the same conditions.
//
// What is timed (one product per iteration, medians of --bbs_repetitions repetitions, wall time):
//   bbs_reference, bbs_simd      y = bbs::on<Backend>(A) * x on the calling thread
//   bbs_openmp, threads:1|2      the openmp backend with omp_set_num_threads(1 | 2)
//   eigen_sparse, threads:1|2    Eigen::SparseMatrix<float, RowMajor> * x (Eigen::setNbThreads);
//                                SparseMatrix<double, RowMajor> too in the type sweep (1 thread)
//   eigen_dense, threads:1       dense Eigen GEMV (batch 1) / GEMM (batch > 1) of the same matrix
//   stream_triad, threads:1|2    a[i] = b[i] + s * c[i] over 3 x 128 MiB (STREAM's bandwidth)
//   read_sum, mib:M, threads:1|2 a vectorised sum over M MiB, M = 1 .. 1024: the read bandwidth of
//                                the level that holds an M MiB working set, the roofline of a
//                                product whose arrays are about that size (an SpMV mostly reads)
//   loaded_bbs_simd, loaded_bbs_openmp[_ungated], threads:1|2
//                                the same products while a busy thread pinned to the last CPU
//                                competes for it (a shared server): openmp's gate (ParallelGate)
//                                on, and off (_ungated)
// Batch > 1 is SpMM, Y = A * X with X an Eigen matrix of `batch` columns.
//
// The sweeps vary one axis at a time around the headline point (float32, 87.5 % sparse, bank 64,
// batch 1); a point shared by several sweeps runs once (see sweeps() below for the list and what
// each one is for). Benchmark names carry the point as key:value pairs, for example
//   bbs_simd/type:float32/threads:1/rows:4096/cols:4096/sparsity:87.5/bank:64/batch:1
// and the sweeps' definitions go into the JSON context, from which scripts/bench-report builds
// one table per sweep. Development runs: --benchmark_filter='rows:4096/cols:4096/sparsity:87.5/'
// --bbs_repetitions=1 --benchmark_min_time=0.05.
//
// Counters: GFLOP/s counts 2 flops per nonzero per right-hand side for every implementation (the
// dense baseline does the same useful work at 1 / density times the arithmetic). GB/s is what one
// product must move at the least: the matrix arrays once, x and y once; divided by the triad's
// GB/s it is the fraction of the bandwidth roofline. flops and bytes are also reported per
// product, so the report can recompute rates from median times.
//
// Extra flag (removed before Google Benchmark parses the rest):
//   --bbs_repetitions=N   repetitions per benchmark (default 5; 1 for quick development runs)
#include <benchmark/benchmark.h>

#include <bbs/bbs.hpp>

#include <omp.h>
#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

namespace {

// =============================================================================================
// Value types. Adding one is one line here: ValueCase<stored type, activation type>, for example
// ValueCase<bbs::fixed16<12>, float> or ValueCase<Eigen::bfloat16, float>. Its name in the results
// is bbs::value_traits<T>::name; scripts/bench-report finds 16-bit types by that name.
// =============================================================================================

template <typename T, typename X = T>
struct ValueCase {
  using value = T;       // what the BbsMatrix stores
  using activation = X;  // what x and y hold
};

using ValueCases = std::tuple<ValueCase<float>, ValueCase<double>, ValueCase<bbs::fixed16<12>>,
                              ValueCase<bbs::fixed8<7, 12>, bbs::fixed16<12>>, ValueCase<Eigen::bfloat16, float>,
                              ValueCase<Eigen::half, float>>;

// =============================================================================================
// Problems: one random bank-balanced matrix per (type, shape, sparsity, bank), built once and
// shared by every benchmark that uses it, with the Eigen sparse and dense copies made on demand.
// =============================================================================================

struct Point {
  bbs::index rows;
  bbs::index cols;
  double sparsity;  // 0.875 = 87.5 % of every bank pruned
  bbs::index bank;
  bbs::index batch;  // right-hand sides; 1 = SpMV

  auto key() const { return std::make_tuple(rows, cols, sparsity, bank, batch); }
  bool operator<(const Point& o) const { return key() < o.key(); }
};

/// A random bank-balanced pattern built directly in CSB: every bank keeps a uniformly random
/// k-subset of its columns, which is exactly the distribution bbs::prune gives for a dense matrix
/// of i.i.d. weights (the top k of i.i.d. magnitudes are a uniform k-subset). Pruning a dense
/// 16384^2 matrix would take far longer than the benchmarks themselves.
template <typename T>
bbs::BbsMatrix<T> random_bbs(bbs::index rows, bbs::index cols, const bbs::BankConfig& cfg) {
  const bbs::index nb = cfg.num_banks(cols);
  const bbs::index k = cfg.nnz_per_bank;
  const bbs::index bs = cfg.bank_size;
  if (cols % bs != 0) throw std::runtime_error("random_bbs: cols must be a multiple of the bank size");
  const std::size_t n = static_cast<std::size_t>(rows * nb * k);
  std::vector<T> values(n);
  std::vector<std::uint8_t> idx8;
  std::vector<std::uint16_t> idx16;
  const bool narrow = cfg.index_width() == bbs::IndexWidth::u8;
  if (narrow) {
    idx8.resize(n);
  } else {
    idx16.resize(n);
  }
  std::mt19937_64 rng(static_cast<std::uint64_t>(rows * 1000003 + cols * 101 + bs * 7 + k));
  std::uniform_real_distribution<float> value(-1.0f, 1.0f);
  std::vector<bbs::index> columns(static_cast<std::size_t>(bs));
  for (bbs::index r = 0; r < rows; ++r) {
    for (bbs::index b = 0; b < nb; ++b) {
      // Partial Fisher-Yates: the first k of a shuffled 0..bs-1, sorted (CSB keeps them ascending).
      for (bbs::index i = 0; i < bs; ++i) columns[static_cast<std::size_t>(i)] = i;
      for (bbs::index i = 0; i < k; ++i) {
        std::uniform_int_distribution<bbs::index> pick(i, bs - 1);
        std::swap(columns[static_cast<std::size_t>(i)], columns[static_cast<std::size_t>(pick(rng))]);
      }
      std::sort(columns.begin(), columns.begin() + k);
      for (bbs::index s = 0; s < k; ++s) {
        const auto e = static_cast<std::size_t>(bbs::csb_entry(r, s, b, nb, k));
        const bbs::index c = columns[static_cast<std::size_t>(s)];
        values[e] = bbs::value_traits<T>::from_float(value(rng));
        if (narrow) {
          idx8[e] = static_cast<std::uint8_t>(c);
        } else {
          idx16[e] = static_cast<std::uint16_t>(c);
        }
      }
    }
  }
  if (narrow) return bbs::BbsMatrix<T>(rows, cols, cfg, std::move(values), std::move(idx8));
  return bbs::BbsMatrix<T>(rows, cols, cfg, std::move(values), std::move(idx16));
}

template <typename T>
struct Problem {
  bbs::BbsMatrix<T> a;
  std::unique_ptr<Eigen::SparseMatrix<T, Eigen::RowMajor>> sparse;  // made on first use
  std::unique_ptr<Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>> dense;

  const Eigen::SparseMatrix<T, Eigen::RowMajor>& eigen_sparse() {
    if (!sparse) sparse = std::make_unique<Eigen::SparseMatrix<T, Eigen::RowMajor>>(a.toSparse());
    return *sparse;
  }
  const Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>& eigen_dense() {
    if (!dense) dense = std::make_unique<Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>>(a.toDense());
    return *dense;
  }
};

template <typename T>
Problem<T>& problem(const Point& p) {
  static std::map<std::tuple<bbs::index, bbs::index, double, bbs::index>, Problem<T>> cache;
  const auto key = std::make_tuple(p.rows, p.cols, p.sparsity, p.bank);
  auto it = cache.find(key);
  if (it == cache.end()) {
    Problem<T> fresh{random_bbs<T>(p.rows, p.cols, bbs::BankConfig::from_sparsity(p.bank, p.sparsity)), {}, {}};
    it = cache.emplace(key, std::move(fresh)).first;
  }
  return it->second;
}

/// Right-hand sides: a vector for batch 1 (so Eigen's baselines take their GEMV / SpMV paths), an
/// n x batch column-major matrix otherwise.
template <typename X>
Eigen::Matrix<X, Eigen::Dynamic, Eigen::Dynamic> random_rhs(bbs::index rows, bbs::index batch) {
  std::mt19937 rng(42);
  std::uniform_real_distribution<float> d(-1.0f, 1.0f);
  Eigen::Matrix<X, Eigen::Dynamic, Eigen::Dynamic> x(rows, batch);
  for (bbs::index i = 0; i < x.size(); ++i) x.data()[i] = X(d(rng));
  return x;
}

// =============================================================================================
// Timing: one product per iteration, with the thread count set for its duration.
// =============================================================================================

/// Sets OpenMP's and Eigen's thread counts for one benchmark and restores them afterwards.
class ThreadScope {
 public:
  explicit ThreadScope(int threads) : omp_(omp_get_max_threads()), eigen_(Eigen::nbThreads()) {
    omp_set_num_threads(threads);
    Eigen::setNbThreads(threads);
  }
  ~ThreadScope() {
    omp_set_num_threads(omp_);
    Eigen::setNbThreads(eigen_);
  }
  ThreadScope(const ThreadScope&) = delete;
  ThreadScope& operator=(const ThreadScope&) = delete;

 private:
  int omp_;
  int eigen_;
};

void set_counters(benchmark::State& state, double flops, double bytes) {
  using benchmark::Counter;
  state.counters["GFLOP/s"] = Counter(flops * 1e-9, Counter::kIsIterationInvariantRate);
  state.counters["GB/s"] = Counter(bytes * 1e-9, Counter::kIsIterationInvariantRate);
  state.counters["flops"] = Counter(flops);
  state.counters["bytes"] = Counter(bytes);
}

/// Times product(x, y) for batch 1 (x, y vectors) or batch > 1 (x, y matrices). One untimed
/// product first: it derives the matrix's cached SIMD arrangement (once per matrix, like a model
/// load) and faults in y, so the timed loop sees the steady state a served model runs in.
template <typename X, typename Product>
void time_product(benchmark::State& state, const Point& p, Product&& product) {
  const auto x_all = random_rhs<X>(p.cols, p.batch);
  if (p.batch == 1) {
    const Eigen::Matrix<X, Eigen::Dynamic, 1> x = x_all.col(0);
    Eigen::Matrix<X, Eigen::Dynamic, 1> y = Eigen::Matrix<X, Eigen::Dynamic, 1>::Zero(p.rows);
    product(x, y);
    for (auto _ : state) {
      product(x, y);
      benchmark::DoNotOptimize(y.data());
      benchmark::ClobberMemory();
    }
  } else {
    Eigen::Matrix<X, Eigen::Dynamic, Eigen::Dynamic> y =
        Eigen::Matrix<X, Eigen::Dynamic, Eigen::Dynamic>::Zero(p.rows, p.batch);
    product(x_all, y);
    for (auto _ : state) {
      product(x_all, y);
      benchmark::DoNotOptimize(y.data());
      benchmark::ClobberMemory();
    }
  }
}

/// Bytes of x and y for one product: each read or written once.
template <typename X>
double vector_bytes(const Point& p) {
  return double(sizeof(X)) * double(p.batch) * double(p.rows + p.cols);
}

template <typename Case, typename Backend>
void bbs_product(benchmark::State& state, Point p, int threads) {
  using T = typename Case::value;
  using X = typename Case::activation;
  ThreadScope scope(threads);
  const auto& a = problem<T>(p).a;
  time_product<X>(state, p, [&](const auto& x, auto& y) { y.noalias() = bbs::on<Backend>(a) * x; });
  set_counters(state, 2.0 * double(a.nonZeros()) * double(p.batch), double(a.csbBytes()) + vector_bytes<X>(p));
}

/// A thread that spins on the machine's last CPU for its lifetime: the competing process of a busy
/// server, as the scheduler sees it.
class BusyCore {
 public:
  BusyCore()
      : thread_([this] {
          cpu_set_t set;
          CPU_ZERO(&set);
          CPU_SET(std::max(1u, std::thread::hardware_concurrency()) - 1, &set);
          pthread_setaffinity_np(pthread_self(), sizeof set, &set);
          while (!stop_.load(std::memory_order_relaxed)) {
          }
        }) {}
  ~BusyCore() {
    stop_.store(true, std::memory_order_relaxed);
    thread_.join();
  }
  BusyCore(const BusyCore&) = delete;
  BusyCore& operator=(const BusyCore&) = delete;

 private:
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

/// bbs_product while BusyCore competes for a CPU; `gated`: the openmp backend's ParallelGate on.
/// The gate keeps what it learnt from one call of a benchmark to the next (Google Benchmark calls
/// it once per repetition), as it would in a long-running process; set_openmp_adaptive resets it,
/// so it is called only to switch.
template <typename Backend>
void loaded_product(benchmark::State& state, Point p, int threads, bool gated) {
  const BusyCore busy;
  if (bbs::backend::openmp_impl::adaptive().load() != gated) bbs::set_openmp_adaptive(gated);
  bbs_product<ValueCase<float>, Backend>(state, p, threads);
}

/// Eigen's SparseMatrix<T, RowMajor> * x: float, and double for the double rows of the type sweep.
template <typename T = float>
void eigen_sparse_product(benchmark::State& state, Point p, int threads) {
  ThreadScope scope(threads);
  const auto& s = problem<T>(p).eigen_sparse();
  time_product<T>(state, p, [&](const auto& x, auto& y) { y.noalias() = s * x; });
  const double matrix_bytes = double(s.nonZeros()) * double(sizeof(T) + sizeof(int)) + 4.0 * double(p.rows + 1);
  set_counters(state, 2.0 * double(s.nonZeros()) * double(p.batch), matrix_bytes + vector_bytes<T>(p));
}

void eigen_dense_product(benchmark::State& state, Point p, int threads) {
  ThreadScope scope(threads);
  Problem<float>& prob = problem<float>(p);
  const auto& d = prob.eigen_dense();
  time_product<float>(state, p, [&](const auto& x, auto& y) { y.noalias() = d * x; });
  set_counters(state, 2.0 * double(prob.a.nonZeros()) * double(p.batch),
               double(d.size()) * sizeof(float) + vector_bytes<float>(p));
}

/// STREAM-like triad a = b + s * c over arrays 12x the 32 MB L3 (the roofline's bandwidth).
/// STREAM's convention: 3 arrays moved per pass, write-allocate traffic not counted.
void stream_triad(benchmark::State& state, int threads) {
  constexpr std::size_t n = std::size_t(1) << 25;  // 128 MiB per float array
  ThreadScope scope(threads);
  std::unique_ptr<float[]> a(new float[n]), b(new float[n]), c(new float[n]);
  const auto sn = static_cast<std::ptrdiff_t>(n);
  // First touch on the threads that use the pages.
#pragma omp parallel for schedule(static) num_threads(threads)
  for (std::ptrdiff_t i = 0; i < sn; ++i) {
    a[i] = 0.0f;
    b[i] = 1.0f;
    c[i] = 2.0f;
  }
  float* __restrict pa = a.get();
  const float* __restrict pb = b.get();
  const float* __restrict pc = c.get();
  for (auto _ : state) {
#pragma omp parallel for schedule(static) num_threads(threads)
    for (std::ptrdiff_t i = 0; i < sn; ++i) pa[i] = pb[i] + 3.0f * pc[i];
    benchmark::DoNotOptimize(pa);
    benchmark::ClobberMemory();
  }
  state.counters["GB/s"] =
      benchmark::Counter(3.0 * sizeof(float) * double(n) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["bytes"] = benchmark::Counter(3.0 * sizeof(float) * double(n));
}

/// Read bandwidth: a sum over `mib` MiB of floats, 16 independent accumulators (one AVX-512
/// register; the sum is never the bottleneck), each thread over its own static share. A triad
/// writes as much as a third of what it moves, and write-allocate traffic makes it read-poor on
/// some machines (an SpMV reached 129 % of the triad on a Xeon); this is what an SpMV does.
void read_sum(benchmark::State& state, std::size_t mib, int threads) {
  constexpr std::ptrdiff_t block = 4096;
  const auto n = static_cast<std::ptrdiff_t>(mib * (std::size_t(1) << 20) / sizeof(float));
  const std::ptrdiff_t blocks = n / block;
  ThreadScope scope(threads);
  std::unique_ptr<float[]> a(new float[static_cast<std::size_t>(n)]);
  // First touch on the threads that read the pages.
#pragma omp parallel for schedule(static) num_threads(threads)
  for (std::ptrdiff_t i = 0; i < n; ++i) a[i] = 1.0f;
  const float* p = a.get();
  for (auto _ : state) {
    float total = 0.0f;
#pragma omp parallel for schedule(static) num_threads(threads) reduction(+ : total)
    for (std::ptrdiff_t b = 0; b < blocks; ++b) {
      const float* q = p + b * block;
      float acc[16] = {};
      for (std::ptrdiff_t i = 0; i < block; i += 16)
        for (int j = 0; j < 16; ++j) acc[j] += q[i + j];
      float sum = 0.0f;
      for (float v : acc) sum += v;
      total += sum;
    }
    benchmark::DoNotOptimize(total);
  }
  const double bytes = double(n) * sizeof(float);
  state.counters["GB/s"] = benchmark::Counter(bytes * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["bytes"] = benchmark::Counter(bytes);
}

// =============================================================================================
// Sweeps: one axis at a time around the headline point.
// =============================================================================================

enum Impl : unsigned { kBbs = 1, kEigenSparse = 2, kEigenDense = 4, kAll = 7 };

struct Sweep {
  const char* name;
  const char* measures;
  std::vector<Point> points;
  unsigned impls;        // which implementations run at these points
  bool all_value_types;  // bbs backends for every ValueCase, not only float
};

constexpr Point headline{4096, 4096, 0.875, 64, 1};

Point with(Point p, bbs::index n) {
  p.rows = p.cols = n;
  return p;
}

/// The sweeps; their definitions are also written into the JSON context (add_sweep_context), from
/// which scripts/bench-report builds one table per sweep.
std::vector<Sweep> sweeps() {
  std::vector<Sweep> all;
  Sweep size{
      "size", "square n x n from L2-resident to far beyond L3: where DRAM bandwidth takes over", {}, kAll, false};
  for (bbs::index n : {1024, 4096, 16384}) size.points.push_back(with(headline, n));
  all.push_back(size);

  Sweep lstm{"lstm", "LSTM gate matrices 4H x (I + H), I = H: the shapes the format was designed for", {}, kAll, false};
  for (bbs::index h : {512, 1024}) lstm.points.push_back(Point{4 * h, 2 * h, 0.875, 64, 1});
  all.push_back(lstm);

  Sweep sparsity{
      "sparsity", "pruning level at 4096: the speedup over dense and Eigen sparse as density falls", {}, kAll, false};
  for (double s : {0.5, 0.75, 0.875, 0.9375}) {
    Point p = headline;
    p.sparsity = s;
    sparsity.points.push_back(p);
  }
  all.push_back(sparsity);

  // Dense GEMV does not depend on the bank size, so it is left out here.
  Sweep bank{"bank",
             "bank size at 4096: index width stays 8 bits; slot width and x locality change",
             {},
             kBbs | kEigenSparse,
             false};
  for (bbs::index b : {16, 32, 64, 128, 256}) {
    Point p = headline;
    p.bank = b;
    bank.points.push_back(p);
  }
  all.push_back(bank);

  Sweep batch{"batch", "SpMM Y = A * X: how much reading A once per batch pays, per right-hand side", {}, kAll, false};
  for (bbs::index n : {4096, 16384}) {
    for (bbs::index k : {1, 4, 16}) {
      Point p = with(headline, n);
      p.batch = k;
      batch.points.push_back(p);
    }
  }
  all.push_back(batch);

  // Model files store dense layers as BBS matrices that keep every weight (bank = keep = columns);
  // backend::simd runs them through its dense GEMV kernels (spmv_dense.hpp). This is the dense
  // baseline of bbs eval --baseline, against Eigen's GEMV of the same matrix; fixed16 and fixed8
  // have dense kernels too.
  Sweep dense{"dense",
              "every weight kept (bank = columns, how model files store dense layers): the dense kernels against "
              "Eigen's GEMV",
              {},
              kBbs | kEigenDense,
              true};
  for (const auto& shape : {std::pair<bbs::index, bbs::index>{256, 64}, {1024, 1024}, {4096, 4096}}) {
    dense.points.push_back(Point{shape.first, shape.second, 0.0, shape.second, 1});
  }
  all.push_back(dense);

  // Keep counts at equal work: bank 64, 4096 columns, rows = 32768 / keep, so every point has 2M
  // nonzeros (about 10 MB of float matrix, cache-resident) and only the kernel's handling of the
  // keep count (lanes per row, rows per group, the row sums) changes. Keep 64 is the dense
  // configuration.
  Sweep keep{"keep",
             "keep counts at equal nonzeros (bank 64, 4096 columns, 32768 / keep rows): every lane count at full "
             "speed",
             {},
             kBbs | kEigenSparse,
             false};
  for (bbs::index k : {1, 2, 3, 4, 8, 12, 16, 32, 64}) {
    keep.points.push_back(Point{(32768 + k / 2) / k, 4096, 1.0 - double(k) / 64.0, 64, 1});
  }
  all.push_back(keep);

  Sweep types{"type",
              "value types at 4096 (in cache) and 16384 (bandwidth-bound): narrower values move fewer bytes",
              {with(headline, 4096), with(headline, 16384)},
              kBbs | kEigenSparse,
              true};
  all.push_back(types);
  return all;
}

// =============================================================================================
// Registration: the union of the sweeps' points, each (implementation, point) once.
// =============================================================================================

std::string point_name(const Point& p) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "rows:%lld/cols:%lld/sparsity:%g/bank:%lld/batch:%lld", static_cast<long long>(p.rows),
                static_cast<long long>(p.cols), p.sparsity * 100.0, static_cast<long long>(p.bank),
                static_cast<long long>(p.batch));
  return buf;
}

struct Registrar {
  int repetitions;
  std::set<std::string> seen;

  template <typename F>
  void add(const std::string& name, F&& f) {
    if (!seen.insert(name).second) return;
    auto* b = benchmark::RegisterBenchmark(name.c_str(), std::forward<F>(f));
    b->UseRealTime()->Unit(benchmark::kMicrosecond);
    if (repetitions > 1) b->Repetitions(repetitions)->ReportAggregatesOnly(true);
  }

  template <typename Case>
  void add_bbs(const Point& p) {
    using T = typename Case::value;
    const std::string type = std::string("/type:") + bbs::value_traits<T>::name;
    const std::string where = "/" + point_name(p);
    add("bbs_reference" + type + "/threads:1" + where,
        [p](benchmark::State& s) { bbs_product<Case, bbs::backend::reference>(s, p, 1); });
    add("bbs_simd" + type + "/threads:1" + where,
        [p](benchmark::State& s) { bbs_product<Case, bbs::backend::simd>(s, p, 1); });
#ifdef _OPENMP
    for (int t : {1, 2}) {
      add("bbs_openmp" + type + "/threads:" + std::to_string(t) + where,
          [p, t](benchmark::State& s) { bbs_product<Case, bbs::backend::openmp>(s, p, t); });
    }
#endif
  }

  template <typename... Cases>
  void add_bbs_all(const Point& p, std::tuple<Cases...>*) {
    (add_bbs<Cases>(p), ...);
  }

  void add_sweep(const Sweep& sweep) {
    for (const Point& p : sweep.points) {
      const std::string where = "/type:float32/threads:";
      const std::string pn = "/" + point_name(p);
      if (sweep.impls & kBbs) {
        if (sweep.all_value_types) {
          add_bbs_all(p, static_cast<ValueCases*>(nullptr));
        } else {
          add_bbs<ValueCase<float>>(p);
        }
      }
      if (sweep.impls & kEigenSparse) {
        for (int t : {1, 2}) {
          add("eigen_sparse" + where + std::to_string(t) + pn,
              [p, t](benchmark::State& s) { eigen_sparse_product(s, p, t); });
        }
        // Solvers' baseline for double: Eigen's own double CSR product.
        if (sweep.all_value_types) {
          add("eigen_sparse/type:float64/threads:1" + pn,
              [p](benchmark::State& s) { eigen_sparse_product<double>(s, p, 1); });
        }
      }
      if (sweep.impls & kEigenDense) {
        add("eigen_dense" + where + "1" + pn, [p](benchmark::State& s) { eigen_dense_product(s, p, 1); });
      }
    }
  }
};

// =============================================================================================
// Context: which machine and compiler produced the numbers (the report's title).
// =============================================================================================

std::string cpuinfo_field(const std::string& field) {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.compare(0, field.size(), field) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(colon + 2);
    }
  }
  return "unknown";
}

std::string compiler() {
#if defined(__clang__)
  return std::string("clang ") + __clang_version__;
#elif defined(__GNUC__)
  return std::string("GCC ") + __VERSION__;
#else
  return "unknown";
#endif
}

std::string cpu_isa() {
  std::string s;
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
  if (__builtin_cpu_supports("avx2")) s += "avx2 ";
  if (__builtin_cpu_supports("fma")) s += "fma ";
  if (__builtin_cpu_supports("avx512f")) s += "avx512f ";
  if (__builtin_cpu_supports("avx512bw")) s += "avx512bw ";
  if (__builtin_cpu_supports("avx512vl")) s += "avx512vl ";
  if (__builtin_cpu_supports("avx512vnni")) s += "avx512vnni ";
#endif
  s += std::string("(variant ") + bbs::backend::simd_impl::isa_name(bbs::backend::simd_impl::best_isa()) + ")";
  return s;
}

void add_context(int repetitions) {
  benchmark::AddCustomContext("cpu_model", cpuinfo_field("model name"));
  benchmark::AddCustomContext("cpu_family_model",
                              "family " + cpuinfo_field("cpu family") + " model " + cpuinfo_field("model\t"));
  benchmark::AddCustomContext("cpu_isa", cpu_isa());
  benchmark::AddCustomContext("cpu_cores", std::to_string(std::thread::hardware_concurrency()));
  benchmark::AddCustomContext("compiler", compiler());
  // Eigen's baselines vectorise with what the compiler targets (bench/CMakeLists.txt adds
  // -march=native unless BBS_BENCH_NATIVE is OFF); bbs's simd backend picks its kernel at run time.
  benchmark::AddCustomContext("eigen_simd", Eigen::SimdInstructionSetsInUse());
  benchmark::AddCustomContext("omp_max_threads", std::to_string(omp_get_max_threads()));
  benchmark::AddCustomContext("eigen_version", std::to_string(EIGEN_WORLD_VERSION) + "." +
                                                   std::to_string(EIGEN_MAJOR_VERSION) + "." +
                                                   std::to_string(EIGEN_MINOR_VERSION));
  benchmark::AddCustomContext("bbs_version", std::to_string(BBS_VERSION_MAJOR) + "." +
                                                 std::to_string(BBS_VERSION_MINOR) + "." +
                                                 std::to_string(BBS_VERSION_PATCH));
  benchmark::AddCustomContext("bbs_repetitions", std::to_string(repetitions));
  benchmark::AddCustomContext("headline", point_name(headline));
#ifdef NDEBUG
  benchmark::AddCustomContext("bbs_build", "NDEBUG (optimised)");
#else
  benchmark::AddCustomContext("bbs_build", "assertions on (not a Release build)");
#endif
}

/// The sweep definitions travel in the JSON, so the report needs no copy of them:
/// "sweep.<i>.<name>" = what it measures, "sweep.<i>.<name>.points" = its points, ';'-separated,
/// "sweep.<i>.<name>.types" = "all" when every value type runs, else "float32".
void add_sweep_context(std::size_t i, const Sweep& sweep) {
  const std::string key = "sweep." + std::to_string(i) + "." + sweep.name;
  std::string points;
  for (const Point& p : sweep.points) points += (points.empty() ? "" : ";") + point_name(p);
  std::string impls;
  if (sweep.impls & kBbs) impls += "bbs ";
  if (sweep.impls & kEigenSparse) impls += "eigen_sparse ";
  if (sweep.impls & kEigenDense) impls += "eigen_dense ";
  impls.pop_back();
  benchmark::AddCustomContext(key, sweep.measures);
  benchmark::AddCustomContext(key + ".points", points);
  benchmark::AddCustomContext(key + ".impls", impls);
  benchmark::AddCustomContext(key + ".types", sweep.all_value_types ? "all" : "float32");
}

/// Removes --bbs_repetitions=N from argv (Google Benchmark rejects flags it does not know).
int take_repetitions(int& argc, char** argv) {
  int repetitions = 5;
  const char* flag = "--bbs_repetitions=";
  int out = 1;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], flag, std::strlen(flag)) == 0) {
      repetitions = std::max(1, std::atoi(argv[i] + std::strlen(flag)));
    } else {
      argv[out++] = argv[i];
    }
  }
  argc = out;
  return repetitions;
}

}  // namespace

int main(int argc, char** argv) {
  const int repetitions = take_repetitions(argc, argv);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  add_context(repetitions);

  Registrar r{repetitions, {}};
  // The bandwidth probes first, so that a filtered development run still shows what it reads against.
  for (int t : {1, 2}) {
    r.add("stream_triad/threads:" + std::to_string(t), [t](benchmark::State& s) { stream_triad(s, t); });
  }
  for (std::size_t mib : {1, 4, 16, 64, 256, 1024}) {
    for (int t : {1, 2}) {
      r.add("read_sum/mib:" + std::to_string(mib) + "/threads:" + std::to_string(t),
            [mib, t](benchmark::State& s) { read_sum(s, mib, t); });
    }
  }
  const std::vector<Sweep> all = sweeps();
  for (std::size_t i = 0; i < all.size(); ++i) {
    r.add_sweep(all[i]);
    add_sweep_context(i + 1, all[i]);
  }
  // Under load: simd on one thread against openmp on two, with and without its gate.
  for (bbs::index n : {4096, 16384}) {
    const Point p = with(headline, n);
    const std::string where = "/type:float32/threads:";
    const std::string pn = "/" + point_name(p);
    r.add("loaded_bbs_simd" + where + "1" + pn,
          [p](benchmark::State& s) { loaded_product<bbs::backend::simd>(s, p, 1, true); });
#ifdef _OPENMP
    r.add("loaded_bbs_openmp" + where + "2" + pn,
          [p](benchmark::State& s) { loaded_product<bbs::backend::openmp>(s, p, 2, true); });
    r.add("loaded_bbs_openmp_ungated" + where + "2" + pn,
          [p](benchmark::State& s) { loaded_product<bbs::backend::openmp>(s, p, 2, false); });
#endif
  }

  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

// A server's use of bbs: many threads (more than cores) share one matrix and one model, starting
// together on a matrix that has never run a product, so the arrangements backends derive on
// first use (storage/layout_cache.hpp) are built while other threads multiply. Every result must
// equal, bit for bit, the same product run alone on a copy of the matrix. scripts/check-races
// runs this program under ThreadSanitizer.
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "source_tree.hpp"  // BBS_TEST_DATA_DIR, BBS_MODELS_DIR, BBS_CLI
#include "testbed.hpp"

namespace {

using bbs_test::random_dense;
using bbs_test::random_vector;

constexpr int kThreads = 8;  // more than the cores CI has, so threads are preempted mid-product
constexpr int kRounds = 3;

/// Releases every thread at once, so that first uses overlap.
class StartLine {
 public:
  void wait() {
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait(lock, [&] { return go_; });
  }
  void release() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      go_ = true;
    }
    cv_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool go_ = false;
};

/// Runs body(thread) on kThreads threads started together; returns the summed results of body.
template <typename Body>
long run_together(Body body) {
  StartLine start;
  std::atomic<long> total{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.wait();
      total += body(t);
    });
  }
  start.release();
  for (auto& th : threads) th.join();
  return total.load();
}

template <typename A>
bool same_bits(const A& got, const A& want) {
  if (got.rows() != want.rows() || got.cols() != want.cols()) return false;
  for (bbs::index j = 0; j < got.cols(); ++j)
    for (bbs::index i = 0; i < got.rows(); ++i)
      if (!(got(i, j) == want(i, j))) return false;
  return true;
}

/// The three product forms of one backend on a matrix: A x, A X (9 right-hand sides) and A^T x.
template <typename Backend, typename T, typename V, typename M, typename W>
std::vector<M> products(const bbs::BbsMatrix<T>& a, const V& x, const M& xs, const W& xt) {
  return {M(bbs::on<Backend>(a) * x), M(bbs::on<Backend>(a) * xs), M(bbs::on<Backend>(a).transpose() * xt)};
}

}  // namespace

TEMPLATE_TEST_CASE("threads sharing a matrix from its first product get the results of a product run alone",
                   "[backend][concurrency]", float, bbs::fixed16<12>, Eigen::bfloat16) {
  using T = TestType;
  using A = bbs::activation_t<T>;
  using V = Eigen::Matrix<A, Eigen::Dynamic, 1>;
  using M = Eigen::Matrix<A, Eigen::Dynamic, Eigen::Dynamic>;
  // Row-grouped kernels (keep 4 of 32), a partial last bank, rows not a multiple of a group.
  const bbs::BbsMatrix<float> pruned = bbs::prune<float>(random_dense<float>(150, 230, 7), bbs::BankConfig(32, 4));
  const bbs::BbsMatrix<T> source = [&] {
    if constexpr (std::is_same<T, float>::value) {
      return pruned;
    } else {
      return bbs::quantize<T>(pruned).value;
    }
  }();
  const auto activations = [](const Eigen::MatrixXf& m) {
    M out(m.rows(), m.cols());
    for (bbs::index j = 0; j < m.cols(); ++j)
      for (bbs::index i = 0; i < m.rows(); ++i) out(i, j) = bbs::nn::elementwise<A>::from_float(0.5f * m(i, j));
    return out;
  };
  const V x = activations(random_vector<float>(230, 1));
  const M xs = activations(random_dense<float>(230, 9, 2));
  const V xt = activations(random_vector<float>(150, 3));

  bbs::for_each_backend([&](auto tag) {
    using Backend = decltype(tag);
    INFO("backend " << Backend::name);
    const std::vector<M> alone = products<Backend>(bbs::BbsMatrix<T>(source), x, xs, xt);
    const bbs::BbsMatrix<T> shared(source);  // a copy: nothing derived yet
    const long mismatches = run_together([&](int) {
      long bad = 0;
      for (int r = 0; r < kRounds; ++r) {
        const std::vector<M> got = products<Backend>(shared, x, xs, xt);
        for (std::size_t p = 0; p < got.size(); ++p) bad += !same_bits(got[p], alone[p]);
      }
      return bad;
    });
    CHECK(mismatches == 0);
  });
}

TEST_CASE("threads sharing a loaded model each run their own sequences, as a model run alone does",
          "[backend][concurrency][nn]") {
  const std::string path = std::string(BBS_TEST_DATA_DIR) + "/models/tiny_lstm.bbsm";
  const auto shared = bbs::nn::load_model<bbs::fixed16<12>>(path);
  const auto alone = bbs::nn::load_model<bbs::fixed16<12>>(path);
  using A = bbs::fixed16<12>;
  const bbs::index features = shared.input_shape().features;
  std::vector<Eigen::Matrix<A, Eigen::Dynamic, Eigen::Dynamic>> inputs, want;
  for (int t = 0; t < kThreads; ++t) {
    const Eigen::MatrixXf xf = random_dense<float>(features, 6, 100 + static_cast<std::uint32_t>(t)) * 0.5f;
    inputs.push_back(bbs::quantize<A>(xf).value);
  }
  // Expected outputs first, on another load of the file: `shared` runs its first product below.
  for (const auto& in : inputs) want.push_back(alone.forward(in, 2));  // 3 frames, batch 2
  const long mismatches = run_together([&](int t) {
    long bad = 0;
    for (int r = 0; r < kRounds; ++r) bad += !same_bits(shared.forward(inputs[t], 2), want[t]);
    return bad;
  });
  CHECK(mismatches == 0);
}

// LSTM step latency at batch 1 (one frame of streaming recognition): bbs's nn::Lstm on the simd
// backend, float32 and fixed16<12> weights at 87.5 % bank-balanced sparsity (bank 64, 8 kept),
// against a dense Eigen float32 LSTM of the same shape (gates = W_ih x + W_hh h + b, then the
// same element-wise cell). Input size = hidden size H = 256, 512, 1024; one layer; one thread
// (Eigen::setNbThreads(1); the simd backend never starts threads).
//
// Issue 5's targets (H = 1024): bbs float >= 5x faster than dense Eigen float, fixed16 >= 1.3x
// faster than bbs float. Names: lstm_step/impl:<bbs_simd|eigen_dense>/type:<t>/hidden:<H>.
#include <benchmark/benchmark.h>

#include <bbs/bbs.hpp>

#include <cmath>
#include <string>

namespace {

const bbs::BankConfig kBanks = bbs::BankConfig::from_sparsity(64, 0.875);

bbs::nn::RecurrentDenseWeights random_weights(bbs::index hidden) {
  const float scale = 1.0f / std::sqrt(static_cast<float>(hidden));
  bbs::nn::RecurrentDenseWeights w;
  w.weight_ih = scale * Eigen::MatrixXf::Random(4 * hidden, hidden);
  w.weight_hh = scale * Eigen::MatrixXf::Random(4 * hidden, hidden);
  w.bias_ih = scale * Eigen::VectorXf::Random(4 * hidden);
  w.bias_hh = scale * Eigen::VectorXf::Random(4 * hidden);
  return w;
}

template <typename T>
void bbs_lstm_step(benchmark::State& st) {
  using A = bbs::activation_t<T>;
  const bbs::index hidden = st.range(0);
  const auto lstm = bbs::nn::Lstm<T, bbs::backend::simd>::from_dense({random_weights(hidden)}, 1, false, kBanks);
  bbs::nn::Matrix<A> x(hidden, 1);
  const Eigen::VectorXf xf = 0.5f * Eigen::VectorXf::Random(hidden);
  for (bbs::index i = 0; i < hidden; ++i) x(i, 0) = bbs::nn::elementwise<A>::from_float(xf(i));
  auto state = lstm.zero_state(1);
  for (auto _ : st) {
    benchmark::DoNotOptimize(lstm.step(x, state).data());
  }
  st.counters["weights_kept"] = static_cast<double>(lstm.cell(0, 0).weight_ih().nonZeros() * 2);
}

void eigen_dense_lstm_step(benchmark::State& st) {
  Eigen::setNbThreads(1);
  const bbs::index hidden = st.range(0);
  const auto w = random_weights(hidden);
  const Eigen::VectorXf b = w.bias_ih + w.bias_hh;
  const Eigen::VectorXf x = 0.5f * Eigen::VectorXf::Random(hidden);
  Eigen::VectorXf h = Eigen::VectorXf::Zero(hidden), c = Eigen::VectorXf::Zero(hidden), g(4 * hidden);
  for (auto _ : st) {
    g.noalias() = w.weight_ih * x;
    g.noalias() += w.weight_hh * h;
    g += b;
    const auto sigmoid = [](const auto& v) { return 1.0f / (1.0f + (-v).exp()); };
    const Eigen::ArrayXf i = sigmoid(g.segment(0, hidden).array());
    const Eigen::ArrayXf f = sigmoid(g.segment(hidden, hidden).array());
    const Eigen::ArrayXf o = sigmoid(g.segment(3 * hidden, hidden).array());
    c = (f * c.array() + i * g.segment(2 * hidden, hidden).array().tanh()).matrix();
    h = (o * c.array().tanh()).matrix();
    benchmark::DoNotOptimize(h.data());
  }
}

void register_all() {
  for (long hidden : {256, 512, 1024}) {
    const std::string suffix = "/hidden:" + std::to_string(hidden);
    benchmark::RegisterBenchmark(("lstm_step/impl:bbs_simd/type:float32" + suffix).c_str(), bbs_lstm_step<float>)
        ->Arg(hidden);
    benchmark::RegisterBenchmark(("lstm_step/impl:bbs_simd/type:fixed16<12>" + suffix).c_str(),
                                 bbs_lstm_step<bbs::fixed16<12>>)
        ->Arg(hidden);
    benchmark::RegisterBenchmark(("lstm_step/impl:eigen_dense/type:float32" + suffix).c_str(), eigen_dense_lstm_step)
        ->Arg(hidden);
  }
}

}  // namespace

int main(int argc, char** argv) {
  register_all();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

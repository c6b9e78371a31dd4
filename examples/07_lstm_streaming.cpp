// 07: an LSTM acoustic model streaming frame by frame, as on-line speech recognition runs it:
// batch 1, one 40-dimensional feature frame at a time, the state carried from call to call.
// The weights are pruned to 87.5 % bank-balanced sparsity; the same model in 16-bit fixed point
// runs beside it. The program checks that streaming gives the whole-sequence result and that a
// plain dense LSTM with the pruned weights agrees, and exits non-zero otherwise.
#include <bbs/bbs.hpp>

#include <cmath>
#include <cstdio>
#include <vector>

namespace {

/// A dense one-layer LSTM step with PyTorch's gate order, the check of the sparse one.
void dense_lstm_step(const Eigen::MatrixXf& w_ih, const Eigen::MatrixXf& w_hh, const Eigen::VectorXf& b,
                     const Eigen::VectorXf& x, Eigen::VectorXf& h, Eigen::VectorXf& c) {
  const Eigen::Index n = h.size();
  const Eigen::VectorXf g = w_ih * x + w_hh * h + b;
  const auto sigmoid = [](const Eigen::VectorXf& v) { return (1.0f / (1.0f + (-v.array()).exp())).matrix().eval(); };
  const Eigen::VectorXf i = sigmoid(g.segment(0, n)), f = sigmoid(g.segment(n, n)), o = sigmoid(g.segment(3 * n, n));
  c = (f.array() * c.array() + i.array() * g.segment(2 * n, n).array().tanh()).matrix();
  h = (o.array() * c.array().tanh()).matrix();
}

}  // namespace

int main() {
  const bbs::index features = 40, hidden = 128, frames = 50;
  const auto banks = bbs::BankConfig::from_sparsity(16, 0.875);  // banks of 16 columns, 2 kept

  // Weights as PyTorch's nn.LSTM(40, 128) would hold them (uniform in +-1/sqrt(hidden)).
  const float scale = 1.0f / std::sqrt(static_cast<float>(hidden));
  bbs::nn::RecurrentDenseWeights w;
  w.weight_ih = scale * Eigen::MatrixXf::Random(4 * hidden, features);
  w.weight_hh = scale * Eigen::MatrixXf::Random(4 * hidden, hidden);
  w.bias_ih = scale * Eigen::VectorXf::Random(4 * hidden);
  w.bias_hh = scale * Eigen::VectorXf::Random(4 * hidden);
  const auto lstm = bbs::nn::Lstm<float>::from_dense({w}, 1, false, banks);
  const auto lstm_q = bbs::nn::Lstm<bbs::fixed16<12>>::from_dense({w}, 1, false, banks);
  const Eigen::MatrixXf xs = Eigen::MatrixXf::Random(features, frames);  // one column per frame

  // Streaming: one frame per call; the state object is all that carries over.
  auto state = lstm.zero_state(1);
  auto state_q = lstm_q.zero_state(1);
  Eigen::MatrixXf streamed(hidden, frames);
  double fixed_error = 0;
  for (bbs::index t = 0; t < frames; ++t) {
    streamed.col(t) = lstm.step(xs.col(t), state);
    const auto h_q = lstm_q.step(bbs::quantize<bbs::fixed16<12>>(xs.col(t)).value, state_q);
    for (bbs::index j = 0; j < hidden; ++j) {
      fixed_error = std::max(fixed_error, std::abs(static_cast<double>(h_q(j, 0)) - streamed(j, t)));
    }
  }

  // The whole sequence at once (its input products are one SpMM over all frames).
  auto whole_state = lstm.zero_state(1);
  const Eigen::MatrixXf whole = lstm.forward(xs, 1, whole_state);

  // A dense LSTM with the pruned weights.
  const auto& cell = lstm.cell(0, 0);
  const Eigen::MatrixXf w_ih = cell.weight_ih().toDense(), w_hh = cell.weight_hh().toDense();
  Eigen::VectorXf h = Eigen::VectorXf::Zero(hidden), c = Eigen::VectorXf::Zero(hidden);
  double dense_error = 0;
  for (bbs::index t = 0; t < frames; ++t) {
    dense_lstm_step(w_ih, w_hh, cell.bias(), xs.col(t), h, c);
    dense_error = std::max(dense_error, static_cast<double>((h - streamed.col(t)).cwiseAbs().maxCoeff()));
  }

  const double stream_error = (streamed - whole).cwiseAbs().maxCoeff();
  std::printf("LSTM %td -> %td, %td frames, %.1f %% sparse (%td of %td weights kept)\n", features, hidden, frames,
              100.0 * (1.0 - static_cast<double>(banks.nnz_per_bank) / static_cast<double>(banks.bank_size)),
              cell.weight_ih().nonZeros() + cell.weight_hh().nonZeros(), 4 * hidden * (features + hidden));
  std::printf("max |streamed - whole sequence| = %.3g\n", stream_error);
  std::printf("max |bbs - dense LSTM with the pruned weights| = %.3g\n", dense_error);
  std::printf("max |fixed16<12> - float| over the stream = %.3g\n", fixed_error);
  const bool ok = stream_error <= 1e-5 && dense_error <= 1e-5 && fixed_error <= 0.02;
  std::printf("%s\n", ok ? "OK" : "MISMATCH");
  return ok ? 0 : 1;
}

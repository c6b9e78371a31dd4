// LSTM with PyTorch's semantics (torch.nn.LSTM, batch_first = false) on bank-balanced weights:
//   i = sigmoid(W_ii x + b_ii + W_hi h + b_hi)      rows [0, H) of weight_ih / weight_hh
//   f = sigmoid(W_if x + b_if + W_hf h + b_hf)      rows [H, 2H)
//   g = tanh   (W_ig x + b_ig + W_hg h + b_hg)      rows [2H, 3H)
//   o = sigmoid(W_io x + b_io + W_ho h + b_ho)      rows [3H, 4H)
//   c' = f * c + i * g,  h' = o * tanh(c'),  and with a projection (LSTMP) h' = W_hr h'.
//
// W_ih and W_hh stay two matrices rather than the paper's fused [W_ih W_hh] on [x; h]: the input
// half of a whole sequence is then one SpMM over every frame (T * B columns) before the time
// loop, leaving only W_hh h on the sequential path; the matrices are PyTorch's tensors one to
// one (no bank straddles the x / h boundary, so pruning sees the same rows PyTorch has); and the
// cost is one extra kernel call per step (beta = 1 accumulates the second product).
#pragma once

#include <utility>

#include "bbs/nn/layer_common.hpp"
#include "bbs/nn/recurrent.hpp"

namespace bbs {
namespace nn {

/// One direction of one LSTM layer: weights of value type T (float, double, fixed16<F>,
/// Eigen::bfloat16, Eigen::half), products on Backend through bbs::kernel. Activations are
/// activation_t<T>: float for float and 16-bit float weights, fixed16<F> for fixed-point weights.
template <typename T, typename Backend = backend::automatic>
class LstmCell {
 public:
  using value_type = T;
  using activation_type = activation_t<T>;
  using ops = elementwise<activation_type>;
  static constexpr const char* name = "LSTM";

  /// h (output_size x batch) and c (hidden_size x batch).
  struct State {
    Matrix<activation_type> h;
    Matrix<activation_type> c;
  };

  /// weight_ih: 4H x input, weight_hh: 4H x output, bias: 4H (bias_ih + bias_hh), weight_hr:
  /// proj x H or a 0 x 0 matrix for no projection (output = H). Throws shape_error otherwise.
  LstmCell(BbsMatrix<T> weight_ih, BbsMatrix<T> weight_hh, Vector<activation_type> bias, BbsMatrix<T> weight_hr = {})
      : w_ih_(std::move(weight_ih)), w_hh_(std::move(weight_hh)), w_hr_(std::move(weight_hr)), bias_(std::move(bias)) {
    impl::agreed_gate_rows("LstmCell", 4, "i, f, g, o",
                           {{"weight_ih", w_ih_.rows(), w_ih_.cols()},
                            {"weight_hh", w_hh_.rows(), w_hh_.cols()},
                            {"the bias", bias_.rows(), bias_.cols()}});
    const index h = hidden_size();
    if (has_projection() && w_hr_.cols() != h) {
      detail::throw_error<shape_error>("LstmCell: weight_hr is ", w_hr_.rows(), " x ", w_hr_.cols(), ", expected ",
                                       "proj_size x hidden_size ", h);
    }
    impl::require_shape(w_hh_, 4 * h, output_size(), "LstmCell", "weight_hh (4 hidden x output size)");
    impl::require_shape(bias_, 4 * h, 1, "LstmCell", "the bias (4 hidden)");
  }

  /// Prunes PyTorch's dense weights with cfg (and quantizes them for 16-bit T); the two biases
  /// are summed in double and converted once.
  static LstmCell from_dense(const RecurrentDenseWeights& w, const BankConfig& cfg) {
    if (w.bias_ih.size() != w.bias_hh.size()) {
      detail::throw_error<shape_error>("LstmCell: bias_ih has ", w.bias_ih.size(), " entries and bias_hh ",
                                       w.bias_hh.size(), ", expected the same (4 hidden)");
    }
    const Eigen::VectorXd bias = w.bias_ih.cast<double>() + w.bias_hh.cast<double>();
    BbsMatrix<T> w_hr = w.weight_hr.size() == 0 ? BbsMatrix<T>() : impl::prune_to<T>(w.weight_hr, cfg);
    return LstmCell(impl::prune_to<T>(w.weight_ih, cfg), impl::prune_to<T>(w.weight_hh, cfg),
                    impl::to_activations<activation_type>(bias), std::move(w_hr));
  }

  index input_size() const { return w_ih_.cols(); }
  index hidden_size() const { return w_ih_.rows() / 4; }
  bool has_projection() const { return w_hr_.rows() > 0; }
  /// Rows of h: proj_size with a projection, else hidden_size.
  index output_size() const { return has_projection() ? w_hr_.rows() : hidden_size(); }
  const BbsMatrix<T>& weight_ih() const { return w_ih_; }
  const BbsMatrix<T>& weight_hh() const { return w_hh_; }
  const BbsMatrix<T>& weight_hr() const { return w_hr_; }
  const Vector<activation_type>& bias() const { return bias_; }

  State zero_state(index batch) const {
    return {Matrix<activation_type>::Zero(output_size(), batch), Matrix<activation_type>::Zero(hidden_size(), batch)};
  }

  /// Throws shape_error unless the state fits this cell and the batch.
  void check_state(const State& state, index batch) const {
    impl::require_shape(state.h, output_size(), batch, "LstmCell", "state h (output size x batch)");
    impl::require_shape(state.c, hidden_size(), batch, "LstmCell", "state c (hidden size x batch)");
  }

  /// One frame, x: input_size x batch; updates the state and returns h.
  Matrix<activation_type> step(const Matrix<activation_type>& x, State& state) const {
    return run(x, x.cols(), state, false);
  }

  /// A sequence xs: input_size x (T * batch), column t * batch + b. Returns h of every frame,
  /// output_size x (T * batch), in frame order; `state` holds the final state afterwards.
  /// reverse = true walks the frames from T - 1 down to 0 (the backward direction).
  Matrix<activation_type> run(const Matrix<activation_type>& xs, index batch, State& state, bool reverse) const {
    // Gates of every frame: bias, plus W_ih x for all frames in one product.
    impl::frames_of(xs.cols(), batch, "LstmCell");  // the batch itself first
    check_state(state, batch);
    Matrix<activation_type> gates = impl::input_gates<Backend>(w_ih_, bias_, xs, batch, "LstmCell");
    const index h = hidden_size();
    const index g = 4 * h;
    const index columns = xs.cols();
    const index frames = columns / batch;
    Matrix<activation_type> out(output_size(), columns);
    Matrix<activation_type> cell_out(h, batch);  // o * tanh(c) before the projection
    for (index step = 0; step < frames; ++step) {
      const index t = reverse ? frames - 1 - step : step;
      activation_type* gt = gates.data() + t * batch * g;
      impl::multiply_columns(Backend{}, w_hh_, batch, state.h.data(), output_size(), scalar_t<T>(1), gt, g);
      for (index b = 0; b < batch; ++b) {
        activation_type* gb = gt + b * g;  // i, f, g, o pre-activations, then activations
        kernel::sigmoid_in_place(Backend{}, gb, 2 * h);
        kernel::tanh_in_place(Backend{}, gb + 2 * h, h);
        kernel::sigmoid_in_place(Backend{}, gb + 3 * h, h);
        activation_type* cb = state.c.data() + b * h;
        activation_type* ob = cell_out.data() + b * h;
        for (index j = 0; j < h; ++j) {
          cb[j] = ops::multiply_add(gb[h + j], cb[j], gb[j], gb[2 * h + j]);  // f * c + i * g
          ob[j] = cb[j];
        }
        kernel::tanh_in_place(Backend{}, ob, h);
        for (index j = 0; j < h; ++j) ob[j] = ops::multiply(gb[3 * h + j], ob[j]);  // o * tanh(c)
      }
      if (has_projection()) {
        impl::multiply_columns(Backend{}, w_hr_, batch, cell_out.data(), h, scalar_t<T>(0), state.h.data(),
                               output_size());
      } else {
        state.h = cell_out;
      }
      out.middleCols(t * batch, batch) = state.h;
    }
    return out;
  }

 private:
  BbsMatrix<T> w_ih_;
  BbsMatrix<T> w_hh_;
  BbsMatrix<T> w_hr_;
  Vector<activation_type> bias_;
};

/// A multi-layer, optionally bidirectional LSTM (torch.nn.LSTM): see StackedRecurrent.
template <typename T, typename Backend = backend::automatic>
using Lstm = StackedRecurrent<LstmCell<T, Backend>>;

}  // namespace nn
}  // namespace bbs

// GRU with PyTorch's semantics (torch.nn.GRU, batch_first = false) on bank-balanced weights:
//   r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)           rows [0, H) of weight_ih / weight_hh
//   z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)           rows [H, 2H)
//   n = tanh   (W_in x + b_in + r * (W_hn h + b_hn))     rows [2H, 3H)
//   h' = (1 - z) * n + z * h, computed as n + z * (h - n).
// b_hn sits inside r * (...), so the two biases cannot be merged as in the LSTM; the input half
// W_ih x + b_ih of a whole sequence is one SpMM before the time loop (see lstm.hpp for why the
// matrices stay separate).
#pragma once

#include <utility>

#include "bbs/nn/layer_common.hpp"
#include "bbs/nn/recurrent.hpp"

namespace bbs {
namespace nn {

/// One direction of one GRU layer, value type T on Backend (see LstmCell).
template <typename T, typename Backend = backend::automatic>
class GruCell {
 public:
  using value_type = T;
  using activation_type = activation_t<T>;
  using ops = elementwise<activation_type>;
  static constexpr const char* name = "GRU";

  /// h: hidden_size x batch.
  struct State {
    Matrix<activation_type> h;
  };

  /// weight_ih: 3H x input, weight_hh: 3H x H, bias_ih and bias_hh: 3H; shape_error otherwise.
  GruCell(BbsMatrix<T> weight_ih, BbsMatrix<T> weight_hh, Vector<activation_type> bias_ih,
          Vector<activation_type> bias_hh)
      : w_ih_(std::move(weight_ih)), w_hh_(std::move(weight_hh)), b_ih_(std::move(bias_ih)), b_hh_(std::move(bias_hh)) {
    impl::agreed_gate_rows("GruCell", 3, "r, z, n",
                           {{"weight_ih", w_ih_.rows(), w_ih_.cols()},
                            {"weight_hh", w_hh_.rows(), w_hh_.cols()},
                            {"bias_ih", b_ih_.rows(), b_ih_.cols()},
                            {"bias_hh", b_hh_.rows(), b_hh_.cols()}});
    const index h = hidden_size();
    impl::require_shape(w_hh_, 3 * h, h, "GruCell", "weight_hh (3 hidden x hidden)");
    impl::require_shape(b_ih_, 3 * h, 1, "GruCell", "bias_ih (3 hidden)");
    impl::require_shape(b_hh_, 3 * h, 1, "GruCell", "bias_hh (3 hidden)");
  }

  /// Prunes PyTorch's dense weights with cfg (and quantizes them for 16-bit T). weight_hr must
  /// be empty: a GRU has no projection.
  static GruCell from_dense(const RecurrentDenseWeights& w, const BankConfig& cfg) {
    if (w.weight_hr.size() != 0) {
      detail::throw_error<shape_error>("GruCell: weight_hr is ", w.weight_hr.rows(), " x ", w.weight_hr.cols(),
                                       ", expected empty (a GRU has no projection)");
    }
    return GruCell(impl::prune_to<T>(w.weight_ih, cfg), impl::prune_to<T>(w.weight_hh, cfg),
                   impl::to_activations<activation_type>(w.bias_ih.cast<double>()),
                   impl::to_activations<activation_type>(w.bias_hh.cast<double>()));
  }

  index input_size() const { return w_ih_.cols(); }
  index hidden_size() const { return w_ih_.rows() / 3; }
  index output_size() const { return hidden_size(); }
  const BbsMatrix<T>& weight_ih() const { return w_ih_; }
  const BbsMatrix<T>& weight_hh() const { return w_hh_; }
  const Vector<activation_type>& bias_ih() const { return b_ih_; }
  const Vector<activation_type>& bias_hh() const { return b_hh_; }

  State zero_state(index batch) const { return {Matrix<activation_type>::Zero(hidden_size(), batch)}; }

  /// Throws shape_error unless the state fits this cell and the batch.
  void check_state(const State& state, index batch) const {
    impl::require_shape(state.h, hidden_size(), batch, "GruCell", "state h (hidden size x batch)");
  }

  /// One frame, x: input_size x batch; updates the state and returns h.
  Matrix<activation_type> step(const Matrix<activation_type>& x, State& state) const {
    return run(x, x.cols(), state, false);
  }

  /// A sequence xs: input_size x (T * batch), column t * batch + b; returns h of every frame in
  /// frame order, hidden_size x (T * batch). reverse = true walks frames T - 1 down to 0.
  Matrix<activation_type> run(const Matrix<activation_type>& xs, index batch, State& state, bool reverse) const {
    impl::frames_of(xs.cols(), batch, "GruCell");  // the batch itself first
    check_state(state, batch);
    const Matrix<activation_type> input_gates = impl::input_gates<Backend>(w_ih_, b_ih_, xs, batch, "GruCell");
    const index h = hidden_size();
    const index g = 3 * h;
    const index columns = xs.cols();
    const index frames = columns / batch;
    Matrix<activation_type> out(h, columns);
    Matrix<activation_type> hidden_gates(g, batch);
    Vector<activation_type> candidate(h);  // n of one batch entry
    for (index step = 0; step < frames; ++step) {
      const index t = reverse ? frames - 1 - step : step;
      hidden_gates = impl::repeat_columns(b_hh_, batch);
      impl::multiply_columns(Backend{}, w_hh_, batch, state.h.data(), h, scalar_t<T>(1), hidden_gates.data(), g);
      impl::count_saturation("gates", hidden_gates.data(), hidden_gates.size());
      for (index b = 0; b < batch; ++b) {
        const activation_type* gx = input_gates.data() + (t * batch + b) * g;
        activation_type* gh = hidden_gates.data() + b * g;  // r and z become their activations
        for (index j = 0; j < 2 * h; ++j) gh[j] = ops::add(gx[j], gh[j]);
        kernel::sigmoid_in_place(Backend{}, gh, 2 * h);
        activation_type* n = candidate.data();
        for (index j = 0; j < h; ++j) n[j] = ops::add(gx[2 * h + j], ops::multiply(gh[j], gh[2 * h + j]));
        kernel::tanh_in_place(Backend{}, n, h);
        for (index j = 0; j < h; ++j) state.h(j, b) = ops::interpolate(n[j], state.h(j, b), gh[h + j]);
      }
      out.middleCols(t * batch, batch) = state.h;
    }
    impl::count_saturation("input gates", input_gates.data(), input_gates.size());
    impl::count_saturation("output", out.data(), out.size());
    return out;
  }

 private:
  BbsMatrix<T> w_ih_;
  BbsMatrix<T> w_hh_;
  Vector<activation_type> b_ih_;
  Vector<activation_type> b_hh_;
};

/// A multi-layer, optionally bidirectional GRU (torch.nn.GRU): see StackedRecurrent.
template <typename T, typename Backend = backend::automatic>
using Gru = StackedRecurrent<GruCell<T, Backend>>;

}  // namespace nn
}  // namespace bbs

// What LSTM and GRU share: PyTorch-named dense weights of one direction of one layer, and the
// stack of layers and directions (StackedRecurrent) that runs whole sequences or streams frame
// by frame.
//
// Layout: a sequence of T frames of a batch of B is one column-major matrix of
// features x (T * B), column t * B + b: exactly the memory of PyTorch's (T, B, features) tensor
// (batch_first = false), so a frame is a contiguous features x B block.
#pragma once

#include <type_traits>
#include <utility>
#include <vector>

#include <Eigen/Core>

#include "bbs/nn/layer_common.hpp"

namespace bbs {
namespace nn {

/// Dense float weights of one direction of one recurrent layer, named and shaped as PyTorch's
/// state_dict: weight_ih (G x input), weight_hh (G x output), bias_ih and bias_hh (G), with
/// G = 4 * hidden (LSTM: gates i, f, g, o) or 3 * hidden (GRU: r, z, n); weight_hr
/// (proj x hidden) for an LSTM with projection, else empty.
struct RecurrentDenseWeights {
  Eigen::MatrixXf weight_ih;
  Eigen::MatrixXf weight_hh;
  Eigen::VectorXf bias_ih;
  Eigen::VectorXf bias_hh;
  Eigen::MatrixXf weight_hr;
};

namespace impl {

/// Whether a cell type has per-tensor fixed-point formats (LstmCell).
template <typename Cell, typename = void>
struct has_formats : std::false_type {};
template <typename Cell>
struct has_formats<Cell, std::void_t<decltype(std::declval<const Cell&>().formats())>> : std::true_type {};

/// Frames in a sequence matrix of `columns` columns for a batch; shape_error if it does not divide.
inline index frames_of(index columns, index batch, const char* owner) {
  if (batch < 1) detail::throw_error<shape_error>(owner, ": batch is ", batch, ", expected at least 1");
  if (columns % batch != 0) {
    detail::throw_error<shape_error>(owner, ": the sequence has ", columns,
                                     " columns, expected a multiple of the batch ", batch, " (column t * batch + b)");
  }
  return columns / batch;
}

/// The input half of a cell's gates for a whole sequence: bias + alpha W_ih xs for every frame in
/// one product (xs: input x (frames * batch)). Checks xs against the cell's input size first.
template <typename Backend, typename T>
Matrix<activation_t<T>> input_gates(const BbsMatrix<T>& w_ih, const Vector<activation_t<T>>& bias,
                                    const Matrix<activation_t<T>>& xs, index batch, const char* owner,
                                    scalar_t<T> alpha = scalar_t<T>(1)) {
  frames_of(xs.cols(), batch, owner);
  if (xs.rows() != w_ih.cols()) {
    detail::throw_error<shape_error>(owner, ": the input has ", xs.rows(), " rows, expected input_size ", w_ih.cols());
  }
  Matrix<activation_t<T>> gates = repeat_columns(bias, xs.cols());
  multiply_columns(Backend{}, w_ih, xs.cols(), xs.data(), w_ih.cols(), scalar_t<T>(1), gates.data(), w_ih.rows(),
                   alpha);
  return gates;
}

}  // namespace impl

/// Layers x directions of one recurrent cell type (LstmCell, GruCell), wired as PyTorch's
/// nn.LSTM / nn.GRU: layer l > 0 reads the outputs of both directions of layer l - 1 stacked
/// (forward rows first); the state holds one Cell::State per layer and direction, index
/// layer * directions + direction, like PyTorch's h_0 / c_0.
template <typename Cell>
class StackedRecurrent {
 public:
  using cell_type = Cell;
  using activation_type = typename Cell::activation_type;
  using State = std::vector<typename Cell::State>;

  StackedRecurrent() = default;

  /// cells[layer * directions + direction]. Throws shape_error when their sizes do not chain
  /// and config_error for an empty stack or a count that is not layers * directions.
  StackedRecurrent(std::vector<Cell> cells, index num_layers, bool bidirectional)
      : cells_(std::move(cells)), layers_(num_layers), directions_(bidirectional ? 2 : 1) {
    if (layers_ < 1) detail::throw_error<config_error>(Cell::name, " stack: ", layers_, " layers, expected at least 1");
    if (static_cast<index>(cells_.size()) != layers_ * directions_) {
      detail::throw_error<config_error>(Cell::name, " stack: ", cells_.size(), " cells, expected num_layers ", layers_,
                                        " x directions ", directions_, " = ", layers_ * directions_);
    }
    for (index l = 0; l < layers_; ++l) {
      for (index d = 0; d < directions_; ++d) {
        const Cell& c = cell(l, d);
        if (c.hidden_size() != cell(0, 0).hidden_size() || c.output_size() != cell(0, 0).output_size()) {
          detail::throw_error<shape_error>(Cell::name, " stack: layer ", l, " direction ", d, " has hidden size ",
                                           c.hidden_size(), " and output size ", c.output_size(), ", expected ",
                                           cell(0, 0).hidden_size(), " and ", cell(0, 0).output_size(),
                                           " like layer 0");
        }
        const index want = l == 0 ? cell(0, 0).input_size() : directions_ * cell(0, 0).output_size();
        if (c.input_size() != want) {
          detail::throw_error<shape_error>(
              Cell::name, " stack: layer ", l, " direction ", d, " has input size ", c.input_size(), ", expected ",
              want, l == 0 ? " like direction 0" : " (directions x output size of the layer below)");
        }
        if constexpr (impl::has_formats<Cell>::value) check_formats(l, d);
      }
    }
  }

  /// Builds every cell from dense PyTorch weights (weights[layer * directions + direction]),
  /// pruned with one bank configuration for every matrix.
  static StackedRecurrent from_dense(const std::vector<RecurrentDenseWeights>& weights, index num_layers,
                                     bool bidirectional, const BankConfig& cfg) {
    std::vector<Cell> cells;
    cells.reserve(weights.size());
    for (const auto& w : weights) cells.push_back(Cell::from_dense(w, cfg));
    return StackedRecurrent(std::move(cells), num_layers, bidirectional);
  }

  /// The same with each cell's fixed-point formats (formats[layer * directions + direction], as
  /// calibrate_lstm returns them); config_error when the count differs from the weights'.
  template <typename Formats>
  static StackedRecurrent from_dense(const std::vector<RecurrentDenseWeights>& weights, index num_layers,
                                     bool bidirectional, const BankConfig& cfg, const std::vector<Formats>& formats) {
    if (formats.size() != weights.size()) {
      detail::throw_error<config_error>(Cell::name, " stack: ", formats.size(), " formats for ", weights.size(),
                                        " cells, expected one per cell");
    }
    std::vector<Cell> cells;
    cells.reserve(weights.size());
    for (std::size_t i = 0; i < weights.size(); ++i) cells.push_back(Cell::from_dense(weights[i], cfg, formats[i]));
    return StackedRecurrent(std::move(cells), num_layers, bidirectional);
  }

  index num_layers() const { return layers_; }
  index num_directions() const { return directions_; }
  index input_size() const { return cells_.empty() ? 0 : cells_.front().input_size(); }
  /// Rows of the output: directions x the cells' output size.
  index output_size() const { return cells_.empty() ? 0 : directions_ * cells_.front().output_size(); }
  const Cell& cell(index layer, index direction) const {
    return cells_[static_cast<std::size_t>(layer * directions_ + direction)];
  }

  /// Zero state for a batch, what PyTorch uses when no initial state is given.
  State zero_state(index batch) const {
    State s;
    for (const auto& c : cells_) s.push_back(c.zero_state(batch));
    return s;
  }

  /// Runs a whole sequence, input_size x (T * batch), and returns the last layer's outputs,
  /// output_size x (T * batch); `state` goes in as the initial state and comes out as the final
  /// one (the reverse direction's final state is the one after frame 0, as in PyTorch).
  Matrix<activation_type> forward(const Matrix<activation_type>& xs, index batch, State& state) const {
    check_state_count(state);
    check_input(xs, "sequence");
    impl::frames_of(xs.cols(), batch, Cell::name);
    // Every state before any layer runs, so that a bad one leaves the state untouched.
    for (std::size_t i = 0; i < cells_.size(); ++i) cells_[i].check_state(state[i], batch);
    Matrix<activation_type> input = xs;
    for (index l = 0; l < layers_; ++l) {
      // Saturation counts (nn/saturation.hpp) per layer and direction: "l0", "l0_reverse", ...
      const SaturationCounter::Scope forward_scope([l] { return detail::concat("l", l); });
      if (directions_ == 1) {
        input = cell(l, 0).run(input, batch, state[static_cast<std::size_t>(l)], false);
        continue;
      }
      const Matrix<activation_type> fwd = cell(l, 0).run(input, batch, state[static_cast<std::size_t>(2 * l)], false);
      const SaturationCounter::Scope reverse_scope("reverse");
      const Matrix<activation_type> bwd =
          cell(l, 1).run(input, batch, state[static_cast<std::size_t>(2 * l + 1)], true);
      input.resize(fwd.rows() + bwd.rows(), fwd.cols());
      input << fwd, bwd;
    }
    return input;
  }

  /// One frame, input_size x batch, through every layer: streaming. The state carries over to
  /// the next call. Only a unidirectional stack can stream (config_error otherwise).
  Matrix<activation_type> step(const Matrix<activation_type>& x, State& state) const {
    if (directions_ != 1) {
      detail::throw_error<config_error>(Cell::name,
                                        " stack: step() needs a unidirectional stack, this one has 2 directions; "
                                        "run whole sequences with forward()");
    }
    check_input(x, "frame");
    return forward(x, x.cols(), state);
  }

 private:
  /// The input's rows before anything else (a transposed input would otherwise be blamed on the
  /// state, whose batch comes from the input's columns), and at least one column.
  void check_input(const Matrix<activation_type>& x, const char* what) const {
    if (x.rows() != input_size()) {
      detail::throw_error<shape_error>(Cell::name, " stack: the ", what, " is ", x.rows(), " x ", x.cols(),
                                       ", expected input_size ", input_size(), " rows (features x columns)",
                                       x.cols() == input_size() ? "; it looks transposed" : "");
    }
    if (x.cols() == 0) {
      detail::throw_error<shape_error>(Cell::name, " stack: the ", what, " has no columns (", x.rows(),
                                       " x 0), expected at least one (batch x frames)");
    }
  }

  /// Fixed-point formats chain: a cell reads its input in the format the layer below writes (layer
  /// 0: direction 0's), and both directions of a layer write the same format.
  void check_formats(index l, index d) const {
    const auto& f = cell(l, d).formats();
    const int want_input = l == 0 ? cell(0, 0).formats().input : cell(l - 1, 0).formats().output;
    if (f.input != want_input) {
      detail::throw_error<config_error>(Cell::name, " stack: layer ", l, " direction ", d, " reads its input in Q",
                                        f.input, ", expected Q", want_input,
                                        l == 0 ? " like direction 0" : ", the output format of the layer below");
    }
    if (f.output != cell(l, 0).formats().output) {
      detail::throw_error<config_error>(Cell::name, " stack: layer ", l, " direction ", d, " writes Q", f.output,
                                        ", expected Q", cell(l, 0).formats().output,
                                        " like direction 0 (the outputs are stacked)");
    }
  }

  void check_state_count(const State& state) const {
    if (static_cast<index>(state.size()) != layers_ * directions_) {
      detail::throw_error<shape_error>(Cell::name, " stack: the state has ", state.size(), " entries, expected ",
                                       layers_ * directions_, " (layers x directions)");
    }
  }

  std::vector<Cell> cells_;
  index layers_ = 0;
  index directions_ = 1;
};

}  // namespace nn
}  // namespace bbs

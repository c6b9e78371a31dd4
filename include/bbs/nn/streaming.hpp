// Running a loaded model one frame at a time: what a streaming recognizer does as audio arrives.
// Stream keeps every recurrent layer's state between calls, so step() on frames 0, 1, 2, ...
// computes what Sequential::forward computes on the whole sequence: bit for bit in fixed point,
// and within float rounding in float (a sequence's input projections run as one SpMM, a frame's
// as an SpMV). The state is explicit too: state() shows it (copy it to keep it) and set_state() puts it back, so
// one stream can branch (two hypotheses, a paused speaker) or serve many. Opt-in header
// (included by <bbs/speech.hpp>).
#pragma once

#include <any>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bbs/nn/sequential.hpp"

namespace bbs {
namespace nn {

template <typename T, typename Backend = backend::automatic>
class Stream {
 public:
  using activation_type = typename Sequential<T, Backend>::activation_type;
  using LstmLayer = RecurrentLayer<T, Backend, Lstm<T, Backend>>;
  using GruLayer = RecurrentLayer<T, Backend, Gru<T, Backend>>;

  /// What a stream carries from one frame to the next: for every layer of the model, in order,
  /// its recurrent state (an Lstm<T, Backend>::State or Gru<T, Backend>::State, one entry per
  /// stacked layer) or nothing for a frame-wise layer. A value: copying it copies the state.
  struct State {
    std::vector<std::any> layers;
    index frames = 0;  ///< frames run; 0: every recurrent state starts at zero on the next step
    index batch = 0;   ///< the batch of those frames (0 before the first)
  };

  /// A stream over `model`, which must outlive it. The model must take a sequence; its
  /// recurrent layers must be unidirectional, and it must not reduce the sequence (last_step):
  /// config_error names the layer otherwise.
  explicit Stream(const Sequential<T, Backend>& model) : model_(&model) {
    if (model.input_shape().kind != DataKind::sequence) {
      detail::throw_error<config_error>("nn::Stream: the model takes ", model.input_shape().str(),
                                        "; streaming needs a model that takes a sequence");
    }
    for (std::size_t i = 0; i < model.size(); ++i) {
      const Layer<T, Backend>& l = model.layer(i);
      steps_.push_back(step_of(l, i));
      names_.push_back(l.name().empty() ? detail::concat(l.keyword(), i) : l.name());
    }
    state_.layers.resize(model.size());
  }

  index input_size() const { return model_->input_shape().features; }
  index output_size() const { return model_->output_shape().features; }
  /// Frames run since construction or reset().
  index frames() const { return state_.frames; }
  /// The model this stream runs.
  const Sequential<T, Backend>& model() const { return *model_; }

  /// The state after the frames so far; a copy of it, given to set_state() later, continues from here.
  const State& state() const { return state_; }

  /// Continues from `state` (from state() of this stream or of another over the same model).
  /// Checks it whole before taking it: config_error for a state of another model (the number of
  /// layers, or a layer whose state is of another kind), shape_error for one whose matrices do
  /// not fit a layer or the batch; the stream's own state is then unchanged.
  void set_state(State state) {
    const auto where = [](std::size_t i) { return detail::concat("nn::Stream::set_state: layer ", i + 1); };
    if (state.layers.size() != steps_.size()) {
      detail::throw_error<config_error>("nn::Stream::set_state: the state has ", state.layers.size(),
                                        " layers, the model ", steps_.size());
    }
    if (state.frames < 0 || state.batch < 0 || (state.frames > 0) != (state.batch > 0)) {
      detail::throw_error<config_error>("nn::Stream::set_state: ", state.frames, " frames of batch ", state.batch,
                                        " (a state has both or neither)");
    }
    for (std::size_t i = 0; i < steps_.size(); ++i) {
      const Layer<T, Backend>& layer = model_->layer(i);
      if (const auto* lstm = dynamic_cast<const LstmLayer*>(&layer)) {
        check_recurrent_state(*lstm, state.layers[i], state.batch, where(i));
      } else if (const auto* gru = dynamic_cast<const GruLayer*>(&layer)) {
        check_recurrent_state(*gru, state.layers[i], state.batch, where(i));
      } else if (state.layers[i].has_value()) {
        detail::throw_error<config_error>(where(i), " (", layer.keyword(), ") has no state, the given state has one");
      }
    }
    state_ = std::move(state);
  }

  /// Runs one frame (input_size x batch; the batch is fixed by the first frame) through every
  /// layer and returns output_size x batch.
  Matrix<activation_type> step(const Matrix<activation_type>& frame) {
    if (frame.rows() != input_size() || frame.cols() < 1) {
      detail::throw_error<shape_error>("nn::Stream::step: the frame is ", frame.rows(), " x ", frame.cols(),
                                       ", expected ", input_size(), " rows (features) and at least one column");
    }
    if (state_.frames > 0 && frame.cols() != state_.batch) {
      detail::throw_error<shape_error>("nn::Stream::step: the frame has ", frame.cols(), " columns, the stream ",
                                       state_.batch, " (the batch of its first frame; reset() to change it)");
    }
    // In place, with no copy per frame: the frame's shape is checked above, and every layer
    // takes the previous layer's output shape by construction of the model.
    state_.batch = frame.cols();
    Matrix<activation_type> x = frame;
    for (std::size_t i = 0; i < steps_.size(); ++i) {
      const SaturationCounter::Scope scope(names_[i]);
      x = steps_[i](x, state_.frames == 0, state_.layers[i]);
    }
    ++state_.frames;
    return x;
  }

  /// Back to frame 0: every state zero.
  void reset() {
    state_.frames = 0;
    state_.batch = 0;
  }

 private:
  using Step = std::function<Matrix<activation_type>(const Matrix<activation_type>&, bool, std::any&)>;

  template <typename Stack>
  static void check_recurrent_state(const RecurrentLayer<T, Backend, Stack>& layer, const std::any& state, index batch,
                                    const std::string& where) {
    if (batch == 0) return;  // before the first frame: any state is replaced by zeros
    const auto* s = std::any_cast<typename Stack::State>(&state);
    if (s == nullptr) {
      detail::throw_error<config_error>(where, " (", layer.keyword(), ") needs its ", Stack::cell_type::name,
                                        " state, the given state has ", state.has_value() ? "another kind" : "none");
    }
    const Stack& stack = layer.stack();
    if (s->size() != static_cast<std::size_t>(stack.num_layers())) {
      detail::throw_error<config_error>(where, ": the state has ", s->size(), " stacked layers, the ",
                                        Stack::cell_type::name, " ", stack.num_layers());
    }
    for (index l = 0; l < stack.num_layers(); ++l)
      stack.cell(l, 0).check_state((*s)[static_cast<std::size_t>(l)], batch);
  }

  template <typename Stack>
  static Step recurrent_step(const RecurrentLayer<T, Backend, Stack>& layer) {
    const Stack& stack = layer.stack();
    return [&stack](const Matrix<activation_type>& x, bool first, std::any& any_state) {
      if (first) any_state = stack.zero_state(x.cols());
      auto& state = std::any_cast<typename Stack::State&>(any_state);
      if constexpr (RecurrentLayer<T, Backend, Stack>::is_lstm && is_fixed16<T>::value) {
        // As RecurrentLayer::forward: the stack reads Q(input) and writes Q(output).
        const int in = stack.cell(0, 0).formats().input;
        const int out = stack.cell(stack.num_layers() - 1, 0).formats().output;
        Matrix<activation_type> y = x;
        impl::rescale_in_place(y, T::frac_bits, in);
        y = stack.step(y, state);
        impl::rescale_in_place(y, out, T::frac_bits);
        return y;
      } else {
        return stack.step(x, state);
      }
    };
  }

  Step step_of(const Layer<T, Backend>& layer, std::size_t i) const {
    const auto where = [&] { return detail::concat("nn::Stream: layer ", i + 1, " (", layer.keyword(), ")"); };
    if (const auto* lstm = dynamic_cast<const LstmLayer*>(&layer)) {
      if (lstm->stack().num_directions() != 1) {
        detail::throw_error<config_error>(where(), " is bidirectional; it needs the whole sequence");
      }
      return recurrent_step(*lstm);
    }
    if (const auto* gru = dynamic_cast<const GruLayer*>(&layer)) {
      if (gru->stack().num_directions() != 1) {
        detail::throw_error<config_error>(where(), " is bidirectional; it needs the whole sequence");
      }
      return recurrent_step(*gru);
    }
    if (std::string(layer.keyword()) == "last_step") {
      detail::throw_error<config_error>(where(),
                                        " reduces the sequence to its last frame; run the model with "
                                        "forward() on whole sequences");
    }
    // Frame-wise layers (linear, activations): one frame is a sequence of length 1.
    return [&layer](const Matrix<activation_type>& x, bool, std::any&) {
      Activations<activation_type> a;
      a.kind = DataKind::sequence;
      a.columns = x;
      a.batch = x.cols();
      layer.forward(a);
      return std::move(a.columns);
    };
  }

  const Sequential<T, Backend>* model_;
  std::vector<Step> steps_;
  std::vector<std::string> names_;  // each layer's saturation scope
  State state_;
};

}  // namespace nn
}  // namespace bbs

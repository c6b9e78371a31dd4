// Running a loaded model one frame at a time: what a streaming recognizer does as audio arrives.
// Stream keeps every recurrent layer's state between calls, so step() on frames 0, 1, 2, ...
// computes what Sequential::forward computes on the whole sequence: bit for bit in fixed point,
// and within float rounding in float (a sequence's input projections run as one SpMM, a frame's
// as an SpMV). Opt-in header (included by <bbs/speech.hpp>).
#pragma once

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
  }

  index input_size() const { return model_->input_shape().features; }
  index output_size() const { return model_->output_shape().features; }
  /// Frames run since construction or reset().
  index frames() const { return frames_; }

  /// Runs one frame (input_size x batch; the batch is fixed by the first frame) through every
  /// layer and returns output_size x batch.
  Matrix<activation_type> step(const Matrix<activation_type>& frame) {
    if (frame.rows() != input_size() || frame.cols() < 1) {
      detail::throw_error<shape_error>("nn::Stream::step: the frame is ", frame.rows(), " x ", frame.cols(),
                                       ", expected ", input_size(), " rows (features) and at least one column");
    }
    if (frames_ > 0 && frame.cols() != batch_) {
      detail::throw_error<shape_error>("nn::Stream::step: the frame has ", frame.cols(), " columns, the stream ",
                                       batch_, " (the batch of its first frame; reset() to change it)");
    }
    batch_ = frame.cols();
    Matrix<activation_type> x = frame;
    for (std::size_t i = 0; i < steps_.size(); ++i) {
      const SaturationCounter::Scope scope(names_[i]);
      x = steps_[i](x, frames_ == 0);
    }
    ++frames_;
    return x;
  }

  /// Back to frame 0: every state zero.
  void reset() { frames_ = 0; }

 private:
  using Step = std::function<Matrix<activation_type>(const Matrix<activation_type>&, bool)>;

  template <typename Stack>
  static Step recurrent_step(const RecurrentLayer<T, Backend, Stack>& layer) {
    const Stack& stack = layer.stack();
    auto state = std::make_shared<typename Stack::State>();
    return [&stack, state](const Matrix<activation_type>& x, bool first) {
      if (first) *state = stack.zero_state(x.cols());
      if constexpr (RecurrentLayer<T, Backend, Stack>::is_lstm && is_fixed16<T>::value) {
        // As RecurrentLayer::forward: the stack reads Q(input) and writes Q(output).
        const int in = stack.cell(0, 0).formats().input;
        const int out = stack.cell(stack.num_layers() - 1, 0).formats().output;
        Matrix<activation_type> y = x;
        impl::rescale_in_place(y, T::frac_bits, in);
        y = stack.step(y, *state);
        impl::rescale_in_place(y, out, T::frac_bits);
        return y;
      } else {
        return stack.step(x, *state);
      }
    };
  }

  Step step_of(const Layer<T, Backend>& layer, std::size_t i) const {
    using LstmLayer = RecurrentLayer<T, Backend, Lstm<T, Backend>>;
    using GruLayer = RecurrentLayer<T, Backend, Gru<T, Backend>>;
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
    return [&layer](const Matrix<activation_type>& x, bool) {
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
  index frames_ = 0;
  index batch_ = 0;
};

}  // namespace nn
}  // namespace bbs

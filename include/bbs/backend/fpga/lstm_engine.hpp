// An LSTM layer on the RTL engine (backends/fpga/rtl/bbs_lstm_engine.sv): the cell's weights
// are packed into an engine image and loaded once; each run() streams a whole sequence through
// the device (x_t in, y_t out) while h and c stay on chip, as in the paper's accelerator. The
// arithmetic is the fixed16 LstmCell's bit for bit (the engine's gate combine, activation
// tables and cell update follow nn/lstm.hpp and core/fixed_activation.hpp).
//
// Works on any runtime whose program has the bbs_lstm_engine kernel: the Verilator simulation
// (simulated_engine.hpp) here, a card with the packaged RTL kernel elsewhere. Batch 1, one
// direction: the engine's workload is streaming inference.
#pragma once

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include <Eigen/Core>

#include "bbs/backend/fpga/engine_image.hpp"
#include "bbs/backend/fpga/session.hpp"
#include "bbs/core/fixed_formats.hpp"

namespace bbs {
namespace fpga_runtime {

template <int F>
class EngineLstm {
 public:
  using value_type = fixed16<F>;
  using Matrix = Eigen::Matrix<value_type, Eigen::Dynamic, Eigen::Dynamic>;

  /// Packs `cell` (an nn::LstmCell<fixed16<F>, ...>) for the engine build `shape` and loads it.
  /// Throws device_error when it does not fit the build or the program lacks the engine, and
  /// config_error for a cell with per-tensor formats: the engine's datapath computes every tensor
  /// in Q(F) with a 16-bit cell state (run such cells on the CPU backends, or on the fpga
  /// backend's SpMV).
  template <typename Cell>
  EngineLstm(std::shared_ptr<Session> session, const Cell& cell, const EngineShape& shape)
      : session_(std::move(session)) {
    if (session_ == nullptr) detail::throw_error<device_error>("fpga engine: EngineLstm needs a session, got null");
    const fixed_rules::LstmFormats& f = cell.formats();
    const std::pair<const char*, int> fields[] = {
        {"weight_ih", f.weight_ih}, {"weight_hh", f.weight_hh}, {"weight_hr", f.weight_hr},
        {"input", f.input},         {"gates", f.gates},         {"activation", f.activation},
        {"cell", f.cell},           {"hidden", f.hidden},       {"output", f.output}};
    for (const auto& field : fields) {
      if (field.second != F) {
        detail::throw_error<config_error>("fpga engine: the RTL engine computes every tensor in Q", F,
                                          " (one shared format); this cell's ", field.first, " format is Q",
                                          field.second, ": run cells with per-tensor formats on the CPU backends");
      }
    }
    std::vector<std::int16_t> bias(static_cast<std::size_t>(cell.bias().size()));
    for (index i = 0; i < cell.bias().size(); ++i) bias[static_cast<std::size_t>(i)] = cell.bias()(i).raw();
    const auto w_hr = cell.weight_hr().view();
    image_ = pack_engine_image<F>(cell.weight_ih().view(), cell.weight_hh().view(), bias,
                                  cell.has_projection() ? &w_hr : nullptr, shape);
    kernel_ = session_->runtime().open_kernel(engine_kernel_signature());
    const std::size_t image_bytes = image_.words.size() * sizeof(fpga_hw::wide_word);
    image_buffer_ = kernel_->allocate(image_bytes, 1);
    image_buffer_->write(image_.words.data(), image_bytes, 0);
    image_buffer_->sync_to_device();
    for (int arg = 2; arg <= 4; ++arg) spare_[arg - 2] = kernel_->allocate(fpga_hw::word_bytes, arg);
    load();
  }

  /// Loads the image (again): the engine holds one image at a time, so a run after another cell's
  /// load or an SpMV on the same engine needs it; run() does it when the engine refuses its tag.
  void load() {
    kernel_
        ->start({std::int32_t(engine_load), image_buffer_.get(), spare_[0].get(), spare_[1].get(), spare_[2].get(),
                 std::int32_t(0), std::int32_t(0), std::int32_t(0), std::int32_t(0)})
        ->wait();
  }

  const EngineImage& image() const { return image_; }
  index input_size() const { return image_.input_size; }
  index output_size() const { return image_.output_size; }
  index hidden_size() const { return image_.hidden_size; }

  /// Runs the frames xs (input_size x T, batch 1) from state (h: output_size x 1, c: hidden_size
  /// x 1), leaves the final state there and returns every frame's output (output_size x T).
  template <typename State>
  Matrix run(const Matrix& xs, State& state) {
    const index frames = xs.cols();
    if (xs.rows() != input_size()) {
      detail::throw_error<shape_error>("fpga engine: the input has ", xs.rows(), " rows, expected input_size ",
                                       input_size());
    }
    if (state.h.rows() != output_size() || state.h.cols() != 1 || state.c.rows() != hidden_size() ||
        state.c.cols() != 1) {
      detail::throw_error<shape_error>("fpga engine: the state is h ", state.h.rows(), " x ", state.h.cols(), ", c ",
                                       state.c.rows(), " x ", state.c.cols(), "; expected ", output_size(), " x 1 and ",
                                       hidden_size(), " x 1 (batch 1)");
    }
    const index e = image_.shape.lanes();
    const index x_frame = image_.x_words * 32;
    const index y_frame = image_.y_words * 32;
    std::vector<std::int16_t> x(static_cast<std::size_t>(std::max<index>(frames * x_frame, 32)), 0);
    for (index t = 0; t < frames; ++t) {
      for (index i = 0; i < input_size(); ++i) x[static_cast<std::size_t>(t * x_frame + i)] = xs(i, t).raw();
    }
    std::vector<std::int16_t> s(static_cast<std::size_t>((image_.h_words + image_.c_words) * 32 + 32), 0);
    for (index j = 0; j < output_size(); ++j) s[static_cast<std::size_t>(j)] = state.h(j, 0).raw();
    const index c_base = image_.h_words * 32;
    for (index j = 0; j < hidden_size(); ++j) {
      const SlotPlace p = image_.cell_place[static_cast<std::size_t>(j)];
      s[static_cast<std::size_t>(c_base + p.slot * e + p.lane)] = state.c(j, 0).raw();
    }
    auto xb = kernel_->allocate(x.size() * 2, 2);
    auto yb = kernel_->allocate(static_cast<std::size_t>(std::max<index>(frames * y_frame, 32)) * 2, 3);
    auto sb = kernel_->allocate(s.size() * 2, 4);
    xb->write(x.data(), x.size() * 2, 0);
    xb->sync_to_device();
    sb->write(s.data(), s.size() * 2, 0);
    sb->sync_to_device();
    const std::vector<ArgValue> args = {std::int32_t(engine_run),
                                        image_buffer_.get(),
                                        xb.get(),
                                        yb.get(),
                                        sb.get(),
                                        static_cast<std::int32_t>(frames),
                                        std::int32_t(engine_load_state | engine_store_state),
                                        static_cast<std::int32_t>(image_.tag),
                                        std::int32_t(0)};
    try {
      kernel_->start(args)->wait();
    } catch (const device_error&) {
      // The engine holds another image (another cell's, or an SpMV's matrix): load ours, once.
      load();
      kernel_->start(args)->wait();
    }
    std::vector<std::int16_t> y(static_cast<std::size_t>(frames * y_frame));
    yb->sync_from_device();
    if (!y.empty()) yb->read(y.data(), y.size() * 2, 0);
    sb->sync_from_device();
    sb->read(s.data(), s.size() * 2, 0);
    Matrix out(output_size(), frames);
    for (index t = 0; t < frames; ++t) {
      for (index j = 0; j < output_size(); ++j) {
        const SlotPlace p = image_.output_place[static_cast<std::size_t>(j)];
        out(j, t) = value_type::from_raw(y[static_cast<std::size_t>(t * y_frame + p.slot * e + p.lane)]);
      }
    }
    if (frames > 0) state.h = out.col(frames - 1);
    for (index j = 0; j < hidden_size(); ++j) {
      const SlotPlace p = image_.cell_place[static_cast<std::size_t>(j)];
      state.c(j, 0) = value_type::from_raw(s[static_cast<std::size_t>(c_base + p.slot * e + p.lane)]);
    }
    return out;
  }

 private:
  std::shared_ptr<Session> session_;
  EngineImage image_;
  std::unique_ptr<DeviceKernel> kernel_;
  std::unique_ptr<DeviceBuffer> image_buffer_;
  std::unique_ptr<DeviceBuffer> spare_[3];
};

/// A whole nn::Lstm (StackedRecurrent of fixed16 LstmCells: layers, one or two directions, with or
/// without projection) on the engine, as its forward(): each cell is loaded in turn and runs its
/// sequence (the backward direction on the frames in reverse), h and c staying on chip within a
/// sequence. xs: input_size x T (batch 1); `state` holds one State per layer and direction and
/// comes out as the final state. Loading a cell costs a load of its weights, once per call.
template <int F, typename Stack>
Eigen::Matrix<fixed16<F>, Eigen::Dynamic, Eigen::Dynamic> engine_forward(
    const std::shared_ptr<Session>& session, const Stack& stack,
    const Eigen::Matrix<fixed16<F>, Eigen::Dynamic, Eigen::Dynamic>& xs, typename Stack::State& state,
    const EngineShape& shape) {
  using Matrix = Eigen::Matrix<fixed16<F>, Eigen::Dynamic, Eigen::Dynamic>;
  const index dirs = stack.num_directions();
  if (static_cast<index>(state.size()) != stack.num_layers() * dirs) {
    detail::throw_error<shape_error>("fpga engine: the state has ", state.size(), " entries, expected ",
                                     stack.num_layers() * dirs, " (layers x directions)");
  }
  Matrix input = xs;
  for (index l = 0; l < stack.num_layers(); ++l) {
    Matrix outputs;
    for (index d = 0; d < dirs; ++d) {
      EngineLstm<F> device(session, stack.cell(l, d), shape);
      auto& st = state[static_cast<std::size_t>(l * dirs + d)];
      Matrix y;
      if (d == 0) {
        y = device.run(input, st);
      } else {
        y = device.run(Matrix(input.rowwise().reverse()), st).rowwise().reverse();
      }
      Matrix stacked(outputs.rows() + y.rows(), y.cols());
      if (outputs.rows() > 0) stacked.topRows(outputs.rows()) = outputs;
      stacked.bottomRows(y.rows()) = y;
      outputs = std::move(stacked);
    }
    input = std::move(outputs);
  }
  return input;
}

}  // namespace fpga_runtime
}  // namespace bbs

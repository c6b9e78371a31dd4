// Calibration: per-tensor fixed-point formats (core/fixed_formats.hpp) chosen from the ranges a
// float model reaches on representative inputs. Each tensor gets the finest format that holds its
// largest magnitude times a margin; weights, whose values are known exactly, the finest that holds
// their largest entry, unless the product's int32 accumulator, Q(weight + input), could not then
// hold the product's range times the margin: the weight format gives way (fewer fraction bits). Gate activations
// (sigmoid, tanh: |v| <= 1) get Q1.14 by default, which holds 1.0 exactly: a forget gate at 1 keeps a cell state
// unchanged over any number of steps, where Q0.15's largest value, 1 - 2^-15, would decay it.
#pragma once

#include <cmath>
#include <vector>

#include "bbs/core/fixed_formats.hpp"
#include "bbs/nn/lstm.hpp"
#include "bbs/nn/sequential.hpp"

namespace bbs {
namespace nn {

/// How calibration turns ranges into formats.
struct CalibrationOptions {
  /// Activations, states and pre-activations must hold margin x the largest magnitude seen.
  double margin = 2.0;
  /// Fraction bits of sigmoid and tanh outputs (LstmFormats::activation).
  int activation_bits = 14;
  /// The cell state's storage: 16 (int16, the paper's and the RTL engine's datapath) or 32 (an
  /// int32 with 16..30 fraction bits: CPU backends; see fixed_rules::is_wide_cell).
  int cell_bits = 16;
};

/// The finest fraction width f in 0..15 whose int16 range holds `largest` (largest * 2^f rounds
/// to at most 32767); 0 when nothing does.
inline int format_for(double largest) {
  for (int f = 15; f > 0; --f) {
    if (!fixed_rules::rounds_outside(largest, f, fixed_rules::raw_min, fixed_rules::raw_max)) return f;
  }
  return 0;
}

/// The cell state's fraction width for `cell_bits` (16 or 32): format_for, or for an int32 cell
/// the finest width in 16..30 whose range holds `largest` (16 when none does). config_error for
/// other cell_bits.
inline int cell_format_for(double largest, int cell_bits) {
  if (cell_bits == 16) return format_for(largest);
  if (cell_bits != 32)
    detail::throw_error<config_error>("calibration: cell_bits is ", cell_bits, ", expected 16 or 32");
  for (int f = fixed_rules::max_cell_frac_bits; f > 16; --f) {
    if (!fixed_rules::rounds_outside(largest, f, fixed_rules::raw32_min, fixed_rules::raw32_max)) return f;
  }
  return 16;
}

namespace impl {

/// The integer bits (sign excluded) a value of magnitude v needs: the least b >= 0 with v < 2^b.
inline int integer_bits(double v) {
  int b = 0;
  while (b < 62 && v >= std::ldexp(1.0, b)) ++b;
  return b;
}

/// A weight format no finer than the int32 accumulator allows: Q(w + x) sums of magnitude up to
/// `product` (times the margin) need w + x + integer bits <= 31.
inline int weight_format(double largest_weight, int x_bits, double product) {
  return std::max(0, std::min(format_for(largest_weight), 31 - x_bits - integer_bits(product)));
}

template <typename T>
double max_abs_value(const BbsMatrix<T>& m) {
  return max_abs(m.valueData(), m.view().stored_entries());
}

}  // namespace impl

/// Merges into `ranges` (one per cell, layer x direction) the magnitudes the float stack reaches
/// on one sequence xs (input_size x (T * batch), zero initial state).
template <typename Backend>
void observe_lstm(const Lstm<float, Backend>& model, const Matrix<float>& xs, index batch,
                  std::vector<LstmRanges>& ranges) {
  const index layers = model.num_layers();
  const index directions = model.num_directions();
  ranges.resize(static_cast<std::size_t>(layers * directions));
  Matrix<float> input = xs;
  for (index l = 0; l < layers; ++l) {
    Matrix<float> stacked;
    for (index d = 0; d < directions; ++d) {
      auto state = model.cell(l, d).zero_state(batch);
      const Matrix<float> out =
          model.cell(l, d).run(input, batch, state, d == 1, &ranges[static_cast<std::size_t>(l * directions + d)]);
      if (d == 0) {
        stacked = out;
      } else {
        Matrix<float> both(stacked.rows() + out.rows(), out.cols());
        both << stacked, out;
        stacked = std::move(both);
      }
    }
    input = std::move(stacked);
  }
}

/// The formats of every cell (layer x direction) from the ranges observe_lstm gathered. The
/// formats chain: every cell of layer l > 0 reads its input in the output format of layer l - 1,
/// one format per layer output for both directions. value_error when a range is not finite.
template <typename Backend>
std::vector<fixed_rules::LstmFormats> lstm_formats(const Lstm<float, Backend>& model,
                                                   const std::vector<LstmRanges>& ranges,
                                                   const CalibrationOptions& options = {}) {
  const index layers = model.num_layers();
  const index directions = model.num_directions();
  const double m = options.margin;
  std::vector<fixed_rules::LstmFormats> formats;
  for (index l = 0; l < layers; ++l) {
    double layer_output = 0;
    for (index d = 0; d < directions; ++d) {
      layer_output = std::max(layer_output, ranges[static_cast<std::size_t>(l * directions + d)].output);
    }
    for (index d = 0; d < directions; ++d) {
      const LstmRanges& r = ranges[static_cast<std::size_t>(l * directions + d)];
      for (const double v : {r.input, r.input_product, r.recurrent_product, r.gates, r.cell, r.hidden, r.output}) {
        if (!std::isfinite(v)) {
          detail::throw_error<value_error>("calibration: LSTM layer ", l, " direction ", d,
                                           " reached a non-finite value; check the inputs for NaN or infinity");
        }
      }
      const auto& cell = model.cell(l, d);
      fixed_rules::LstmFormats f;
      f.input = l == 0 ? format_for(m * r.input) : formats[static_cast<std::size_t>((l - 1) * directions)].output;
      f.gates = format_for(m * std::max(r.gates, impl::max_abs(cell.bias().data(), cell.bias().size())));
      f.activation = options.activation_bits;
      f.cell = cell_format_for(m * r.cell, options.cell_bits);
      f.output = format_for(m * layer_output);
      f.hidden = cell.has_projection() ? format_for(m * r.hidden) : f.output;
      f.weight_ih = impl::weight_format(impl::max_abs_value(cell.weight_ih()), f.input, m * r.input_product);
      f.weight_hh = impl::weight_format(impl::max_abs_value(cell.weight_hh()), f.output, m * r.recurrent_product);
      f.weight_hr = cell.has_projection()
                        ? impl::weight_format(impl::max_abs_value(cell.weight_hr()), f.hidden, m * r.output)
                        : 0;
      formats.push_back(f);
    }
  }
  return formats;
}

/// Per-tensor formats for every cell of an LSTM stack (formats[layer * directions + direction],
/// what Lstm<fixed16<F>>::from_dense takes), from the float stack `model` run over `sequences`
/// (each input_size x (T * batch), zero initial state). value_error when no sequence is given or
/// a range is not finite.
template <typename Backend>
std::vector<fixed_rules::LstmFormats> calibrate_lstm(const Lstm<float, Backend>& model,
                                                     const std::vector<Matrix<float>>& sequences, index batch,
                                                     const CalibrationOptions& options = {}) {
  if (sequences.empty()) detail::throw_error<value_error>("calibrate_lstm: no calibration sequences");
  std::vector<LstmRanges> ranges;
  for (const Matrix<float>& xs : sequences) observe_lstm(model, xs, batch, ranges);
  return lstm_formats(model, ranges, options);
}

/// Calibrates every LSTM layer of a float model on `batches` (inputs as Sequential::run takes
/// them) and returns the model with those layers carrying their formats (the other layers as
/// they were): save it with save_model and load it as fixed16<F> (docs/MODEL_FORMAT.md,
/// formats=). value_error without batches, shape_error for a batch the model does not take.
template <typename Backend>
Sequential<float, Backend> calibrate(Sequential<float, Backend> model, const std::vector<Activations<float>>& batches,
                                     const CalibrationOptions& options = {}) {
  if (batches.empty()) detail::throw_error<value_error>("calibrate: no calibration inputs");
  using LstmLayer = RecurrentLayer<float, Backend, Lstm<float, Backend>>;
  std::vector<std::vector<LstmRanges>> ranges(model.size());
  for (Activations<float> x : batches) {
    model.check_input(x);
    for (std::size_t i = 0; i < model.size(); ++i) {
      if (const auto* lstm = dynamic_cast<const LstmLayer*>(&model.layer(i))) {
        observe_lstm(lstm->stack(), x.columns, x.batch, ranges[i]);
      }
      model.layer(i).forward(x);
    }
  }
  for (std::size_t i = 0; i < model.size(); ++i) {
    if (const auto* lstm = dynamic_cast<const LstmLayer*>(&model.layer(i))) {
      model.replace(i, lstm->with_formats(lstm_formats(lstm->stack(), ranges[i], options)));
    }
  }
  return model;
}

}  // namespace nn
}  // namespace bbs

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

#include <algorithm>
#include <cmath>
#include <tuple>
#include <utility>

#include "bbs/core/fixed_formats.hpp"
#include "bbs/nn/layer_common.hpp"
#include "bbs/nn/recurrent.hpp"

namespace bbs {
namespace nn {

/// The largest magnitudes one LSTM cell's tensors reached (LstmCell<float or double>::run with a
/// ranges argument): what calibrate_lstm turns into per-tensor fixed-point formats.
struct LstmRanges {
  double input = 0;              ///< x
  double input_product = 0;      ///< W_ih x (the int32 accumulator of that product holds it in Q(w + x))
  double recurrent_product = 0;  ///< W_hh h
  double gates = 0;              ///< pre-activations W_ih x + W_hh h + b
  double cell = 0;               ///< c
  double hidden = 0;             ///< o * tanh(c)
  double output = 0;             ///< h (after the projection, if any)

  void merge(const LstmRanges& o) {
    input = std::max(input, o.input);
    input_product = std::max(input_product, o.input_product);
    recurrent_product = std::max(recurrent_product, o.recurrent_product);
    gates = std::max(gates, o.gates);
    cell = std::max(cell, o.cell);
    hidden = std::max(hidden, o.hidden);
    output = std::max(output, o.output);
  }
};

namespace impl {

/// The largest |value| of n values (float activations: calibration ranges).
template <typename A>
double max_abs(const A* p, index n) {
  double m = 0;
  for (index i = 0; i < n; ++i) m = std::max(m, std::abs(static_cast<double>(p[i])));
  return m;
}

}  // namespace impl

/// One direction of one LSTM layer: weights of value type T (float, double, fixed16<F>,
/// Eigen::bfloat16, Eigen::half), products on Backend through bbs::kernel. Activations are
/// activation_t<T>: float for float and 16-bit float weights, fixed16<F> for fixed-point weights.
///
/// Fixed point: every tensor has its own format (LstmFormats, core/fixed_formats.hpp; the
/// default is fixed16<F>'s for all of them). Matrices and activations keep the container type
/// fixed16<F> but hold raw values in their tensor's format: weight_ih() in Q(formats().weight_ih),
/// the input in Q(input), state h and the outputs in Q(output), state c in Q(cell), the bias in
/// Q(gates). Use quantize_activations / dequantize_activations with those formats at the
/// boundary. A cell format of 16..30 fraction bits keeps the cell state in int32 (State::c_wide;
/// fixed_rules::is_wide_cell), for cell states too large for 16 bits at the precision h needs.
template <typename T, typename Backend = backend::automatic>
class LstmCell {
 public:
  using value_type = T;
  using activation_type = activation_t<T>;
  using ops = elementwise<activation_type>;
  using formats_type = fixed_rules::LstmFormats;
  static constexpr const char* name = "LSTM";

  /// h (output_size x batch) and c (hidden_size x batch). With a wide cell state (fixed point,
  /// formats().cell in 16..30) c is empty and c_wide holds it: raw int32 in Q(cell),
  /// hidden_size x batch (dequantize_cell reads either).
  struct State {
    Matrix<activation_type> h;
    Matrix<activation_type> c;
    Matrix<std::int32_t> c_wide{};
  };

  /// weight_ih: 4H x input, weight_hh: 4H x output, bias: 4H (bias_ih + bias_hh), weight_hr:
  /// proj x H or a 0 x 0 matrix for no projection (output = H). Throws shape_error otherwise.
  /// formats: the fixed-point formats of the tensors (ignored for floating-point T); config_error
  /// when a width is outside 0..15 (the cell: 0..30) or a product cannot be moved into its
  /// output's format.
  LstmCell(BbsMatrix<T> weight_ih, BbsMatrix<T> weight_hh, Vector<activation_type> bias, BbsMatrix<T> weight_hr = {},
           formats_type formats = {})
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
    formats_ = resolve_formats(formats, has_projection());
  }

  /// Prunes PyTorch's dense weights with cfg (and quantizes them for 16-bit T, each matrix in its
  /// own format for fixed point); the two biases are summed in double and converted once.
  static LstmCell from_dense(const RecurrentDenseWeights& w, const BankConfig& cfg, formats_type formats = {}) {
    if (w.bias_ih.size() != w.bias_hh.size()) {
      detail::throw_error<shape_error>("LstmCell: bias_ih has ", w.bias_ih.size(), " entries and bias_hh ",
                                       w.bias_hh.size(), ", expected the same (4 hidden)");
    }
    const formats_type f = resolve_formats(formats, w.weight_hr.size() != 0);
    const Eigen::VectorXd bias = w.bias_ih.cast<double>() + w.bias_hh.cast<double>();
    BbsMatrix<T> w_hr =
        w.weight_hr.size() == 0 ? BbsMatrix<T>() : impl::prune_to<T>(in_format(w.weight_hr, f.weight_hr), cfg);
    return LstmCell(impl::prune_to<T>(in_format(w.weight_ih, f.weight_ih), cfg),
                    impl::prune_to<T>(in_format(w.weight_hh, f.weight_hh), cfg),
                    impl::to_activations<activation_type>(in_format(bias, f.gates)), std::move(w_hr), f);
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
  /// The tensors' fixed-point formats, every field resolved; floating-point T: as given (they do
  /// not change float arithmetic; save_model writes them, for a fixed-point load).
  const formats_type& formats() const { return formats_; }

  /// Whether the cell state is an int32 (fixed point with formats().cell in 16..30).
  bool wide_cell() const { return fixed && fixed_rules::is_wide_cell(formats_.cell); }

  State zero_state(index batch) const {
    if (wide_cell()) {
      return {Matrix<activation_type>::Zero(output_size(), batch), Matrix<activation_type>(),
              Matrix<std::int32_t>::Zero(hidden_size(), batch)};
    }
    return {Matrix<activation_type>::Zero(output_size(), batch), Matrix<activation_type>::Zero(hidden_size(), batch)};
  }

  /// Throws shape_error unless the state fits this cell and the batch.
  void check_state(const State& state, index batch) const {
    impl::require_shape(state.h, output_size(), batch, "LstmCell", "state h (output size x batch)");
    if (wide_cell()) {
      impl::require_shape(state.c_wide, hidden_size(), batch, "LstmCell",
                          "state c_wide (hidden size x batch; this cell's state c is int32)");
    } else {
      impl::require_shape(state.c, hidden_size(), batch, "LstmCell", "state c (hidden size x batch)");
    }
  }

  /// The cell state as floats: c, or c_wide for a wide cell state, in Q(formats().cell); float
  /// and 16-bit float cells: c itself.
  Eigen::MatrixXf dequantize_cell(const State& state) const {
    if (wide_cell())
      return (state.c_wide.template cast<double>() * std::ldexp(1.0, -formats_.cell)).template cast<float>();
    if constexpr (fixed) {
      return dequantize_activations(state.c, formats_.cell);
    } else {
      return state.c.template cast<float>();
    }
  }

  /// One frame, x: input_size x batch; updates the state and returns h.
  Matrix<activation_type> step(const Matrix<activation_type>& x, State& state) const {
    return run(x, x.cols(), state, false);
  }

  /// A sequence xs: input_size x (T * batch), column t * batch + b. Returns h of every frame,
  /// output_size x (T * batch), in frame order; `state` holds the final state afterwards.
  /// reverse = true walks the frames from T - 1 down to 0 (the backward direction). ranges
  /// (floating-point T only): merged with the largest magnitudes this call saw (calibration).
  Matrix<activation_type> run(const Matrix<activation_type>& xs, index batch, State& state, bool reverse,
                              LstmRanges* ranges = nullptr) const {
    // Gates of every frame: bias, plus W_ih x for all frames in one product.
    impl::frames_of(xs.cols(), batch, "LstmCell");  // the batch itself first
    check_state(state, batch);
    const formats_type& f = formats_;
    Matrix<activation_type> gates =
        impl::input_gates<Backend>(w_ih_, bias_, xs, batch, "LstmCell", alpha(f.weight_ih, f.input, f.gates));
    const index h = hidden_size();
    const index g = 4 * h;
    const index columns = xs.cols();
    const index frames = columns / batch;
    Matrix<activation_type> out(output_size(), columns);
    Matrix<activation_type> cell_out(h, batch);  // o * tanh(c) before the projection
    LstmRanges seen;
    Vector<activation_type> before;  // calibration: the gates before W_hh h is added
    if (ranges != nullptr) {
      seen.input = impl::max_abs(xs.data(), xs.size());
      for (index j = 0; j < columns; ++j) {
        for (index r = 0; r < g; ++r) {
          const double p = static_cast<double>(gates(r, j)) - static_cast<double>(bias_(r));
          seen.input_product = std::max(seen.input_product, std::abs(p));
        }
      }
    }
    for (index step = 0; step < frames; ++step) {
      const index t = reverse ? frames - 1 - step : step;
      activation_type* gt = gates.data() + t * batch * g;
      if (ranges != nullptr) before = Eigen::Map<const Vector<activation_type>>(gt, batch * g);
      impl::multiply_columns(Backend{}, w_hh_, batch, state.h.data(), output_size(), scalar_t<T>(1), gt, g,
                             alpha(f.weight_hh, f.output, f.gates));
      if (ranges != nullptr) {
        seen.gates = std::max(seen.gates, impl::max_abs(gt, batch * g));
        for (index k = 0; k < batch * g; ++k) {
          seen.recurrent_product =
              std::max(seen.recurrent_product, std::abs(static_cast<double>(gt[k]) - static_cast<double>(before(k))));
        }
      }
      impl::count_saturation("gates", gt, batch * g);
      if (wide_cell()) {
        for (index b = 0; b < batch; ++b)
          update_wide_cell(gt + b * g, state.c_wide.data() + b * h, cell_out.data() + b * h);
        impl::count_saturation("cell", state.c_wide.data(), state.c_wide.size());
      } else {
        for (index b = 0; b < batch; ++b) update_cell(gt + b * g, state.c.data() + b * h, cell_out.data() + b * h);
        impl::count_saturation("cell", state.c.data(), state.c.size());
      }
      if (has_projection()) impl::count_saturation("hidden", cell_out.data(), cell_out.size());
      if (ranges != nullptr) {
        seen.cell = std::max(seen.cell, impl::max_abs(state.c.data(), state.c.size()));
        seen.hidden = std::max(seen.hidden, impl::max_abs(cell_out.data(), cell_out.size()));
      }
      if (has_projection()) {
        impl::multiply_columns(Backend{}, w_hr_, batch, cell_out.data(), h, scalar_t<T>(0), state.h.data(),
                               output_size(), alpha(f.weight_hr, f.hidden, f.output));
      } else {
        state.h = cell_out;
      }
      out.middleCols(t * batch, batch) = state.h;
    }
    impl::count_saturation("output", out.data(), out.size());
    if (ranges != nullptr) {
      seen.output = impl::max_abs(out.data(), out.size());
      ranges->merge(seen);
    }
    return out;
  }

 private:
  static constexpr bool fixed = is_fixed16<T>::value;
  static constexpr int container_bits() {
    if constexpr (fixed) {
      return T::frac_bits;
    } else {
      return 0;
    }
  }

  /// formats with every -1 resolved to the container's F; config_error naming the first field
  /// outside 0..15 (the cell: 0..30) or the first product whose alpha 2^e is outside Q15.16
  /// (-16 <= e <= 14).
  static formats_type resolve_formats(const formats_type& formats, bool projection) {
    if constexpr (!fixed) return formats;  // kept as given, to be saved with the model
    const formats_type r = formats.resolved(container_bits(), projection);
    if constexpr (fixed) {
      const std::pair<const char*, int> fields[] = {
          {"weight_ih", r.weight_ih}, {"weight_hh", r.weight_hh}, {"weight_hr", r.weight_hr},
          {"input", r.input},         {"gates", r.gates},         {"activation", r.activation},
          {"cell", r.cell},           {"hidden", r.hidden},       {"output", r.output}};
      for (const auto& [field, bits] : fields) {
        const bool cell = std::string(field) == "cell";
        if (bits > (cell ? fixed_rules::max_cell_frac_bits : 15)) {
          detail::throw_error<config_error>(
              "LstmCell: format ", field, " has ", bits, " fraction bits, expected 0..",
              cell ? "30 (an int16 in Q(15-f).f up to 15, an int32 in Q(31-f).f above)" : "15 (an int16 in Q(15-f).f)");
        }
      }
      const std::tuple<const char*, int, int, int> products[] = {{"W_ih x", r.weight_ih, r.input, r.gates},
                                                                 {"W_hh h", r.weight_hh, r.output, r.gates},
                                                                 {"W_hr m", r.weight_hr, r.hidden, r.output}};
      for (const auto& [what, w, x, y] : products) {
        const int e = fixed_rules::kernel_alpha_exponent(w, x, y, container_bits());
        if (!fixed_rules::kernel_alpha_in_range(e)) {
          detail::throw_error<config_error>("LstmCell: ", what, " with formats Q", w, " x Q", x, " -> Q", y, " in ",
                                            T::name.text, " needs alpha 2^", e,
                                            ", outside Q15.16 (2^-16 .. 2^14); choose a container type with F ",
                                            "nearer the weights' and inputs' formats");
        }
      }
    }
    return r;
  }

  /// A dense float tensor scaled into a format: v * 2^(bits - F) (exact), so that fixed16<F>'s
  /// conversion rounds it to Q(bits). Floating-point T: unchanged.
  template <typename M>
  static M in_format(const M& m, int bits) {
    if constexpr (fixed) {
      return m * static_cast<typename M::Scalar>(std::ldexp(1.0, bits - T::frac_bits));
    } else {
      return m;
    }
  }

  /// The kernel alpha that delivers Q(w) x Q(x) products in Q(y) (1 for floating-point T).
  static scalar_t<T> alpha(int w, int x, int y) {
    if constexpr (fixed) {
      return static_cast<scalar_t<T>>(std::ldexp(1.0, fixed_rules::kernel_alpha_exponent(w, x, y, T::frac_bits)));
    } else {
      return scalar_t<T>(1);
    }
  }

  /// One column's element-wise step: gb holds the i, f, g, o pre-activations (overwritten by the
  /// activations), cb the cell state (updated), ob receives o * tanh(c).
  void update_cell(activation_type* gb, activation_type* cb, activation_type* ob) const {
    const index h = hidden_size();
    if constexpr (!fixed) {
      kernel::sigmoid_in_place(Backend{}, gb, 2 * h);
      kernel::tanh_in_place(Backend{}, gb + 2 * h, h);
      kernel::sigmoid_in_place(Backend{}, gb + 3 * h, h);
      for (index j = 0; j < h; ++j) {
        cb[j] = ops::multiply_add(gb[h + j], cb[j], gb[j], gb[2 * h + j]);  // f * c + i * g
        ob[j] = cb[j];
      }
      kernel::tanh_in_place(Backend{}, ob, h);
      for (index j = 0; j < h; ++j) ob[j] = ops::multiply(gb[3 * h + j], ob[j]);  // o * tanh(c)
    } else {
      // Fixed point: every element-wise rule of the tensors' formats (one shared format is the
      // plain fixed16<F> arithmetic, bit for bit) through the kernel dispatch, on raw values.
      const formats_type& f = formats_;
      const std::int16_t* g = activate_gates(gb);
      std::int16_t* c = raw(cb);
      std::int16_t* o = raw(ob);
      kernel::lstm_cell_update_raw(Backend{}, g, g + h, g + 2 * h, c, h, f.activation, f.cell);
      std::copy(c, c + h, o);
      kernel::tanh_raw_in_place(Backend{}, o, h, f.cell, f.activation);              // tanh(c)
      kernel::gate_product_raw(Backend{}, g + 3 * h, o, h, f.activation, f.hidden);  // o * tanh(c)
    }
  }

  /// update_cell for a wide cell state (cw: int32 in Q(cell)): lstm_cell_update_wide, tanh read
  /// straight from the 32-bit value (scalar: the table rule's vector form takes int16 inputs).
  void update_wide_cell(activation_type* gb, std::int32_t* cw, activation_type* ob) const {
    if constexpr (fixed) {
      const index h = hidden_size();
      const formats_type& f = formats_;
      const std::int16_t* g = activate_gates(gb);
      for (index j = 0; j < h; ++j) {
        cw[j] = fixed_rules::lstm_cell_update_wide(g[h + j], cw[j], g[j], g[2 * h + j], f.activation, f.cell);
        const std::int16_t tc = fixed_tanh_raw(cw[j], f.cell, f.activation);
        ob[j] = activation_type::from_raw(fixed_rules::gate_product(g[3 * h + j], tc, f.activation, f.hidden));
      }
    } else {
      (void)gb, (void)cw, (void)ob;
    }
  }

  /// The raw int16 values of fixed-point activations (a fixed16 is its raw value).
  static std::int16_t* raw(activation_type* p) {
    static_assert(sizeof(activation_type) == sizeof(std::int16_t) || !fixed, "a fixed16 is its raw int16");
    return reinterpret_cast<std::int16_t*>(p);
  }

  /// Per-tensor formats (core/fixed_formats.hpp): the pre-activations i, f, g, o of one column,
  /// Q(gates), become the gate activations in Q(activation), in place, through the kernel
  /// dispatch's vectorised table rule. Returns their raw values.
  std::int16_t* activate_gates(activation_type* gb) const {
    const index h = hidden_size();
    const formats_type& f = formats_;
    std::int16_t* g = raw(gb);
    kernel::sigmoid_raw_in_place(Backend{}, g, 2 * h, f.gates, f.activation);      // i, f
    kernel::tanh_raw_in_place(Backend{}, g + 2 * h, h, f.gates, f.activation);     // g
    kernel::sigmoid_raw_in_place(Backend{}, g + 3 * h, h, f.gates, f.activation);  // o
    return g;
  }

  BbsMatrix<T> w_ih_;
  BbsMatrix<T> w_hh_;
  BbsMatrix<T> w_hr_;
  Vector<activation_type> bias_;
  formats_type formats_;
};

/// A multi-layer, optionally bidirectional LSTM (torch.nn.LSTM): see StackedRecurrent.
template <typename T, typename Backend = backend::automatic>
using Lstm = StackedRecurrent<LstmCell<T, Backend>>;

}  // namespace nn
}  // namespace bbs

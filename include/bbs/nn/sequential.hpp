// A sequential container of layers: what a bbs model file (model_file.hpp, docs/MODEL_FORMAT.md)
// loads into. Data flows as Activations of one of three kinds: an NCHW image batch, a sequence
// (features x (T * batch), column t * batch + b) or a feature batch (features x batch). Every
// layer states the shape it turns its input into, and Sequential::add checks that the shapes
// chain when the model is built, so a model that loads runs on any input of its declared shape.
#pragma once

#include <iterator>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <Eigen/Core>

#include "bbs/nn/conv.hpp"
#include "bbs/nn/gru.hpp"
#include "bbs/nn/linear.hpp"
#include "bbs/nn/lstm.hpp"
#include "bbs/nn/pooling.hpp"
#include "bbs/nn/tensor.hpp"

namespace bbs {
namespace nn {

enum class DataKind { image, sequence, features };

/// The shape of the data between two layers, without the batch (and frame) count.
struct DataShape {
  DataKind kind = DataKind::features;
  index channels = 0, height = 0, width = 0;  ///< image
  index features = 0;                         ///< sequence and features

  static DataShape image(index c, index h, index w) { return {DataKind::image, c, h, w, 0}; }
  static DataShape sequence(index f) { return {DataKind::sequence, 0, 0, 0, f}; }
  static DataShape feature_batch(index f) { return {DataKind::features, 0, 0, 0, f}; }

  /// "image 3 x 28 x 28", "sequence of 8 features", "64 features": for messages.
  std::string str() const {
    switch (kind) {
      case DataKind::image:
        return detail::concat("image ", channels, " x ", height, " x ", width);
      case DataKind::sequence:
        return detail::concat("sequence of ", features, " features");
      default:
        return detail::concat(features, " features");
    }
  }
  bool operator==(const DataShape& o) const {
    return kind == o.kind && channels == o.channels && height == o.height && width == o.width && features == o.features;
  }
};

/// The data itself: `image` for DataKind::image, else `columns` (and `batch` always).
template <typename A>
struct Activations {
  DataKind kind = DataKind::features;
  Tensor<A> image;
  Matrix<A> columns;
  index batch = 0;
};

/// A dense tensor to save: values row-major as `values` (rows x cols) and its .npy shape.
struct DenseTensor {
  Eigen::MatrixXf values;
  std::vector<index> shape;
};

/// What save_model writes for one layer: its manifest statement and its tensors.
template <typename T>
struct LayerRecord {
  std::string keyword;
  std::vector<std::pair<std::string, std::string>> keys;  ///< in manifest order
  std::vector<std::pair<std::string, const BbsMatrix<T>*>> sparse;
  std::vector<std::pair<std::string, DenseTensor>> dense;

  template <typename V>
  void key(const std::string& k, const V& v) {
    keys.emplace_back(k, detail::concat(v));
  }
};

/// One layer of a Sequential on value type T and Backend.
template <typename T, typename Backend>
class Layer {
 public:
  using activation_type = activation_t<T>;
  virtual ~Layer() = default;
  /// The manifest keyword: "conv2d", "relu6", ...
  virtual const char* keyword() const = 0;
  /// The layer's name in the model (its tensors' prefix); empty for layers without tensors.
  virtual std::string name() const { return {}; }
  /// The output shape for input `in`; shape_error saying what it expects when `in` does not fit.
  virtual DataShape output_shape(const DataShape& in) const = 0;
  virtual void forward(Activations<activation_type>& x) const = 0;
  virtual LayerRecord<T> record() const = 0;
};

namespace impl {

/// The manifest spelling of LSTM formats (docs/MODEL_FORMAT.md, `formats=`): per cell
/// "w_ih:14,w_hh:13,x:13,gates:11,act:14,c:9,h:14" (fields left at -1 omitted), cells separated
/// by '/'.
inline constexpr std::pair<const char*, int fixed_rules::LstmFormats::*> format_keys[] = {
    {"w_ih", &fixed_rules::LstmFormats::weight_ih}, {"w_hh", &fixed_rules::LstmFormats::weight_hh},
    {"w_hr", &fixed_rules::LstmFormats::weight_hr}, {"x", &fixed_rules::LstmFormats::input},
    {"gates", &fixed_rules::LstmFormats::gates},    {"act", &fixed_rules::LstmFormats::activation},
    {"c", &fixed_rules::LstmFormats::cell},         {"m", &fixed_rules::LstmFormats::hidden},
    {"h", &fixed_rules::LstmFormats::output}};

inline std::string model_format_spec(const std::vector<fixed_rules::LstmFormats>& cells) {
  std::string text;
  for (std::size_t i = 0; i < cells.size(); ++i) {
    if (i > 0) text += "/";
    std::string cell;
    for (const auto& [key, field] : format_keys) {
      if (cells[i].*field >= 0) cell += detail::concat(cell.empty() ? "" : ",", key, ":", cells[i].*field);
    }
    text += cell.empty() ? "-" : cell;
  }
  return text;
}

/// Whether any cell sets any format.
inline bool model_formats_set(const std::vector<fixed_rules::LstmFormats>& cells) {
  for (const auto& c : cells) {
    for (const auto& kf : format_keys) {
      if (c.*kf.second >= 0) return true;
    }
  }
  return false;
}

/// Whether two resolved format sets are equal.
inline bool same_formats(const fixed_rules::LstmFormats& a, const fixed_rules::LstmFormats& b) {
  for (const auto& kf : format_keys) {
    if (a.*kf.second != b.*kf.second) return false;
  }
  return true;
}

/// Fixed-point activations moved from Q(from) to Q(to) (fixed_rules::rescale); a no-op when equal.
template <typename A>
void rescale_in_place(Matrix<A>& m, int from, int to) {
  if (from == to) return;
  for (index i = 0; i < m.size(); ++i) m.data()[i] = A::from_raw(fixed_rules::rescale(m.data()[i].raw(), from, to));
}

/// "linear 'fc'" or "relu6": for messages.
template <typename T, typename Backend>
std::string describe(const Layer<T, Backend>& l) {
  return l.name().empty() ? std::string(l.keyword()) : detail::concat(l.keyword(), " '", l.name(), "'");
}

[[noreturn]] inline void wrong_input(const char* keyword, const std::string& expected, const DataShape& in) {
  detail::throw_error<shape_error>(keyword, ": expects ", expected, ", the data is ", in.str());
}

inline void require_kind(const char* keyword, const DataShape& in, DataKind kind, const char* expected) {
  if (in.kind != kind) wrong_input(keyword, expected, in);
}

inline DenseTensor dense_of(Eigen::MatrixXf values, std::vector<index> shape) {
  return {std::move(values), std::move(shape)};
}

template <typename A>
DenseTensor dense_vector(const Vector<A>& v) {
  Eigen::MatrixXf m(v.size(), 1);
  for (index i = 0; i < v.size(); ++i) m(i, 0) = static_cast<float>(elementwise<A>::to_double(v(i)));
  return {std::move(m), {v.size()}};
}

}  // namespace impl

/// conv2d: Conv2d with its name.
template <typename T, typename Backend>
class Conv2dLayer final : public Layer<T, Backend> {
 public:
  using typename Layer<T, Backend>::activation_type;
  Conv2dLayer(std::string name, Conv2d<T, Backend> conv) : name_(std::move(name)), conv_(std::move(conv)) {}
  const char* keyword() const override { return "conv2d"; }
  std::string name() const override { return name_; }
  DataShape output_shape(const DataShape& in) const override {
    if (in.kind != DataKind::image || in.channels != conv_.in_channels()) {
      impl::wrong_input(keyword(), detail::concat("an image of ", conv_.in_channels(), " channels"), in);
    }
    return DataShape::image(conv_.out_channels(), impl::conv_output_size(in.height, conv_.geometry(), "conv2d"),
                            impl::conv_output_size(in.width, conv_.geometry(), "conv2d"));
  }
  void forward(Activations<activation_type>& x) const override { x.image = conv_.forward(x.image); }
  LayerRecord<T> record() const override {
    LayerRecord<T> r{keyword(), {}, {}, {}};
    const ConvGeometry& g = conv_.geometry();
    r.key("name", name_);
    r.key("in", conv_.in_channels());
    r.key("out", conv_.out_channels());
    r.key("kernel", g.kernel);
    r.key("stride", g.stride);
    r.key("padding", g.padding);
    r.key("bank", conv_.weight().bankSize());
    r.key("nnz", conv_.weight().nnzPerBank());
    r.sparse.emplace_back(name_ + ".weight", &conv_.weight());
    r.dense.emplace_back(name_ + ".bias", impl::dense_vector(conv_.bias()));
    return r;
  }

 private:
  std::string name_;
  Conv2d<T, Backend> conv_;
};

/// depthwise_conv2d: DepthwiseConv2d with its name.
template <typename T, typename Backend>
class DepthwiseConv2dLayer final : public Layer<T, Backend> {
 public:
  using typename Layer<T, Backend>::activation_type;
  DepthwiseConv2dLayer(std::string name, DepthwiseConv2d<T> conv) : name_(std::move(name)), conv_(std::move(conv)) {}
  const char* keyword() const override { return "depthwise_conv2d"; }
  std::string name() const override { return name_; }
  DataShape output_shape(const DataShape& in) const override {
    if (in.kind != DataKind::image || in.channels != conv_.channels()) {
      impl::wrong_input(keyword(), detail::concat("an image of ", conv_.channels(), " channels"), in);
    }
    return DataShape::image(in.channels, impl::conv_output_size(in.height, conv_.geometry(), "depthwise_conv2d"),
                            impl::conv_output_size(in.width, conv_.geometry(), "depthwise_conv2d"));
  }
  void forward(Activations<activation_type>& x) const override { x.image = conv_.forward(x.image); }
  LayerRecord<T> record() const override {
    LayerRecord<T> r{keyword(), {}, {}, {}};
    const ConvGeometry& g = conv_.geometry();
    const index k = g.kernel;
    r.key("name", name_);
    r.key("channels", conv_.channels());
    r.key("kernel", k);
    r.key("stride", g.stride);
    r.key("padding", g.padding);
    Eigen::MatrixXf w(conv_.channels(), k * k);
    for (index i = 0; i < w.rows(); ++i)
      for (index j = 0; j < w.cols(); ++j)
        w(i, j) = static_cast<float>(elementwise<activation_type>::to_double(conv_.weight()(i, j)));
    r.dense.emplace_back(name_ + ".weight", impl::dense_of(std::move(w), {conv_.channels(), 1, k, k}));
    r.dense.emplace_back(name_ + ".bias", impl::dense_vector(conv_.bias()));
    return r;
  }

 private:
  std::string name_;
  DepthwiseConv2d<T> conv_;
};

/// relu and relu6, on any kind of data.
template <typename T, typename Backend>
class ReluLayer final : public Layer<T, Backend> {
 public:
  using typename Layer<T, Backend>::activation_type;
  explicit ReluLayer(bool six) : six_(six) {}
  const char* keyword() const override { return six_ ? "relu6" : "relu"; }
  DataShape output_shape(const DataShape& in) const override { return in; }
  void forward(Activations<activation_type>& x) const override {
    using ops = elementwise<activation_type>;
    activation_type* p = x.kind == DataKind::image ? x.image.data() : x.columns.data();
    const index n = x.kind == DataKind::image ? x.image.size() : x.columns.size();
    for (index i = 0; i < n; ++i) p[i] = six_ ? ops::relu6(p[i]) : ops::relu(p[i]);
  }
  LayerRecord<T> record() const override { return {keyword(), {}, {}, {}}; }

 private:
  bool six_;
};

/// max_pool2d, avg_pool2d (kernel, stride) and global_avg_pool2d.
template <typename T, typename Backend>
class PoolLayer final : public Layer<T, Backend> {
 public:
  using typename Layer<T, Backend>::activation_type;
  enum class Kind { max, average, global_average };
  PoolLayer(Kind kind, index kernel = 2, index stride = 0)
      : kind_(kind), kernel_(kernel), stride_(stride == 0 ? kernel : stride) {
    if (kind_ != Kind::global_average && (kernel_ < 1 || stride_ < 1)) {
      detail::throw_error<config_error>(keyword(), ": kernel ", kernel_, " and stride ", stride_,
                                        ", expected both at least 1");
    }
  }
  const char* keyword() const override {
    return kind_ == Kind::max ? "max_pool2d" : kind_ == Kind::average ? "avg_pool2d" : "global_avg_pool2d";
  }
  DataShape output_shape(const DataShape& in) const override {
    impl::require_kind(keyword(), in, DataKind::image, "an image");
    if (kind_ == Kind::global_average) {
      if (in.height * in.width == 0) impl::wrong_input(keyword(), "an image of at least 1 x 1 pixels", in);
      return DataShape::image(in.channels, 1, 1);
    }
    if (in.height < kernel_ || in.width < kernel_) {
      impl::wrong_input(keyword(), detail::concat("an image of at least ", kernel_, " x ", kernel_, " pixels"), in);
    }
    return DataShape::image(in.channels, (in.height - kernel_) / stride_ + 1, (in.width - kernel_) / stride_ + 1);
  }
  void forward(Activations<activation_type>& x) const override {
    if (kind_ == Kind::max) {
      x.image = max_pool2d(x.image, kernel_, stride_);
    } else if (kind_ == Kind::average) {
      x.image = avg_pool2d(x.image, kernel_, stride_);
    } else {
      x.image = global_avg_pool2d(x.image);
    }
  }
  LayerRecord<T> record() const override {
    LayerRecord<T> r{keyword(), {}, {}, {}};
    if (kind_ != Kind::global_average) {
      r.key("kernel", kernel_);
      r.key("stride", stride_);
    }
    return r;
  }

 private:
  Kind kind_;
  index kernel_, stride_;
};

/// flatten: image N x C x H x W -> features (C H W) x N (torch.flatten(x, 1), transposed);
/// last_step: sequence -> the last frame's features.
template <typename T, typename Backend>
class ReshapeLayer final : public Layer<T, Backend> {
 public:
  using typename Layer<T, Backend>::activation_type;
  explicit ReshapeLayer(bool last_step) : last_step_(last_step) {}
  const char* keyword() const override { return last_step_ ? "last_step" : "flatten"; }
  DataShape output_shape(const DataShape& in) const override {
    if (last_step_) {
      impl::require_kind(keyword(), in, DataKind::sequence, "a sequence");
      return DataShape::feature_batch(in.features);
    }
    impl::require_kind(keyword(), in, DataKind::image, "an image");
    return DataShape::feature_batch(in.channels * in.height * in.width);
  }
  void forward(Activations<activation_type>& x) const override {
    if (last_step_) {
      const index frames = impl::frames_of(x.columns.cols(), x.batch, "last_step");
      if (frames == 0) detail::throw_error<shape_error>("last_step: the sequence has no frames");
      Matrix<activation_type> last = x.columns.rightCols(x.batch);
      x.columns = std::move(last);
    } else {
      x.columns = x.image.as_columns();
      x.image = Tensor<activation_type>();
    }
    x.kind = DataKind::features;
  }
  LayerRecord<T> record() const override { return {keyword(), {}, {}, {}}; }

 private:
  bool last_step_;
};

/// linear: Linear with its name, on features or on every frame of a sequence.
template <typename T, typename Backend>
class LinearLayer final : public Layer<T, Backend> {
 public:
  using typename Layer<T, Backend>::activation_type;
  LinearLayer(std::string name, Linear<T, Backend> linear) : name_(std::move(name)), linear_(std::move(linear)) {}
  const char* keyword() const override { return "linear"; }
  std::string name() const override { return name_; }
  DataShape output_shape(const DataShape& in) const override {
    if (in.kind == DataKind::image || in.features != linear_.in_features()) {
      impl::wrong_input(keyword(), detail::concat(linear_.in_features(), " features (in=", linear_.in_features(), ")"),
                        in);
    }
    DataShape out = in;
    out.features = linear_.out_features();
    return out;
  }
  void forward(Activations<activation_type>& x) const override { x.columns = linear_.forward(x.columns); }
  LayerRecord<T> record() const override {
    LayerRecord<T> r{keyword(), {}, {}, {}};
    r.key("name", name_);
    r.key("in", linear_.in_features());
    r.key("out", linear_.out_features());
    r.key("bank", linear_.weight().bankSize());
    r.key("nnz", linear_.weight().nnzPerBank());
    r.sparse.emplace_back(name_ + ".weight", &linear_.weight());
    r.dense.emplace_back(name_ + ".bias", impl::dense_vector(linear_.bias()));
    return r;
  }

 private:
  std::string name_;
  Linear<T, Backend> linear_;
};

/// lstm and gru: a StackedRecurrent run over the whole sequence from a zero state.
template <typename T, typename Backend, typename Stack>
class RecurrentLayer final : public Layer<T, Backend> {
 public:
  using typename Layer<T, Backend>::activation_type;
  static constexpr bool is_lstm = std::is_same<typename Stack::cell_type, LstmCell<T, Backend>>::value;
  RecurrentLayer(std::string name, Stack stack) : name_(std::move(name)), stack_(std::move(stack)) {}
  const char* keyword() const override { return is_lstm ? "lstm" : "gru"; }
  std::string name() const override { return name_; }
  const Stack& stack() const { return stack_; }
  /// A copy whose cells carry per-tensor fixed-point formats (formats[layer * directions +
  /// direction]; LSTM only; for a float model they are kept and saved with it).
  std::unique_ptr<Layer<T, Backend>> with_formats(const std::vector<fixed_rules::LstmFormats>& formats) const {
    static_assert(is_lstm, "with_formats: per-tensor formats exist for LSTM layers");
    if (formats.size() != static_cast<std::size_t>(stack_.num_layers() * stack_.num_directions())) {
      detail::throw_error<config_error>("with_formats: ", formats.size(), " formats for ",
                                        stack_.num_layers() * stack_.num_directions(), " cells");
    }
    std::vector<typename Stack::cell_type> cells;
    for (index l = 0; l < stack_.num_layers(); ++l) {
      for (index d = 0; d < stack_.num_directions(); ++d) {
        const auto& c = stack_.cell(l, d);
        cells.emplace_back(c.weight_ih(), c.weight_hh(), c.bias(), c.weight_hr(),
                           formats[static_cast<std::size_t>(l * stack_.num_directions() + d)]);
      }
    }
    return std::make_unique<RecurrentLayer>(name_,
                                            Stack(std::move(cells), stack_.num_layers(), stack_.num_directions() == 2));
  }
  DataShape output_shape(const DataShape& in) const override {
    if (in.kind != DataKind::sequence || in.features != stack_.input_size()) {
      impl::wrong_input(
          keyword(),
          detail::concat("a sequence of ", stack_.input_size(), " features (input=", stack_.input_size(), ")"), in);
    }
    return DataShape::sequence(stack_.output_size());
  }
  /// Fixed point with per-tensor formats: the model's activations are in the container's Q(F);
  /// the stack reads Q(input) and writes Q(output), so the layer rescales at both ends.
  void forward(Activations<activation_type>& x) const override {
    auto state = stack_.zero_state(x.batch);
    if constexpr (is_lstm && is_fixed16<T>::value) {
      const int in = stack_.cell(0, 0).formats().input, out = stack_.cell(stack_.num_layers() - 1, 0).formats().output;
      impl::rescale_in_place(x.columns, T::frac_bits, in);
      if (in != T::frac_bits) impl::count_saturation("input rescaled", x.columns.data(), x.columns.size());
      x.columns = stack_.forward(x.columns, x.batch, state);
      impl::rescale_in_place(x.columns, out, T::frac_bits);
      if (out != T::frac_bits) impl::count_saturation("output rescaled", x.columns.data(), x.columns.size());
    } else {
      x.columns = stack_.forward(x.columns, x.batch, state);
    }
  }
  LayerRecord<T> record() const override {
    LayerRecord<T> r{keyword(), {}, {}, {}};
    const auto& first = stack_.cell(0, 0);
    r.key("name", name_);
    r.key("input", stack_.input_size());
    r.key("hidden", first.hidden_size());
    r.key("layers", stack_.num_layers());
    r.key("bidirectional", stack_.num_directions() == 2 ? 1 : 0);
    if constexpr (is_lstm) r.key("proj", first.has_projection() ? first.output_size() : 0);
    // bank= / nnz= only when every matrix shares them: the packed tensors describe themselves, and
    // a dense LSTM (bank = columns) has input-size banks in W_ih and output-size ones in W_hh.
    const auto shares = [&first](const BbsMatrix<T>& m) {
      return m.bankSize() == first.weight_ih().bankSize() && m.nnzPerBank() == first.weight_ih().nnzPerBank();
    };
    bool shared = true;
    for (index l = 0; l < stack_.num_layers(); ++l) {
      for (index d = 0; d < stack_.num_directions(); ++d) {
        const auto& c = stack_.cell(l, d);
        shared = shared && shares(c.weight_ih()) && shares(c.weight_hh());
        if constexpr (is_lstm) shared = shared && (!c.has_projection() || shares(c.weight_hr()));
      }
    }
    if (shared) {
      r.key("bank", first.weight_ih().bankSize());
      r.key("nnz", first.weight_ih().nnzPerBank());
    }
    if constexpr (is_lstm) {
      std::vector<fixed_rules::LstmFormats> formats;
      bool custom = false;
      for (index l = 0; l < stack_.num_layers(); ++l) {
        for (index d = 0; d < stack_.num_directions(); ++d) {
          formats.push_back(stack_.cell(l, d).formats());
          if constexpr (is_fixed16<T>::value) {
            const auto uniform = fixed_rules::LstmFormats{}.resolved(T::frac_bits, first.has_projection());
            custom = custom || !impl::same_formats(formats.back(), uniform);
          }
        }
      }
      if constexpr (is_fixed16<T>::value) {
        if (custom) {
          detail::throw_error<config_error>(
              "save_model: LSTM ", name_,
              " has per-tensor fixed-point formats; its weights cannot be stored in one fixed16 type. Save the float "
              "model with its formats (the formats= key) and load it as fixed16");
        }
      } else if (impl::model_formats_set(formats)) {
        r.key("formats", impl::model_format_spec(formats));
      }
    }
    for (index l = 0; l < stack_.num_layers(); ++l) {
      for (index d = 0; d < stack_.num_directions(); ++d) {
        const auto& c = stack_.cell(l, d);
        const std::string suffix = detail::concat("_l", l, d == 1 ? "_reverse" : "");
        r.sparse.emplace_back(name_ + ".weight_ih" + suffix, &c.weight_ih());
        r.sparse.emplace_back(name_ + ".weight_hh" + suffix, &c.weight_hh());
        if constexpr (is_lstm) {
          r.dense.emplace_back(name_ + ".bias_ih" + suffix, impl::dense_vector(c.bias()));
          if (c.has_projection()) r.sparse.emplace_back(name_ + ".weight_hr" + suffix, &c.weight_hr());
        } else {
          r.dense.emplace_back(name_ + ".bias_ih" + suffix, impl::dense_vector(c.bias_ih()));
          r.dense.emplace_back(name_ + ".bias_hh" + suffix, impl::dense_vector(c.bias_hh()));
        }
      }
    }
    return r;
  }

 private:
  std::string name_;
  Stack stack_;
};

/// Layers run in order on data of a declared input shape. Move-only.
template <typename T, typename Backend = backend::automatic>
class Sequential {
 public:
  using value_type = T;
  using activation_type = activation_t<T>;
  using layer_type = Layer<T, Backend>;

  explicit Sequential(DataShape input = DataShape::feature_batch(0)) : input_(input), output_(input) {}

  /// Appends a layer after checking that it takes the current output shape (shape_error naming
  /// the layer's position and what it expects otherwise).
  Sequential& add(std::unique_ptr<layer_type> layer) {
    try {
      output_ = layer->output_shape(output_);
    } catch (const shape_error& e) {
      detail::throw_error<shape_error>("layer ", layers_.size() + 1, " (", impl::describe(*layer), "): ", e.what());
    }
    layers_.push_back(std::move(layer));
    return *this;
  }

  /// Replaces layer i by one that takes the same input and gives the same output shape
  /// (shape_error otherwise; out_of_range for a bad i).
  Sequential& replace(std::size_t i, std::unique_ptr<layer_type> layer) {
    DataShape in = input_;
    for (std::size_t j = 0; j < i; ++j) in = layers_.at(j)->output_shape(in);
    const DataShape want = layers_.at(i)->output_shape(in);
    DataShape got;
    try {
      got = layer->output_shape(in);
    } catch (const shape_error& e) {
      detail::throw_error<shape_error>("replacing layer ", i + 1, " (", impl::describe(*layers_[i]), "): ", e.what());
    }
    if (!(got == want)) {
      detail::throw_error<shape_error>("replacing layer ", i + 1, " (", impl::describe(*layers_[i]),
                                       "): the new layer gives ", got.str(), ", expected ", want.str());
    }
    layers_[i] = std::move(layer);
    return *this;
  }

  const DataShape& input_shape() const { return input_; }
  const DataShape& output_shape() const { return output_; }
  std::size_t size() const { return layers_.size(); }
  const layer_type& layer(std::size_t i) const { return *layers_.at(i); }

  /// Throws shape_error unless x fits the model's input (kind, shape, batch).
  void check_input(const Activations<activation_type>& x) const {
    if (x.kind != input_.kind) {
      detail::throw_error<shape_error>("Sequential: the model takes ", input_.str(), ", the input is ",
                                       x.kind == DataKind::image ? "an image" : "columns");
    }
    if (x.kind == DataKind::image) {
      const Tensor<activation_type>& t = x.image;
      if (t.channels() != input_.channels || t.height() != input_.height || t.width() != input_.width) {
        detail::throw_error<shape_error>("Sequential: the input is ", t.shape_string(), ", the model takes N x ",
                                         input_.channels, " x ", input_.height, " x ", input_.width);
      }
      return;
    }
    if (x.columns.rows() != input_.features) {
      detail::throw_error<shape_error>("Sequential: the input has ", x.columns.rows(), " rows, the model takes ",
                                       input_.str());
    }
    if (input_.kind == DataKind::sequence) {
      impl::frames_of(x.columns.cols(), x.batch, "Sequential");
    } else if (x.columns.cols() != x.batch) {
      detail::throw_error<shape_error>("Sequential: the input has ", x.columns.cols(), " columns, expected the batch ",
                                       x.batch);
    }
  }

  /// Whether run() (and forward) checks the input and every layer's output for NaN and infinity:
  /// value_error naming the first bad entry and the layer that produced it, instead of a
  /// silently wrong answer. Off by default (a pass over every activation); `bbs eval` turns it
  /// on. Fixed-point models are finite by construction.
  Sequential& set_check_finite(bool on) {
    check_finite_ = on;
    return *this;
  }
  bool checks_finite() const { return check_finite_; }

  /// Runs every layer on `x` (of the input shape and any batch).
  Activations<activation_type> run(Activations<activation_type> x) const {
    check_input(x);
    if (check_finite_) check_finite_activations(x, "Sequential: the input");
    for (std::size_t i = 0; i < layers_.size(); ++i) {
      // Saturation counts (nn/saturation.hpp) by layer: its name, or its keyword and position.
      const layer_type& l = *layers_[i];
      const SaturationCounter::Scope scope(
          [&l, i] { return l.name().empty() ? detail::concat(l.keyword(), i) : l.name(); });
      l.forward(x);
      if (check_finite_) {
        check_finite_activations(
            x, detail::concat("Sequential: the output of layer ", i + 1, " (", impl::describe(l), ")"));
      }
    }
    return x;
  }

  /// An image batch (input image ...) to the output's columns: features x batch (an image
  /// output comes flattened as by `flatten`).
  Matrix<activation_type> forward(const Tensor<activation_type>& images) const {
    Activations<activation_type> x;
    x.kind = DataKind::image;
    x.image = images;
    x.batch = images.batch();
    return columns_of(run(std::move(x)));
  }

  /// A sequence (input sequence: features x (T * batch)) or a feature batch (input features:
  /// features x batch) to the output's columns.
  Matrix<activation_type> forward(const Matrix<activation_type>& xs, index batch) const {
    Activations<activation_type> x;
    x.kind = input_.kind;
    x.columns = xs;
    x.batch = batch;
    return columns_of(run(std::move(x)));
  }

 private:
  static Matrix<activation_type> columns_of(Activations<activation_type> x) {
    if (x.kind == DataKind::image) return x.image.as_columns();
    return std::move(x.columns);
  }

  static void check_finite_activations(const Activations<activation_type>& x, const std::string& what) {
    if (x.kind == DataKind::image) {
      nn::check_finite(x.image.as_columns(), what + " (rows: channel, y, x; columns: images)");
    } else {
      nn::check_finite(x.columns, what);
    }
  }

  DataShape input_;
  DataShape output_;
  std::vector<std::unique_ptr<layer_type>> layers_;
  bool check_finite_ = false;
};

}  // namespace nn
}  // namespace bbs

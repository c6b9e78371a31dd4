// bbs model files (docs/MODEL_FORMAT.md): a ZIP of a text manifest (model.txt), bank-balanced
// weights as CSB files (<tensor>.bbs) and dense tensors as .npy. load_model builds a Sequential
// from one, pruning weights stored dense with each layer's bank configuration and folding
// BatchNorms; load_model_from_state_dict does the same from a manifest and a PyTorch state_dict
// exported as .npz (tools/python/export_state_dict.py); save_model writes a Sequential back, every
// weight packed. Every defect is an exception that names the file, the manifest line and the layer.
#pragma once

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <Eigen/Core>

#include "bbs/io/any_value_type.hpp"
#include "bbs/io/npy.hpp"
#include "bbs/io/zip.hpp"
#include "bbs/nn/sequential.hpp"
#include "bbs/nn/state_dict.hpp"

namespace bbs {
namespace nn {

/// How load_model prunes weights stored dense.
struct ModelOptions {
  /// For a dense weight whose layer has no bank= / nnz=; without it such a weight is an error.
  std::optional<BankConfig> default_bank;
  /// Per layer name: overrides the manifest's bank= / nnz= for weights stored dense.
  std::map<std::string, BankConfig> banks;
  /// When set, receives the quantization report of every bank-balanced weight the load converted
  /// to a 16-bit T, by tensor name (e.g. "rnn.weight_hh_l0"): values, saturated, errors.
  std::map<std::string, QuantizationReport>* quantization_reports = nullptr;
};

namespace impl {
namespace model {

inline constexpr const char* manifest_entry = "model.txt";
inline constexpr const char* manifest_header = "bbs-model 1";

/// One manifest statement: keyword, bare words and key=value words, with accessors that record
/// which keys were read so that finish() can reject the others.
class Statement {
 public:
  Statement(std::string source, int line, const std::string& text) : line_(line) {
    std::istringstream words(text);
    words >> keyword_;
    where_ = detail::concat(source, ": ", manifest_entry, " line ", line, " (", keyword_, ")");
    for (std::string w; words >> w;) {
      const auto eq = w.find('=');
      if (eq == std::string::npos) {
        bare_.push_back(w);
        continue;
      }
      const std::string key = w.substr(0, eq);
      if (key.empty() || eq + 1 == w.size()) fail("malformed word \"", w, "\"; expected key=value");
      if (keys_.count(key) != 0) fail("key \"", key, "\" given twice");
      keys_.emplace(key, w.substr(eq + 1));
    }
  }

  const std::string& keyword() const { return keyword_; }
  const std::string& where() const { return where_; }
  int line() const { return line_; }
  const std::vector<std::string>& bare() const { return bare_; }
  bool has(const std::string& key) const { return keys_.count(key) != 0; }

  std::string text(const std::string& key) const {
    used_.insert(key);
    const auto it = keys_.find(key);
    if (it == keys_.end()) fail("missing key \"", key, "\"");
    return it->second;
  }

  index integer(const std::string& key, index lowest, index highest = std::numeric_limits<int>::max()) const {
    const std::string v = text(key);
    char* end = nullptr;
    errno = 0;
    const long long n = std::strtoll(v.c_str(), &end, 10);
    if (end != v.c_str() + v.size() || errno != 0 || n < lowest || n > highest) {
      fail(key, "=", v, ": expected an integer from ", lowest, " to ", highest);
    }
    return static_cast<index>(n);
  }
  index integer_or(const std::string& key, index fallback, index lowest,
                   index highest = std::numeric_limits<int>::max()) const {
    used_.insert(key);
    return has(key) ? integer(key, lowest, highest) : fallback;
  }
  double real_or(const std::string& key, double fallback) const {
    used_.insert(key);
    if (!has(key)) return fallback;
    const std::string v = text(key);
    char* end = nullptr;
    const double d = std::strtod(v.c_str(), &end);
    if (end != v.c_str() + v.size() || !std::isfinite(d)) fail(key, "=", v, ": expected a finite number");
    return d;
  }

  /// Rejects keys nobody read and bare words beyond `bare_allowed`.
  void finish(std::size_t bare_allowed = 0) const {
    if (bare_.size() > bare_allowed) fail("unexpected word \"", bare_[bare_allowed], "\"");
    for (const auto& k : keys_) {
      if (used_.count(k.first) == 0) fail("unknown key \"", k.first, "\"");
    }
  }

  template <typename... Parts>
  [[noreturn]] void fail(const Parts&... parts) const {
    detail::throw_error<file_error>(where_, ": ", parts...);
  }

 private:
  int line_;
  std::string keyword_;
  std::string where_;
  std::vector<std::string> bare_;
  std::map<std::string, std::string> keys_;
  mutable std::set<std::string> used_;
};

inline std::vector<fixed_rules::LstmFormats> parse_format_spec(const Statement& s, const std::string& text,
                                                               std::size_t cells) {
  std::vector<fixed_rules::LstmFormats> out;
  std::istringstream groups(text);
  for (std::string group; std::getline(groups, group, '/');) {
    fixed_rules::LstmFormats f;
    std::istringstream items(group == "-" ? "" : group);
    for (std::string item; std::getline(items, item, ',');) {
      const auto colon = item.find(':');
      const std::string key = item.substr(0, colon == std::string::npos ? item.size() : colon);
      const auto it = std::find_if(std::begin(nn::impl::format_keys), std::end(nn::impl::format_keys),
                                   [&](const auto& kf) { return key == kf.first; });
      const std::string value = colon == std::string::npos ? "" : item.substr(colon + 1);
      const int top = key == "c" ? fixed_rules::max_cell_frac_bits : 15;  // c above 15: an int32 cell state
      if (it == std::end(nn::impl::format_keys) || value.empty() || value.size() > 2 ||
          value.find_first_not_of("0123456789") != std::string::npos || std::stoi(value) > top) {
        s.fail("formats: \"", item, "\" in cell ", out.size(),
               " is not key:bits with a key of w_ih, w_hh, w_hr, x, gates, act, c, m, h and bits 0..15 (c: 0..30)");
      }
      f.*(it->second) = std::stoi(value);
    }
    out.push_back(f);
  }
  if (out.size() != cells) {
    s.fail("formats: ", out.size(), " cells given ('/'-separated), expected layers x directions = ", cells);
  }
  return out;
}

inline std::vector<Statement> parse_manifest(const std::string& text, const std::string& source) {
  std::vector<Statement> out;
  std::istringstream lines(text);
  std::string line;
  int number = 0;
  bool header = false;
  while (std::getline(lines, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const auto first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line[first] == '#') continue;
    if (!header) {
      if (line.substr(first) != manifest_header) {
        detail::throw_error<file_error>(source, ": ", manifest_entry, " line ", number, ": expected \"",
                                        manifest_header, "\", found \"", line.substr(0, 40), "\"");
      }
      header = true;
      continue;
    }
    out.emplace_back(source, number, line);
  }
  if (!header)
    detail::throw_error<file_error>(source, ": ", manifest_entry, " is empty; expected \"", manifest_header, "\"");
  if (out.empty() || out.front().keyword() != "input") {
    detail::throw_error<file_error>(source, ": ", manifest_entry, ": the first statement must be \"input\"");
  }
  return out;
}

/// The tensors of a model file or state_dict, by name: dense .npy arrays and packed .bbs
/// matrices (kept as bytes until a layer asks). Tracks which were used.
class Tensors {
 public:
  explicit Tensors(std::string source) : source_(std::move(source)) {}

  void add_dense(const std::string& name, NpyArray a) {
    check_new(name);
    dense_.emplace(name, std::move(a));
  }
  void add_packed(const std::string& name, std::vector<unsigned char> bytes, std::string entry_source) {
    check_new(name);
    packed_.emplace(name, std::make_pair(std::move(bytes), std::move(entry_source)));
  }

  bool has(const std::string& name) const { return dense_.count(name) + packed_.count(name) != 0; }
  bool is_packed(const std::string& name) const { return packed_.count(name) != 0; }

  const NpyArray& dense(const std::string& name, const Statement& s) {
    const auto it = dense_.find(name);
    if (it == dense_.end()) {
      if (packed_.count(name) != 0) s.fail("tensor \"", name, "\" is stored packed (.bbs); expected a dense .npy");
      missing(name, s);
    }
    used_.insert(name);
    return it->second;
  }

  /// A packed matrix as float (exact for every stored type but float64) or, when the file holds
  /// exactly T, as T: the caller gets both and uses what it needs.
  const std::pair<std::vector<unsigned char>, std::string>& packed(const std::string& name) {
    used_.insert(name);
    return packed_.at(name);
  }

  [[noreturn]] void missing(const std::string& name, const Statement& s) const {
    std::string have;
    for (const auto& t : dense_) have += (have.empty() ? "" : ", ") + t.first;
    for (const auto& t : packed_) have += (have.empty() ? "" : ", ") + t.first + " (.bbs)";
    s.fail("no tensor \"", name, "\"; the file holds ", have.empty() ? std::string("none") : have);
  }

  void check_all_used() const {
    for (const auto& n : names_) {
      if (used_.count(n) == 0) {
        detail::throw_error<file_error>(source_, ": tensor \"", n, "\" is not used by any layer (a misspelt name?)");
      }
    }
  }

 private:
  void check_new(const std::string& name) {
    if (!names_.insert(name).second) {
      detail::throw_error<file_error>(source_, ": tensor \"", name, "\" is stored twice (.npy and .bbs)");
    }
  }

  std::string source_;
  std::map<std::string, NpyArray> dense_;
  std::map<std::string, std::pair<std::vector<unsigned char>, std::string>> packed_;
  std::set<std::string> names_;
  std::set<std::string> used_;
};

inline std::string shape_text(const std::vector<index>& shape) {
  std::string s = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) s += detail::concat(i == 0 ? "" : ", ", shape[i]);
  return s + (shape.size() == 1 ? ",)" : ")");
}

/// A dense tensor of exactly `shape`, as a float matrix flattened per leading index.
inline Eigen::MatrixXf dense_tensor(Tensors& t, const std::string& name, const std::vector<index>& shape,
                                    const char* meaning, const Statement& s) {
  NpyArray a = t.dense(name, s);
  if (a.shape != shape) {
    s.fail("tensor \"", name, "\" has shape ", shape_text(a.shape), ", expected ", shape_text(shape), " (", meaning,
           ")");
  }
  if (a.fortran_order && shape.size() > 1) s.fail("tensor \"", name, "\" is in Fortran order; expected C order");
  const index rows = shape.empty() ? 1 : shape[0];
  a.shape = {rows, rows == 0 ? 0 : a.size() / rows};
  return a.matrix<float>();
}

inline Eigen::VectorXf optional_vector(Tensors& t, const std::string& name, index n, const Statement& s) {
  if (!t.has(name)) return Eigen::VectorXf::Zero(n);
  return dense_tensor(t, name, {n}, "a vector", s).col(0);
}

/// A float bank-balanced matrix as T: float as it is, other types by bbs::quantize's rule.
template <typename T>
BbsMatrix<T> convert_to(BbsMatrix<float> m, QuantizationReport* report = nullptr) {
  if constexpr (std::is_same<T, float>::value) {
    return m;
  } else if constexpr (std::is_same<T, double>::value) {
    const CsbView<float> v = m.view();
    return detail::with_pattern_of(v, std::vector<double>(v.values, v.values + v.stored_entries()));
  } else {
    auto q = quantize<T>(m);
    if (report != nullptr) *report = q.report;
    return std::move(q.value);
  }
}

/// What a weight-bearing layer needs to fetch its weights.
struct Context {
  Tensors& tensors;
  const ModelOptions& options;
  /// Where the quantization report of tensor `name` converted to T goes (nullptr when nobody
  /// asked, or T is float or double: nothing is quantized).
  template <typename T>
  QuantizationReport* report(const std::string& name) const {
    if (options.quantization_reports == nullptr || std::is_floating_point<T>::value) return nullptr;
    return &(*options.quantization_reports)[name];
  }
};

/// The statement's bank= / nnz=, if it gives them (both or neither).
inline std::optional<BankConfig> manifest_bank(const Statement& s) {
  if (!s.has("bank") && !s.has("nnz")) return std::nullopt;
  const index bank = s.integer("bank", 1, max_bank_size);
  const index nnz = s.integer("nnz", 0, bank);
  return BankConfig{bank, nnz};
}

/// One bank-balanced weight of `rows x cols` (flattened from `shape` when stored dense), with an
/// optional row transform (BatchNorm folding) applied in float before conversion to T. A packed
/// weight is used as it is (and must agree with `declared`); a dense one is pruned with
/// options.banks[layer], else `declared` (the manifest's), else options.default_bank.
template <typename T, typename Fold>
BbsMatrix<T> weight(Context& c, const Statement& s, const std::string& layer, const std::string& name,
                    const std::vector<index>& shape, const char* meaning, const std::optional<BankConfig>& declared,
                    Fold&& fold) {
  const index rows = shape[0];
  index cols = 1;
  for (std::size_t i = 1; i < shape.size(); ++i) cols *= shape[i];
  if (c.tensors.is_packed(name)) {
    const auto& packed = c.tensors.packed(name);
    const FileHeader h = detail::csb_file::parse_header(packed.first.data(), packed.first.size(), packed.second);
    if (h.rows != rows || h.cols != cols) {
      s.fail("tensor \"", name, "\" is ", h.rows, " x ", h.cols, ", expected ", rows, " x ", cols, " (", meaning, ")");
    }
    if (declared && (declared->bank_size != h.config.bank_size || declared->nnz_per_bank != h.config.nnz_per_bank)) {
      s.fail("bank=", declared->bank_size, " nnz=", declared->nnz_per_bank, " but tensor \"", name,
             "\" is packed with bank ", h.config.bank_size, " nnz ", h.config.nnz_per_bank);
    }
    if constexpr (!std::is_same<std::decay_t<Fold>, std::nullptr_t>::value) {
      // Folding scales whole rows, so pruning the folded rows with the file's configuration
      // keeps the file's pattern (up to which zero a bank keeps), with fold_batch_norm's rounding.
      const BbsMatrix<float> f =
          detail::csb_file::parse_as_float(packed.first.data(), packed.first.size(), packed.second);
      Eigen::MatrixXf folded = f.toDense();
      fold(folded);
      return nn::impl::prune_to<T>(folded, f.bankConfig(), c.template report<T>(name));
    }
    if (h.value_type_code == value_traits<T>::file_code) {
      return detail::csb_file::parse<T>(packed.first.data(), packed.first.size(), packed.second);
    }
    return convert_to<T>(detail::csb_file::parse_as_float(packed.first.data(), packed.first.size(), packed.second),
                         c.template report<T>(name));
  }
  if (!c.tensors.has(name)) c.tensors.missing(name, s);
  Eigen::MatrixXf w = dense_tensor(c.tensors, name, shape, meaning, s);
  if constexpr (!std::is_same<std::decay_t<Fold>, std::nullptr_t>::value) fold(w);
  std::optional<BankConfig> cfg = declared;
  const auto override_it = c.options.banks.find(layer);
  if (override_it != c.options.banks.end()) cfg = override_it->second;
  if (!cfg) cfg = c.options.default_bank;
  if (!cfg) {
    s.fail("tensor \"", name,
           "\" is stored dense and the layer has no bank= / nnz= (and the loader no default) to prune it");
  }
  try {
    return nn::impl::prune_to<T>(w, *cfg, c.template report<T>(name));
  } catch (const config_error& e) {
    s.fail(e.what());
  }
}

/// v * 2^(bits - F): a float value that fixed16<F>'s conversion rounds to Q(bits) (bits < 0: F).
template <typename T, typename M>
M scaled(const M& v, int bits) {
  if constexpr (is_fixed16<T>::value) {
    return bits < 0 ? v : M(v * std::ldexp(1.0, bits - T::frac_bits));
  } else {
    return v;
  }
}

/// A float bank-balanced matrix quantized into Q(bits), held in fixed16<F> (same pattern).
template <typename T>
BbsMatrix<T> in_format(BbsMatrix<float> m, int bits, QuantizationReport* report) {
  if constexpr (is_fixed16<T>::value) {
    if (bits >= 0) {
      const float k = static_cast<float>(std::ldexp(1.0, bits - T::frac_bits));
      float* v = m.valueData();
      for (index i = 0; i < m.view().stored_entries(); ++i) v[i] *= k;
    }
  }
  return convert_to<T>(std::move(m), report);
}

}  // namespace model
}  // namespace impl

/// Builds a Sequential from parsed statements and their tensors (the common part of load_model
/// and load_model_from_state_dict).
template <typename T, typename Backend = backend::automatic>
Sequential<T, Backend> build_model(const std::vector<impl::model::Statement>& statements, impl::model::Tensors& tensors,
                                   const ModelOptions& options = {}) {
  using namespace impl::model;
  using A = activation_t<T>;
  Context ctx{tensors, options};
  const Statement& in = statements.front();
  if (in.bare().empty()) in.fail("expected \"input image|sequence|features ...\"");
  DataShape shape;
  if (in.bare()[0] == "image") {
    shape = DataShape::image(in.integer("channels", 1), in.integer("height", 1), in.integer("width", 1));
  } else if (in.bare()[0] == "sequence" || in.bare()[0] == "features") {
    const index f = in.integer("features", 1);
    shape = in.bare()[0] == "sequence" ? DataShape::sequence(f) : DataShape::feature_batch(f);
  } else {
    in.fail("unknown input kind \"", in.bare()[0], "\"; expected image, sequence or features");
  }
  in.finish(1);
  Sequential<T, Backend> model(shape);

  for (std::size_t i = 1; i < statements.size(); ++i) {
    const Statement& s = statements[i];
    const std::string& kw = s.keyword();
    // A BatchNorm that follows a convolution is folded into it.
    const Statement* bn_statement =
        i + 1 < statements.size() && statements[i + 1].keyword() == "batch_norm2d" ? &statements[i + 1] : nullptr;
    std::unique_ptr<Layer<T, Backend>> layer;
    try {
      if (kw == "conv2d" || kw == "depthwise_conv2d") {
        const std::string name = s.text("name");
        const bool depthwise = kw == "depthwise_conv2d";
        const index in_c = s.integer(depthwise ? "channels" : "in", 1);
        const index out_c = depthwise ? in_c : s.integer("out", 1);
        const ConvGeometry g{s.integer("kernel", 1), s.integer_or("stride", 1, 1), s.integer_or("padding", 0, 0)};
        std::optional<BatchNorm2dParams> bn;
        if (bn_statement) {
          const std::string b = bn_statement->text("name");
          const Statement& bs = *bn_statement;
          bn = BatchNorm2dParams{
              optional_vector(tensors, b + ".weight", out_c, bs), optional_vector(tensors, b + ".bias", out_c, bs),
              dense_tensor(tensors, b + ".running_mean", {out_c}, "a vector", bs).col(0),
              dense_tensor(tensors, b + ".running_var", {out_c}, "a vector", bs).col(0), bs.real_or("eps", 1e-5)};
          if (!tensors.has(b + ".weight")) bn->weight.setOnes();
          bs.finish();
          ++i;
        }
        const Eigen::VectorXf bias = optional_vector(tensors, name + ".bias", out_c, s);
        const ConvDenseWeights folded_bias = fold_batch_norm({Eigen::MatrixXf::Zero(out_c, 0), bias, bn});
        const auto fold_rows = [&](Eigen::MatrixXf& w) { w = fold_batch_norm({w, bias, bn}).weight; };
        const std::vector<index> wshape = {out_c, depthwise ? 1 : in_c, g.kernel, g.kernel};
        if (depthwise) {
          Eigen::MatrixXf w = dense_tensor(tensors, name + ".weight", wshape, "channels, 1, kernel, kernel", s);
          fold_rows(w);
          layer = std::make_unique<DepthwiseConv2dLayer<T, Backend>>(
              name, DepthwiseConv2d<T>::from_dense({w, folded_bias.bias, std::nullopt}, g));
        } else {
          const std::optional<BankConfig> declared = manifest_bank(s);
          BbsMatrix<T> w =
              bn ? weight<T>(ctx, s, name, name + ".weight", wshape, "out, in, kernel, kernel", declared, fold_rows)
                 : weight<T>(ctx, s, name, name + ".weight", wshape, "out, in, kernel, kernel", declared, nullptr);
          layer = std::make_unique<Conv2dLayer<T, Backend>>(
              name, Conv2d<T, Backend>(std::move(w), nn::impl::bias_activations<A>(folded_bias.bias), in_c, g));
        }
      } else if (kw == "batch_norm2d") {
        s.fail("batch_norm2d must follow conv2d or depthwise_conv2d directly (it is folded into it)");
      } else if (kw == "relu" || kw == "relu6") {
        layer = std::make_unique<ReluLayer<T, Backend>>(kw == "relu6");
      } else if (kw == "max_pool2d" || kw == "avg_pool2d") {
        const index k = s.integer("kernel", 1);
        layer = std::make_unique<PoolLayer<T, Backend>>(
            kw == "max_pool2d" ? PoolLayer<T, Backend>::Kind::max : PoolLayer<T, Backend>::Kind::average, k,
            s.integer_or("stride", k, 1));
      } else if (kw == "global_avg_pool2d") {
        layer = std::make_unique<PoolLayer<T, Backend>>(PoolLayer<T, Backend>::Kind::global_average);
      } else if (kw == "flatten" || kw == "last_step") {
        layer = std::make_unique<ReshapeLayer<T, Backend>>(kw == "last_step");
      } else if (kw == "linear") {
        const std::string name = s.text("name");
        const index in_f = s.integer("in", 1), out_f = s.integer("out", 1);
        BbsMatrix<T> w = weight<T>(ctx, s, name, name + ".weight", {out_f, in_f}, "out, in", manifest_bank(s), nullptr);
        layer = std::make_unique<LinearLayer<T, Backend>>(
            name, Linear<T, Backend>(
                      std::move(w),
                      nn::impl::to_activations<A>(optional_vector(tensors, name + ".bias", out_f, s).cast<double>())));
      } else if (kw == "lstm" || kw == "gru") {
        const bool lstm = kw == "lstm";
        const std::string name = s.text("name");
        const index input = s.integer("input", 1), hidden = s.integer("hidden", 1);
        const index layers = s.integer_or("layers", 1, 1, 1024);
        const bool bidirectional = s.integer_or("bidirectional", 0, 0, 1) == 1;
        const index proj = lstm ? s.integer_or("proj", 0, 0, hidden - 1) : 0;
        const std::optional<BankConfig> declared = manifest_bank(s);
        const index gates = (lstm ? 4 : 3) * hidden, out = proj > 0 ? proj : hidden, dirs = bidirectional ? 2 : 1;
        std::vector<LstmCell<T, Backend>> lstm_cells;
        std::vector<GruCell<T, Backend>> gru_cells;
        // Per-tensor fixed-point formats (LSTM): fixed-point weights are then read as their values
        // and quantized into each matrix's own format.
        const std::vector<fixed_rules::LstmFormats> formats =
            lstm && s.has("formats") ? parse_format_spec(s, s.text("formats"), static_cast<std::size_t>(layers * dirs))
                                     : std::vector<fixed_rules::LstmFormats>(static_cast<std::size_t>(layers * dirs));
        const bool formatted = is_fixed16<T>::value && nn::impl::model_formats_set(formats);
        for (index l = 0; l < layers; ++l) {
          for (index d = 0; d < dirs; ++d) {
            const std::string sfx = detail::concat("_l", l, d == 1 ? "_reverse" : "");
            const index in_size = l == 0 ? input : dirs * out;
            const fixed_rules::LstmFormats& f = formats[static_cast<std::size_t>(l * dirs + d)];
            const auto matrix = [&](const std::string& tensor, std::vector<index> wshape, const char* meaning,
                                    int bits) {
              if (!formatted) return weight<T>(ctx, s, name, tensor, wshape, meaning, declared, nullptr);
              return in_format<T>(weight<float>(ctx, s, name, tensor, wshape, meaning, declared, nullptr), bits,
                                  ctx.template report<T>(tensor));
            };
            BbsMatrix<T> w_ih = matrix(name + ".weight_ih" + sfx, {gates, in_size}, "gates x input", f.weight_ih);
            BbsMatrix<T> w_hh = matrix(name + ".weight_hh" + sfx, {gates, out}, "gates x output", f.weight_hh);
            const Eigen::VectorXd b_ih = optional_vector(tensors, name + ".bias_ih" + sfx, gates, s).cast<double>();
            const Eigen::VectorXd b_hh = optional_vector(tensors, name + ".bias_hh" + sfx, gates, s).cast<double>();
            if (lstm) {
              BbsMatrix<T> w_hr = proj > 0
                                      ? matrix(name + ".weight_hr" + sfx, {proj, hidden}, "proj x hidden", f.weight_hr)
                                      : BbsMatrix<T>();
              const Eigen::VectorXd bias = b_ih + b_hh;
              lstm_cells.emplace_back(std::move(w_ih), std::move(w_hh),
                                      nn::impl::to_activations<A>(formatted ? scaled<T>(bias, f.gates) : bias),
                                      std::move(w_hr), f);
            } else {
              gru_cells.emplace_back(std::move(w_ih), std::move(w_hh), nn::impl::to_activations<A>(b_ih),
                                     nn::impl::to_activations<A>(b_hh));
            }
          }
        }
        if (lstm) {
          layer = std::make_unique<RecurrentLayer<T, Backend, Lstm<T, Backend>>>(
              name, Lstm<T, Backend>(std::move(lstm_cells), layers, bidirectional));
        } else {
          layer = std::make_unique<RecurrentLayer<T, Backend, Gru<T, Backend>>>(
              name, Gru<T, Backend>(std::move(gru_cells), layers, bidirectional));
        }
      } else {
        s.fail("unknown layer \"", kw, "\"");
      }
      s.finish();
      model.add(std::move(layer));
    } catch (const file_error&) {
      throw;
    } catch (const shape_error& e) {
      detail::throw_error<shape_error>(s.where(), ": ", e.what());
    } catch (const config_error& e) {
      detail::throw_error<config_error>(s.where(), ": ", e.what());
    }
  }
  tensors.check_all_used();
  return model;
}

namespace impl {
namespace model {

/// The model file held in bytes[0, size); source prefixes every message.
template <typename T, typename Backend>
Sequential<T, Backend> load(const unsigned char* bytes, std::size_t size, const std::string& source,
                            const ModelOptions& options) {
  Tensors tensors(source);
  std::string manifest;
  bool have_manifest = false;
  for (const auto& e : detail::zip::entries(bytes, size, source)) {
    const auto ends = [&](const char* ext) {
      const std::string x(ext);
      return e.name.size() > x.size() && e.name.compare(e.name.size() - x.size(), x.size(), x) == 0;
    };
    const std::string stem = e.name.substr(0, e.name.size() - 4);
    if (e.name == manifest_entry) {
      manifest.assign(reinterpret_cast<const char*>(bytes + e.offset), e.size);
      have_manifest = true;
    } else if (ends(".npy")) {
      tensors.add_dense(stem, parse_npy(bytes + e.offset, e.size, e.source));
    } else if (ends(".bbs")) {
      tensors.add_packed(stem, std::vector<unsigned char>(bytes + e.offset, bytes + e.offset + e.size), e.source);
    } else {
      detail::throw_error<file_error>(e.source, ": unexpected entry; a model file holds model.txt, .bbs and .npy");
    }
  }
  if (!have_manifest) {
    detail::throw_error<file_error>(source, ": no ", manifest_entry,
                                    " entry; not a bbs model file (docs/MODEL_FORMAT.md)");
  }
  return build_model<T, Backend>(parse_manifest(manifest, source), tensors, options);
}

}  // namespace model
}  // namespace impl

/// Loads a bbs model file (docs/MODEL_FORMAT.md) as a Sequential of T on Backend. Throws
/// file_error for a broken archive, manifest or tensor, shape_error and config_error for layers
/// whose tensors or settings do not fit, each naming the file and the manifest line.
template <typename T, typename Backend = backend::automatic>
Sequential<T, Backend> load_model(const std::string& path, const ModelOptions& options = {}) {
  const std::string source = "bbs::nn::load_model: " + path;
  const std::vector<unsigned char> bytes = detail::read_file(path, std::numeric_limits<std::uint64_t>::max(), source);
  return impl::model::load<T, Backend>(bytes.data(), bytes.size(), source, options);
}

/// Loads a model file held in memory (the bytes of a .bbsm file), as load_model does.
template <typename T, typename Backend = backend::automatic>
Sequential<T, Backend> load_model_from_memory(const void* data, std::size_t size, const ModelOptions& options = {}) {
  return impl::model::load<T, Backend>(static_cast<const unsigned char*>(data), size, "bbs::nn::load_model_from_memory",
                                       options);
}

/// Builds a model from a manifest file (model.txt's syntax) and a PyTorch state_dict exported as
/// .npz (tools/python/export_state_dict.py): every weight is pruned with its layer's bank= / nnz=.
template <typename T, typename Backend = backend::automatic>
Sequential<T, Backend> load_model_from_state_dict(const std::string& manifest_path, const std::string& npz_path,
                                                  const ModelOptions& options = {}) {
  const std::string source = "bbs::nn::load_model_from_state_dict: " + manifest_path;
  const std::vector<unsigned char> text =
      detail::read_file(manifest_path, std::numeric_limits<std::uint64_t>::max(), source);
  impl::model::Tensors tensors("bbs::nn::load_model_from_state_dict: " + npz_path);
  for (auto& a : read_npz(npz_path)) {
    // PyTorch's BatchNorm counter is not a weight.
    if (a.first.size() > 20 && a.first.compare(a.first.size() - 20, 20, ".num_batches_tracked") == 0) continue;
    tensors.add_dense(a.first, std::move(a.second));
  }
  return build_model<T, Backend>(impl::model::parse_manifest(std::string(text.begin(), text.end()), source), tensors,
                                 options);
}

/// The manifest save_model writes for a model (docs/MODEL_FORMAT.md).
template <typename T, typename Backend>
std::string manifest_of(const Sequential<T, Backend>& model) {
  const DataShape& in = model.input_shape();
  std::string text = detail::concat(impl::model::manifest_header, "\n# written by bbs::nn::save_model; value type ",
                                    value_traits<T>::name, "\n");
  if (in.kind == DataKind::image) {
    text += detail::concat("input image channels=", in.channels, " height=", in.height, " width=", in.width, "\n");
  } else {
    text += detail::concat("input ", in.kind == DataKind::sequence ? "sequence" : "features", " features=", in.features,
                           "\n");
  }
  for (std::size_t i = 0; i < model.size(); ++i) {
    const LayerRecord<T> r = model.layer(i).record();
    text += r.keyword;
    for (const auto& k : r.keys) text += " " + k.first + "=" + k.second;
    text += "\n";
  }
  return text;
}

/// Writes a model as a bbs model file, atomically: every bank-balanced weight packed in T, dense
/// tensors as float32 .npy, BatchNorms already folded. load_model<T> of the file gives the same
/// outputs bit for bit.
template <typename T, typename Backend>
void save_model(const Sequential<T, Backend>& model, const std::string& path) {
  detail::zip::Writer zip("bbs::nn::save_model");
  zip.add(impl::model::manifest_entry, manifest_of(model));
  for (std::size_t i = 0; i < model.size(); ++i) {
    const LayerRecord<T> r = model.layer(i).record();
    for (const auto& s : r.sparse) zip.add(s.first + ".bbs", serialize(*s.second));
    for (const auto& d : r.dense) zip.add(d.first + ".npy", npy_bytes(d.second.values, d.second.shape));
  }
  zip.write(path);
}

}  // namespace nn
}  // namespace bbs

// The bbs tool's model commands: `bbs eval` runs a bbs model file (docs/MODEL_FORMAT.md) over a
// labelled data set on every backend and reports accuracy and latency; `bbs info` and
// `bbs bench` on a .bbsm describe and time a model.
#include <bbs/bbs.hpp>

#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "cli.hpp"

namespace bbs_cli {
namespace {

/// A labelled data set: x as float rows (one sample per row, C-order features), y labels, and
/// the sample shape after the leading N.
struct DataSet {
  Eigen::MatrixXf x;  // N x (features of one sample)
  std::vector<long> y;
  std::vector<bbs::index> sample_shape;
};

DataSet read_data(const std::string& path, bbs::index limit) {
  std::map<std::string, bbs::NpyArray> arrays;
  for (auto& a : bbs::read_npz(path)) arrays.emplace(a.first, std::move(a.second));
  const auto need = [&](const char* name) -> bbs::NpyArray& {
    const auto it = arrays.find(name);
    if (it == arrays.end())
      bbs::detail::throw_error<bbs::file_error>(path, ": no array \"", name, "\" (samples x and labels y)");
    return it->second;
  };
  bbs::NpyArray x = need("x");
  const bbs::NpyArray& y = need("y");
  if (x.shape.size() < 2 || y.shape.size() != 1 || y.shape[0] != x.shape[0]) {
    bbs::detail::throw_error<bbs::shape_error>(path, ": x must be N x ... and y N labels; x has ", x.shape.size(),
                                               " dimensions, y ", y.shape.size());
  }
  if (x.fortran_order) bbs::detail::throw_error<bbs::file_error>(path, ": x is in Fortran order; expected C order");
  const auto scalar = [&](const char* name, double fallback) {
    const auto it = arrays.find(name);
    if (it == arrays.end()) return fallback;
    if (it->second.size() != 1) bbs::detail::throw_error<bbs::shape_error>(path, ": ", name, " must hold one number");
    bbs::NpyArray one = it->second;
    one.shape = {1};
    return one.matrix<double>()(0, 0);
  };
  const double scale = scalar("x_scale", 1.0), offset = scalar("x_offset", 0.0);
  DataSet d;
  d.sample_shape.assign(x.shape.begin() + 1, x.shape.end());
  const bbs::index n = x.shape[0];
  x.shape = {n, n == 0 ? 0 : x.size() / n};
  d.x = ((x.matrix<double>() * scale).array() + offset).cast<float>().matrix();
  if (!d.x.allFinite()) bbs::detail::throw_error<bbs::value_error>(path, ": x holds NaN or infinity");
  const Eigen::MatrixXd labels = y.matrix<double>();
  for (bbs::index i = 0; i < n; ++i) d.y.push_back(std::lround(labels(i, 0)));
  if (limit > 0 && limit < n) {
    d.x.conservativeResize(limit, Eigen::NoChange);
    d.y.resize(static_cast<std::size_t>(limit));
  }
  return d;
}

/// Samples [first, first + count) as the model's input: an image batch, a sequence (sample (T, F)
/// row-major -> column t * count + b of an F x (T * count) matrix) or a feature batch.
template <typename A>
bbs::nn::Activations<A> batch_of(const bbs::nn::DataShape& in, const DataSet& d, bbs::index first, bbs::index count) {
  using ops = bbs::nn::elementwise<A>;
  if constexpr (bbs::is_fixed16<A>::value) {
    // Inputs that saturate when quantized count as the model's "input" tensor.
    if (bbs::nn::SaturationCounter* c = bbs::nn::SaturationCounter::active()) {
      std::uint64_t k = 0;
      for (bbs::index b = first; b < first + count; ++b)
        for (bbs::index j = 0; j < d.x.cols(); ++j) k += bbs::fixed_rules::quantize_saturates(d.x(b, j), A::frac_bits);
      c->add("input", k, static_cast<std::uint64_t>(count * d.x.cols()));
    }
  }
  bbs::nn::Activations<A> x;
  x.kind = in.kind;
  x.batch = count;
  if (in.kind == bbs::nn::DataKind::image) {
    x.image = bbs::nn::Tensor<A>::uninitialized(count, in.channels, in.height, in.width);
    for (bbs::index b = 0; b < count; ++b)
      for (bbs::index j = 0; j < d.x.cols(); ++j)
        x.image.data()[b * d.x.cols() + j] = ops::from_float(d.x(first + b, j));
  } else if (in.kind == bbs::nn::DataKind::sequence) {
    const bbs::index f = in.features, frames = d.x.cols() / f;
    x.columns.resize(f, frames * count);
    for (bbs::index b = 0; b < count; ++b)
      for (bbs::index t = 0; t < frames; ++t)
        for (bbs::index i = 0; i < f; ++i) x.columns(i, t * count + b) = ops::from_float(d.x(first + b, t * f + i));
  } else {
    x.columns.resize(in.features, count);
    for (bbs::index b = 0; b < count; ++b)
      for (bbs::index i = 0; i < in.features; ++i) x.columns(i, b) = ops::from_float(d.x(first + b, i));
  }
  return x;
}

/// Runs samples [first, first + count) through the model; returns outputs x count.
template <typename T>
Eigen::MatrixXf run_batch(const bbs::nn::Sequential<T>& model, const DataSet& d, bbs::index first, bbs::index count) {
  using A = bbs::activation_t<T>;
  const bbs::nn::Activations<A> y = model.run(batch_of<A>(model.input_shape(), d, first, count));
  const bbs::nn::Matrix<A> out = y.kind == bbs::nn::DataKind::image ? y.image.as_columns() : y.columns;
  Eigen::MatrixXf f(out.rows(), out.cols());
  for (bbs::index i = 0; i < out.size(); ++i) {
    f.data()[i] = static_cast<float>(bbs::nn::elementwise<A>::to_double(out.data()[i]));
  }
  return f;
}

void check_data_fits(const bbs::nn::DataShape& in, const DataSet& d, const std::string& data_path) {
  const auto& s = d.sample_shape;
  bool ok = false;
  std::string want;
  if (in.kind == bbs::nn::DataKind::image) {
    ok = (s.size() == 3 && s[0] == in.channels && s[1] == in.height && s[2] == in.width) ||
         (s.size() == 2 && in.channels == 1 && s[0] == in.height && s[1] == in.width);
    want = bbs::detail::concat("N x ", in.channels, " x ", in.height, " x ", in.width);
  } else if (in.kind == bbs::nn::DataKind::sequence) {
    ok = s.size() == 2 && s[1] == in.features && s[0] > 0;
    want = bbs::detail::concat("N x T x ", in.features);
  } else {
    ok = s.size() == 1 && s[0] == in.features;
    want = bbs::detail::concat("N x ", in.features);
  }
  if (!ok) {
    std::string got = "N";
    for (bbs::index v : s) got += bbs::detail::concat(" x ", v);
    bbs::detail::throw_error<bbs::shape_error>(data_path, ": x is ", got, "; the model takes ", want, " (", in.str(),
                                               ")");
  }
}

struct BackendResult {
  std::string backend;
  /// Values at the limits of their fixed-point format, per tensor (the first backend's pass over
  /// the data; bbs::nn::SaturationCounter).
  std::map<std::string, bbs::nn::SaturationCounter::Count> saturation;
  double accuracy = 0;
  long correct = 0;
  double latency_us = 0;     ///< median of one sample at a time
  double per_sample_us = 0;  ///< whole set in batches, per sample
  /// The simd SpMV kernel of each weight matrix, counted ("dense_avx512 x3, row_groups_avx512 x2"):
  /// the simd and openmp backends run these.
  std::string kernels;
};

/// The simd SpMV kernel each weight matrix of `model` runs, counted in order of first use:
/// "dense_avx512 x3, row_groups_avx512 x2".
template <typename T, typename Backend>
std::string spmv_kernels(const bbs::nn::Sequential<T, Backend>& model) {
  std::vector<std::pair<std::string, int>> counts;
  for (std::size_t i = 0; i < model.size(); ++i) {
    for (const auto& m : model.layer(i).record().sparse) {
      const std::string name = bbs::backend::simd_spmv_kernel(m.second->view());
      auto it = std::find_if(counts.begin(), counts.end(), [&](const auto& c) { return c.first == name; });
      if (it == counts.end()) {
        counts.emplace_back(name, 1);
      } else {
        ++it->second;
      }
    }
  }
  std::string text;
  for (const auto& c : counts) text += (text.empty() ? "" : ", ") + bbs::detail::concat(c.first, " x", c.second);
  return text.empty() ? "none" : text;
}

struct EvalOptions {
  bbs::index batch = 100;
  bbs::index latency_samples = 100;
  std::vector<std::string> backends;
  std::string outputs;
  bool quiet = false;
};

template <typename T>
std::vector<BackendResult> evaluate(const std::string& model_path, const DataSet& d, const std::string& data_path,
                                    const EvalOptions& o) {
  std::map<std::string, bbs::QuantizationReport> weights;
  bbs::nn::ModelOptions load_options;
  load_options.quantization_reports = &weights;
  auto model = bbs::nn::load_model<T>(model_path, load_options);
  model.set_check_finite(true);  // a float model that overflows to infinity or NaN fails by name
  check_data_fits(model.input_shape(), d, data_path);
  const bbs::index n = d.x.rows();
  std::vector<BackendResult> results;
  const std::string kernels = spmv_kernels(model);
  const std::string previous = bbs::default_backend();
  for (const std::string& backend : o.backends) {
    bbs::set_default_backend(backend);
    BackendResult r;
    r.backend = backend;
    r.kernels = kernels;
    Eigen::MatrixXf outputs;
    run_batch(model, d, 0, std::min(o.batch, n));  // warm-up: scratch buffers, derived layouts, threads
    const auto t0 = std::chrono::steady_clock::now();
    {
      // Saturation is counted on the first backend's pass (fixed point is bit-exact across backends).
      std::optional<bbs::nn::SaturationCounter> counter;
      if (results.empty()) counter.emplace();
      for (bbs::index first = 0; first < n; first += o.batch) {
        const bbs::index count = std::min(o.batch, n - first);
        const Eigen::MatrixXf out = run_batch(model, d, first, count);
        if (outputs.size() == 0) outputs.resize(out.rows(), n);
        outputs.middleCols(first, count) = out;
      }
      if (counter) {
        r.saturation = counter->counts();
        // Weights that saturated when the model was quantized at load.
        for (const auto& [name, q] : weights) {
          r.saturation["weights " + name] = {static_cast<std::uint64_t>(q.saturated),
                                             static_cast<std::uint64_t>(q.count)};
        }
      }
    }
    r.per_sample_us =
        n == 0 ? 0 : std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() * 1e6 / double(n);
    for (bbs::index i = 0; i < n; ++i) {
      Eigen::Index best = 0;
      outputs.col(i).maxCoeff(&best);
      r.correct += best == d.y[static_cast<std::size_t>(i)] ? 1 : 0;
    }
    r.accuracy = n == 0 ? 0 : double(r.correct) / double(n);
    std::vector<double> times;
    for (bbs::index i = 0; i < std::min(n, o.latency_samples); ++i) {
      const auto s0 = std::chrono::steady_clock::now();
      run_batch(model, d, i, 1);
      times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - s0).count() * 1e6);
    }
    std::sort(times.begin(), times.end());
    r.latency_us = times.empty() ? 0 : times[times.size() / 2];
    if (!o.outputs.empty() && results.empty()) bbs::save_npy(outputs.transpose(), o.outputs);
    results.push_back(r);
  }
  bbs::set_default_backend(previous);
  return results;
}

std::string json_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

}  // namespace

int eval(int argc, char** argv) {
  const Args args(argc, argv, {"type", "backend", "batch", "limit", "json", "outputs", "baseline", "latency-samples"},
                  {"quiet", "allow-saturation"});
  args.expect_positional(2, "MODEL.bbsm DATA.npz");
  const std::string model_path = args.positional[0], data_path = args.positional[1];
  const std::string type_text = args.get("type", "float32");
  const bbs::ValueTypeSpec type = bbs::parse_value_type(type_text);
  EvalOptions o;
  o.batch = static_cast<bbs::index>(parse_integer("batch", args.get("batch", "100"), 1, 1 << 20));
  o.latency_samples =
      static_cast<bbs::index>(parse_integer("latency-samples", args.get("latency-samples", "100"), 0, 1 << 20));
  const auto limit = static_cast<bbs::index>(parse_integer("limit", args.get("limit", "0"), 0, 1LL << 40));
  o.outputs = args.get("outputs");
  o.quiet = args.flags.count("quiet") != 0;
  const std::string backend = args.get("backend", "all");
  if (backend == "all") {
    o.backends = bbs::backend_names();
  } else {
    const auto names = bbs::backend_names();
    if (std::find(names.begin(), names.end(), backend) == names.end()) {
      std::string list;
      for (const auto& n : names) list += " " + n;
      throw UsageError("--backend " + backend + ": this build has all" + list);
    }
    o.backends = {backend};
  }
  Progress progress("eval", o.quiet);
  const DataSet d = progress.step("reading " + data_path, [&] { return read_data(data_path, limit); });
  std::vector<std::pair<std::string, std::vector<BackendResult>>> runs;
  const auto run = [&](const std::string& path) {
    return progress.step("running " + path + " as " + type_text, [&] {
      return with_model_type(type, [&](auto t) { return evaluate<decltype(t)>(path, d, data_path, o); });
    });
  };
  if (args.has("baseline")) runs.emplace_back(args.get("baseline"), run(args.get("baseline")));
  runs.emplace_back(model_path, run(model_path));

  std::printf("%zu samples of %s, value type %s\n", static_cast<std::size_t>(d.x.rows()), data_path.c_str(),
              type_text.c_str());
  std::printf("%-36s %-10s %9s %14s %16s %9s\n", "model", "backend", "accuracy", "latency (us)",
              bbs::detail::concat("us/sample @", o.batch).c_str(), "speedup");
  for (const auto& m : runs) {
    for (std::size_t b = 0; b < m.second.size(); ++b) {
      const BackendResult& r = m.second[b];
      const double base = runs.front().second[b].latency_us;
      std::printf("%-36s %-10s %8.2f%% %14.1f %16.1f %8.2fx\n",
                  std::filesystem::path(m.first).filename().string().c_str(), r.backend.c_str(), 100.0 * r.accuracy,
                  r.latency_us, r.per_sample_us, r.latency_us > 0 ? base / r.latency_us : 0.0);
    }
  }
  // What the products ran on: a dense model (bank = keep) gets the dense GEMV kernels, not the
  // sparse ones, so the speedups above compare against a real dense baseline.
  for (const auto& m : runs) {
    std::printf("simd SpMV kernels: %s: %s\n", std::filesystem::path(m.first).filename().string().c_str(),
                m.second.front().kernels.c_str());
  }
  // Saturation, per model and tensor (fixed point only).
  std::uint64_t saturated = 0;
  for (const auto& m : runs) {
    for (const auto& [tensor, c] : m.second.front().saturation) {
      if (c.saturated == 0) continue;
      saturated += c.saturated;
      std::printf("saturated: %s %s: %" PRIu64 " of %" PRIu64 " values at the limits of their format\n",
                  std::filesystem::path(m.first).filename().string().c_str(), tensor.c_str(), c.saturated, c.values);
    }
  }
  if (type.kind == bbs::ValueTypeSpec::Kind::fixed16) std::printf("saturated values: %" PRIu64 "\n", saturated);
  if (args.has("json")) {
    std::ostringstream j;
    const auto& mine = runs.back().second;
    std::uint64_t mine_saturated = 0;
    for (const auto& t : mine.front().saturation) mine_saturated += t.second.saturated;
    j << "{\n  \"model\": \"" << json_escape(model_path) << "\",\n  \"data\": \"" << json_escape(data_path)
      << "\",\n  \"type\": \"" << json_escape(type_text) << "\",\n  \"samples\": " << d.x.rows()
      << ",\n  \"accuracy\": " << mine.front().accuracy << ",\n  \"saturated\": " << mine_saturated
      << ",\n  \"simd_spmv_kernels\": \"" << mine.front().kernels << "\""
      << ",\n  \"backends\": [";
    for (std::size_t b = 0; b < mine.size(); ++b) {
      j << (b ? "," : "") << "\n    {\"backend\": \"" << mine[b].backend << "\", \"accuracy\": " << mine[b].accuracy
        << ", \"correct\": " << mine[b].correct << ", \"latency_us\": " << mine[b].latency_us
        << ", \"per_sample_us\": " << mine[b].per_sample_us << "}";
    }
    j << "\n  ]\n}\n";
    const std::string text = j.str();
    bbs::detail::AtomicFile out(args.get("json"), "bbs eval");
    out.write(text.data(), text.size());
    out.commit();
  }
  if (saturated > 0 && args.flags.count("allow-saturation") == 0) {
    bbs::detail::throw_error<bbs::value_error>(saturated, " values saturated in ", type_text,
                                               " (listed above); the results are printed and saved, but the format "
                                               "does not hold the model: calibrate it (bbs calibrate), choose fewer "
                                               "fraction bits, or pass --allow-saturation");
  }
  return 0;
}

int calibrate(int argc, char** argv) {
  const Args args(argc, argv, {"limit", "batch", "margin", "cell-bits"}, {"quiet"});
  args.expect_positional(3, "MODEL.bbsm DATA.npz OUT.bbsm");
  const std::string model_path = args.positional[0], data_path = args.positional[1], out_path = args.positional[2];
  const auto limit = static_cast<bbs::index>(parse_integer("limit", args.get("limit", "1000"), 1, 1LL << 40));
  const auto batch = static_cast<bbs::index>(parse_integer("batch", args.get("batch", "100"), 1, 1 << 20));
  bbs::nn::CalibrationOptions options;
  options.margin = parse_number("margin", args.get("margin", "2"));
  if (!(options.margin >= 1 && options.margin <= 1e6)) throw UsageError("--margin: expected a number from 1 to 1e6");
  options.cell_bits = static_cast<int>(parse_integer("cell-bits", args.get("cell-bits", "16"), 16, 32));
  if (options.cell_bits != 16 && options.cell_bits != 32) throw UsageError("--cell-bits: expected 16 or 32");
  Progress progress("calibrate", args.flags.count("quiet") != 0);
  const DataSet d = progress.step("reading " + data_path, [&] { return read_data(data_path, limit); });
  auto model = bbs::nn::load_model<float>(model_path);
  check_data_fits(model.input_shape(), d, data_path);
  using LstmLayer = bbs::nn::RecurrentLayer<float, bbs::backend::automatic, bbs::nn::Lstm<float>>;
  bool any = false;
  for (std::size_t i = 0; i < model.size(); ++i) any = any || dynamic_cast<const LstmLayer*>(&model.layer(i));
  if (!any) {
    bbs::detail::throw_error<bbs::config_error>(model_path,
                                                ": no LSTM layer; per-tensor formats exist for LSTM layers only "
                                                "(other layers run in the single format of --type fixed16<F>)");
  }
  std::vector<bbs::nn::Activations<float>> batches;
  for (bbs::index first = 0; first < d.x.rows(); first += batch) {
    batches.push_back(batch_of<float>(model.input_shape(), d, first, std::min(batch, d.x.rows() - first)));
  }
  const auto calibrated = progress.step("calibrating on " + std::to_string(d.x.rows()) + " samples",
                                        [&] { return bbs::nn::calibrate(std::move(model), batches, options); });
  bbs::nn::save_model(calibrated, out_path);
  std::printf("calibrated on %zu samples of %s (margin %g): %s\n", static_cast<std::size_t>(d.x.rows()),
              data_path.c_str(), options.margin, out_path.c_str());
  for (std::size_t i = 0; i < calibrated.size(); ++i) {
    const auto r = calibrated.layer(i).record();
    for (const auto& k : r.keys) {
      if (k.first == "formats")
        std::printf("lstm '%s': formats=%s\n", calibrated.layer(i).name().c_str(), k.second.c_str());
    }
  }
  return 0;
}

int model_info(const std::string& path) {
  const auto model = bbs::nn::load_model<float>(path);
  std::cout << "model:       " << path << " (" << std::filesystem::file_size(path) << " bytes)\n"
            << "input:       " << model.input_shape().str() << "\n"
            << "output:      " << model.output_shape().str() << "\n"
            << "layers:      " << model.size() << "\n";
  bbs::index stored = 0, dense = 0;
  for (std::size_t i = 0; i < model.size(); ++i) {
    const auto r = model.layer(i).record();
    std::cout << "  " << i + 1 << ". " << r.keyword;
    for (const auto& k : r.keys) std::cout << ' ' << k.first << '=' << k.second;
    std::cout << '\n';
    for (const auto& s : r.sparse) {
      stored += s.second->nonZeros();
      dense += s.second->rows() * s.second->cols();
      std::cout << "       " << s.first << ": " << s.second->rows() << " x " << s.second->cols() << ", "
                << s.second->nonZeros() << " nonzeros\n";
    }
  }
  std::cout << "weights:     " << stored << " kept of " << dense << " ("
            << (dense > 0 ? 100.0 * (1.0 - double(stored) / double(dense)) : 0.0) << " % sparse)\n";
  return 0;
}

int model_bench(int argc, char** argv) {
  const Args args(argc, argv, {"batch", "repeats", "min-time", "type", "baseline", "frames"}, {});
  args.expect_positional(1, "MODEL.bbsm");
  const std::string path = args.positional[0];
  const auto batch = static_cast<bbs::index>(parse_integer("batch", args.get("batch", "1"), 1, 4096));
  const auto frames = static_cast<bbs::index>(parse_integer("frames", args.get("frames", "8"), 1, 1 << 20));
  const int repeats = static_cast<int>(parse_integer("repeats", args.get("repeats", "5"), 1, 1000));
  const double min_time = parse_number("min-time", args.get("min-time", "0.05"));
  if (!(min_time >= 0 && min_time <= 60))
    throw UsageError("--min-time " + args.get("min-time") + ": expected 0 to 60 seconds");
  const std::string type_text = args.get("type", "float32");
  with_model_type(bbs::parse_value_type(type_text), [&](auto t) {
    using T = decltype(t);
    const auto model = bbs::nn::load_model<T>(path);
    std::optional<bbs::nn::Sequential<T>> baseline;
    if (args.has("baseline")) {
      baseline.emplace(bbs::nn::load_model<T>(args.get("baseline")));
      if (!(baseline->input_shape() == model.input_shape())) {
        bbs::detail::throw_error<bbs::shape_error>("--baseline ", args.get("baseline"), " takes ",
                                                   baseline->input_shape().str(), "; ", path, " takes ",
                                                   model.input_shape().str());
      }
    }
    // Random inputs of the model's shape (sequences of --frames frames).
    const bbs::nn::DataShape& in = model.input_shape();
    DataSet d;
    const bbs::index per_sample = in.kind == bbs::nn::DataKind::image      ? in.channels * in.height * in.width
                                  : in.kind == bbs::nn::DataKind::sequence ? in.features * frames
                                                                           : in.features;
    d.x = Eigen::MatrixXf::Random(batch, per_sample);
    std::printf("%s: %s -> %s, batch %ld, %s, median of %d runs of at least %g s\n", path.c_str(), in.str().c_str(),
                model.output_shape().str().c_str(), static_cast<long>(batch), type_text.c_str(), repeats, min_time);
    std::printf("%-12s %14s %16s %9s\n", "backend", "time (us)", baseline ? "baseline (us)" : "",
                baseline ? "speedup" : "");
    const std::string previous = bbs::default_backend();
    for (const std::string& name : bbs::backend_names()) {
      bbs::set_default_backend(name);
      const double s = median_seconds([&] { run_batch(model, d, 0, batch); }, repeats, min_time);
      if (baseline) {
        const double b = median_seconds([&] { run_batch(*baseline, d, 0, batch); }, repeats, min_time);
        std::printf("%-12s %14.1f %16.1f %8.2fx\n", name.c_str(), s * 1e6, b * 1e6, b / s);
      } else {
        std::printf("%-12s %14.1f\n", name.c_str(), s * 1e6);
      }
      std::fflush(stdout);
    }
    bbs::set_default_backend(previous);
    std::printf("simd SpMV kernels: %s: %s\n", std::filesystem::path(path).filename().string().c_str(),
                spmv_kernels(model).c_str());
    if (baseline) {
      std::printf("simd SpMV kernels: %s: %s\n",
                  std::filesystem::path(args.get("baseline")).filename().string().c_str(),
                  spmv_kernels(*baseline).c_str());
    }
    return 0;
  });
  return 0;
}

}  // namespace bbs_cli

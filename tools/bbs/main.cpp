// bbs: the command-line tool. Prunes dense weights into bbs files, describes them, converts them
// between value types and to .npy / Matrix Market, and times them on every backend against Eigen;
// runs model files over labelled data (models.cpp) and speech models over audio (transcribe.cpp).
//
//   bbs prune IN.npy|IN.npz OUT.bbs --bank B (--keep K | --sparsity S) [--array NAME] [--type T]
//             [--calibration X.npy [--damping D]]
//             [--block N] [--no-report] [--quiet]
//   bbs info FILE.bbs
//   bbs convert IN.bbs OUT.bbs|OUT.npy|OUT.mtx [--type T] [--quiet]
//   bbs bench FILE.bbs [--batch N] [--repeats R] [--min-time SECONDS]
//
// Exit codes: 0 success, 1 a bbs error (bad file, shape, configuration, value), 2 a usage error.
// Outputs are written atomically: a failed command never leaves a partial file.
#include <bbs/bbs.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cinttypes>
#include <cstdio>
#include <exception>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "cli.hpp"

namespace bbs_cli {
namespace {

const char* const usage_text =
    "usage:\n"
    "  bbs prune IN.npy|IN.npz OUT.bbs --bank B (--keep K | --sparsity S) [--array NAME] [--type T]\n"
    "            [--calibration X.npy|X.npz [--damping D]] [--block N] [--no-report] [--allow-saturation]\n"
    "            [--quiet]\n"
    "            (--calibration: the layer's inputs, one sample per row; prunes one-shot with\n"
    "             weight updates that keep W x close, bbs::prune_calibrated)\n"
    "  bbs info FILE.bbs\n"
    "  bbs convert IN.bbs OUT.bbs|OUT.npy|OUT.mtx [--type T] [--allow-saturation] [--quiet]\n"
    "  bbs bench FILE.bbs [--batch N] [--repeats R] [--min-time SECONDS]\n"
    "  bbs eval MODEL.bbsm DATA.npz [--type float32|fixed16<F>] [--backend NAME|all] [--batch N]\n"
    "           [--allow-saturation]\n"
    "           [--limit N] [--baseline DENSE.bbsm] [--json OUT.json] [--outputs OUT.npy] [--quiet]\n"
    "  bbs calibrate MODEL.bbsm DATA.npz OUT.bbsm [--limit N] [--batch N] [--margin M] [--cell-bits 16|32]\n"
    "           [--quiet] (per-tensor fixed-point formats of the LSTM layers from a float run over the\n"
    "            first N samples, default 1000; OUT.bbsm loads as fixed16<F> with them; --cell-bits 32\n"
    "            keeps the cell state in int32, CPU backends only)\n"
    "  bbs transcribe MODEL.bbsm AUDIO.wav [--type float32|fixed16<F>] [--backend NAME] [--logits OUT.npy]\n"
    "           [--quiet] (streaming phone recognition with a CTC acoustic model, docs/SPEECH.md: each\n"
    "            phone as it is decoded, then the whole sequence as the last line)\n"
    "  bbs info MODEL.bbsm            (a model file: its layers and weights)\n"
    "  bbs bench MODEL.bbsm [--type T] [--baseline DENSE.bbsm] [--batch N] [--frames T] [--repeats R]\n"
    "            [--min-time SECONDS]\n"
    "types T: float32 float64 bfloat16 float16 fixed16<F> fixed8<Fw,Fx> (also fixed16:F, fixed8:Fw,Fx;\n"
    "         F and Fw may be auto: the finest width that holds the largest weight)\n"
    "saturation: prune, convert and eval fail (exit 1, prune and convert write nothing) when a value\n"
    "            saturates in a fixed-point type, unless --allow-saturation\n";

/// The dense matrix in an .npy file, or in an .npz archive (--array, or its only array).
Eigen::MatrixXd read_dense(const std::string& path, const std::string& array) {
  if (ends_with(path, ".npz")) {
    const auto arrays = bbs::read_npz(path);
    std::string names;
    for (const auto& a : arrays) names += (names.empty() ? "" : ", ") + a.first;
    if (array.empty()) {
      if (arrays.size() != 1) {
        bbs::detail::throw_error<bbs::config_error>(path, " holds ", arrays.size(), " arrays (", names,
                                                    "); name one with --array");
      }
      return arrays[0].second.matrix<double>();
    }
    for (const auto& a : arrays) {
      if (a.first == array) return a.second.matrix<double>();
    }
    bbs::detail::throw_error<bbs::config_error>(path, " has no array '", array, "'; it holds: ", names);
  }
  if (!array.empty()) throw UsageError("--array applies to .npz archives only");
  const bbs::NpyArray a = bbs::read_npy(path);
  if (a.shape.size() != 2) {
    bbs::detail::throw_error<bbs::shape_error>(path, " holds a ", a.shape.size(),
                                               "-D array; bbs prune needs a 2-D matrix");
  }
  return a.matrix<double>();
}

/// Writes a float matrix as the --type spec (auto widths resolved from its largest weight), with
/// the conversion's report on `report` for types that round.
/// Writes a as `spec` (auto widths resolved); a conversion that saturates is a value_error and
/// writes nothing, unless allow_saturation.
void save_as(const bbs::BbsMatrix<float>& a, bbs::ValueTypeSpec spec, const std::string& path, Progress& progress,
             std::ostream& report, bool allow_saturation) {
  double max_abs = 0;
  a.forEach([&](bbs::index, bbs::index, float v) { max_abs = std::max(max_abs, std::abs(double(v))); });
  spec = spec.resolved(max_abs);
  const std::uint32_t code = spec.code();
  const bbs::QuantizationReport r = progress.step(std::string("writing ") + path + " as " + bbs::value_type_name(code),
                                                  [&] { return bbs::save_as_type(a, code, path, !allow_saturation); });
  if (spec.kind != bbs::ValueTypeSpec::Kind::float32 && spec.kind != bbs::ValueTypeSpec::Kind::float64) {
    report << "quantized to " << bbs::value_type_name(code) << ": " << r.count << " values, " << r.saturated
           << " saturated, max |error| " << r.max_abs_error << ", RMS error " << r.rms_error << '\n';
  }
}

int prune(int argc, char** argv) {
  const Args args(argc, argv, {"bank", "keep", "sparsity", "array", "type", "block", "calibration", "damping"},
                  {"no-report", "quiet", "allow-saturation"});
  args.expect_positional(2, "IN.npy|IN.npz OUT.bbs");
  const std::string in = args.positional[0];
  const std::string out = args.positional[1];
  if (!args.has("bank")) throw UsageError("--bank is required");
  if (args.has("keep") == args.has("sparsity")) throw UsageError("give exactly one of --keep and --sparsity");
  const auto bank = static_cast<bbs::index>(parse_integer("bank", args.get("bank"), 1, 65536));
  const bbs::BankConfig cfg =
      args.has("keep")
          ? bbs::BankConfig(bank, static_cast<bbs::index>(parse_integer("keep", args.get("keep"), 0, bank)))
          : bbs::BankConfig::from_sparsity(bank, parse_number("sparsity", args.get("sparsity")));
  cfg.validate();
  const bbs::ValueTypeSpec spec = bbs::parse_value_type(args.get("type", "float32"));
  const auto block = static_cast<bbs::index>(parse_integer("block", args.get("block", "8"), 1, 1 << 20));
  if (args.has("damping") && !args.has("calibration")) throw UsageError("--damping applies to --calibration only");
  bbs::CalibrationOptions calibration;
  if (args.has("damping")) calibration.damping = parse_number("damping", args.get("damping"));
  if (!(calibration.damping > 0.0) || !std::isfinite(calibration.damping)) throw UsageError("--damping must be > 0");
  Progress progress("prune", args.flags.count("quiet") != 0);

  const Eigen::MatrixXd w = progress.step("reading " + in, [&] { return read_dense(in, args.get("array")); });
  const bool calibrated = args.has("calibration");
  Eigen::MatrixXd x;  // calibration inputs, one sample per column (the layer's view)
  if (calibrated) {
    const std::string path = args.get("calibration");
    const Eigen::MatrixXd samples = progress.step("reading " + path, [&] { return read_dense(path, ""); });
    if (samples.cols() != w.cols()) {
      bbs::detail::throw_error<bbs::shape_error>(
          path, " is ", samples.rows(), " x ", samples.cols(), "; --calibration needs one input vector of ", w.cols(),
          " values per row (samples x ", w.cols(), ")", samples.rows() == w.cols() ? ": it looks transposed" : "");
    }
    x = samples.transpose();
  }
  // A bank wider than a row is refused: it would not be a bank of the matrix, and the sparsity
  // asked for would not be the one written (a 288-column matrix in banks of 512 keeping 64 is
  // 77.8 % sparse, not 87.5 %).
  if (cfg.bank_size > w.cols()) {
    bbs::detail::throw_error<bbs::config_error>("--bank ", cfg.bank_size, " is wider than the ", w.cols(),
                                                " columns of ", in, "; use --bank ", w.cols(), " or less");
  }
  // Everything for stdout waits until the output is written: a failure prints nothing there.
  std::ostringstream report;
  report << in << ": " << w.rows() << " x " << w.cols() << '\n';
  report << "bank-balanced: banks of " << cfg.bank_size << " columns keeping " << cfg.nnz_per_bank << " each";
  if (calibrated) report << ", calibrated on " << x.cols() << " inputs (damping " << calibration.damping << ")";
  report << '\n';
  // The sparsity of what is written: partial last banks and padding included, so it is exact.
  const auto report_sparsity = [&](bbs::index kept) {
    const double all = double(w.rows()) * double(w.cols());
    report << "sparsity: " << (all > 0 ? 100.0 * (1.0 - double(kept) / all) : 0.0) << " % (" << kept << " of "
           << w.rows() * w.cols() << " weights kept)";
    if (w.size() > 0 && kept == w.rows() * w.cols()) {
      report << ": this configuration keeps every weight, so the file is dense and larger than the input";
    }
    report << '\n';
  };
  // The output error each pruning leaves on the calibration inputs, relative to ||W X||.
  const auto report_error = [&](const Eigen::MatrixXd& pruned) {
    const double whole = (w * x).norm();
    const double calibrated = ((w - pruned) * x).norm();
    const double magnitude = ((w - bbs::prune<double>(w, cfg).toDense()) * x).norm();
    const auto relative = [&](double e) { return whole == 0.0 ? 0.0 : e / whole; };
    report << "||W X - W' X|| / ||W X|| on the calibration inputs: " << relative(calibrated)
           << " (magnitude pruning: " << relative(magnitude) << ")\n";
  };
  const auto pruned = [&](auto tag) {
    using T = decltype(tag);
    return progress.step(calibrated ? "pruning (calibrated)" : "pruning", [&] {
      return calibrated ? bbs::prune_calibrated<T>(w, x, cfg, calibration) : bbs::prune<T>(w, cfg);
    });
  };
  if (spec.kind == bbs::ValueTypeSpec::Kind::float64) {
    const auto a = pruned(double{});
    report_sparsity(a.nonZeros());
    if (calibrated) report_error(a.toDense());
    progress.step("writing " + out + " as float64", [&] { bbs::save(a, out); });
  } else {
    const auto a = pruned(float{});
    report_sparsity(a.nonZeros());
    if (calibrated) report_error(a.toDense().cast<double>());
    save_as(a, spec, out, progress, report, args.flags.count("allow-saturation") != 0);
  }
  if (args.flags.count("no-report") == 0) {
    const bbs::PatternReport patterns =
        progress.step("comparing patterns", [&] { return bbs::compare_patterns(w, cfg, block, block); });
    report << "retained magnitude at the same density:\n" << bbs::to_string(patterns);
  }
  std::cout << report.str() << "wrote " << out << '\n';
  return 0;
}

const char* index_type_name(bbs::IndexWidth w) { return w == bbs::IndexWidth::u8 ? "uint8" : "uint16"; }

int info(int argc, char** argv) {
  const Args args(argc, argv, {}, {});
  args.expect_positional(1, "FILE.bbs");
  const std::string path = args.positional[0];
  const bbs::FileHeader h = bbs::read_header(path);
  const std::uintmax_t bytes = std::filesystem::file_size(path);
  // load_as_float verifies the checksum and every CSB invariant, whatever the value type.
  const bbs::index nonzeros = bbs::load_as_float(path).nonZeros();
  const std::string integrity = "ok (checksum and CSB invariants verified)";
  const bbs::index nb = h.config.num_banks(h.cols);
  std::cout << "file:        " << path << " (" << bytes << " bytes, format version " << h.version << ")\n"
            << "shape:       " << h.rows << " x " << h.cols << '\n'
            << "value type:  " << h.value_type_name << " (type code " << h.value_type_code << ")\n"
            << "index type:  " << index_type_name(h.index_width) << '\n'
            << "banks:       " << nb << " per row of " << h.config.bank_size << " columns, " << h.config.nnz_per_bank
            << " kept per bank\n";
  const double all = double(h.rows) * double(h.cols);
  std::cout << "sparsity:    " << (all > 0 ? 100.0 * (1.0 - double(nonzeros) / all) : 0.0) << " % (" << nonzeros
            << " stored nonzeros of " << h.rows * h.cols << ")\n";
  std::cout << "stored:      " << h.stored_entries << " entries, " << h.payload_bytes << " payload bytes\n"
            << "memory:      " << h.payload_bytes
            << " bytes as loaded (one copy); the simd backend's first product adds its row groups, about as many "
               "again, unless the matrix is prepared with Canonical::drop (bbs bench measures both)\n"
            << "integrity:   " << integrity << '\n';
  return 0;
}

/// Writes a in Matrix Market coordinate format (1-based, every stored entry of a real column).
template <typename T>
void save_matrix_market(const bbs::BbsMatrix<T>& a, const std::string& path) {
  std::ostringstream text;
  text.precision(std::is_same<T, double>::value ? 17 : 9);
  text << "%%MatrixMarket matrix coordinate real general\n% written by bbs convert: bank size " << a.bankSize() << ", "
       << a.nnzPerBank() << " kept per bank\n"
       << a.rows() << ' ' << a.cols() << ' ' << a.nonZeros() << '\n';
  a.forEach([&](bbs::index r, bbs::index c, T v) { text << r + 1 << ' ' << c + 1 << ' ' << double(v) << '\n'; });
  const std::string s = text.str();
  bbs::detail::AtomicFile out(path, "bbs convert");
  out.write(s.data(), s.size());
  out.commit();
}

int convert(int argc, char** argv) {
  const Args args(argc, argv, {"type"}, {"quiet", "allow-saturation"});
  args.expect_positional(2, "IN.bbs OUT.bbs|OUT.npy|OUT.mtx");
  const std::string in = args.positional[0];
  const std::string out = args.positional[1];
  const bool to_bbs = ends_with(out, ".bbs");
  if (!to_bbs && !ends_with(out, ".npy") && !ends_with(out, ".mtx")) {
    throw UsageError("the output must end in .bbs, .npy or .mtx: " + out);
  }
  if (!to_bbs && args.has("type")) throw UsageError("--type applies to .bbs output only");
  Progress progress("convert", args.flags.count("quiet") != 0);
  const bbs::FileHeader h = bbs::read_header(in);
  const bool float64 = h.value_type_code == bbs::value_traits<double>::file_code;
  const bbs::ValueTypeSpec spec = bbs::parse_value_type(args.has("type") ? args.get("type") : h.value_type_name);
  if (float64 && (!to_bbs || spec.kind == bbs::ValueTypeSpec::Kind::float64)) {
    // float64 stays float64: no rounding through float.
    const auto a = progress.step("reading " + in, [&] { return bbs::load<double>(in); });
    progress.step("writing " + out, [&] {
      if (to_bbs) {
        bbs::save(a, out);
      } else if (ends_with(out, ".npy")) {
        bbs::save_npy(a.toDense(), out);
      } else {
        save_matrix_market(a, out);
      }
    });
  } else {
    // Every other type is exact in float.
    const auto a = progress.step("reading " + in, [&] { return bbs::load_as_float(in); });
    if (to_bbs) {
      save_as(a, spec, out, progress, std::cout, args.flags.count("allow-saturation") != 0);
    } else {
      progress.step("writing " + out, [&] {
        if (ends_with(out, ".npy")) {
          bbs::save_npy(a.toDense(), out);
        } else {
          save_matrix_market(a, out);
        }
      });
    }
  }
  std::cout << "wrote " << out << '\n';
  return 0;
}

/// The float matrix's values as fixed point Q: raw = value * 2^frac_bits, exact for values read
/// from a file of that storage with that width.
template <typename Q>
bbs::BbsMatrix<Q> raw_fixed_point(const bbs::BbsMatrix<float>& a, int frac_bits) {
  std::vector<Q> values(static_cast<std::size_t>(a.storedEntries()));
  const double scale = std::ldexp(1.0, frac_bits);
  for (std::size_t e = 0; e < values.size(); ++e) {
    values[e] = Q::from_raw(static_cast<typename Q::raw_type>(std::lround(double(a.valueData()[e]) * scale)));
  }
  return a.view().with_indices([&](auto idx) {
    using I = std::remove_const_t<std::remove_pointer_t<decltype(idx)>>;
    return bbs::BbsMatrix<Q>(a.rows(), a.cols(), a.bankConfig(), std::move(values),
                             std::vector<I>(idx, idx + a.storedEntries()));
  });
}

/// Times Eigen's sparse and dense products on the float matrix and y = A * x on every bbs backend.
template <typename T>
void run_bench(const bbs::BbsMatrix<T>& a, const bbs::BbsMatrix<float>& af, const std::string& type_name,
               bbs::index batch, int repeats, double min_time) {
  using X = bbs::activation_t<T>;
  const double flops = 2.0 * double(a.nonZeros()) * double(batch);
  std::printf("%-30s %12s %10s %10s\n", "implementation", "time (us)", "GFLOP/s", "vs Eigen");
  std::mt19937 gen(1);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  Eigen::MatrixXf xf(a.cols(), batch);
  for (bbs::index i = 0; i < xf.size(); ++i) xf.data()[i] = u(gen);
  const Eigen::SparseMatrix<float, Eigen::RowMajor> sparse = af.toSparse();
  Eigen::MatrixXf yf(a.rows(), batch);
  const double eigen = median_seconds([&] { yf.noalias() = sparse * xf; }, repeats, min_time);
  const auto row = [&](const std::string& name, double seconds) {
    std::printf("%-30s %12.1f %10.2f %9.2fx\n", name.c_str(), seconds * 1e6, flops / seconds * 1e-9, eigen / seconds);
    std::fflush(stdout);
  };
  row("Eigen::SparseMatrix float32", eigen);
  if (double(a.rows()) * double(a.cols()) <= double(1 << 28)) {
    const Eigen::MatrixXf dense = af.toDense();
    row("Eigen dense float32", median_seconds([&] { yf.noalias() = dense * xf; }, repeats, min_time));
  }
  Eigen::Matrix<X, Eigen::Dynamic, Eigen::Dynamic> x(a.cols(), batch), y(a.rows(), batch);
  for (bbs::index i = 0; i < x.size(); ++i) x.data()[i] = X(xf.data()[i]);
  const std::string previous = bbs::default_backend();
  for (const std::string& name : bbs::backend_names()) {
    bbs::set_default_backend(name);
    row("bbs " + name + " " + type_name, median_seconds([&] { y.noalias() = a * x; }, repeats, min_time));
  }
  bbs::set_default_backend(previous);

  // Resident memory, and what prepare changes: a copy prepared for simd keeps one copy in memory
  // and its first product costs what the others do.
  std::printf("memory: %zu bytes resident after these products (CSB arrays %zu bytes)\n", a.memoryBytes(),
              a.csbBytes());
  bbs::BbsMatrix<T> prepared(a);
  using clock = std::chrono::steady_clock;
  const auto t0 = clock::now();
  const bool arranged = prepared.template prepare<bbs::backend::simd>(bbs::Canonical::drop);
  const auto t1 = clock::now();
  y.noalias() = bbs::on<bbs::backend::simd>(prepared) * x;
  const auto t2 = clock::now();
  const double steady =
      median_seconds([&] { y.noalias() = bbs::on<bbs::backend::simd>(prepared) * x; }, repeats, min_time);
  const auto us = [](clock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); };
  std::printf(
      "prepared for simd with one copy: %zu bytes resident (%.2fx the CSB arrays)%s; prepare %.1f us, "
      "first product %.1f us, then %.1f us\n",
      prepared.memoryBytes(), double(prepared.memoryBytes()) / double(prepared.csbBytes()),
      arranged ? "" : " (simd reads the canonical arrays here: nothing to prepare)", us(t1 - t0), us(t2 - t1),
      steady * 1e6);
}

int bench(int argc, char** argv) {
  const Args args(argc, argv, {"batch", "repeats", "min-time"}, {});
  args.expect_positional(1, "FILE.bbs");
  const std::string path = args.positional[0];
  const auto batch = static_cast<bbs::index>(parse_integer("batch", args.get("batch", "1"), 1, 4096));
  const int repeats = static_cast<int>(parse_integer("repeats", args.get("repeats", "5"), 1, 1000));
  const double min_time = parse_number("min-time", args.get("min-time", "0.05"));
  if (!(min_time >= 0 && min_time <= 60))
    throw UsageError("--min-time " + args.get("min-time") + ": expected 0 to 60 seconds");
  const bbs::FileHeader h = bbs::read_header(path);
  const std::uint32_t code = h.value_type_code;
  const bbs::BbsMatrix<float> af = bbs::load_as_float(path);
  std::cout << path << ": " << af.rows() << " x " << af.cols() << ", " << h.value_type_name << ", bank "
            << af.bankSize() << " keep " << af.nnzPerBank() << ", batch " << batch << ", median of " << repeats
            << " runs of at least " << min_time << " s\n";
  // The stored values in their own type; fixed point of any width runs as fixed16<12> or
  // fixed8<7, 12> on the same raw integers (the widths change no instruction, only the result's
  // meaning), so one instantiation of every kernel serves every width.
  const std::string& name = h.value_type_name;
  if (code == bbs::value_traits<float>::file_code) {
    run_bench(af, af, name, batch, repeats, min_time);
  } else if (code == bbs::value_traits<double>::file_code) {
    run_bench(bbs::load<double>(path), af, name, batch, repeats, min_time);
  } else if (code == bbs::value_traits<Eigen::bfloat16>::file_code) {
    run_bench(bbs::quantize<Eigen::bfloat16>(af).value, af, name, batch, repeats, min_time);
  } else if (code == bbs::value_traits<Eigen::half>::file_code) {
    run_bench(bbs::quantize<Eigen::half>(af).value, af, name, batch, repeats, min_time);
  } else if (code < bbs::detail::fixed8_first_code) {
    run_bench(raw_fixed_point<bbs::fixed16<12>>(af, static_cast<int>(code - bbs::detail::fixed16_first_code)), af, name,
              batch, repeats, min_time);
  } else {
    run_bench(raw_fixed_point<bbs::fixed8<7, 12>>(af, static_cast<int>((code - bbs::detail::fixed8_first_code) / 16)),
              af, name, batch, repeats, min_time);
  }
  return 0;
}

}  // namespace
}  // namespace bbs_cli

int main(int argc, char** argv) {
  const std::string command = argc > 1 ? argv[1] : "";
  // `bbs COMMAND --help` (or -h anywhere after the command) prints the usage, exit 0.
  for (int i = 2; i < argc; ++i) {
    if (std::string(argv[i]) == "--help" || std::string(argv[i]) == "-h") {
      std::cout << bbs_cli::usage_text;
      return 0;
    }
  }
  try {
    if (command == "prune") return bbs_cli::prune(argc, argv);
    if (command == "eval") return bbs_cli::eval(argc, argv);
    if (command == "calibrate") return bbs_cli::calibrate(argc, argv);
    if (command == "transcribe") return bbs_cli::transcribe(argc, argv);
    if ((command == "info" || command == "bench") && argc > 2 && bbs_cli::is_model_file(argv[2])) {
      return command == "info" ? bbs_cli::model_info(argv[2]) : bbs_cli::model_bench(argc, argv);
    }
    if (command == "info") return bbs_cli::info(argc, argv);
    if (command == "convert") return bbs_cli::convert(argc, argv);
    if (command == "bench") return bbs_cli::bench(argc, argv);
    if (command == "--help" || command == "-h" || command == "help") {
      std::cout << bbs_cli::usage_text;
      return 0;
    }
    throw bbs_cli::UsageError(command.empty() ? "no command given" : "unknown command '" + command + "'");
  } catch (const bbs_cli::UsageError& e) {
    std::cerr << "bbs" << (command.empty() ? "" : " " + command) << ": " << e.what() << '\n' << bbs_cli::usage_text;
    return 2;
  } catch (const bbs::error& e) {
    std::cerr << "bbs " << command << ": error: " << e.what() << '\n';
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "bbs " << command << ": unexpected error: " << e.what() << '\n';
    return 1;
  }
}

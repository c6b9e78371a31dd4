// The bbs command-line tool (tools/bbs), run as a program: each command's output and files
// checked against the library computing the same thing (prune, quantize, load, toDense), and its
// error cases with their messages and exit codes (1: bad input, 2: bad usage), never leaving a
// partial output file behind.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <random>
#include <sstream>

#include "source_tree.hpp"     // BBS_TEST_DATA_DIR, BBS_MODELS_DIR, BBS_CLI
#include "nn/nn_fixtures.hpp"  // lstm_model_bytes

namespace fs = std::filesystem;

namespace {

struct Run {
  int code;
  std::string out;
  std::string err;
};

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

struct Workspace {
  fs::path dir;
  Workspace() {
    dir = fs::temp_directory_path() / ("bbs_cli_" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  ~Workspace() { fs::remove_all(dir); }
  std::string file(const std::string& name) const { return (dir / name).string(); }

  /// Runs `bbs args` with stdout and stderr captured.
  Run bbs(const std::string& args) const {
    const std::string out = file("stdout.txt"), err = file("stderr.txt");
    const std::string command = std::string("'") + BBS_CLI + "' " + args + " > '" + out + "' 2> '" + err + "'";
    const int status = std::system(command.c_str());
    REQUIRE(WIFEXITED(status));
    return {WEXITSTATUS(status), slurp(out), slurp(err)};
  }

  /// Files in the workspace other than the captured output.
  std::vector<std::string> files() const {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir)) {
      const std::string n = e.path().filename().string();
      if (n != "stdout.txt" && n != "stderr.txt") names.push_back(n);
    }
    std::sort(names.begin(), names.end());
    return names;
  }
};

std::string q(const std::string& path) { return "'" + path + "'"; }

/// A command that must fail: its exit code (1 bad input, 2 bad usage, with the usage text) and a
/// fragment of its message.
struct Refusal {
  std::string args;
  int code;
  std::string message;
};

/// Runs each refusal and checks that the workspace still holds exactly `files` afterwards.
void check_refusals(const Workspace& ws, const std::vector<Refusal>& cases, const std::vector<std::string>& files) {
  for (const Refusal& c : cases) {
    INFO("bbs " << c.args);
    const Run r = ws.bbs(c.args);
    INFO(r.err);
    CHECK(r.code == c.code);
    CHECK_THAT(r.err, Catch::Contains(c.message));
    if (c.code == 2) CHECK_THAT(r.err, Catch::Contains("usage:"));
    CHECK(ws.files() == files);
  }
}

}  // namespace

TEST_CASE("bbs prune writes the matrix bbs::prune computes and reports retained magnitude", "[tools][cli]") {
  Workspace ws;
  const Eigen::MatrixXf w = bbs_test::random_dense<float>(40, 96, 7);
  bbs::save_npy(w, ws.file("w.npy"));
  const bbs::BankConfig cfg(32, 4);

  const Run r = ws.bbs("prune " + q(ws.file("w.npy")) + " " + q(ws.file("w.bbs")) + " --bank 32 --keep 4 --block 4");
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains("40 x 96"));
  CHECK_THAT(r.out, Catch::Contains("retained magnitude at the same density"));
  CHECK_THAT(r.out, Catch::Contains("unstructured (global)"));
  CHECK_THAT(r.out, Catch::Contains("bank-balanced (bank 32, k 4)"));
  CHECK_THAT(r.out, Catch::Contains("block 4x4"));
  CHECK_THAT(r.err, Catch::Contains("bbs prune: pruning ..."));  // progress, on stderr
  const auto want = bbs::prune<float>(w, cfg);
  CHECK(bbs::load<float>(ws.file("w.bbs")).toDense() == want.toDense());

  // --sparsity and a quantized type: bit for bit what quantize<fixed16<10>> gives.
  const Run q16 = ws.bbs("prune " + q(ws.file("w.npy")) + " " + q(ws.file("q.bbs")) +
                         " --bank 32 --sparsity 0.875 --type 'fixed16<10>' --no-report --quiet");
  INFO(q16.out << q16.err);
  REQUIRE(q16.code == 0);
  CHECK(q16.err.empty());
  CHECK_THAT(q16.out, Catch::Contains("quantized to fixed16<10>: ") && !Catch::Contains("retained magnitude"));
  const auto a16 = bbs::load<bbs::fixed16<10>>(ws.file("q.bbs"));
  const auto want16 = bbs::quantize<bbs::fixed16<10>>(want).value;
  REQUIRE(a16.storedEntries() == want16.storedEntries());
  for (bbs::index e = 0; e < a16.storedEntries(); ++e) REQUIRE(a16.valueData()[e] == want16.valueData()[e]);

  // An automatic width: the finest Fw that holds the largest kept weight.
  const Run q8 = ws.bbs("prune " + q(ws.file("w.npy")) + " " + q(ws.file("q8.bbs")) +
                        " --bank=32 --keep=4 --type fixed8:auto,12 --no-report --quiet");
  REQUIRE(q8.code == 0);
  double max_abs = 0;
  want.forEach([&](bbs::index, bbs::index, float v) { max_abs = std::max(max_abs, std::abs(double(v))); });
  const int fw = bbs::choose_frac_bits(max_abs, 8);
  CHECK(bbs::read_header(ws.file("q8.bbs")).value_type_code == 32u + 16u * std::uint32_t(fw) + 12u);
  const auto back = bbs::load_as_float(ws.file("q8.bbs"));
  want.forEach([&](bbs::index i, bbs::index j, float v) {
    REQUIRE(back.coeff(i, j) == float(bbs::fixed_rules::dequantize(bbs::fixed_rules::quantize8(v, fw), fw)));
  });

  // One array of an .npz archive, by name.
  const std::string npz = std::string(BBS_TEST_DATA_DIR) + "/npy/weights.npz";
  const Run z = ws.bbs("prune " + q(npz) + " " + q(ws.file("z.bbs")) + " --array w --bank 2 --keep 1 --quiet");
  INFO(z.err);
  REQUIRE(z.code == 0);
  CHECK(bbs::load<float>(ws.file("z.bbs")).rows() == 3);
}

TEST_CASE("bbs prune --calibration prunes one-shot as bbs::prune_calibrated and reports the output error",
          "[tools][cli][calibrated]") {
  Workspace ws;
  const Eigen::MatrixXf w = bbs_test::random_dense<float>(24, 40, 17);
  // Correlated inputs, one sample per row as NumPy users hold them.
  const Eigen::MatrixXf mix = bbs_test::random_dense<float>(40, 6, 18);
  const Eigen::MatrixXf samples = (mix * bbs_test::random_dense<float>(6, 120, 19)).transpose();
  bbs::save_npy(w, ws.file("w.npy"));
  bbs::save_npy(samples, ws.file("x.npy"));
  const bbs::BankConfig cfg(8, 2);

  const Run r = ws.bbs("prune " + q(ws.file("w.npy")) + " " + q(ws.file("w.bbs")) +
                       " --bank 8 --keep 2 --calibration " + q(ws.file("x.npy")) + " --damping 0.05 --no-report");
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains("calibrated on 120 inputs (damping 0.05)"));
  CHECK_THAT(r.out, Catch::Contains("||W X - W' X|| / ||W X|| on the calibration inputs: "));
  CHECK_THAT(r.out, Catch::Contains("(magnitude pruning: "));
  const auto want = bbs::prune_calibrated<float>(w.cast<double>(), samples.cast<double>().transpose(), cfg,
                                                 bbs::CalibrationOptions{0.05});
  CHECK(bbs::load<float>(ws.file("w.bbs")).toDense() == want.toDense());

  const std::vector<std::string> files = ws.files();
  bbs::save_npy(Eigen::MatrixXf(samples.transpose()), ws.file("xt.npy"));
  bbs::save_npy(Eigen::MatrixXf(samples.leftCols(39)), ws.file("x39.npy"));
  std::vector<std::string> with_inputs = files;
  with_inputs.push_back("x39.npy");
  with_inputs.push_back("xt.npy");
  std::sort(with_inputs.begin(), with_inputs.end());
  const std::string base = "prune " + q(ws.file("w.npy")) + " " + q(ws.file("out.bbs")) + " --bank 8 --keep 2 ";
  check_refusals(ws,
                 {{base + "--calibration " + q(ws.file("xt.npy")), 1, "it looks transposed"},
                  {base + "--calibration " + q(ws.file("x39.npy")), 1, "one input vector of 40 values per row"},
                  {base + "--calibration " + q(ws.file("x.npy")) + " --damping 0", 2, "--damping must be > 0"},
                  {base + "--damping 0.1", 2, "--damping applies to --calibration only"}},
                 with_inputs);
}

TEST_CASE("bbs info describes a file and verifies it", "[tools][cli]") {
  Workspace ws;
  const auto a = bbs::prune<float>(bbs_test::random_dense<float>(20, 50, 3), bbs::BankConfig(16, 3));
  bbs::save(a, ws.file("a.bbs"));
  const Run r = ws.bbs("info " + q(ws.file("a.bbs")));
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains("shape:       20 x 50"));
  CHECK_THAT(r.out, Catch::Contains("value type:  float32 (type code 1)"));
  CHECK_THAT(r.out, Catch::Contains("index type:  uint8"));
  CHECK_THAT(r.out, Catch::Contains("banks:       4 per row of 16 columns, 3 kept per bank"));
  CHECK_THAT(r.out, Catch::Contains("(" + std::to_string(a.nonZeros()) + " stored nonzeros of 1000)"));
  CHECK_THAT(r.out, Catch::Contains("memory:      " + std::to_string(a.csbBytes()) + " bytes as loaded (one copy)"));
  CHECK_THAT(r.out, Catch::Contains("integrity:   ok"));

  // Truncated and corrupted files: exit code 1 and the loader's diagnosis.
  const std::string bytes = slurp(ws.file("a.bbs"));
  std::ofstream(ws.file("cut.bbs"), std::ios::binary) << bytes.substr(0, bytes.size() - 9);
  const Run cut = ws.bbs("info " + q(ws.file("cut.bbs")));
  CHECK(cut.code == 1);
  CHECK_THAT(cut.err, Catch::Contains("bbs info: error:") && Catch::Contains("truncated"));
  std::string flipped = bytes;
  flipped[100] = static_cast<char>(flipped[100] ^ 0x40);
  std::ofstream(ws.file("bad.bbs"), std::ios::binary) << flipped;
  const Run bad = ws.bbs("info " + q(ws.file("bad.bbs")));
  CHECK(bad.code == 1);
  CHECK_THAT(bad.err, Catch::Contains("checksum mismatch"));
  const Run missing = ws.bbs("info " + q(ws.file("none.bbs")));
  CHECK(missing.code == 1);
  CHECK_THAT(missing.err, Catch::Contains("cannot open the file"));
}

TEST_CASE("bbs convert changes value types and writes .npy and Matrix Market", "[tools][cli]") {
  Workspace ws;
  const auto a = bbs::prune<float>(bbs_test::random_dense<float>(33, 70, 5), bbs::BankConfig(16, 5));
  bbs::save(a, ws.file("a.bbs"));

  REQUIRE(ws.bbs("convert " + q(ws.file("a.bbs")) + " " + q(ws.file("a.npy")) + " --quiet").code == 0);
  CHECK(bbs::read_npy(ws.file("a.npy")).matrix<float>() == a.toDense());

  REQUIRE(ws.bbs("convert " + q(ws.file("a.bbs")) + " " + q(ws.file("a.mtx")) + " --quiet").code == 0);
  std::istringstream mtx(slurp(ws.file("a.mtx")));
  std::string line;
  std::getline(mtx, line);
  CHECK(line == "%%MatrixMarket matrix coordinate real general");
  std::getline(mtx, line);  // comment
  bbs::index rows = 0, cols = 0, count = 0;
  mtx >> rows >> cols >> count;
  CHECK(rows == 33);
  CHECK(cols == 70);
  REQUIRE(count == a.nonZeros());
  Eigen::MatrixXf rebuilt = Eigen::MatrixXf::Zero(rows, cols);
  for (bbs::index n = 0; n < count; ++n) {
    bbs::index i = 0, j = 0;
    double v = 0;
    mtx >> i >> j >> v;
    rebuilt(i - 1, j - 1) = float(v);
  }
  CHECK(rebuilt == a.toDense());

  const Run b = ws.bbs("convert " + q(ws.file("a.bbs")) + " " + q(ws.file("b.bbs")) + " --type bfloat16");
  INFO(b.out << b.err);
  REQUIRE(b.code == 0);
  CHECK_THAT(b.out, Catch::Contains("quantized to bfloat16"));
  const auto bf = bbs::load<Eigen::bfloat16>(ws.file("b.bbs"));
  const auto want = bbs::quantize<Eigen::bfloat16>(a).value;
  for (bbs::index e = 0; e < bf.storedEntries(); ++e) {
    REQUIRE(Eigen::numext::bit_cast<std::uint16_t>(bf.valueData()[e]) ==
            Eigen::numext::bit_cast<std::uint16_t>(want.valueData()[e]));
  }
  // And back to float32: exact.
  REQUIRE(ws.bbs("convert " + q(ws.file("b.bbs")) + " " + q(ws.file("c.bbs")) + " --type float32 --quiet").code == 0);
  CHECK(bbs::load<float>(ws.file("c.bbs")).toDense() == bbs::dequantize(want).toDense());
}

TEST_CASE("bbs bench times every backend against Eigen", "[tools][cli]") {
  Workspace ws;
  bbs::save(bbs::quantize<bbs::fixed16<11>>(
                bbs::prune<float>(bbs_test::random_dense<float>(64, 128, 9), bbs::BankConfig(64, 8)))
                .value,
            ws.file("a.bbs"));
  const Run r = ws.bbs("bench " + q(ws.file("a.bbs")) + " --repeats 1 --min-time 0 --batch 3");
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains("fixed16<11>") && Catch::Contains("batch 3"));
  CHECK_THAT(r.out, Catch::Contains("Eigen::SparseMatrix float32") && Catch::Contains("Eigen dense float32"));
  for (const std::string& name : bbs::backend_names())
    CHECK_THAT(r.out, Catch::Contains("bbs " + name + " fixed16<11>"));
  // Resident memory, and a copy prepared for simd with one copy kept (issue 19's first-use check).
  CHECK_THAT(r.out, Catch::Contains("memory: ") && Catch::Contains("bytes resident after these products"));
  CHECK_THAT(r.out, Catch::Contains("prepared for simd with one copy: ") && Catch::Contains("first product"));
}

TEST_CASE("bbs refuses bad usage with exit code 2 and bad input with 1, leaving no file", "[tools][cli]") {
  Workspace ws;
  bbs::save_npy(bbs_test::random_dense<float>(8, 16, 1).eval(), ws.file("w.npy"));
  const std::string in = q(ws.file("w.npy"));
  const std::string out = q(ws.file("out.bbs"));
  const std::vector<Refusal> cases = {
      {"", 2, "no command given"},
      {"frobnicate", 2, "unknown command 'frobnicate'"},
      {"prune " + in + " " + out + " --bank 8 --keep 2 --colour red", 2, "unknown option --colour"},
      {"prune " + in + " " + out + " --keep 2", 2, "--bank is required"},
      {"prune " + in + " " + out + " --bank 8", 2, "give exactly one of --keep and --sparsity"},
      {"prune " + in + " " + out + " --bank 8 --keep 2 --sparsity 0.5", 2, "give exactly one of --keep and --sparsity"},
      {"prune " + in + " " + out + " --bank 8 --keep 9", 2, "--keep 9: expected an integer in [0, 8]"},
      {"prune " + in + " " + out + " --bank eight --keep 2", 2, "--bank eight: expected an integer"},
      {"prune " + in + " --bank 8 --keep 2", 2, "expected IN.npy|IN.npz OUT.bbs, got 1 arguments"},
      {"prune " + in + " " + out + " --bank", 2, "option --bank needs a value"},
      {"prune " + in + " " + out + " --bank 8 --sparsity 1.5", 1, "sparsity must be in [0, 1]"},
      {"prune " + in + " " + out + " --bank 8 --keep 2 --type int4", 1, "value type \"int4\": expected float32"},
      {"prune " + in + " " + out + " --bank 8 --keep 2 --type 'fixed16<16>'", 1,
       "fraction width '16' is not auto or 0..15"},
      {"prune " + q(ws.file("none.npy")) + " " + out + " --bank 8 --keep 2", 1, "cannot open the file"},
      {"prune " + q(std::string(BBS_TEST_DATA_DIR) + "/npy/three_d.npy") + " " + out + " --bank 2 --keep 1", 1,
       "holds a 3-D array"},
      {"prune " + q(std::string(BBS_TEST_DATA_DIR) + "/npy/weights.npz") + " " + out + " --bank 2 --keep 1", 1,
       "holds 2 arrays (w, b); name one with --array"},
      {"prune " + q(std::string(BBS_TEST_DATA_DIR) + "/npy/compressed.npz") + " " + out + " --bank 2 --keep 1", 1,
       "numpy.savez_compressed"},
      {"prune " + in + " " + q(ws.file("no/such/dir/out.bbs")) + " --bank 8 --keep 2", 1, "failed"},
      {"convert " + in + " " + q(ws.file("out.txt")), 2, "the output must end in .bbs, .npy or .mtx"},
      {"convert " + in + " " + out, 1, "this is not a bbs CSB file"},
      {"info", 2, "expected FILE.bbs, got 0 arguments"},
      {"bench " + in + " --repeats 0", 2, "--repeats 0: expected an integer in [1, 1000]"},
  };
  check_refusals(ws, cases, {"w.npy"});  // nothing written, no temporary left
}

namespace {

/// A model file of one linear layer, 4 features -> 3 classes, with dense weights pruned by the
/// loader at bank 4, nnz 4 (no pruning).
Eigen::MatrixXf write_linear_model(const std::string& path) {
  Eigen::MatrixXf w(3, 4);
  w << 1, 0, 0, 0.5f, 0, 1, 0, 0.25f, 0, 0, 1, -0.5f;
  bbs::detail::zip::Writer zip("test");
  zip.add("model.txt", std::string("bbs-model 1\ninput features features=4\nlinear name=fc in=4 out=3 bank=4 nnz=4\n"));
  zip.add("fc.weight.npy", bbs::npy_bytes(w));
  zip.write(path);
  return w;
}

/// x (10 x 4) and labels y: the true class (argmax of W x) for the first 7 samples, a wrong one
/// for the last 3.
void write_data(const std::string& path, const Eigen::MatrixXf& w, Eigen::MatrixXf& x) {
  x = bbs_test::random_dense<float>(10, 4, 3);
  Eigen::MatrixXf y(10, 1);
  for (bbs::index i = 0; i < 10; ++i) {
    Eigen::Index best = 0;
    (w * x.row(i).transpose()).maxCoeff(&best);
    y(i, 0) = static_cast<float>(i < 7 ? best : (best + 1) % 3);
  }
  bbs::detail::zip::Writer zip("test");
  zip.add("x.npy", bbs::npy_bytes(x));
  zip.add("y.npy", bbs::npy_bytes(y, {10}));
  zip.write(path);
}

}  // namespace

TEST_CASE("bbs eval runs a model file on every backend and reports accuracy, outputs and JSON", "[tools][cli][model]") {
  Workspace ws;
  const Eigen::MatrixXf w = write_linear_model(ws.file("m.bbsm"));
  Eigen::MatrixXf x;
  write_data(ws.file("d.npz"), w, x);
  const Run r = ws.bbs("eval " + q(ws.file("m.bbsm")) + " " + q(ws.file("d.npz")) + " --batch 3 --json " +
                       q(ws.file("r.json")) + " --outputs " + q(ws.file("o.npy")));
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains("10 samples"));
  for (const std::string& name : bbs::backend_names())
    CHECK_THAT(r.out, Catch::Contains(name) && Catch::Contains("70.00%"));
  CHECK_THAT(slurp(ws.file("r.json")), Catch::Contains("\"accuracy\": 0.7,") && Catch::Contains("\"correct\": 7"));
  const Eigen::MatrixXf outputs = bbs::read_npy(ws.file("o.npy")).matrix<float>();
  CHECK((outputs - x * w.transpose()).cwiseAbs().maxCoeff() < 1e-6f);
  // fixed16 rounds, the predictions stay.
  const Run f =
      ws.bbs("eval " + q(ws.file("m.bbsm")) + " " + q(ws.file("d.npz")) + " --type 'fixed16<12>' --backend reference");
  INFO(f.err);
  CHECK(f.code == 0);
  CHECK_THAT(f.out, Catch::Contains("reference") && Catch::Contains("70.00%"));
  // info and bench recognise a model file.
  const Run i = ws.bbs("info " + q(ws.file("m.bbsm")));
  CHECK(i.code == 0);
  CHECK_THAT(i.out, Catch::Contains("linear name=fc in=4 out=3 bank=4 nnz=4") && Catch::Contains("fc.weight: 3 x 4"));
  const Run b =
      ws.bbs("bench " + q(ws.file("m.bbsm")) + " --repeats 1 --min-time 0 --baseline " + q(ws.file("m.bbsm")));
  CHECK(b.code == 0);
  CHECK_THAT(b.out, Catch::Contains("4 features -> 3 features") && Catch::Contains("baseline (us)") &&
                        Catch::Contains("speedup"));
}

TEST_CASE("bbs eval refuses bad models, data and options with a message and no partial file", "[tools][cli][model]") {
  Workspace ws;
  const Eigen::MatrixXf w = write_linear_model(ws.file("m.bbsm"));
  Eigen::MatrixXf x;
  write_data(ws.file("d.npz"), w, x);
  bbs::save_npy(x, ws.file("x.npy"));
  {
    bbs::detail::zip::Writer zip("test");
    zip.add("x.npy", bbs::npy_bytes(Eigen::MatrixXf(x.leftCols(3))));
    zip.add("y.npy", bbs::npy_bytes(Eigen::MatrixXf::Zero(10, 1), {10}));
    zip.write(ws.file("narrow.npz"));
  }
  const std::string m = q(ws.file("m.bbsm")), d = q(ws.file("d.npz")), json = " --json " + q(ws.file("r.json"));
  const std::vector<Refusal> cases = {
      {"eval " + m, 2, "expected MODEL.bbsm DATA.npz, got 1 arguments"},
      {"eval " + m + " " + d + " --backend gpu" + json, 2, "--backend gpu: this build has all"},
      {"eval " + m + " " + d + " --type 'fixed16<3>'" + json, 2,
       "models run as float32 or fixed16<F> with F from 8 to 13"},
      {"eval " + m + " " + q(ws.file("narrow.npz")) + json, 1, "x is N x 3; the model takes N x 4"},
      {"eval " + m + " " + q(ws.file("x.npy")) + json, 1, "not a ZIP archive"},
      {"eval " + d + " " + d + json, 1, "no model.txt entry; not a bbs model file"},
      {"eval " + m + " " + q(ws.file("none.npz")) + json, 1, "cannot open the file"},
  };
  check_refusals(ws, cases, {"d.npz", "m.bbsm", "narrow.npz", "x.npy"});
}

#ifdef BBS_TEST_CLI_HAS_SPEECH
namespace {

/// 16-bit PCM samples as a WAV file (`channels` interleaved) and as raw little-endian bytes.
std::string pcm_bytes(const std::vector<std::int16_t>& samples) {
  std::string bytes;
  for (const std::int16_t v : samples) {
    bytes += static_cast<char>(static_cast<std::uint16_t>(v) & 0xff);
    bytes += static_cast<char>(static_cast<std::uint16_t>(v) >> 8);
  }
  return bytes;
}

void write_wav(const std::string& path, const std::vector<std::int16_t>& samples, std::uint32_t rate,
               std::uint16_t channels = 1, std::uint32_t declared_bytes = 0) {
  const std::string data = pcm_bytes(samples);
  const auto u32 = [](std::uint32_t v) {
    return std::string{char(v & 0xff), char((v >> 8) & 0xff), char((v >> 16) & 0xff), char(v >> 24)};
  };
  const auto u16 = [](std::uint16_t v) { return std::string{char(v & 0xff), char(v >> 8)}; };
  const std::uint32_t size = declared_bytes ? declared_bytes : static_cast<std::uint32_t>(data.size());
  const std::string wav = "RIFF" + u32(36 + size) + "WAVEfmt " + u32(16) + u16(1) + u16(channels) + u32(rate) +
                          u32(rate * 2u * channels) + u16(static_cast<std::uint16_t>(2 * channels)) + u16(16) + "data" +
                          u32(size) + data;
  std::ofstream(path, std::ios::binary).write(wav.data(), static_cast<std::streamsize>(wav.size()));
}

/// A second of 16 kHz test audio: two tones and a little noise, varying over time.
std::vector<std::int16_t> test_audio() {
  std::mt19937 gen(3);
  std::normal_distribution<double> noise(0.0, 300.0);
  std::vector<std::int16_t> s(16000);
  for (std::size_t i = 0; i < s.size(); ++i) {
    const double t = double(i) / 16000.0;
    s[i] = static_cast<std::int16_t>(6000 * std::sin(2 * 3.14159265 * (300 + 900 * t) * t) +
                                     3000 * std::sin(2 * 3.14159265 * 2500 * t) * (t > 0.5) + noise(gen));
  }
  return s;
}

/// A phone recognizer with random weights: 4 stacked log-mel frames in, LSTM 16 x 2, 39 classes.
void write_speech_model(const std::string& path) {
  const std::string manifest =
      "bbs-model 1\ninput sequence features=160\nlstm name=rnn input=160 hidden=16 layers=2 bidirectional=0 "
      "bank=16 nnz=2\nlinear name=fc in=16 out=39 bank=8 nnz=4\n";
  const std::vector<unsigned char> bytes = bbs_test::lstm_model_bytes(manifest, 160, 16, 2, 39, 7);
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace

TEST_CASE("bbs transcribe streams a file or stdin PCM to the same phones and reports its latency",
          "[tools][cli][speech]") {
  Workspace ws;
  write_speech_model(ws.file("speech.bbsm"));
  const std::vector<std::int16_t> audio = test_audio();
  write_wav(ws.file("a.wav"), audio, 16000);
  {
    const std::string raw = pcm_bytes(audio);
    std::ofstream(ws.file("a.raw"), std::ios::binary).write(raw.data(), static_cast<std::streamsize>(raw.size()));
  }
  const std::string m = q(ws.file("speech.bbsm"));
  const Run file = ws.bbs("transcribe " + m + " " + q(ws.file("a.wav")) + " --logits " + q(ws.file("file.npy")));
  INFO(file.err);
  REQUIRE(file.code == 0);
  // 1 s: 98 log-mel frames, 24 steps of 4 frames (40 ms).
  CHECK_THAT(file.err, Catch::Contains("1.00 s of audio, 24 steps of 40 ms"));
  CHECK_THAT(file.err, Catch::Contains("real-time factor"));
  CHECK_THAT(file.err, Catch::Contains("per-step latency median"));
  const std::string last = file.out.substr(file.out.rfind('\n', file.out.size() - 2) + 1);
  CHECK(last != "\n");
  const Eigen::MatrixXf logits = bbs::read_npy(ws.file("file.npy")).matrix<float>();
  CHECK(logits.rows() == 24);
  CHECK(logits.cols() == 39);
  for (const std::string& backend : bbs::backend_names()) {
    INFO("--stream --backend " << backend);
    const Run live = ws.bbs("transcribe " + m + " --stream --backend " + backend + " --logits " +
                            q(ws.file("live.npy")) + " < " + q(ws.file("a.raw")));
    INFO(live.err);
    CHECK(live.code == 0);
    CHECK(live.out.substr(live.out.rfind('\n', live.out.size() - 2) + 1) == last);
    const Eigen::MatrixXf live_logits = bbs::read_npy(ws.file("live.npy")).matrix<float>();
    REQUIRE(live_logits.rows() == logits.rows());
    CHECK((live_logits - logits).cwiseAbs().maxCoeff() <= 1e-4f * (1.0f + logits.cwiseAbs().maxCoeff()));
  }
  const Run fixed = ws.bbs("transcribe " + m + " " + q(ws.file("a.wav")) + " --type 'fixed16<9>' --quiet");
  CHECK(fixed.code == 0);
  CHECK(fixed.err.empty());
  CHECK(std::count(fixed.out.begin(), fixed.out.end(), '\n') == 1);  // --quiet: the phones only
}

TEST_CASE("bbs transcribe refuses models, audio and options it cannot use, by name", "[tools][cli][speech]") {
  Workspace ws;
  write_linear_model(ws.file("m.bbsm"));
  const std::vector<std::int16_t> tenth(1600, 0);
  write_wav(ws.file("8k.wav"), tenth, 8000);
  write_wav(ws.file("stereo.wav"), tenth, 16000, 2);
  write_wav(ws.file("empty.wav"), {}, 16000);
  write_wav(ws.file("cut.wav"), tenth, 16000, 1, 64000);  // the header declares 2 s
  { std::ofstream(ws.file("odd.raw"), std::ios::binary).write("\1\2\3", 3); }
  const std::string sample = q(std::string(BBS_TEST_DATA_DIR) + "/speech/sample/val/val_00000.wav");
  const std::string m = q(ws.file("m.bbsm"));
  write_speech_model(ws.file("speech.bbsm"));
  const std::string speech = q(ws.file("speech.bbsm"));
  const std::vector<Refusal> cases = {
      {"transcribe " + m, 2, "expected MODEL.bbsm AUDIO.wav, got 1 arguments"},
      {"transcribe " + m + " " + sample + " --stream", 2, "expected MODEL.bbsm --stream"},
      {"transcribe " + m + " " + sample + " --backend gpu", 2, "--backend gpu: not a backend of this build"},
      {"transcribe " + m + " " + sample, 1, "a phone recognizer takes a sequence of k x 40 log-mel features"},
      {"transcribe " + m + " " + q(ws.file("none.wav")), 1, "none.wav"},
      {"transcribe " + m + " " + q(ws.file("8k.wav")), 1, "8000 Hz; the features are defined at 16000 Hz"},
      {"transcribe " + m + " " + q(ws.file("stereo.wav")), 1, "2 channels; expected mono audio"},
      {"transcribe " + m + " " + q(ws.file("empty.wav")), 1, "empty.wav: no samples"},
      {"transcribe " + m + " " + q(ws.file("cut.wav")), 1, "truncated"},
      {"transcribe " + speech + " --stream < " + q(ws.file("odd.raw")), 1, "the stream ends inside a sample"},
  };
  check_refusals(ws, cases, {"8k.wav", "cut.wav", "empty.wav", "m.bbsm", "odd.raw", "speech.bbsm", "stereo.wav"});
}
#endif

TEST_CASE("bbs calibrate writes a model whose LSTM layers carry calibrated formats", "[tools][cli][model]") {
  Workspace ws;
  // The trained long-memory LSTM of test/data/nn/lstm_long_memory (2 layers, hidden 32) as a model
  // file, and its 4 fixture sequences (200 frames of 4 features) as data.
  const std::string dir = std::string(BBS_TEST_DATA_DIR) + "/nn/lstm_long_memory/";
  bbs::detail::zip::Writer zip("test");
  zip.add("model.txt", std::string("bbs-model 1\ninput sequence features=4\n"
                                   "lstm name=rnn input=4 hidden=32 layers=2 bank=4 nnz=4\n"));
  for (const char* t : {"weight_ih", "weight_hh", "bias_ih", "bias_hh"}) {
    for (const char* l : {"_l0", "_l1"}) {
      Eigen::MatrixXf a = bbs::read_npy(dir + t + l + ".npy").matrix<float>();
      const std::vector<bbs::index> shape =
          a.rows() == 1 ? std::vector<bbs::index>{a.cols()} : std::vector<bbs::index>{a.rows(), a.cols()};
      zip.add(std::string("rnn.") + t + l + ".npy", bbs::npy_bytes(a, shape));
    }
  }
  zip.write(ws.file("m.bbsm"));
  const Eigen::MatrixXf frames = bbs::read_npy(dir + "input.npy").matrix<float>();  // (T * 4) x 4
  Eigen::MatrixXf x(4, 200 * 4);                                                    // N x (T * F), row-major samples
  for (bbs::index b = 0; b < 4; ++b)
    for (bbs::index t = 0; t < 200; ++t)
      for (bbs::index f = 0; f < 4; ++f) x(b, t * 4 + f) = frames(t * 4 + b, f);
  bbs::detail::zip::Writer data("test");
  data.add("x.npy", bbs::npy_bytes(x, {4, 200, 4}));
  data.add("y.npy", bbs::npy_bytes(Eigen::MatrixXf::Zero(4, 1), {4}));
  data.write(ws.file("d.npz"));

  const Run r = ws.bbs("calibrate " + q(ws.file("m.bbsm")) + " " + q(ws.file("d.npz")) + " " + q(ws.file("c.bbsm")) +
                       " --batch 3 --quiet");
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains("calibrated on 4 samples") && Catch::Contains("lstm 'rnn': formats=w_ih:"));
  // The library's calibration of the same model on the same sequences (batches of 3 and 1).
  const auto model = bbs::nn::load_model<float>(ws.file("m.bbsm"));
  std::vector<bbs::nn::Activations<float>> batches(2);
  for (int k = 0; k < 2; ++k) {
    const bbs::index first = k == 0 ? 0 : 3, n = k == 0 ? 3 : 1;
    batches[k].kind = bbs::nn::DataKind::sequence;
    batches[k].batch = n;
    batches[k].columns.resize(4, 200 * n);
    for (bbs::index b = 0; b < n; ++b)
      for (bbs::index t = 0; t < 200; ++t)
        for (bbs::index f = 0; f < 4; ++f) batches[k].columns(f, t * n + b) = x(first + b, t * 4 + f);
  }
  const std::string want =
      bbs::nn::manifest_of(bbs::nn::calibrate(bbs::nn::load_model<float>(ws.file("m.bbsm")), batches));
  CHECK(bbs::nn::manifest_of(bbs::nn::load_model<float>(ws.file("c.bbsm"))) == want);
  CHECK_NOTHROW(bbs::nn::load_model<bbs::fixed16<12>>(ws.file("c.bbsm")));
  // --cell-bits 32: the same with an int32 cell state (cell formats above 15).
  const Run wide = ws.bbs("calibrate " + q(ws.file("m.bbsm")) + " " + q(ws.file("d.npz")) + " " + q(ws.file("w.bbsm")) +
                          " --batch 3 --cell-bits 32 --quiet");
  INFO(wide.out << wide.err);
  REQUIRE(wide.code == 0);
  bbs::nn::CalibrationOptions wide_options;
  wide_options.cell_bits = 32;
  CHECK(bbs::nn::manifest_of(bbs::nn::load_model<float>(ws.file("w.bbsm"))) ==
        bbs::nn::manifest_of(bbs::nn::calibrate(bbs::nn::load_model<float>(ws.file("m.bbsm")), batches, wide_options)));
  const auto wide_model = bbs::nn::load_model<bbs::fixed16<12>>(ws.file("w.bbsm"));
  const auto& wide_layer = dynamic_cast<
      const bbs::nn::RecurrentLayer<bbs::fixed16<12>, bbs::backend::automatic, bbs::nn::Lstm<bbs::fixed16<12>>>&>(
      wide_model.layer(0));
  CHECK(wide_layer.stack().cell(0, 0).wide_cell());
  CHECK(ws.bbs("calibrate " + q(ws.file("m.bbsm")) + " " + q(ws.file("d.npz")) + " " + q(ws.file("x.bbsm")) +
               " --cell-bits 24")
            .code == 2);
  // A model without an LSTM layer: exit 1, no file.
  write_linear_model(ws.file("lin.bbsm"));
  Eigen::MatrixXf xl;
  write_data(ws.file("dl.npz"), Eigen::MatrixXf::Identity(3, 4), xl);
  const Run e =
      ws.bbs("calibrate " + q(ws.file("lin.bbsm")) + " " + q(ws.file("dl.npz")) + " " + q(ws.file("no.bbsm")));
  CHECK(e.code == 1);
  CHECK_THAT(e.err, Catch::Contains("no LSTM layer"));
  CHECK_FALSE(fs::exists(ws.file("no.bbsm")));
  CHECK(ws.bbs("calibrate " + q(ws.file("m.bbsm")) + " " + q(ws.file("d.npz")) + " " + q(ws.file("x.bbsm")) +
               " --margin 0.5")
            .code == 2);
}

TEST_CASE("saturation fails prune, convert and eval unless --allow-saturation", "[tools][cli][saturation]") {
  Workspace ws;
  // Weights up to 3 in magnitude: fixed8<7,12> holds [-1, 1), so most of them saturate.
  Eigen::MatrixXf w = 3.0f * bbs_test::random_dense<float>(16, 32, 5);
  bbs::save_npy(w, ws.file("w.npy"));
  const bbs::index over =
      (w.array().abs() * 128.0f >= 127.5f && w.array() > 0).count() + (w.array() * 128.0f <= -128.5f).count();
  REQUIRE(over > 0);
  const std::string prune = "prune " + q(ws.file("w.npy")) + " " + q(ws.file("w.bbs")) +
                            " --bank 32 --keep 32 --no-report --type 'fixed8<7,12>'";
  const Run p = ws.bbs(prune);
  CHECK(p.code == 1);
  CHECK_THAT(p.err, Catch::Contains(std::to_string(over) + " of 512 values saturate in fixed8<7,12>") &&
                        Catch::Contains("nothing written"));
  CHECK(p.out.empty());
  CHECK_FALSE(fs::exists(ws.file("w.bbs")));
  const Run pa = ws.bbs(prune + " --allow-saturation");
  CHECK(pa.code == 0);
  CHECK_THAT(pa.out, Catch::Contains(std::to_string(over) + " saturated"));
  // convert: the float file to a type that cannot hold it; auto picks one that can.
  REQUIRE(
      ws.bbs("prune " + q(ws.file("w.npy")) + " " + q(ws.file("f.bbs")) + " --bank 32 --keep 32 --no-report").code ==
      0);
  const Run c = ws.bbs("convert " + q(ws.file("f.bbs")) + " " + q(ws.file("c.bbs")) + " --type 'fixed16<14>'");
  CHECK(c.code == 1);
  CHECK_THAT(c.err, Catch::Contains("saturate in fixed16<14>"));
  CHECK_FALSE(fs::exists(ws.file("c.bbs")));
  CHECK(
      ws.bbs("convert " + q(ws.file("f.bbs")) + " " + q(ws.file("c.bbs")) + " --type 'fixed16<14>' --allow-saturation")
          .code == 0);
  CHECK(ws.bbs("convert " + q(ws.file("f.bbs")) + " " + q(ws.file("a.bbs")) + " --type 'fixed16<auto>'").code == 0);
  // eval: a linear model whose outputs leave fixed16<13>'s range [-4, 4) on inputs up to 8.
  const Eigen::MatrixXf lw = write_linear_model(ws.file("m.bbsm"));
  Eigen::MatrixXf x;
  write_data(ws.file("d.npz"), lw, x);
  Eigen::MatrixXf big = 8.0f * x;
  bbs::detail::zip::Writer data("test");
  data.add("x.npy", bbs::npy_bytes(big));
  data.add("y.npy", bbs::npy_bytes(Eigen::MatrixXf::Zero(10, 1), {10}));
  data.write(ws.file("big.npz"));
  const std::string eval = "eval " + q(ws.file("m.bbsm")) + " " + q(ws.file("big.npz")) +
                           " --type 'fixed16<13>' --backend reference --latency-samples 0 --json " +
                           q(ws.file("r.json"));
  const Run e = ws.bbs(eval);
  INFO(e.out << e.err);
  CHECK(e.code == 1);
  CHECK_THAT(e.out, Catch::Contains("saturated: m.bbsm input: ") && Catch::Contains("saturated: m.bbsm fc.output: "));
  CHECK_THAT(e.err, Catch::Contains("values saturated in fixed16<13>") && Catch::Contains("--allow-saturation"));
  CHECK_THAT(slurp(ws.file("r.json")), Catch::Contains("\"saturated\": "));
  CHECK(ws.bbs(eval + " --allow-saturation").code == 0);
  // Weights that saturate when the model is quantized at load count too.
  bbs::detail::zip::Writer heavy("test");
  heavy.add("model.txt",
            std::string("bbs-model 1\ninput features features=4\nlinear name=fc in=4 out=3 bank=4 nnz=4\n"));
  heavy.add("fc.weight.npy", bbs::npy_bytes(Eigen::MatrixXf(Eigen::MatrixXf::Identity(3, 4) * 9.0f)));
  heavy.write(ws.file("heavy.bbsm"));
  const Run h = ws.bbs("eval " + q(ws.file("heavy.bbsm")) + " " + q(ws.file("d.npz")) +
                       " --type 'fixed16<12>' --backend reference --latency-samples 0");
  CHECK(h.code == 1);
  CHECK_THAT(h.out, Catch::Contains("saturated: heavy.bbsm weights fc.weight: 3 of 12 values"));
  // In range: exit 0 and a count of zero.
  const Run ok = ws.bbs("eval " + q(ws.file("m.bbsm")) + " " + q(ws.file("d.npz")) +
                        " --type 'fixed16<12>' --backend reference --latency-samples 0");
  CHECK(ok.code == 0);
  CHECK_THAT(ok.out, Catch::Contains("saturated values: 0"));
}

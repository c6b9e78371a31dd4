// Per-tensor fixed-point formats in the LSTM (core/fixed_formats.hpp, nn/lstm.hpp) and their
// calibration (nn/calibrate.hpp), on a trained LSTM whose cell state grows past 30
// (test/data/nn/lstm_long_memory/, tools/fixtures/make_long_memory_fixture.py): one shared
// fixed16<12> format clips it, calibrated formats follow float; the formats are bit-exact on every
// CPU backend (the FPGA emulator: test/backend/fpga/test_fpga_backend.cpp); streaming equals
// whole sequences; bad formats are errors.
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

#include <unistd.h>

#include "source_tree.hpp"  // BBS_TEST_DATA_DIR, BBS_MODELS_DIR, BBS_CLI
#include "nn/nn_fixtures.hpp"

namespace {

using bbs::index;
using bbs_test::fixture_columns;
using bbs_test::RecurrentCase;
using Q = bbs::fixed16<12>;
using Formats = bbs::fixed_rules::LstmFormats;

const RecurrentCase long_memory{"lstm_long_memory", 2, false, 4, bbs::BankConfig(4, 4)};

/// The fixture's frames 0 .. frames - 1.
Eigen::MatrixXf input_frames(index frames) {
  return fixture_columns(long_memory.name, "input").leftCols(frames * long_memory.batch);
}

/// Raw values as doubles (exact), for comparing states bit for bit.
Eigen::MatrixXd raw_of(const bbs::nn::Matrix<Q>& m) {
  return m.unaryExpr([](const Q& v) { return static_cast<double>(v.raw()); });
}

/// A fixed-point LSTM run from float inputs: outputs and final states as floats.
struct FixedRun {
  Eigen::MatrixXf output;
  std::vector<Eigen::MatrixXf> h, c;
  std::vector<Eigen::MatrixXd> raw_c;  ///< the raw cell state (int16 or, wide, int32), exactly
};

template <typename Backend = bbs::backend::automatic>
FixedRun run_fixed(const std::vector<Formats>& formats, index frames) {
  const auto weights = bbs_test::load_weights(long_memory);
  const auto lstm = formats.empty()
                        ? bbs::nn::Lstm<Q, Backend>::from_dense(weights, 2, false, long_memory.config)
                        : bbs::nn::Lstm<Q, Backend>::from_dense(weights, 2, false, long_memory.config, formats);
  const Formats first = lstm.cell(0, 0).formats(), last = lstm.cell(1, 0).formats();
  auto state = lstm.zero_state(long_memory.batch);
  const auto x = bbs::nn::quantize_activations<Q>(input_frames(frames), first.input);
  FixedRun r;
  r.output = bbs::nn::dequantize_activations(lstm.forward(x, long_memory.batch, state), last.output);
  for (index l = 0; l < 2; ++l) {
    const Formats& f = lstm.cell(l, 0).formats();
    r.h.push_back(bbs::nn::dequantize_activations(state[static_cast<std::size_t>(l)].h, f.output));
    const auto& s = state[static_cast<std::size_t>(l)];
    r.c.push_back(lstm.cell(l, 0).dequantize_cell(s));
    r.raw_c.push_back(lstm.cell(l, 0).wide_cell() ? Eigen::MatrixXd(s.c_wide.template cast<double>()) : raw_of(s.c));
  }
  return r;
}

std::vector<Formats> calibrated(index frames = 200, int cell_bits = 16) {
  const auto lstm = bbs::nn::Lstm<float>::from_dense(bbs_test::load_weights(long_memory), 2, false, long_memory.config);
  bbs::nn::CalibrationOptions options;
  options.cell_bits = cell_bits;
  return bbs::nn::calibrate_lstm(lstm, {input_frames(frames)}, long_memory.batch, options);
}

double max_abs(const Eigen::MatrixXf& m) { return m.cwiseAbs().maxCoeff(); }

}  // namespace

TEST_CASE("a trained LSTM's large cell state: one shared format clips it, calibrated formats follow float",
          "[nn][lstm][fixed][formats]") {
  const Eigen::MatrixXf want_out = fixture_columns(long_memory.name, "output");
  const auto want_c = bbs_test::state_blocks<float>(long_memory.name, "c_n", long_memory.batch);
  const double largest_c = std::max(max_abs(want_c[0]), max_abs(want_c[1]));
  REQUIRE(largest_c > 30);  // the fixture is what it claims to be

  // The old behaviour: every tensor in Q3.12, range +-8.
  const FixedRun shared = run_fixed({}, 200);
  const double shared_c_error = std::max(bbs_test::max_abs_difference(shared.c[0], want_c[0]),
                                         bbs_test::max_abs_difference(shared.c[1], want_c[1]));
  INFO("shared fixed16<12>: c error " << shared_c_error << " of largest |c| " << largest_c);
  CHECK(shared_c_error > 0.5 * (largest_c - 8));  // clipped at 8
  CHECK(max_abs(shared.c[1]) <= 8);

  const std::vector<Formats> formats = calibrated();
  const FixedRun fixed = run_fixed(formats, 200);
  const double h_error = bbs_test::max_abs_difference(fixed.output, want_out);
  const double c_error = std::max(bbs_test::max_abs_difference(fixed.c[0], want_c[0]),
                                  bbs_test::max_abs_difference(fixed.c[1], want_c[1]));
  std::ostringstream chosen;
  for (const Formats& f : formats) {
    chosen << "[W_ih Q" << f.weight_ih << ", W_hh Q" << f.weight_hh << ", x Q" << f.input << ", gates Q" << f.gates
           << ", activations Q" << f.activation << ", c Q" << f.cell << ", h Q" << f.output << "] ";
    CHECK(f.cell < 12);  // the cell state needs more integer bits than the rest
  }
  INFO("calibrated formats per layer: " << chosen.str());
  INFO("calibrated: h error " << h_error << ", c error " << c_error << " (" << 100 * c_error / largest_c
                              << " % of the largest |c|)");
  // A 16-bit cell state that holds |c| = 153 has a step of 2^-6, and its rounding while c is
  // small reaches h: measured 0.030 (docs/VALUE_TYPES.md).
  CHECK(h_error <= 0.04);
  CHECK(c_error <= 0.01 * largest_c);

  // A 32-bit cell state (cell formats 16..30) removes that rounding: the targets, h within
  // 1e-2 and c within 1 %.
  const std::vector<Formats> wide = calibrated(200, 32);
  for (const Formats& f : wide) CHECK(bbs::fixed_rules::is_wide_cell(f.cell));
  const FixedRun wide_run = run_fixed(wide, 200);
  const double wide_h_error = bbs_test::max_abs_difference(wide_run.output, want_out);
  const double wide_c_error = std::max(bbs_test::max_abs_difference(wide_run.c[0], want_c[0]),
                                       bbs_test::max_abs_difference(wide_run.c[1], want_c[1]));
  INFO("32-bit cell state (c Q" << wide[0].cell << ", Q" << wide[1].cell << "): h error " << wide_h_error
                                << ", c error " << wide_c_error);
  CHECK(wide_h_error <= 1e-2);
  CHECK(wide_c_error <= 0.01 * largest_c);
  CHECK(wide_h_error < h_error);
}
TEST_CASE("calibration picks the finest format that holds each range with its margin", "[nn][lstm][formats]") {
  const auto lstm = bbs::nn::Lstm<float>::from_dense(bbs_test::load_weights(long_memory), 2, false, long_memory.config);
  const Eigen::MatrixXf x = input_frames(200);
  bbs::nn::LstmRanges r0, r1;
  auto s0 = lstm.cell(0, 0).zero_state(long_memory.batch);
  auto s1 = lstm.cell(1, 0).zero_state(long_memory.batch);
  const auto h0 = lstm.cell(0, 0).run(x, long_memory.batch, s0, false, &r0);
  lstm.cell(1, 0).run(h0, long_memory.batch, s1, false, &r1);
  CHECK(r0.input == Approx(max_abs(x)));
  CHECK(r1.input == Approx(max_abs(h0)));
  CHECK(r0.output == Approx(max_abs(h0)));
  CHECK(r1.cell >= max_abs(fixture_columns(long_memory.name, "c_n").rightCols(4)) - 1e-3);

  const auto formats = bbs::nn::calibrate_lstm(lstm, {x}, long_memory.batch, {2.0, 14});
  const auto holds = [](double range, int f) { return 2.0 * range * std::ldexp(1.0, f) <= 32767.5; };
  for (const auto& [ranges, f] : {std::pair<bbs::nn::LstmRanges, Formats>{r0, formats[0]}, {r1, formats[1]}}) {
    for (const auto& [range, bits] : {std::pair<double, int>{ranges.cell, f.cell}, {ranges.output, f.output}}) {
      INFO("range " << range << " in Q" << bits);
      CHECK(holds(range, bits));
      CHECK((bits == 15 || !holds(range, bits + 1)));
    }
    CHECK(f.activation == 14);
  }
  CHECK(formats[1].input == formats[0].output);  // layers chain
  CHECK_THROWS_AS(bbs::nn::calibrate_lstm(lstm, {}, 4), bbs::value_error);
  CHECK(bbs::nn::format_for(0.0) == 15);
  CHECK(bbs::nn::format_for(1.0) == 14);
  CHECK(bbs::nn::format_for(1e9) == 0);
  // An int32 cell state: the finest width in 16..30 whose int32 range holds the value.
  CHECK(bbs::nn::cell_format_for(306.0, 32) == 22);
  CHECK(bbs::nn::cell_format_for(0.0, 32) == 30);
  CHECK(bbs::nn::cell_format_for(1e9, 32) == 16);
  CHECK(bbs::nn::cell_format_for(1.0, 16) == 14);
  BBS_CHECK_THROWS_CONTAINING(bbs::nn::cell_format_for(1.0, 24), bbs::config_error, "expected 16 or 32");
}

TEST_CASE("C++ and PyTorch calibration pick the same formats for the fixture", "[nn][lstm][formats]") {
  // formats.txt is what tools/python/bbs_calibrate.py picks for this LSTM and input
  // (tools/fixtures/make_long_memory_fixture.py --formats-only); its own test checks the same file.
  std::ifstream in(std::string(BBS_TEST_DATA_DIR) + "/nn/lstm_long_memory/formats.txt");
  REQUIRE(in);
  std::string narrow, wide;
  std::getline(in, narrow);
  std::getline(in, wide);  // with a 32-bit cell state
  CHECK(bbs::nn::impl::model_format_spec(calibrated()) == narrow);
  CHECK(bbs::nn::impl::model_format_spec(calibrated(200, 32)) == wide);
}

TEST_CASE("per-tensor formats are bit-exact on every CPU backend", "[nn][lstm][formats][backend]") {
  for (const int cell_bits : {16, 32}) {
    INFO(cell_bits << "-bit cell state");
    const std::vector<Formats> formats = calibrated(40, cell_bits);
    const FixedRun want = run_fixed<bbs::backend::reference>(formats, 40);
    const auto same = [&](const FixedRun& got) {
      CHECK(got.output == want.output);
      for (std::size_t i = 0; i < 2; ++i) CHECK(got.raw_c[i] == want.raw_c[i]);
    };
    bbs::for_each_backend([&](auto backend) {
      using Backend = decltype(backend);
      INFO(Backend::name);
      same(run_fixed<Backend>(formats, 40));
    });
  }
}

TEST_CASE("per-tensor formats: streaming frame by frame gives the whole-sequence result", "[nn][lstm][formats]") {
  for (const int cell_bits : {16, 32}) {
    INFO(cell_bits << "-bit cell state");
    const std::vector<Formats> formats = calibrated(30, cell_bits);
    const auto lstm =
        bbs::nn::Lstm<Q>::from_dense(bbs_test::load_weights(long_memory), 2, false, long_memory.config, formats);
    const auto x = bbs::nn::quantize_activations<Q>(input_frames(30), formats[0].input);
    auto whole = lstm.zero_state(4);
    const auto want = lstm.forward(x, 4, whole);
    auto streamed = lstm.zero_state(4);
    for (bbs::index t = 0; t < 30; ++t) {
      const bbs::nn::Matrix<Q> frame = x.middleCols(t * 4, 4);
      CHECK(lstm.step(frame, streamed) == want.middleCols(t * 4, 4));
    }
    CHECK(streamed[1].c == whole[1].c);
    CHECK(streamed[1].c_wide == whole[1].c_wide);
    // A wide cell keeps c in c_wide only; the state's shape is checked against it.
    CHECK((cell_bits == 32) == (whole[1].c.size() == 0 && whole[1].c_wide.size() == 32 * 4));
    if (cell_bits == 32) {
      auto wrong = lstm.zero_state(4);
      wrong[0].c_wide.resize(32, 3);
      BBS_CHECK_THROWS_CONTAINING(lstm.step(x.middleCols(0, 4), wrong), bbs::shape_error, "state c_wide");
    }
  }
}

TEST_CASE("per-tensor formats: a bad format is a config_error naming it", "[nn][lstm][formats][errors]") {
  const auto w = bbs_test::load_weights(long_memory);
  Formats f;
  f.cell = 31;
  BBS_CHECK_THROWS_CONTAINING(bbs::nn::LstmCell<Q>::from_dense(w[0], long_memory.config, f), bbs::config_error,
                              "format cell has 31 fraction bits, expected 0..30");
  f.cell = 16;  // a 32-bit cell state
  CHECK(bbs::nn::LstmCell<Q>::from_dense(w[0], long_memory.config, f).wide_cell());
  f = {};
  f.gates = 16;
  BBS_CHECK_THROWS_CONTAINING(bbs::nn::LstmCell<Q>::from_dense(w[0], long_memory.config, f), bbs::config_error,
                              "format gates has 16 fraction bits, expected 0..15");
  f = {};
  f.weight_ih = 15;
  f.input = 15;
  f.gates = 0;  // 2^(0 + 12 - 30) = 2^-18: below Q15.16
  BBS_CHECK_THROWS_CONTAINING(bbs::nn::LstmCell<Q>::from_dense(w[0], long_memory.config, f), bbs::config_error,
                              "W_ih x with formats Q15 x Q15 -> Q0");
  // Layer 1 must read what layer 0 writes.
  std::vector<Formats> chain(2);
  chain[0].output = 14;
  chain[1].input = 13;
  BBS_CHECK_THROWS_CONTAINING(bbs::nn::Lstm<Q>::from_dense(w, 2, false, long_memory.config, chain), bbs::config_error,
                              "layer 1 direction 0 reads its input in Q13, expected Q14");
  BBS_CHECK_THROWS_CONTAINING(bbs::nn::Lstm<Q>::from_dense(w, 2, false, long_memory.config, std::vector<Formats>(1)),
                              bbs::config_error, "1 formats for 2 cells");
  Eigen::MatrixXf nan = Eigen::MatrixXf::Zero(4, 1);
  nan(2, 0) = std::nanf("");
  BBS_CHECK_THROWS_CONTAINING(bbs::nn::quantize_activations<Q>(nan, 12), bbs::value_error, "NaN at entry 2");
}

namespace {

/// The fixture's LSTM as a float model (a sequence in, every frame's output) with `formats`.
bbs::nn::Sequential<float> float_model(const std::vector<Formats>& formats) {
  using Stack = bbs::nn::Lstm<float>;
  bbs::nn::Sequential<float> model(bbs::nn::DataShape::sequence(4));
  const auto w = bbs_test::load_weights(long_memory);
  model.add(std::make_unique<bbs::nn::RecurrentLayer<float, bbs::backend::automatic, Stack>>(
      "rnn", formats.empty() ? Stack::from_dense(w, 2, false, long_memory.config)
                             : Stack::from_dense(w, 2, false, long_memory.config, formats)));
  return model;
}

std::string temp_model(const std::string& name) {
  return (std::filesystem::temp_directory_path() / (name + "_" + std::to_string(::getpid()) + ".bbsm")).string();
}

}  // namespace

TEST_CASE("a model file carries LSTM formats: a float file loads as fixed16 with them", "[nn][lstm][formats][model]") {
  const std::vector<Formats> formats = calibrated();
  const std::string path = temp_model("bbs_test_lstm_formats");
  bbs::nn::save_model(float_model(formats), path);
  const std::string manifest = bbs::nn::manifest_of(bbs::nn::load_model<float>(path));
  CHECK_THAT(manifest, Catch::Contains(" formats=w_ih:" + std::to_string(formats[0].weight_ih)));
  CHECK_THAT(manifest, Catch::Contains(",c:" + std::to_string(formats[1].cell)));

  // Loaded as fixed16<12>: the cells have the file's formats, and the model follows float where
  // one shared format clips (the boundary is Q12: the model rescales into and out of the stack).
  const auto fixed = bbs::nn::load_model<Q>(path);
  const auto& layer =
      dynamic_cast<const bbs::nn::RecurrentLayer<Q, bbs::backend::automatic, bbs::nn::Lstm<Q>>&>(fixed.layer(0));
  CHECK(layer.stack().cell(1, 0).formats().cell == formats[1].cell);
  const Eigen::MatrixXf x = input_frames(200);
  const Eigen::MatrixXd want = fixture_columns(long_memory.name, "output").cast<double>();
  const auto got = bbs_test::to_double<Q>(fixed.forward(bbs_test::to_activations<Q>(x), long_memory.batch));
  INFO("model-level h error " << bbs_test::max_abs_difference(got, want));
  CHECK(bbs_test::max_abs_difference(got, want) <= 0.04);
  // With a 32-bit cell state (c:16..30 in the file) the model meets h within 1e-2.
  const std::vector<Formats> wide = calibrated(200, 32);
  bbs::nn::save_model(float_model(wide), path);
  CHECK_THAT(bbs::nn::manifest_of(bbs::nn::load_model<float>(path)),
             Catch::Contains(",c:" + std::to_string(wide[1].cell) + ","));
  const auto fixed_wide = bbs::nn::load_model<Q>(path);
  const auto got_wide = bbs_test::to_double<Q>(fixed_wide.forward(bbs_test::to_activations<Q>(x), long_memory.batch));
  INFO("model-level h error with a 32-bit cell state " << bbs_test::max_abs_difference(got_wide, want));
  CHECK(bbs_test::max_abs_difference(got_wide, want) <= 1e-2);
  // A fixed-point model with per-tensor formats cannot be saved as one fixed16 type.
  BBS_CHECK_THROWS_CONTAINING(bbs::nn::save_model(fixed, temp_model("bbs_test_lstm_formats_q")), bbs::config_error,
                              "per-tensor fixed-point formats");
  std::filesystem::remove(path);
}

TEST_CASE("a bad formats= key is a file_error naming it", "[nn][lstm][formats][model][errors]") {
  const std::string path = temp_model("bbs_test_lstm_formats_bad");
  bbs::nn::save_model(float_model(calibrated(20)), path);
  std::ifstream in(path, std::ios::binary);
  const std::vector<unsigned char> bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  // The same archive with the manifest's formats= replaced by `spec`.
  const auto with = [&](const std::string& spec) {
    bbs::detail::zip::Writer zip("test");
    for (const auto& e : bbs::detail::zip::entries(bytes.data(), bytes.size(), path)) {
      std::string content(reinterpret_cast<const char*>(bytes.data() + e.offset), e.size);
      if (e.name == "model.txt") {
        const auto at = content.find(" formats=");
        content = content.substr(0, at) + " formats=" + spec + content.substr(content.find_first_of(" \n", at + 1));
      }
      zip.add(e.name, content);
    }
    const std::string patched = temp_model("bbs_test_lstm_formats_patched");
    zip.write(patched);
    return patched;
  };
  const auto load = [&](const std::string& spec) { return bbs::nn::load_model<Q>(with(spec)); };
  BBS_CHECK_THROWS_CONTAINING(load("w_ih:14"), bbs::file_error,
                              "1 cells given ('/'-separated), expected layers x directions = 2");
  BBS_CHECK_THROWS_CONTAINING(load("w_ih:16/-"), bbs::file_error, "\"w_ih:16\" in cell 0 is not key:bits");
  BBS_CHECK_THROWS_CONTAINING(load("cell:9/-"), bbs::file_error, "\"cell:9\" in cell 0");
  // Layer 1 must read what layer 0 writes: the cells' own check, reported as the model's.
  CHECK_THROWS_WITH(load("h:14/x:13"), Catch::Contains("reads its input in Q13, expected Q14"));
  CHECK_NOTHROW(load("h:14/x:14"));
  std::filesystem::remove(path);
  std::filesystem::remove(temp_model("bbs_test_lstm_formats_patched"));
}

TEST_CASE("calibrate(model) gives a float model's LSTM layers their formats, for a fixed-point load",
          "[nn][lstm][formats][model]") {
  bbs::nn::Activations<float> x;
  x.kind = bbs::nn::DataKind::sequence;
  x.columns = input_frames(200);
  x.batch = long_memory.batch;
  const auto model = bbs::nn::calibrate(float_model({}), {x});
  using Layer = bbs::nn::RecurrentLayer<float, bbs::backend::automatic, bbs::nn::Lstm<float>>;
  const auto& stack = dynamic_cast<const Layer&>(model.layer(0)).stack();
  const std::vector<Formats> want = calibrated();
  for (std::size_t i = 0; i < 2; ++i) {
    CHECK(bbs::nn::impl::same_formats(stack.cell(static_cast<bbs::index>(i), 0).formats(), want[i]));
  }
  const std::string path = temp_model("bbs_test_lstm_calibrated");
  bbs::nn::save_model(model, path);
  const auto fixed = bbs::nn::load_model<Q>(path);
  const auto got = bbs_test::to_double<Q>(fixed.forward(bbs_test::to_activations<Q>(x.columns), x.batch));
  CHECK(bbs_test::max_abs_difference(got, fixture_columns(long_memory.name, "output").cast<double>()) <= 0.04);
  std::filesystem::remove(path);
  // A batch the model does not take is a shape_error before anything runs.
  x.columns = input_frames(3).topRows(3);
  CHECK_THROWS_AS(bbs::nn::calibrate(float_model({}), {x}), bbs::shape_error);
  CHECK_THROWS_AS(bbs::nn::calibrate(float_model({}), {}), bbs::value_error);
}

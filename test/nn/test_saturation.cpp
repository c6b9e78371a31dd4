// Saturation counting (nn/saturation.hpp): exact counts on constructed inputs, per tensor and
// layer name, only while a counter lives on the thread; a trained LSTM's cell state saturates in
// one shared fixed16<12> format and not in calibrated formats.
#include <filesystem>
#include <map>
#include <thread>

#include <unistd.h>

#include "nn/nn_fixtures.hpp"

namespace {

using Q = bbs::fixed16<12>;  // range [-8, 8)

/// A linear layer y = 4 x (identity weights of 4, no bias) as a one-layer model named "fc".
bbs::nn::Sequential<Q> scaling_model(bbs::index n) {
  const Eigen::MatrixXf w = 4.0f * Eigen::MatrixXf::Identity(n, n);
  bbs::nn::Sequential<Q> model(bbs::nn::DataShape::feature_batch(n));
  model.add(std::make_unique<bbs::nn::LinearLayer<Q, bbs::backend::automatic>>(
      "fc", bbs::nn::Linear<Q>::from_dense(w, Eigen::VectorXf::Zero(n), bbs::BankConfig(n, n))));
  return model;
}

}  // namespace

TEST_CASE("saturation counts are exact, per tensor and layer, and only while a counter lives", "[nn][saturation]") {
  // 4 x: |x| >= 2 saturates (4 * 2 = 8 is out of range), |x| < 2 does not; no value lands on a
  // limit without saturating.
  Eigen::MatrixXf x(4, 3);
  x << 0.5f, 2.0f, -1.99f,  //
      -2.5f, 1.0f, 3.0f,    //
      0.0f, -0.25f, 1.5f,   //
      -7.0f, 1.75f, 0.125f;
  const auto model = scaling_model(4);
  const auto xs = bbs_test::to_activations<Q>(x);
  model.forward(xs, 3);  // no counter: nothing counted, nothing to read
  CHECK(bbs::nn::SaturationCounter::active() == nullptr);
  {
    bbs::nn::SaturationCounter counter;
    model.forward(xs, 3);
    REQUIRE(counter.counts().count("fc.output") == 1);
    CHECK(counter.counts().at("fc.output").saturated == 4);  // 2.0, -2.5, 3.0, -7.0
    CHECK(counter.counts().at("fc.output").values == 12);
    model.forward(xs, 3);
    CHECK(counter.total() == 8);
    {
      bbs::nn::SaturationCounter inner;  // nests: hides the outer one
      model.forward(xs.leftCols(1), 1);
      CHECK(inner.total() == 2);
    }
    CHECK(counter.total() == 8);
    // Counters are per thread: another thread's products are not counted here.
    std::thread([&] { model.forward(xs, 3); }).join();
    CHECK(counter.total() == 8);
  }
  CHECK(bbs::nn::SaturationCounter::active() == nullptr);
  // float: nothing to count.
  bbs::nn::SaturationCounter counter;
  bbs::nn::Linear<float>::from_dense(Eigen::MatrixXf::Identity(4, 4) * 4, Eigen::VectorXf::Zero(4),
                                     bbs::BankConfig(4, 4))
      .forward(x);
  CHECK(counter.counts().empty());
}

TEST_CASE("a trained LSTM's cell state saturates in one shared format, not in calibrated formats",
          "[nn][saturation][lstm]") {
  const bbs_test::RecurrentCase c{"lstm_long_memory", 2, false, 4, bbs::BankConfig(4, 4)};
  const auto weights = bbs_test::load_weights(c);
  const Eigen::MatrixXf x = bbs_test::fixture_columns(c.name, "input");
  {
    const auto lstm = bbs::nn::Lstm<Q>::from_dense(weights, 2, false, c.config);
    auto state = lstm.zero_state(4);
    bbs::nn::SaturationCounter counter;
    lstm.forward(bbs_test::to_activations<Q>(x), 4, state);
    INFO("layer 1 cell state at +-8: " << counter.counts().at("l1.cell").saturated);
    CHECK(counter.counts().at("l1.cell").saturated > 1000);
    CHECK(counter.counts().at("l1.cell").values == 200 * 4 * 32);
  }
  const auto formats = bbs::nn::calibrate_lstm(bbs::nn::Lstm<float>::from_dense(weights, 2, false, c.config), {x}, 4);
  const auto lstm = bbs::nn::Lstm<Q>::from_dense(weights, 2, false, c.config, formats);
  auto state = lstm.zero_state(4);
  bbs::nn::SaturationCounter counter;
  lstm.forward(bbs::nn::quantize_activations<Q>(x, formats[0].input), 4, state);
  for (const char* t : {"l0.cell", "l1.cell", "l0.output", "l1.output"}) {
    INFO(t);
    CHECK(counter.counts().at(t).saturated == 0);
  }
}

TEST_CASE("load_model reports how each weight was quantized, saturation included", "[nn][saturation][model]") {
  // A linear layer 3 -> 2 whose weights include 9 and -8.5, outside fixed16<12>'s [-8, 8).
  Eigen::MatrixXf w(2, 3);
  w << 1.0f, 9.0f, 0.5f,  //
      -8.5f, 0.25f, 2.0f;
  bbs::detail::zip::Writer zip("test");
  zip.add("model.txt", std::string("bbs-model 1\ninput features features=3\nlinear name=fc in=3 out=2 bank=3 nnz=3\n"));
  zip.add("fc.weight.npy", bbs::npy_bytes(w));
  const std::string path =
      (std::filesystem::temp_directory_path() / ("bbs_test_saturating_" + std::to_string(::getpid()) + ".bbsm"))
          .string();
  zip.write(path);
  std::map<std::string, bbs::QuantizationReport> reports;
  bbs::nn::ModelOptions options;
  options.quantization_reports = &reports;
  bbs::nn::load_model<Q>(path, options);
  REQUIRE(reports.count("fc.weight") == 1);
  CHECK(reports.at("fc.weight").count == 6);
  CHECK(reports.at("fc.weight").saturated == 2);
  reports.clear();
  bbs::nn::load_model<float>(path, options);  // float: nothing quantized
  CHECK(reports.empty());
  std::filesystem::remove(path);
}

TEST_CASE("a 32-bit cell state counts its values at the int32 limits", "[nn][saturation][lstm]") {
  // One cell whose i, f and g gates sit at +1 (bias 7): c grows by about 1 a frame, and Q1.30
  // (an int32 cell state with 30 fraction bits) holds |c| < 2, so frames 3, 4 and 5 saturate.
  bbs::nn::RecurrentDenseWeights w;
  w.weight_ih = Eigen::MatrixXf::Zero(4, 1);
  w.weight_hh = Eigen::MatrixXf::Zero(4, 1);
  w.bias_ih = Eigen::VectorXf::Constant(4, 7.0f);
  w.bias_hh = Eigen::VectorXf::Zero(4);
  bbs::fixed_rules::LstmFormats f;
  f.gates = 11;
  f.activation = 14;
  f.cell = 30;
  const auto cell = bbs::nn::LstmCell<Q>::from_dense(w, bbs::BankConfig(1, 1), f);
  REQUIRE(cell.wide_cell());
  auto state = cell.zero_state(1);
  bbs::nn::SaturationCounter counter;
  cell.run(bbs::nn::Matrix<Q>::Zero(1, 5), 1, state, false);
  std::string tensors;
  for (const auto& t : counter.counts()) tensors += t.first + " ";
  INFO("tensors counted: " << tensors);
  REQUIRE(counter.counts().count("cell") == 1);
  CHECK(counter.counts().at("cell").values == 5);
  CHECK(counter.counts().at("cell").saturated == 3);
  CHECK(state.c_wide(0, 0) == std::numeric_limits<std::int32_t>::max());
  CHECK(cell.dequantize_cell(state)(0, 0) == Approx(2.0).epsilon(1e-6));
}

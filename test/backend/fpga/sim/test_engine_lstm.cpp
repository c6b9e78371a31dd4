// The RTL engine's LSTM mode in Verilator simulation: whole sequences of a fixed16 LSTM and LSTMP
// cell run on the engine (weights loaded once, h and c on chip) must equal the CPU layer
// (nn::LstmCell, reference arithmetic) bit for bit, outputs and final state.
#include <catch2/catch.hpp>

#include <random>

#include <bbs/bbs.hpp>
#include <bbs/backend/fpga/lstm_engine.hpp>
#include <bbs/backend/fpga/simulated_engine.hpp>

namespace {

using Q = bbs::fixed16<12>;
using Cell = bbs::nn::LstmCell<Q, bbs::backend::reference>;
using MatQ = Eigen::Matrix<Q, Eigen::Dynamic, Eigen::Dynamic>;

struct CellCase {
  const char* name;
  bbs::index input, hidden, proj;
  bbs::BankConfig ih, hh, hr;
};

Eigen::MatrixXf random_weights(bbs::index rows, bbs::index cols, float scale, std::mt19937& gen) {
  std::normal_distribution<float> d(0.0f, scale);
  Eigen::MatrixXf m(rows, cols);
  for (bbs::index j = 0; j < cols; ++j)
    for (bbs::index i = 0; i < rows; ++i) m(i, j) = d(gen);
  return m;
}

Cell make_cell(const CellCase& c, std::uint32_t seed) {
  std::mt19937 gen(seed);
  const bbs::index out = c.proj > 0 ? c.proj : c.hidden;
  bbs::nn::RecurrentDenseWeights w;
  w.weight_ih = random_weights(4 * c.hidden, c.input, 0.8f, gen);
  w.weight_hh = random_weights(4 * c.hidden, out, 0.8f, gen);
  w.bias_ih = random_weights(4 * c.hidden, 1, 0.5f, gen);
  w.bias_hh = random_weights(4 * c.hidden, 1, 0.5f, gen);
  if (c.proj > 0) w.weight_hr = random_weights(c.proj, c.hidden, 0.5f, gen);
  Cell base = Cell::from_dense(w, c.ih);
  // Each matrix with its own bank configuration: prune them separately.
  bbs::BbsMatrix<Q> w_hh = bbs::prune<Q>(w.weight_hh, c.hh);
  bbs::BbsMatrix<Q> w_hr;
  if (c.proj > 0) w_hr = bbs::prune<Q>(w.weight_hr, c.hr);
  return Cell(base.weight_ih(), std::move(w_hh), base.bias(), std::move(w_hr));
}

MatQ random_frames(bbs::index rows, bbs::index frames, std::uint32_t seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> d(0.0f, 1.5f);
  MatQ m(rows, frames);
  for (bbs::index j = 0; j < frames; ++j)
    for (bbs::index i = 0; i < rows; ++i) m(i, j) = Q(d(gen));
  return m;
}

std::vector<int> raw(const MatQ& m) {
  std::vector<int> v;
  for (bbs::index j = 0; j < m.cols(); ++j)
    for (bbs::index i = 0; i < m.rows(); ++i) v.push_back(m(i, j).raw());
  return v;
}

}  // namespace

TEST_CASE("fpga engine (RTL): LSTM and LSTMP sequences are bit-exact with the CPU layer") {
  auto engine = bbs::fpga_runtime::make_simulated_engine();
  auto session = std::make_shared<bbs::fpga_runtime::Session>(engine);
  const CellCase cases[] = {
      {"lstm 37 -> 24, partial banks", 37, 24, 0, bbs::BankConfig(8, 2), bbs::BankConfig(8, 1), {}},
      {"lstmp 37 -> 24 -> 16", 37, 24, 16, bbs::BankConfig(8, 2), bbs::BankConfig(8, 1), bbs::BankConfig(8, 3)},
      {"lstm 300 -> 16, more banks than PEs, k = bank", 300, 16, 0, bbs::BankConfig(8, 1), bbs::BankConfig(4, 4), {}},
      {"lstmp 20 -> 40 -> 24, k = 1", 20, 40, 24, bbs::BankConfig(5, 1), bbs::BankConfig(3, 1), bbs::BankConfig(16, 1)},
  };
  std::uint32_t seed = 300;
  for (const CellCase& c : cases) {
    INFO(c.name);
    const Cell cell = make_cell(c, ++seed);
    bbs::fpga_runtime::EngineLstm<12> device(session, cell, engine->shape());
    const MatQ xs = random_frames(c.input, 6, ++seed);
    auto cpu_state = cell.zero_state(1);
    cpu_state.h = random_frames(cell.output_size(), 1, ++seed);
    cpu_state.c = random_frames(cell.hidden_size(), 1, ++seed);
    auto dev_state = cpu_state;
    const MatQ want = cell.run(xs, 1, cpu_state, false);
    const MatQ got = device.run(xs, dev_state);
    REQUIRE(raw(got) == raw(want));
    REQUIRE(raw(dev_state.h) == raw(cpu_state.h));
    REQUIRE(raw(dev_state.c) == raw(cpu_state.c));
    // Streaming: the next call continues from the state it was given.
    const MatQ xs2 = random_frames(c.input, 3, ++seed);
    REQUIRE(raw(device.run(xs2, dev_state)) == raw(cell.run(xs2, 1, cpu_state, false)));
    REQUIRE(raw(dev_state.c) == raw(cpu_state.c));
  }
}

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

TEST_CASE("fpga engine (RTL): a cell with per-tensor formats is refused, not run in the wrong format") {
  // The engine's datapath computes every tensor in Q(F) with a 16-bit cell state.
  auto engine = bbs::fpga_runtime::make_simulated_engine();
  auto session = std::make_shared<bbs::fpga_runtime::Session>(engine);
  const Cell cell = make_cell({"lstm", 37, 24, 0, bbs::BankConfig(8, 2), bbs::BankConfig(8, 1), {}}, 77);
  for (const int cell_bits : {10, 22}) {  // a 16-bit cell state in Q10, a 32-bit one in Q22
    INFO("cell format Q" << cell_bits);
    bbs::fixed_rules::LstmFormats f;
    f.cell = cell_bits;
    const Cell formatted(cell.weight_ih(), cell.weight_hh(), cell.bias(), cell.weight_hr(), f);
    try {
      bbs::fpga_runtime::EngineLstm<12> device(session, formatted, engine->shape());
      FAIL("EngineLstm took a cell with per-tensor formats");
    } catch (const bbs::config_error& e) {
      CHECK_THAT(e.what(), Catch::Contains("cell format is Q" + std::to_string(cell_bits)));
    }
  }
  CHECK_NOTHROW(bbs::fpga_runtime::EngineLstm<12>(session, cell, engine->shape()));
}

TEST_CASE(
    "fpga engine (RTL): an LSTM step takes the cycles of the engine's formula, and slow inputs show in the count") {
  auto engine = bbs::fpga_runtime::make_simulated_engine();
  auto session = std::make_shared<bbs::fpga_runtime::Session>(engine);
  const auto shape = engine->shape();
  const bbs::index s = shape.slots_per_row();
  const CellCase cases[] = {
      {"lstm", 37, 24, 0, bbs::BankConfig(8, 2), bbs::BankConfig(8, 1), {}},
      {"lstmp", 37, 24, 16, bbs::BankConfig(8, 2), bbs::BankConfig(8, 1), bbs::BankConfig(8, 3)},
      {"lstmp, long rows", 300, 16, 12, bbs::BankConfig(8, 1), bbs::BankConfig(4, 4), bbs::BankConfig(2, 2)},
  };
  std::uint32_t seed = 900;
  for (const CellCase& c : cases) {
    INFO(c.name);
    const Cell cell = make_cell(c, ++seed);
    bbs::fpga_runtime::EngineLstm<12> device(session, cell, shape);
    const auto& img = device.image();
    auto state = cell.zero_state(1);
    const MatQ xs = random_frames(c.input, 5, ++seed);
    device.run(xs, state);
    // Gate rows one every gate_period cycles, then the pipeline to the last write-back; the same
    // for the projection (docs/FPGA_REPORT.md, "Cycle formula").
    bbs::index want = (img.gate_rows - 1) * img.gate_period + img.gate_words + 31 + s;
    if (img.projection) want += (img.projection_rows - 1) * img.projection_period + img.projection_words + 15 + s;
    CHECK(static_cast<bbs::index>(engine->counters().step_cycles) == want);
    const auto fast = engine->counters().run_cycles;
    // x arriving 600 cycles after each request: the engine waits for every frame's input.
    engine->set_memory_timing({600, 0, 0});
    device.run(xs, state);
    const auto slow = engine->counters();
    engine->set_memory_timing({});
    CHECK(static_cast<bbs::index>(slow.step_cycles) == want);
    CHECK(slow.run_cycles >= fast + 4 * 500);
  }
}

TEST_CASE("fpga engine (RTL): the packer puts every slot's lanes on distinct PEs") {
  // A slot writes its E results into the PEs' memories in one cycle: two lanes on one PE would
  // lose a write. Cells whose banks all map to few PEs force padded slots instead.
  const CellCase c{"few PEs", 8, 40, 0, bbs::BankConfig(8, 2), bbs::BankConfig(40, 3), {}};
  const Cell cell = make_cell(c, 5);
  bbs::fpga_runtime::EngineShape shape;
  shape.row_engines = 16;
  shape.words = 4096;
  std::vector<std::int16_t> bias(static_cast<std::size_t>(cell.bias().size()));
  const auto img =
      bbs::fpga_runtime::pack_engine_image<12>(cell.weight_ih().view(), cell.weight_hh().view(), bias, nullptr, shape);
  // h (40 values, banks of 40) lives in PE 0 alone: one cell per slot.
  std::vector<int> per_slot(static_cast<std::size_t>(img.gate_rows / 4 * shape.slots_per_row()), 0);
  for (const auto& p : img.cell_place) ++per_slot[static_cast<std::size_t>(p.slot)];
  for (int n : per_slot) CHECK(n <= 1);
  CHECK(img.gate_rows == 4 * 40);
}

TEST_CASE("fpga engine (RTL): a two-layer bidirectional nn::Lstm runs on the engine as its forward()") {
  auto engine = bbs::fpga_runtime::make_simulated_engine();
  auto session = std::make_shared<bbs::fpga_runtime::Session>(engine);
  using Stack = bbs::nn::Lstm<Q, bbs::backend::reference>;
  std::mt19937 gen(41);
  std::vector<bbs::nn::RecurrentDenseWeights> weights;
  const bbs::index input = 19, hidden = 12;
  for (int l = 0; l < 2; ++l) {
    for (int d = 0; d < 2; ++d) {
      bbs::nn::RecurrentDenseWeights w;
      const bbs::index in = l == 0 ? input : 2 * hidden;
      w.weight_ih = random_weights(4 * hidden, in, 0.8f, gen);
      w.weight_hh = random_weights(4 * hidden, hidden, 0.8f, gen);
      w.bias_ih = random_weights(4 * hidden, 1, 0.5f, gen);
      w.bias_hh = random_weights(4 * hidden, 1, 0.5f, gen);
      weights.push_back(w);
    }
  }
  const Stack lstm = Stack::from_dense(weights, 2, true, bbs::BankConfig(4, 1));
  const MatQ xs = random_frames(input, 5, 42);
  auto cpu_state = lstm.zero_state(1);
  for (auto& s : cpu_state) {
    s.h = random_frames(hidden, 1, static_cast<std::uint32_t>(gen()));
    s.c = random_frames(hidden, 1, static_cast<std::uint32_t>(gen()));
  }
  auto dev_state = cpu_state;
  const MatQ want = lstm.forward(xs, 1, cpu_state);
  const MatQ got = bbs::fpga_runtime::engine_forward<12>(session, lstm, xs, dev_state, engine->shape());
  REQUIRE(raw(got) == raw(want));
  for (std::size_t i = 0; i < cpu_state.size(); ++i) {
    REQUIRE(raw(dev_state[i].h) == raw(cpu_state[i].h));
    REQUIRE(raw(dev_state[i].c) == raw(cpu_state[i].c));
  }
}

TEST_CASE("fpga engine (RTL): two cells and an SpMV share one engine; each run gets its own weights") {
  auto engine = bbs::fpga_runtime::make_simulated_engine();
  auto session = std::make_shared<bbs::fpga_runtime::Session>(engine);
  const CellCase c{"lstm", 37, 24, 0, bbs::BankConfig(8, 2), bbs::BankConfig(8, 1), {}};
  const Cell a = make_cell(c, 71);
  const Cell b = make_cell(c, 72);
  bbs::fpga_runtime::EngineLstm<12> da(session, a, engine->shape());
  bbs::fpga_runtime::EngineLstm<12> db(session, b, engine->shape());  // replaces a's image on the engine
  const MatQ xs = random_frames(c.input, 3, 73);
  auto cpu = a.zero_state(1);
  auto dev = cpu;
  REQUIRE(raw(da.run(xs, dev)) == raw(a.run(xs, 1, cpu, false)));
  // An SpMV replaces the weights too.
  bbs::fpga_runtime::set_default_session(session);
  const MatQ x = random_frames(c.input, 1, 74);
  Eigen::Matrix<Q, Eigen::Dynamic, 1> y = bbs::on<bbs::backend::fpga>(a.weight_ih()) * x.col(0);
  bbs::fpga_runtime::set_default_session(nullptr);
  auto cpu_b = b.zero_state(1);
  auto dev_b = cpu_b;
  REQUIRE(raw(db.run(xs, dev_b)) == raw(b.run(xs, 1, cpu_b, false)));
  // Without the image the engine refuses a run: status 6, a device_error naming it.
  auto kernel = session->runtime().open_kernel(bbs::fpga_runtime::engine_kernel_signature());
  auto buf = kernel->allocate(64, 1);
  CHECK_THROWS_WITH(kernel->start({std::int32_t(2), buf.get(), buf.get(), buf.get(), buf.get(), std::int32_t(1),
                                   std::int32_t(0), std::int32_t(12345), std::int32_t(0)}),
                    Catch::Contains("no engine image is loaded"));
}

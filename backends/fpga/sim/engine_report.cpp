// bbs_engine_report: measures one LSTM(P) configuration on the Verilator model this build holds
// (bbs::fpga_sim), for scripts/fpga-report. It builds a random cell pruned to the given bank
// configurations in fixed16<F>, loads it on the simulated engine, runs a sequence, checks every
// output and the final state against the CPU layer bit for bit, runs each matrix alone through
// the engine's SpMV mode, and prints one JSON object with the counted cycles.
//
//   bbs_engine_report NAME INPUT HIDDEN PROJ BS_IH K_IH BS_HH K_HH [BS_HR K_HR] [--frames T]
//
// PROJ = 0 means no projection. Exit status 1 on a mismatch or an engine error; with
// BBS_ENGINE_REPORT_DEBUG set, every mismatching output is listed on stderr.
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include <bbs/bbs.hpp>
#include <bbs/backend/fpga/lstm_engine.hpp>
#include <bbs/backend/fpga/simulated_engine.hpp>

namespace {

constexpr int F = BBS_ENGINE_F;
using Q = bbs::fixed16<F>;
using Cell = bbs::nn::LstmCell<Q, bbs::backend::reference>;
using MatQ = Eigen::Matrix<Q, Eigen::Dynamic, Eigen::Dynamic>;
using VecQ = Eigen::Matrix<Q, Eigen::Dynamic, 1>;

Eigen::MatrixXf random_weights(bbs::index rows, bbs::index cols, float scale, std::mt19937& gen) {
  std::normal_distribution<float> d(0.0f, scale);
  Eigen::MatrixXf m(rows, cols);
  for (bbs::index j = 0; j < cols; ++j)
    for (bbs::index i = 0; i < rows; ++i) m(i, j) = d(gen);
  return m;
}

bool same(const MatQ& a, const MatQ& b) {
  if (a.rows() != b.rows() || a.cols() != b.cols()) return false;
  for (bbs::index j = 0; j < a.cols(); ++j)
    for (bbs::index i = 0; i < a.rows(); ++i)
      if (a(i, j).raw() != b(i, j).raw()) return false;
  return true;
}

/// One matrix through the SpMV mode: its compute cycles, and whether y equals the reference.
struct SpmvResult {
  std::uint32_t cycles = 0;
  bool exact = false;
  std::uint64_t nnz = 0;
  bbs::index words_per_row = 0;
};

SpmvResult spmv_on_engine(const bbs::BbsMatrix<Q>& a, bbs::fpga_runtime::SimulatedEngine& engine, std::mt19937& gen) {
  std::normal_distribution<float> d(0.0f, 1.0f);
  VecQ x(a.cols());
  for (bbs::index i = 0; i < x.size(); ++i) x(i) = Q(d(gen));
  VecQ got = bbs::on<bbs::backend::fpga>(a) * x;
  VecQ want(a.rows());
  bbs::kernel::spmv(bbs::backend::reference{}, a.view(), 1.0f, x.data(), 0.0f, want.data());
  SpmvResult r;
  r.cycles = engine.counters().spmv_cycles;
  r.exact = same(got, want);
  r.nnz = static_cast<std::uint64_t>(a.view().nonzeros());
  r.words_per_row = (a.view().num_banks() + 15) / 16 * a.view().nnz_per_bank();
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 9) {
    std::fprintf(stderr, "usage: %s NAME INPUT HIDDEN PROJ BS_IH K_IH BS_HH K_HH [BS_HR K_HR] [--frames T]\n", argv[0]);
    return 2;
  }
  const std::string name = argv[1];
  const bbs::index input = std::atol(argv[2]);
  const bbs::index hidden = std::atol(argv[3]);
  const bbs::index proj = std::atol(argv[4]);
  const bbs::BankConfig ih(std::atol(argv[5]), std::atol(argv[6]));
  const bbs::BankConfig hh(std::atol(argv[7]), std::atol(argv[8]));
  int next = 9;
  bbs::BankConfig hr = hh;
  if (proj > 0 && argc >= 11) {
    hr = bbs::BankConfig(std::atol(argv[9]), std::atol(argv[10]));
    next = 11;
  }
  bbs::index frames = 8;
  for (int i = next; i + 1 < argc; ++i) {
    if (std::string(argv[i]) == "--frames") frames = std::atol(argv[i + 1]);
  }
  try {
    std::mt19937 gen(2019);
    const bbs::index out = proj > 0 ? proj : hidden;
    bbs::nn::RecurrentDenseWeights w;
    w.weight_ih = random_weights(4 * hidden, input, 0.3f, gen);
    w.weight_hh = random_weights(4 * hidden, out, 0.3f, gen);
    w.bias_ih = random_weights(4 * hidden, 1, 0.2f, gen);
    w.bias_hh = random_weights(4 * hidden, 1, 0.2f, gen);
    if (proj > 0) w.weight_hr = random_weights(proj, hidden, 0.3f, gen);
    const Cell base = Cell::from_dense(w, ih);
    const Cell cell(base.weight_ih(), bbs::prune<Q>(w.weight_hh, hh), base.bias(),
                    proj > 0 ? bbs::prune<Q>(w.weight_hr, hr) : bbs::BbsMatrix<Q>());

    auto engine = bbs::fpga_runtime::make_simulated_engine();
    auto session = std::make_shared<bbs::fpga_runtime::Session>(engine);
    bbs::fpga_runtime::EngineLstm<F> device(session, cell, engine->shape());
    const auto load = engine->counters();

    std::normal_distribution<float> d(0.0f, 1.0f);
    MatQ xs(input, frames);
    for (bbs::index j = 0; j < frames; ++j)
      for (bbs::index i = 0; i < input; ++i) xs(i, j) = Q(d(gen));
    auto cpu_state = cell.zero_state(1);
    auto dev_state = cpu_state;
    const MatQ want = cell.run(xs, 1, cpu_state, false);
    const MatQ got = device.run(xs, dev_state);
    const auto run = engine->counters();
    const bool exact = same(got, want) && same(dev_state.h, cpu_state.h) && same(dev_state.c, cpu_state.c);
    if (std::getenv("BBS_ENGINE_REPORT_DEBUG") != nullptr) {
      for (bbs::index t = 0; t < frames; ++t)
        for (bbs::index j = 0; j < got.rows(); ++j)
          if (got(j, t).raw() != want(j, t).raw())
            std::fprintf(stderr, "t %ld j %ld got %d want %d slot %ld lane %d\n", (long)t, (long)j, got(j, t).raw(),
                         want(j, t).raw(), (long)device.image().output_place[j].slot,
                         device.image().output_place[j].lane);
    }

    bbs::fpga_runtime::set_default_session(session);
    const SpmvResult s_ih = spmv_on_engine(cell.weight_ih(), *engine, gen);
    const SpmvResult s_hh = spmv_on_engine(cell.weight_hh(), *engine, gen);
    SpmvResult s_hr;
    if (proj > 0) s_hr = spmv_on_engine(cell.weight_hr(), *engine, gen);
    bbs::fpga_runtime::set_default_session(nullptr);

    const auto& img = device.image();
    const auto shape = engine->shape();
    std::printf(
        "{\"name\": \"%s\", \"input\": %ld, \"hidden\": %ld, \"proj\": %ld, \"bank_ih\": [%ld, %ld], "
        "\"bank_hh\": [%ld, %ld], \"bank_hr\": [%ld, %ld], \"row_engines\": %d, \"lanes\": 16, \"slot_lanes\": %d, "
        "\"multipliers\": %d, \"frac_bits\": %d, \"frames\": %ld, \"macs\": %lu, \"dense_macs\": %lu, "
        "\"gate_rows\": %ld, \"gate_words\": %ld, \"gate_period\": %ld, \"projection_rows\": %ld, "
        "\"projection_words\": %ld, \"projection_period\": %ld, \"step_cycles\": %u, \"run_cycles\": %lu, "
        "\"load_cycles\": %u, \"load_words\": %lu, \"exact\": %s, "
        "\"spmv\": {\"ih\": [%u, %lu, %ld, %s], \"hh\": [%u, %lu, %ld, %s], \"hr\": [%u, %lu, %ld, %s]}}\n",
        name.c_str(), static_cast<long>(input), static_cast<long>(hidden), static_cast<long>(proj),
        static_cast<long>(ih.bank_size), static_cast<long>(ih.nnz_per_bank), static_cast<long>(hh.bank_size),
        static_cast<long>(hh.nnz_per_bank), static_cast<long>(proj > 0 ? hr.bank_size : 0),
        static_cast<long>(proj > 0 ? hr.nnz_per_bank : 0), shape.row_engines, shape.lanes(), shape.multipliers(), F,
        static_cast<long>(frames), static_cast<unsigned long>(img.macs), static_cast<unsigned long>(img.dense_macs),
        static_cast<long>(img.gate_rows), static_cast<long>(img.gate_words), static_cast<long>(img.gate_period),
        static_cast<long>(img.projection_rows), static_cast<long>(img.projection_words),
        static_cast<long>(img.projection_period), run.step_cycles, static_cast<unsigned long>(run.run_cycles),
        load.load_cycles, static_cast<unsigned long>(load.read_words), exact ? "true" : "false", s_ih.cycles,
        static_cast<unsigned long>(s_ih.nnz), static_cast<long>(s_ih.words_per_row), s_ih.exact ? "true" : "false",
        s_hh.cycles, static_cast<unsigned long>(s_hh.nnz), static_cast<long>(s_hh.words_per_row),
        s_hh.exact ? "true" : "false", s_hr.cycles, static_cast<unsigned long>(s_hr.nnz),
        static_cast<long>(s_hr.words_per_row), (proj == 0 || s_hr.exact) ? "true" : "false");
    return exact && s_ih.exact && s_hh.exact && (proj == 0 || s_hr.exact) ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bbs_engine_report %s: %s\n", name.c_str(), e.what());
    return 1;
  }
}

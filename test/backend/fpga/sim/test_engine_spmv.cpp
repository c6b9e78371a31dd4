// The RTL engine's SpMV mode in Verilator simulation (bbs::fpga_sim): bbs::on<backend::fpga>(A) * x
// and kernel::spmv with alpha / beta, run through a Session on the simulated engine, must be
// bit-exact with the reference backend in fixed16, and the compute phase must take the cycles
// the engine's formula says.
#include <catch2/catch.hpp>

#include <bbs/bbs.hpp>
#include <bbs/backend/fpga/simulated_engine.hpp>

#include "backend/fpga/fpga_testbed.hpp"

namespace {

using bbs_test::Q12;
using bbs_test::Shape;
using VecQ = Eigen::Matrix<Q12, Eigen::Dynamic, 1>;

/// Installs a session on a fresh simulated engine as the fpga backend's default for one scope.
struct EngineSession {
  std::shared_ptr<bbs::fpga_runtime::SimulatedEngine> engine = bbs::fpga_runtime::make_simulated_engine();
  EngineSession() { bbs::fpga_runtime::set_default_session(std::make_shared<bbs::fpga_runtime::Session>(engine)); }
  ~EngineSession() { bbs::fpga_runtime::set_default_session(nullptr); }
};

/// Whether the engine build holds shape s (x entries per PE, words per engine, staging words).
bool fits_engine(const Shape& s, const bbs::fpga_runtime::EngineShape& e) {
  const bbs::index groups = (s.config.num_banks(s.cols) + 15) / 16;
  const bbs::index wpr = groups * s.config.nnz_per_bank;
  const bbs::index local_rows = (s.rows + e.row_engines - 1) / e.row_engines;
  return groups * s.config.bank_size <= e.x_depth && local_rows * wpr <= e.words &&
         (local_rows * e.row_engines + 31) / 32 <= e.staging_words;
}

/// The cycles of the compute phase: one row per engine every max(words, R / E, 1) cycles, the
/// last one's words, and the pipeline (docs/FPGA_REPORT.md, "Cycle formula").
bbs::index spmv_formula(const Shape& s, const bbs::fpga_runtime::EngineShape& e) {
  const bbs::index groups = (s.config.num_banks(s.cols) + 15) / 16;
  const bbs::index wpr = groups * s.config.nnz_per_bank;
  const bbs::index local_rows = (s.rows + e.row_engines - 1) / e.row_engines;
  const bbs::index period = std::max<bbs::index>({wpr, e.slots_per_row(), 1});
  const bbs::index depth = 14 + e.slots_per_row();
  // The last row ends after its own words, not a whole period.
  return local_rows == 0 ? 1 : (local_rows - 1) * period + std::max<bbs::index>(wpr, 1) + depth;
}

}  // namespace

TEST_CASE("fpga engine (RTL): SpMV is bit-exact with the reference backend on awkward shapes") {
  EngineSession session;
  const auto shape = session.engine->shape();
  std::uint32_t seed = 9100;
  int ran = 0;
  std::vector<Shape> shapes = bbs_test::awkward_shapes();
  shapes.push_back({40, 256, bbs::BankConfig(16, 2)});  // 16 banks: one full group
  shapes.push_back({8, 1024, bbs::BankConfig(16, 1)});  // 64 banks: four groups
  shapes.push_back({7, 40, bbs::BankConfig(16, 16)});   // k = bank size
  shapes.push_back({1, 1, bbs::BankConfig(1, 1)});
  for (const Shape& s : shapes) {
    INFO(s.name());
    const auto a = bbs_test::random_fixed_bbs<Q12>(s, ++seed);
    const VecQ x = bbs_test::random_fixed_vector<Q12>(s.cols, seed + 1);
    const VecQ y0 = bbs_test::random_fixed_vector<Q12>(s.rows, seed + 2);
    if (!fits_engine(s, shape)) {
      VecQ y(s.rows);
      CHECK_THROWS_AS(y = bbs::on<bbs::backend::fpga>(a) * x, bbs::device_error);
      continue;
    }
    VecQ got = bbs::on<bbs::backend::fpga>(a) * x;
    VecQ want(s.rows);
    bbs::kernel::spmv(bbs::backend::reference{}, a.view(), 1.0f, x.data(), 0.0f, want.data());
    REQUIRE(bbs_test::raw_values(got) == bbs_test::raw_values(want));
    CHECK(static_cast<bbs::index>(session.engine->counters().spmv_cycles) == spmv_formula(s, shape));
    got = y0;
    want = y0;
    bbs::kernel::spmv(bbs::backend::fpga{}, a.view(), -0.625f, x.data(), 1.5f, got.data());
    bbs::kernel::spmv(bbs::backend::reference{}, a.view(), -0.625f, x.data(), 1.5f, want.data());
    REQUIRE(bbs_test::raw_values(got) == bbs_test::raw_values(want));
    ++ran;
  }
  CHECK(ran >= 8);
}

// The RTL of the LSTM element-wise unit (backends/fpga/rtl/) in Verilator against the C++ rules,
// bit for bit: bbs_activation on every one of the 65536 inputs, streamed one per cycle, for
// sigmoid and tanh at F = 0, 7, 12, 15 (fixed_sigmoid / fixed_tanh); bbs_ew_lane on random cells
// (uniform, near zero, near saturation, the extremes) streamed with random gaps in in_valid at
// F = 0, 12, 15, against LstmCell's formula with elementwise<fixed16<F>>. Every output is checked
// with its tag in order, at exactly LATENCY cycles after its input, and nothing else comes out.
// The tables go in through the write port, from bbs::detail::sigmoid_table() / tanh_table().
//
// Each Verilated model is one parameter set under its own --prefix: Vact_sig<F> / Vact_tanh<F>
// (bbs_activation -GF=<F> -GTANH=1'b0 / 1'b1), Vlane<F> (bbs_ew_lane -GF=<F>, TAG_BITS = 16).
#include <catch2/catch.hpp>

#include <cstdint>
#include <deque>
#include <memory>
#include <random>
#include <sstream>
#include <string>

#include <verilated.h>

#include "Vact_sig0.h"
#include "Vact_sig0_bbs_activation.h"
#include "Vact_sig12.h"
#include "Vact_sig12_bbs_activation.h"
#include "Vact_sig15.h"
#include "Vact_sig15_bbs_activation.h"
#include "Vact_sig7.h"
#include "Vact_sig7_bbs_activation.h"
#include "Vact_tanh0.h"
#include "Vact_tanh0_bbs_activation.h"
#include "Vact_tanh12.h"
#include "Vact_tanh12_bbs_activation.h"
#include "Vact_tanh15.h"
#include "Vact_tanh15_bbs_activation.h"
#include "Vact_tanh7.h"
#include "Vact_tanh7_bbs_activation.h"
#include "Vlane0.h"
#include "Vlane0_bbs_ew_lane.h"
#include "Vlane12.h"
#include "Vlane12_bbs_ew_lane.h"
#include "Vlane15.h"
#include "Vlane15_bbs_ew_lane.h"
#include "bbs/core/fixed_activation.hpp"
#include "bbs/nn/elementwise.hpp"

namespace {

using Table = bbs::detail::ActivationTable;

/// One clock cycle: the inputs set before it are sampled at the rising edge.
template <typename Model>
void tick(Model& m) {
  m.clk = 0;
  m.eval();
  m.clk = 1;
  m.eval();
}

/// Writes the 1025 entries of `t` through the table port (for a lane, tbl_tanh picks the kind).
template <typename Model>
void write_table(Model& m, const Table& t) {
  for (int a = 0; a < Table::entries; ++a) {
    const std::int64_t lo = t.q20[static_cast<std::size_t>(a)];
    const std::int64_t delta = a + 1 < Table::entries ? t.q20[static_cast<std::size_t>(a + 1)] - lo : 0;
    REQUIRE(lo >= 0);
    REQUIRE(lo <= (std::int64_t(1) << 20));
    REQUIRE(delta >= 0);
    REQUIRE(delta < 65536);
    m.tbl_we = 1;
    m.tbl_addr = static_cast<std::uint32_t>(a);
    m.tbl_lo = static_cast<std::uint32_t>(lo);
    m.tbl_delta = static_cast<std::uint32_t>(delta);
    tick(m);
  }
  m.tbl_we = 0;
}

/// An input waiting for its output: what it must give, when it went in.
struct Pending {
  std::int16_t x;
  std::int16_t want;
  long cycle;
};

/// bbs_activation (one parameter set, `Model`) on every raw input, one per cycle, against
/// fixed_sigmoid<F> (Tanh false) or fixed_tanh<F>.
template <typename Model, int F, bool Tanh>
void check_every_input(int latency) {
  using A = bbs::fixed16<F>;
  VerilatedContext context;
  context.randReset(2);  // registers start random: no reset, the first LATENCY idle cycles flush them
  Model m{&context};
  m.in_valid = 0;
  m.in_x = 0;
  // The table write also flushes the valid bits (the module has no reset).
  write_table(m, Tanh ? bbs::detail::tanh_table() : bbs::detail::sigmoid_table());
  REQUIRE(m.out_valid == 0);

  std::deque<Pending> pending;
  long cycle = 0, inputs = 0, outputs = 0, mismatches = 0, wrong_latency = 0;
  std::string first_mismatch;
  for (std::int32_t raw = -32768; raw <= 32767 || !pending.empty(); ++raw, ++cycle) {
    REQUIRE(cycle < 65536 + 4 * latency);
    if (raw <= 32767) {
      const auto x = static_cast<std::int16_t>(raw);
      const A y = Tanh ? bbs::fixed_tanh(A::from_raw(x)) : bbs::fixed_sigmoid(A::from_raw(x));
      m.in_valid = 1;
      m.in_x = static_cast<std::uint16_t>(x);
      pending.push_back({x, y.raw(), cycle});
      ++inputs;
    } else {
      m.in_valid = 0;
      m.in_x = static_cast<std::uint16_t>(raw * 7919);  // garbage on an idle cycle
    }
    tick(m);
    if (m.out_valid) {
      REQUIRE(!pending.empty());
      const Pending p = pending.front();
      pending.pop_front();
      ++outputs;
      const auto got = static_cast<std::int16_t>(m.out_y);
      if (got != p.want && mismatches++ == 0) {
        std::ostringstream s;
        s << "x = " << p.x << ": RTL " << got << ", C++ " << p.want;
        first_mismatch = s.str();
      }
      if (cycle - p.cycle + 1 != latency) ++wrong_latency;
    }
  }
  INFO("F = " << F << (Tanh ? " tanh" : " sigmoid") << ", first mismatch: " << first_mismatch);
  CHECK(inputs == 65536);
  CHECK(outputs == inputs);
  CHECK(mismatches == 0);
  CHECK(wrong_latency == 0);
  m.final();
}

/// A random raw value for a cell's input: uniform, near zero, near either end, the extremes,
/// or inside the activations' table range |x| < 16 when F leaves room for more.
template <int F>
std::int16_t random_raw(std::mt19937_64& rng) {
  const int kind = static_cast<int>(rng() % 20);
  const auto uniform = [&](std::int32_t lo, std::int32_t hi) {
    return static_cast<std::int16_t>(lo + static_cast<std::int32_t>(rng() % static_cast<std::uint64_t>(hi - lo + 1)));
  };
  if (kind < 8) return uniform(-32768, 32767);
  if (kind < 11) return uniform(-64, 64);
  if (kind < 13) return uniform(32767 - 64, 32767);
  if (kind < 15) return uniform(-32768, -32768 + 64);
  if (kind < 16) {
    static constexpr std::int16_t extremes[] = {-32768, 32767, -32767, 0, 1, -1};
    return extremes[rng() % 6];
  }
  const std::int32_t range = std::min<std::int32_t>(32767, (std::int32_t(16) << F) - 1);
  return uniform(-range, range);
}

/// One cell through the C++ rule: LstmCell::run's element-wise update.
template <int F>
void lstm_cell(std::int16_t i, std::int16_t f, std::int16_t g, std::int16_t o, std::int16_t c, std::int16_t& h_out,
               std::int16_t& c_out) {
  using A = bbs::fixed16<F>;
  using ops = bbs::nn::elementwise<A>;
  const A si = bbs::fixed_sigmoid(A::from_raw(i)), sf = bbs::fixed_sigmoid(A::from_raw(f));
  const A tg = bbs::fixed_tanh(A::from_raw(g)), so = bbs::fixed_sigmoid(A::from_raw(o));
  const A c_new = ops::multiply_add(sf, A::from_raw(c), si, tg);  // f * c + i * g
  const A h = ops::multiply(so, bbs::fixed_tanh(c_new));
  h_out = h.raw();
  c_out = c_new.raw();
}

struct PendingCell {
  std::int16_t i, f, g, o, c, want_h, want_c;
  std::uint32_t tag;
  long cycle;
};

/// bbs_ew_lane (`Model`, TAG_BITS = 16) on `cells` random cells with random gaps in in_valid.
template <typename Model, int F>
void check_lane(int latency, long cells, std::uint64_t seed) {
  VerilatedContext context;
  context.randReset(2);  // registers start random: no reset, the first LATENCY idle cycles flush them
  Model m{&context};
  m.in_valid = 0;
  m.tbl_tanh = 0;
  write_table(m, bbs::detail::sigmoid_table());
  m.tbl_tanh = 1;
  write_table(m, bbs::detail::tanh_table());
  m.tbl_tanh = 0;
  REQUIRE(m.out_valid == 0);

  std::mt19937_64 rng(seed);
  std::deque<PendingCell> pending;
  long cycle = 0, inputs = 0, outputs = 0, mismatches = 0, wrong_latency = 0, wrong_tag = 0;
  long c_saturated = 0, idle = 0;
  std::string first_mismatch;
  std::uint32_t next_tag = 0;
  for (; inputs < cells || !pending.empty(); ++cycle) {
    REQUIRE(cycle < 3 * cells + 4 * latency);
    const bool send = inputs < cells && rng() % 4 != 0;  // a gap about one cycle in four
    PendingCell p{};
    p.i = random_raw<F>(rng);
    p.f = random_raw<F>(rng);
    p.g = random_raw<F>(rng);
    p.o = random_raw<F>(rng);
    p.c = random_raw<F>(rng);
    m.in_valid = send;
    m.in_i = static_cast<std::uint16_t>(p.i);
    m.in_f = static_cast<std::uint16_t>(p.f);
    m.in_g = static_cast<std::uint16_t>(p.g);
    m.in_o = static_cast<std::uint16_t>(p.o);
    m.in_c = static_cast<std::uint16_t>(p.c);
    m.in_tag = send ? next_tag : static_cast<std::uint32_t>(rng() & 0xffff);  // garbage when idle
    if (send) {
      lstm_cell<F>(p.i, p.f, p.g, p.o, p.c, p.want_h, p.want_c);
      c_saturated += p.want_c == 32767 || p.want_c == -32768;
      p.tag = next_tag;
      next_tag = (next_tag + 1) & 0xffff;
      p.cycle = cycle;
      pending.push_back(p);
      ++inputs;
    } else {
      ++idle;
    }
    tick(m);
    if (m.out_valid) {
      REQUIRE(!pending.empty());
      const PendingCell q = pending.front();
      pending.pop_front();
      ++outputs;
      const auto h = static_cast<std::int16_t>(m.out_h), c = static_cast<std::int16_t>(m.out_c);
      if ((h != q.want_h || c != q.want_c) && mismatches++ == 0) {
        std::ostringstream s;
        s << "i f g o c = " << q.i << " " << q.f << " " << q.g << " " << q.o << " " << q.c << ": RTL h " << h << " c "
          << c << ", C++ h " << q.want_h << " c " << q.want_c;
        first_mismatch = s.str();
      }
      wrong_tag += m.out_tag != q.tag;
      wrong_latency += cycle - q.cycle + 1 != latency;
    }
  }
  INFO("F = " << F << ", first mismatch: " << first_mismatch);
  CHECK(inputs == cells);
  CHECK(outputs == inputs);
  CHECK(mismatches == 0);
  CHECK(wrong_tag == 0);
  CHECK(wrong_latency == 0);
  // The stream did have gaps, and c' saturated (h cannot: |so * tanh(c')| < 2^(2F) * 32767 / 32768).
  CHECK(idle > cells / 10);
  CHECK(c_saturated > 0);
  m.final();
}

}  // namespace

#define BBS_RTL_ACTIVATION_TEST(Model, F, Tanh)                                            \
  TEST_CASE("bbs_activation RTL: " #Model " (F = " #F ") on every input", "[fpga][rtl]") { \
    CHECK(Model##_bbs_activation::LATENCY == 5);                                           \
    check_every_input<Model, F, Tanh>(static_cast<int>(Model##_bbs_activation::LATENCY));  \
  }

BBS_RTL_ACTIVATION_TEST(Vact_sig0, 0, false)
BBS_RTL_ACTIVATION_TEST(Vact_tanh0, 0, true)
BBS_RTL_ACTIVATION_TEST(Vact_sig7, 7, false)
BBS_RTL_ACTIVATION_TEST(Vact_tanh7, 7, true)
BBS_RTL_ACTIVATION_TEST(Vact_sig12, 12, false)
BBS_RTL_ACTIVATION_TEST(Vact_tanh12, 12, true)
BBS_RTL_ACTIVATION_TEST(Vact_sig15, 15, false)
BBS_RTL_ACTIVATION_TEST(Vact_tanh15, 15, true)

#define BBS_RTL_LANE_TEST(Model, F, cells, seed)                                         \
  TEST_CASE("bbs_ew_lane RTL: " #Model " (F = " #F ") on random cells", "[fpga][rtl]") { \
    /* Two activations, three cycles for c', two for h. */                               \
    CHECK(Model##_bbs_ew_lane::LATENCY == 2 * 5 + 5);                                    \
    check_lane<Model, F>(static_cast<int>(Model##_bbs_ew_lane::LATENCY), cells, seed);   \
  }

BBS_RTL_LANE_TEST(Vlane12, 12, 500000, 12)
BBS_RTL_LANE_TEST(Vlane15, 15, 200000, 15)
BBS_RTL_LANE_TEST(Vlane0, 0, 200000, 0)

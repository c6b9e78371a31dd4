// The SpMV unit's row engine (backends/fpga/rtl/bbs_row_engine.sv) in Verilator: 16 PEs, the
// adder tree and the two row accumulators against fixed_rules::multiply_add, bit for bit. Words
// and PE memories are random (values over the whole int16 range, so sums wrap mod 2^32; every
// region and parity; a share of padding lanes); rows of 1 to 9 words with either segment empty
// are streamed back to back or with gaps, and each row's sums must come out exactly LATENCY
// cycles after its last word.
#include <catch2/catch.hpp>

#include <cstdint>
#include <deque>
#include <random>
#include <vector>

#include <verilated.h>

#include "Vrow_engine.h"
#include "bbs/core/fixed_rules.hpp"

namespace {

constexpr int latency = 7;
constexpr int wd = 64, dx = 16, dh = 16, dm = 16;

struct Lane {
  std::int16_t value;
  std::uint16_t address;
};
using Word = std::vector<Lane>;  // 16 lanes

struct Bench {
  VerilatedContext context;
  Vrow_engine top{&context};
  std::vector<Word> words = std::vector<Word>(wd, Word(16));
  // PE memories: [pe][parity * depth + offset]
  std::vector<std::vector<std::int16_t>> x =
      std::vector<std::vector<std::int16_t>>(16, std::vector<std::int16_t>(2 * dx));
  std::vector<std::vector<std::int16_t>> h =
      std::vector<std::vector<std::int16_t>>(16, std::vector<std::int16_t>(2 * dh));
  std::vector<std::vector<std::int16_t>> m = std::vector<std::vector<std::int16_t>>(16, std::vector<std::int16_t>(dm));

  void tick() {
    top.clk = 0;
    top.eval();
    top.clk = 1;
    top.eval();
  }
  void load(std::mt19937& gen) {
    std::uniform_int_distribution<int> raw(-32768, 32767);
    std::uniform_int_distribution<int> pick(0, 9);
    for (int w = 0; w < wd; ++w) {
      for (int p = 0; p < 16; ++p) {
        const int r = pick(gen);
        Lane& l = words[w][p];
        l.value = static_cast<std::int16_t>(raw(gen));
        if (r == 0) {
          l.address = 0xFFFF;  // padding
        } else if (r <= 3) {
          l.address = static_cast<std::uint16_t>(gen() % dx);
        } else if (r <= 6) {
          l.address = static_cast<std::uint16_t>(0x4000 | (gen() % dh));
        } else {
          l.address = static_cast<std::uint16_t>(0x8000 | (gen() % dm));
        }
      }
      top.ww_en = 1;
      top.ww_addr = w;
      for (int p = 0; p < 16; ++p) {
        set_bits(top.ww_data, 16 * p, 16, static_cast<std::uint16_t>(words[w][p].value));
        set_bits(top.ww_data, 256 + 16 * p, 16, words[w][p].address);
      }
      tick();
    }
    top.ww_en = 0;
    // PE memories, one entry per PE per cycle through the write ports.
    const int depth = 2 * dx;
    for (int i = 0; i < depth; ++i) {
      top.xw_we = top.hw_we = 0xFFFF;
      top.mw_we = i < dm ? 0xFFFF : 0;
      for (int p = 0; p < 16; ++p) {
        x[p][i] = static_cast<std::int16_t>(raw(gen));
        h[p][i] = static_cast<std::int16_t>(raw(gen));
        if (i < dm) m[p][i] = static_cast<std::int16_t>(raw(gen));
      }
      // Address fields are 5 bits (x, h: parity + 4) and 4 bits (m) per PE.
      for (int p = 0; p < 16; ++p) {
        set_bits(top.xw_addr, 5 * p, 5, static_cast<std::uint32_t>(i));
        set_bits(top.hw_addr, 5 * p, 5, static_cast<std::uint32_t>(i));
        set_bits(top.mw_addr, 4 * p, 4, static_cast<std::uint32_t>(i % dm));
        set_bits(top.xw_data, 16 * p, 16, static_cast<std::uint16_t>(x[p][i]));
        set_bits(top.hw_data, 16 * p, 16, static_cast<std::uint16_t>(h[p][i]));
        set_bits(top.mw_data, 16 * p, 16, static_cast<std::uint16_t>(i < dm ? m[p][i] : 0));
      }
      tick();
    }
    top.xw_we = top.hw_we = top.mw_we = 0;
  }
  /// Bits [lsb, lsb + width) of a port: a plain integer up to 64 bits, VlWide above.
  static void set_bits(std::uint64_t& w, int lsb, int width, std::uint32_t v) {
    const std::uint64_t mask = ((std::uint64_t(1) << width) - 1) << lsb;
    w = (w & ~mask) | ((std::uint64_t(v) << lsb) & mask);
  }
  template <typename W>
  static void set_bits(W& w, int lsb, int width, std::uint32_t v) {
    for (int b = 0; b < width; ++b) {
      const int bit = lsb + b;
      const std::uint32_t mask = 1u << (bit % 32);
      if ((v >> b) & 1u) {
        w[bit / 32] |= mask;
      } else {
        w[bit / 32] &= ~mask;
      }
    }
  }
  /// The product lane p of word w contributes, as the C++ rules compute it.
  std::int16_t input(const Lane& l, int p, bool xpar, bool hpar) const {
    const int region = l.address >> 14;
    const int off = l.address & 0x3FFF;
    if (l.address == 0xFFFF || region == 3) return 0;
    if (region == 0) return x[p][(xpar ? dx : 0) + off % dx];
    if (region == 1) return h[p][(hpar ? dh : 0) + off % dh];
    return m[p][off % dm];
  }
};

}  // namespace

TEST_CASE("row engine RTL: sums of every row, both segments, wrap-around, padding and regions") {
  Bench b;
  std::mt19937 gen(77);
  b.load(gen);
  struct Row {
    std::uint32_t a = 0, b = 0;
    std::uint64_t done_at = 0;
  };
  std::deque<Row> expected;
  std::uint64_t cycle = 0;
  int rows_checked = 0;
  std::uniform_int_distribution<int> words_of(0, 9);
  // One clock edge; a row's sums that come out must be the oldest expected, on its cycle.
  const auto tick_and_check = [&] {
    b.tick();
    ++cycle;
    if (b.top.res_valid) {
      REQUIRE(!expected.empty());
      CHECK(cycle == expected.front().done_at);
      REQUIRE(b.top.res_a == expected.front().a);
      REQUIRE(b.top.res_b == expected.front().b);
      expected.pop_front();
      ++rows_checked;
    }
  };
  bool xpar = false, hpar = false;
  for (int trial = 0; trial < 400; ++trial) {
    // The parities hold for a phase in the engine; change them every 50 rows, after a pause as
    // long as the pipeline (the input memories are read at stage 1).
    if (trial % 50 == 0) {
      xpar = gen() & 1u;
      hpar = gen() & 1u;
    }
    const int pause = trial % 50 == 49 ? 2 : 0;
    int na = words_of(gen), nb = words_of(gen);
    if (na + nb == 0) na = 1;
    const int base = static_cast<int>(gen() % static_cast<unsigned>(wd - na - nb));
    const int gap = static_cast<int>(gen() % 3) + pause;  // idle cycles after the row
    Row want;
    for (int w = 0; w < na + nb; ++w) {
      std::uint32_t sum = 0;
      for (int p = 0; p < 16; ++p) {
        const Lane& l = b.words[base + w][p];
        const std::int16_t v = (l.address == 0xFFFF || (l.address >> 14) == 3) ? 0 : l.value;
        sum = bbs::fixed_rules::multiply_add(sum, v, b.input(l, p, xpar, hpar));
      }
      (w < na ? want.a : want.b) += sum;
    }
    for (int w = 0; w < na + nb + gap; ++w) {
      const bool valid = w < na + nb;
      b.top.rd_valid = valid;
      b.top.rd_addr = valid ? base + w : 0;
      b.top.rd_first = valid && w == 0;
      b.top.rd_last = valid && w == na + nb - 1;
      b.top.rd_segb = valid && w >= na;
      b.top.rd_null = 0;
      b.top.xpar = xpar;
      b.top.hpar = hpar;
      if (valid && w == na + nb - 1) {
        want.done_at = cycle + latency;
        expected.push_back(want);
      }
      tick_and_check();
    }
  }
  b.top.rd_valid = 0;
  for (int i = 0; i < 2 * latency; ++i) tick_and_check();
  CHECK(expected.empty());
  CHECK(rows_checked == 400);
}

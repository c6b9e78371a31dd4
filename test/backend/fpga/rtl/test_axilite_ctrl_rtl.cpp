// The AXI4-Lite control slave (backends/fpga/rtl/bbs_axilite_ctrl.sv) under Verilator, driven
// through its pins: write32 / read32 follow the AXI4-Lite handshake (valid held until ready, AW
// and W in either order, BREADY / RREADY held low for a while) and the test plays the core,
// pulsing ap_ready / ap_done and setting ap_idle. Checks the register map, WSTRB, the ap_ctrl_hs
// bits, the interrupt registers, unmapped reads and reset. Model built with NUM_ARGS = 16,
// ADDR_BITS = 8 and --prefix Vaxilite_ctrl.
#include <cstdint>
#include <memory>

#include <catch2/catch.hpp>

#include "Vaxilite_ctrl.h"
#include "verilated.h"

namespace {

constexpr int num_args = 16;
constexpr std::uint32_t reg_ctrl = 0x00, reg_gie = 0x04, reg_ier = 0x08, reg_isr = 0x0C, reg_arg0 = 0x10;
constexpr std::uint32_t ctrl_start = 1u << 0, ctrl_done = 1u << 1, ctrl_idle = 1u << 2, ctrl_ready = 1u << 3,
                        ctrl_auto_restart = 1u << 7;
/// Cycles any handshake may take before the test calls the slave stuck.
constexpr int timeout = 64;

std::uint32_t arg_addr(int i) { return reg_arg0 + 4u * static_cast<std::uint32_t>(i); }

/// Which of AW and W the master presents first.
enum class Order { together, aw_first, w_first };

/// Options of one write: the order, the cycles between the first channel's handshake and the
/// second's valid, the cycles BREADY stays low after the second handshake.
struct WriteTiming {
  Order order = Order::together;
  int gap = 0;
  int bready_delay = 0;
};

class Tb {
 public:
  Tb() : context_(std::make_unique<VerilatedContext>()), m_(std::make_unique<Vaxilite_ctrl>(context_.get())) {
    m_->ap_clk = 0;
    m_->ap_idle = 1;
    reset();
  }
  ~Tb() { m_->final(); }
  Tb(const Tb&) = delete;
  Tb& operator=(const Tb&) = delete;

  Vaxilite_ctrl& pins() { return *m_; }

  /// Inputs set before this call are sampled at the rising edge; afterwards outputs show the new state.
  void tick() {
    m_->ap_clk = 0;
    m_->eval();
    m_->ap_clk = 1;
    m_->eval();
    m_->ap_clk = 0;
    m_->eval();
  }
  void ticks(int n) {
    for (int i = 0; i < n; ++i) tick();
  }
  /// Outputs that follow inputs combinationally (the READYs) settle without a clock edge.
  void settle() { m_->eval(); }

  void reset() {
    idle_master();
    m_->ap_done = 0;
    m_->ap_ready = 0;
    m_->ap_rst_n = 0;
    ticks(2);
    m_->ap_rst_n = 1;
    tick();
  }

  void idle_master() {
    m_->s_axi_control_AWVALID = 0;
    m_->s_axi_control_WVALID = 0;
    m_->s_axi_control_BREADY = 0;
    m_->s_axi_control_ARVALID = 0;
    m_->s_axi_control_RREADY = 0;
  }

  /// The core's one-cycle pulses.
  void pulse_ready() { pulse(m_->ap_ready); }
  void pulse_done() { pulse(m_->ap_done); }

  std::uint32_t arg(int i) const { return m_->args[static_cast<std::size_t>(i)]; }

  void write32(std::uint32_t addr, std::uint32_t data, std::uint32_t strb = 0xF, WriteTiming t = {}) {
    bool aw_done = false, w_done = false;
    int since_first = 0;  // cycles since the first channel's handshake
    for (int cycle = 0; !(aw_done && w_done); ++cycle) {
      REQUIRE(cycle < timeout);
      const bool first_in = aw_done || w_done;
      const bool aw_turn = t.order != Order::w_first || (first_in && since_first >= t.gap);
      const bool w_turn = t.order != Order::aw_first || (first_in && since_first >= t.gap);
      m_->s_axi_control_AWVALID = !aw_done && aw_turn;
      m_->s_axi_control_AWADDR = static_cast<std::uint8_t>(addr);
      m_->s_axi_control_WVALID = !w_done && w_turn;
      m_->s_axi_control_WDATA = data;
      m_->s_axi_control_WSTRB = static_cast<std::uint8_t>(strb);
      m_->s_axi_control_BREADY = 0;
      settle();
      // No response before both channels are in.
      REQUIRE(m_->s_axi_control_BVALID == 0);
      const bool aw_hs = m_->s_axi_control_AWVALID && m_->s_axi_control_AWREADY;
      const bool w_hs = m_->s_axi_control_WVALID && m_->s_axi_control_WREADY;
      if (first_in) ++since_first;
      tick();
      aw_done = aw_done || aw_hs;
      w_done = w_done || w_hs;
    }
    m_->s_axi_control_AWVALID = 0;
    m_->s_axi_control_WVALID = 0;
    // BREADY low for a while: BVALID, once up, stays up.
    bool seen_bvalid = false;
    for (int i = 0; i < t.bready_delay; ++i) {
      settle();
      if (seen_bvalid) REQUIRE(m_->s_axi_control_BVALID == 1);
      seen_bvalid = seen_bvalid || m_->s_axi_control_BVALID;
      tick();
    }
    m_->s_axi_control_BREADY = 1;
    for (int cycle = 0;; ++cycle) {
      REQUIRE(cycle < timeout);
      settle();
      if (m_->s_axi_control_BVALID) break;
      tick();
    }
    REQUIRE(m_->s_axi_control_BRESP == 0);
    tick();
    m_->s_axi_control_BREADY = 0;
    settle();
    REQUIRE(m_->s_axi_control_BVALID == 0);
  }

  std::uint32_t read32(std::uint32_t addr, int rready_delay = 0) {
    m_->s_axi_control_ARVALID = 1;
    m_->s_axi_control_ARADDR = static_cast<std::uint8_t>(addr);
    m_->s_axi_control_RREADY = 0;
    for (int cycle = 0;; ++cycle) {
      REQUIRE(cycle < timeout);
      settle();
      const bool ar_hs = m_->s_axi_control_ARREADY;
      tick();
      if (ar_hs) break;
    }
    m_->s_axi_control_ARVALID = 0;
    // RREADY low for a while: RVALID and RDATA, once up, hold.
    bool seen_rvalid = false;
    std::uint32_t held = 0;
    for (int i = 0; i < rready_delay; ++i) {
      settle();
      if (seen_rvalid) {
        REQUIRE(m_->s_axi_control_RVALID == 1);
        REQUIRE(m_->s_axi_control_RDATA == held);
      }
      if (m_->s_axi_control_RVALID && !seen_rvalid) held = m_->s_axi_control_RDATA;
      seen_rvalid = seen_rvalid || m_->s_axi_control_RVALID;
      tick();
    }
    m_->s_axi_control_RREADY = 1;
    for (int cycle = 0;; ++cycle) {
      REQUIRE(cycle < timeout);
      settle();
      if (m_->s_axi_control_RVALID) break;
      tick();
    }
    const std::uint32_t data = m_->s_axi_control_RDATA;
    REQUIRE(m_->s_axi_control_RRESP == 0);
    if (seen_rvalid) REQUIRE(data == held);
    tick();
    m_->s_axi_control_RREADY = 0;
    settle();
    REQUIRE(m_->s_axi_control_RVALID == 0);
    return data;
  }

 private:
  void pulse(CData& pin) {
    pin = 1;
    tick();
    pin = 0;
    settle();
  }

  std::unique_ptr<VerilatedContext> context_;
  std::unique_ptr<Vaxilite_ctrl> m_;
};

std::uint32_t pattern(int i) { return 0x9E3779B9u * static_cast<std::uint32_t>(i + 1) ^ 0x5A5A0000u; }

/// Every byte of `data` whose WSTRB bit is set, the rest from `old`.
std::uint32_t merge_bytes(std::uint32_t old, std::uint32_t data, std::uint32_t strb) {
  std::uint32_t mask = 0;
  for (int b = 0; b < 4; ++b)
    if (strb & (1u << b)) mask |= 0xFFu << (8 * b);
  return (old & ~mask) | (data & mask);
}

}  // namespace

TEST_CASE("axilite ctrl: reset state", "[fpga][rtl][axilite]") {
  Tb tb;
  auto& p = tb.pins();
  CHECK(p.ap_start == 0);
  CHECK(p.__SYM__interrupt == 0);
  CHECK(p.s_axi_control_BVALID == 0);
  CHECK(p.s_axi_control_RVALID == 0);
  CHECK(p.s_axi_control_AWREADY == 1);
  CHECK(p.s_axi_control_WREADY == 1);
  CHECK(p.s_axi_control_ARREADY == 1);
  for (int i = 0; i < num_args; ++i) CHECK(tb.arg(i) == 0);
  CHECK(tb.read32(reg_ctrl) == ctrl_idle);
  CHECK(tb.read32(reg_gie) == 0);
  CHECK(tb.read32(reg_ier) == 0);
  CHECK(tb.read32(reg_isr) == 0);
  for (int i = 0; i < num_args; ++i) CHECK(tb.read32(arg_addr(i)) == 0);
}

TEST_CASE("axilite ctrl: argument registers store and read back", "[fpga][rtl][axilite]") {
  Tb tb;
  for (int i = 0; i < num_args; ++i) tb.write32(arg_addr(i), pattern(i));
  for (int i = 0; i < num_args; ++i) {
    CHECK(tb.arg(i) == pattern(i));
    CHECK(tb.read32(arg_addr(i)) == pattern(i));
  }
  // Overwrite in reverse order, then the other registers are untouched by argument writes.
  for (int i = num_args - 1; i >= 0; --i) tb.write32(arg_addr(i), ~pattern(i));
  for (int i = 0; i < num_args; ++i) CHECK(tb.read32(arg_addr(i)) == ~pattern(i));
  CHECK(tb.read32(reg_ctrl) == ctrl_idle);
  CHECK(tb.read32(reg_gie) == 0);
  CHECK(tb.read32(reg_ier) == 0);
  CHECK(tb.read32(reg_isr) == 0);
  CHECK(tb.pins().ap_start == 0);
}

TEST_CASE("axilite ctrl: WSTRB writes only the enabled bytes", "[fpga][rtl][axilite]") {
  Tb tb;
  const std::uint32_t base = 0x11223344u, data = 0xA5B6C7D8u;
  for (std::uint32_t strb = 0; strb < 16; ++strb) {
    const int i = static_cast<int>(strb);
    tb.write32(arg_addr(i), base);
    tb.write32(arg_addr(i), data, strb);
  }
  for (std::uint32_t strb = 0; strb < 16; ++strb) {
    INFO("WSTRB = " << strb);
    const int i = static_cast<int>(strb);
    CHECK(tb.arg(i) == merge_bytes(base, data, strb));
    CHECK(tb.read32(arg_addr(i)) == merge_bytes(base, data, strb));
  }
  // ap_start is in byte 0: a write without it leaves ap_start alone.
  tb.write32(reg_ctrl, ctrl_start, 0xE);
  CHECK(tb.pins().ap_start == 0);
  tb.write32(reg_ctrl, ctrl_start, 0x1);
  CHECK(tb.pins().ap_start == 1);
}

TEST_CASE("axilite ctrl: AW and W in either order, BREADY and RREADY held low", "[fpga][rtl][axilite]") {
  Tb tb;
  const Order orders[] = {Order::together, Order::aw_first, Order::w_first};
  int i = 0;
  for (Order order : orders) {
    for (int gap : {0, 1, 3}) {
      for (int delay : {0, 1, 4}) {
        INFO("order " << static_cast<int>(order) << ", gap " << gap << ", BREADY delay " << delay);
        const std::uint32_t value = pattern(100 + i);
        tb.write32(arg_addr(i % num_args), value, 0xF, WriteTiming{order, gap, delay});
        CHECK(tb.arg(i % num_args) == value);
        CHECK(tb.read32(arg_addr(i % num_args), delay) == value);
        ++i;
      }
    }
  }
}

TEST_CASE("axilite ctrl: a write waits for both channels", "[fpga][rtl][axilite]") {
  Tb tb;
  auto& p = tb.pins();
  tb.write32(arg_addr(2), 0x01020304u);
  SECTION("AW first: nothing lands until W") {
    p.s_axi_control_AWVALID = 1;
    p.s_axi_control_AWADDR = static_cast<std::uint8_t>(arg_addr(2));
    tb.settle();
    REQUIRE(p.s_axi_control_AWREADY == 1);
    tb.tick();
    p.s_axi_control_AWVALID = 0;
    tb.ticks(5);
    CHECK(tb.arg(2) == 0x01020304u);
    CHECK(p.s_axi_control_BVALID == 0);
    CHECK(p.s_axi_control_AWREADY == 0);  // one write at a time
    p.s_axi_control_WVALID = 1;
    p.s_axi_control_WDATA = 0xCAFEF00Du;
    p.s_axi_control_WSTRB = 0xF;
    tb.settle();
    REQUIRE(p.s_axi_control_WREADY == 1);
    tb.tick();
    p.s_axi_control_WVALID = 0;
  }
  SECTION("W first: nothing lands until AW") {
    p.s_axi_control_WVALID = 1;
    p.s_axi_control_WDATA = 0xCAFEF00Du;
    p.s_axi_control_WSTRB = 0xF;
    tb.settle();
    REQUIRE(p.s_axi_control_WREADY == 1);
    tb.tick();
    p.s_axi_control_WVALID = 0;
    tb.ticks(5);
    CHECK(tb.arg(2) == 0x01020304u);
    CHECK(p.s_axi_control_BVALID == 0);
    CHECK(p.s_axi_control_WREADY == 0);
    p.s_axi_control_AWVALID = 1;
    p.s_axi_control_AWADDR = static_cast<std::uint8_t>(arg_addr(2));
    tb.settle();
    REQUIRE(p.s_axi_control_AWREADY == 1);
    tb.tick();
    p.s_axi_control_AWVALID = 0;
  }
  for (int cycle = 0; !p.s_axi_control_BVALID; ++cycle) {
    REQUIRE(cycle < timeout);
    tb.tick();
  }
  CHECK(tb.arg(2) == 0xCAFEF00Du);
  // The response is held until BREADY.
  tb.ticks(3);
  CHECK(p.s_axi_control_BVALID == 1);
  p.s_axi_control_BREADY = 1;
  tb.tick();
  p.s_axi_control_BREADY = 0;
  tb.settle();
  CHECK(p.s_axi_control_BVALID == 0);
  CHECK(tb.read32(arg_addr(2)) == 0xCAFEF00Du);
}

TEST_CASE("axilite ctrl: ap_start is set by the host and cleared by ap_ready", "[fpga][rtl][axilite]") {
  Tb tb;
  auto& p = tb.pins();
  tb.write32(reg_ctrl, ctrl_start);
  CHECK(p.ap_start == 1);
  p.ap_idle = 0;
  // Held however long the core takes.
  tb.ticks(10);
  CHECK(p.ap_start == 1);
  CHECK(tb.read32(reg_ctrl) == ctrl_start);
  tb.pulse_ready();
  CHECK(p.ap_start == 0);
  // ap_ready is latched and cleared on read.
  CHECK(tb.read32(reg_ctrl) == ctrl_ready);
  CHECK(tb.read32(reg_ctrl) == 0);
  // The host writing 0 does not stop a start, and ap_ready without a start is harmless.
  tb.write32(reg_ctrl, ctrl_start);
  tb.write32(reg_ctrl, 0);
  CHECK(p.ap_start == 1);
  tb.pulse_ready();
  tb.pulse_ready();
  CHECK(p.ap_start == 0);
}

TEST_CASE("axilite ctrl: ap_done is latched and cleared on read", "[fpga][rtl][axilite]") {
  Tb tb;
  auto& p = tb.pins();
  p.ap_idle = 0;
  tb.pulse_done();
  tb.ticks(5);
  CHECK(tb.read32(reg_ctrl) == ctrl_done);
  CHECK(tb.read32(reg_ctrl) == 0);
  // Reading another register does not clear it.
  tb.pulse_done();
  CHECK(tb.read32(reg_isr) == 0);
  CHECK(tb.read32(arg_addr(0)) == 0);
  CHECK(tb.read32(reg_ctrl, 3) == ctrl_done);
  CHECK(tb.read32(reg_ctrl) == 0);

  SECTION("a done pulse in the cycle its read is taken is not lost") {
    p.s_axi_control_ARVALID = 1;
    p.s_axi_control_ARADDR = reg_ctrl;
    p.ap_done = 1;
    tb.settle();
    REQUIRE(p.s_axi_control_ARREADY == 1);
    tb.tick();
    p.ap_done = 0;
    p.s_axi_control_ARVALID = 0;
    p.s_axi_control_RREADY = 1;
    tb.settle();
    REQUIRE(p.s_axi_control_RVALID == 1);
    CHECK(p.s_axi_control_RDATA == 0);  // sampled before the pulse
    tb.tick();
    p.s_axi_control_RREADY = 0;
    CHECK(tb.read32(reg_ctrl) == ctrl_done);
    CHECK(tb.read32(reg_ctrl) == 0);
  }
}

TEST_CASE("axilite ctrl: ap_idle mirrors the core", "[fpga][rtl][axilite]") {
  Tb tb;
  auto& p = tb.pins();
  for (int round = 0; round < 3; ++round) {
    p.ap_idle = 0;
    CHECK(tb.read32(reg_ctrl) == 0);
    p.ap_idle = 1;
    CHECK(tb.read32(reg_ctrl) == ctrl_idle);
  }
}

TEST_CASE("axilite ctrl: auto_restart re-asserts ap_start after ap_ready", "[fpga][rtl][axilite]") {
  Tb tb;
  auto& p = tb.pins();
  tb.write32(reg_ctrl, ctrl_start | ctrl_auto_restart);
  CHECK(p.ap_start == 1);
  CHECK(tb.read32(reg_ctrl) == (ctrl_start | ctrl_idle | ctrl_auto_restart));
  tb.pulse_ready();
  CHECK(p.ap_start == 1);
  tb.pulse_ready();
  CHECK(p.ap_start == 1);
  // auto_restart off (ap_start stays: a written 0 does not clear it), then the next ap_ready stops.
  tb.write32(reg_ctrl, 0);
  CHECK(tb.read32(reg_ctrl) == (ctrl_start | ctrl_idle | ctrl_ready));
  tb.pulse_ready();
  CHECK(p.ap_start == 0);
  CHECK(tb.read32(reg_ctrl) == (ctrl_idle | ctrl_ready));
}

TEST_CASE("axilite ctrl: ISR, IER, GIE and the interrupt line", "[fpga][rtl][axilite]") {
  Tb tb;
  auto& p = tb.pins();
  // Nothing enabled: events leave ISR alone.
  tb.pulse_done();
  tb.pulse_ready();
  CHECK(tb.read32(reg_isr) == 0);
  CHECK(p.__SYM__interrupt == 0);

  tb.write32(reg_ier, 0x1);
  CHECK(tb.read32(reg_ier) == 0x1);
  tb.pulse_ready();  // not enabled
  CHECK(tb.read32(reg_isr) == 0);
  tb.pulse_done();
  CHECK(tb.read32(reg_isr) == 0x1);
  CHECK(p.__SYM__interrupt == 0);  // GIE off
  tb.write32(reg_gie, 1);
  CHECK(tb.read32(reg_gie) == 1);
  CHECK(p.__SYM__interrupt == 1);
  // Reading ISR does not clear it; writing 1 toggles it off.
  CHECK(tb.read32(reg_isr) == 0x1);
  CHECK(p.__SYM__interrupt == 1);
  tb.write32(reg_isr, 0x1);
  CHECK(tb.read32(reg_isr) == 0);
  CHECK(p.__SYM__interrupt == 0);

  // ap_ready enabled too.
  tb.write32(reg_ier, 0x3);
  tb.pulse_ready();
  CHECK(tb.read32(reg_isr) == 0x2);
  CHECK(p.__SYM__interrupt == 1);
  tb.pulse_done();
  CHECK(tb.read32(reg_isr) == 0x3);
  // Clearing one bit leaves the other and the line up.
  tb.write32(reg_isr, 0x2);
  CHECK(tb.read32(reg_isr) == 0x1);
  CHECK(p.__SYM__interrupt == 1);
  // IER masks the line; GIE gates it.
  tb.write32(reg_ier, 0x2);
  CHECK(p.__SYM__interrupt == 0);
  tb.write32(reg_ier, 0x1);
  CHECK(p.__SYM__interrupt == 1);
  tb.write32(reg_gie, 0);
  CHECK(p.__SYM__interrupt == 0);
  tb.write32(reg_gie, 1);
  CHECK(p.__SYM__interrupt == 1);
  // Writing 1 to a clear bit toggles it on (the HLS ISR's toggle-on-write).
  tb.write32(reg_isr, 0x3);
  CHECK(tb.read32(reg_isr) == 0x2);
  CHECK(p.__SYM__interrupt == 0);
  // Only bit 0 of GIE and bits 1:0 of IER / ISR exist.
  tb.write32(reg_gie, 0xFFFFFFFEu);
  tb.write32(reg_ier, 0xFFFFFFFCu);
  CHECK(tb.read32(reg_gie) == 0);
  CHECK(tb.read32(reg_ier) == 0);
}

TEST_CASE("axilite ctrl: unmapped addresses read 0 and ignore writes", "[fpga][rtl][axilite]") {
  Tb tb;
  for (int i = 0; i < num_args; ++i) tb.write32(arg_addr(i), pattern(i));
  const std::uint32_t first_unmapped = arg_addr(num_args);
  for (std::uint32_t addr = first_unmapped; addr < 0x100; addr += 4) {
    INFO("address " << addr);
    tb.write32(addr, 0xFFFFFFFFu);
    CHECK(tb.read32(addr) == 0);
  }
  for (int i = 0; i < num_args; ++i) CHECK(tb.read32(arg_addr(i)) == pattern(i));
  CHECK(tb.read32(reg_ctrl) == ctrl_idle);
  CHECK(tb.read32(reg_gie) == 0);
  CHECK(tb.read32(reg_ier) == 0);
  CHECK(tb.read32(reg_isr) == 0);
}

TEST_CASE("axilite ctrl: reset clears everything", "[fpga][rtl][axilite]") {
  Tb tb;
  auto& p = tb.pins();
  for (int i = 0; i < num_args; ++i) tb.write32(arg_addr(i), pattern(i));
  tb.write32(reg_gie, 1);
  tb.write32(reg_ier, 0x3);
  tb.write32(reg_ctrl, ctrl_start | ctrl_auto_restart);
  tb.pulse_ready();
  tb.pulse_done();
  REQUIRE(p.ap_start == 1);
  REQUIRE(p.__SYM__interrupt == 1);
  // Reset with a write half in (AW taken, W not) and a read response waiting.
  p.s_axi_control_AWVALID = 1;
  p.s_axi_control_AWADDR = static_cast<std::uint8_t>(arg_addr(0));
  p.s_axi_control_ARVALID = 1;
  p.s_axi_control_ARADDR = static_cast<std::uint8_t>(arg_addr(1));
  tb.tick();
  tb.reset();
  CHECK(p.ap_start == 0);
  CHECK(p.__SYM__interrupt == 0);
  CHECK(p.s_axi_control_BVALID == 0);
  CHECK(p.s_axi_control_RVALID == 0);
  CHECK(p.s_axi_control_AWREADY == 1);
  CHECK(p.s_axi_control_WREADY == 1);
  for (int i = 0; i < num_args; ++i) CHECK(tb.arg(i) == 0);
  // A W alone after reset does not complete the AW from before it.
  p.s_axi_control_WVALID = 1;
  p.s_axi_control_WDATA = 0xDEADBEEFu;
  p.s_axi_control_WSTRB = 0xF;
  tb.tick();
  p.s_axi_control_WVALID = 0;
  tb.ticks(3);
  CHECK(p.s_axi_control_BVALID == 0);
  CHECK(tb.arg(0) == 0);
  tb.reset();
  CHECK(tb.read32(reg_ctrl) == ctrl_idle);
  CHECK(tb.read32(reg_gie) == 0);
  CHECK(tb.read32(reg_ier) == 0);
  CHECK(tb.read32(reg_isr) == 0);
  for (int i = 0; i < num_args; ++i) CHECK(tb.read32(arg_addr(i)) == 0);
}

TEST_CASE("axilite ctrl: a host run as XRT drives it", "[fpga][rtl][axilite]") {
  // Host: arguments, start, poll for done. Core: takes the arguments a few cycles after ap_start
  // (ap_ready), finishes later (ap_done), idle in between.
  Tb tb;
  auto& p = tb.pins();
  for (int run = 0; run < 3; ++run) {
    const std::uint64_t pointer = 0x0000004000001000ull + static_cast<std::uint64_t>(run) * 0x100000000ull;
    tb.write32(arg_addr(0), static_cast<std::uint32_t>(pointer));
    tb.write32(arg_addr(1), static_cast<std::uint32_t>(pointer >> 32));
    tb.write32(arg_addr(2), static_cast<std::uint32_t>(run + 7));
    CHECK(tb.read32(reg_ctrl) == ctrl_idle);
    tb.write32(reg_ctrl, ctrl_start);
    REQUIRE(p.ap_start == 1);
    const std::uint64_t seen = (static_cast<std::uint64_t>(tb.arg(1)) << 32) | tb.arg(0);
    CHECK(seen == pointer);
    CHECK(tb.arg(2) == static_cast<std::uint32_t>(run + 7));
    p.ap_idle = 0;
    tb.ticks(2);
    tb.pulse_ready();
    CHECK(p.ap_start == 0);
    CHECK((tb.read32(reg_ctrl) & ctrl_done) == 0);
    tb.ticks(7);
    tb.pulse_done();
    p.ap_idle = 1;
    std::uint32_t ctrl = 0;
    for (int poll = 0; !(ctrl & ctrl_done); ++poll) {
      REQUIRE(poll < 4);
      ctrl = tb.read32(reg_ctrl);
    }
    CHECK(ctrl == (ctrl_done | ctrl_idle));
  }
}

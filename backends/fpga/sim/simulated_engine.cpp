// The Verilator model of bbs_lstm_engine behind the device-runtime seam (simulated_engine.hpp).
// The model class and its RTL parameters come from the build (backends/fpga/CMakeLists.txt):
// BBS_ENGINE_MODEL names the class, BBS_ENGINE_MODEL_HEADER its header, BBS_ENGINE_R ... the
// parameters it was verilated with.
#include "bbs/backend/fpga/simulated_engine.hpp"

#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <deque>
#include <mutex>
#include <utility>
#include <vector>

#include <verilated.h>

#include BBS_ENGINE_MODEL_HEADER

namespace bbs {
namespace fpga_runtime {
namespace {

constexpr std::uint64_t beat_bytes = 64;
constexpr std::uint64_t run_cycle_limit = 400'000'000;

/// Device memory: buffers at 4 KiB-aligned addresses, each rounded up to whole 64-byte words.
class DeviceMemory {
 public:
  struct Region {
    std::uint64_t base = 0;
    std::vector<unsigned char> bytes;
    bool live = true;
  };

  Region* allocate(std::size_t bytes) {
    const std::uint64_t size = (bytes + beat_bytes - 1) / beat_bytes * beat_bytes;
    auto r = std::make_unique<Region>();
    r->base = next_;
    r->bytes.assign(static_cast<std::size_t>(size), 0);
    next_ += (size + 4095) / 4096 * 4096 + 4096;  // a guard page between buffers
    regions_.push_back(std::move(r));
    return regions_.back().get();
  }

  /// The 64 bytes at a word address, or null when no live buffer holds them.
  unsigned char* word(std::uint64_t address) {
    for (auto& r : regions_) {
      if (r->live && address >= r->base && address + beat_bytes <= r->base + r->bytes.size()) {
        return r->bytes.data() + (address - r->base);
      }
    }
    return nullptr;
  }

 private:
  std::uint64_t next_ = 0x10000000;
  std::vector<std::unique_ptr<Region>> regions_;
};

class SimBuffer final : public HostCopyBuffer {
 public:
  SimBuffer(DeviceMemory::Region* region, std::size_t bytes, std::shared_ptr<std::mutex> lock)
      : HostCopyBuffer(bytes), region_(region), lock_(std::move(lock)) {}
  ~SimBuffer() override {
    std::lock_guard<std::mutex> g(*lock_);
    region_->live = false;
  }
  void sync_to_device() override {
    std::lock_guard<std::mutex> g(*lock_);
    if (!host_.empty()) std::memcpy(region_->bytes.data(), host_.data(), host_.size());
  }
  void sync_from_device() override {
    std::lock_guard<std::mutex> g(*lock_);
    if (!host_.empty()) std::memcpy(host_.data(), region_->bytes.data(), host_.size());
  }
  std::uint64_t address() const { return region_->base; }

 private:
  DeviceMemory::Region* region_;
  std::shared_ptr<std::mutex> lock_;
};

/// The model, its device memory and the AXI slave that serves the engine's master port.
class Simulation {
 public:
  Simulation()
      : context_(std::make_unique<VerilatedContext>()), top_(std::make_unique<BBS_ENGINE_MODEL>(context_.get())) {
    top_->ap_rst_n = 0;
    for (int i = 0; i < 8; ++i) cycle();
    top_->ap_rst_n = 1;
    for (int i = 0; i < 4; ++i) cycle();
    write_register(0x04, 1);  // GIE
    write_register(0x08, 1);  // IER: ap_done
  }
  ~Simulation() { top_->final(); }

  DeviceMemory& memory() { return memory_; }
  const std::shared_ptr<std::mutex>& lock() const { return lock_; }
  void set_timing(const MemoryTiming& t) { timing_ = t; }
  EngineCounters counters() const { return counters_; }

  /// One kernel run: the arguments into the registers, ap_start, cycles until ap_done.
  void run(const std::vector<std::uint32_t>& args) {
    std::lock_guard<std::mutex> g(*lock_);
    const std::uint64_t reads = read_words_;
    const std::uint64_t writes = written_words_;
    for (std::size_t i = 0; i < args.size(); ++i) write_register(static_cast<std::uint32_t>(0x10 + 4 * i), args[i]);
    write_register(0x00, 1);
    std::uint64_t cycles = 0;
    while (!top_->__SYM__interrupt) {
      cycle();
      if (!error_.empty()) break;
      if (++cycles > cycle_limit_) {
        const std::uint32_t state = read_register(0x10 + 4 * 17);
        detail::throw_error<device_error>("fpga engine (simulated): no ap_done after ", cycle_limit_,
                                          " cycles (control state 0x", std::hex, state, ")");
      }
    }
    if (!error_.empty()) {
      const std::string e = error_;
      error_.clear();
      detail::throw_error<device_error>("fpga engine (simulated): ", e);
    }
    write_register(0x0C, 1);  // clear the interrupt
    read_register(0x00);      // and ap_done
    counters_.run_cycles = cycles;
    counters_.status = read_register(0x10 + 4 * 13);
    counters_.step_cycles = read_register(0x10 + 4 * 14);
    counters_.spmv_cycles = read_register(0x10 + 4 * 15);
    counters_.load_cycles = read_register(0x10 + 4 * 16);
    counters_.read_words = read_words_ - reads;
    counters_.written_words = written_words_ - writes;
  }

 private:
  struct Burst {
    std::uint64_t address;
    std::uint32_t left;
    std::uint64_t ready_at;
  };

  /// Drives the slave side for this cycle, settles the model, takes the handshakes, then the edge.
  void cycle() {
    auto* t = top_.get();
    // Read data: the oldest request, once its latency has passed, unless a stall is on.
    const bool stalled = stall_left_ > 0;
    const bool rvalid = !reads_.empty() && now_ >= reads_.front().ready_at && !stalled;
    t->m_axi_gmem_ARREADY = reads_.size() < 8;
    t->m_axi_gmem_RVALID = rvalid;
    t->m_axi_gmem_RLAST = rvalid && reads_.front().left == 1;
    if (rvalid) {
      const unsigned char* src = memory_.word(reads_.front().address);
      if (src == nullptr) {
        fail("read of 64 bytes at 0x", reads_.front().address, " outside every buffer");
        src = zeros_;
      }
      std::memcpy(&t->m_axi_gmem_RDATA[0], src, beat_bytes);
    }
    t->m_axi_gmem_AWREADY = writes_.size() < 8;
    t->m_axi_gmem_WREADY = !writes_.empty();
    t->m_axi_gmem_BVALID = responses_ > 0;
    t->ap_clk = 0;
    t->eval();

    if (t->m_axi_gmem_ARVALID && t->m_axi_gmem_ARREADY) {
      reads_.push_back({t->m_axi_gmem_ARADDR, static_cast<std::uint32_t>(t->m_axi_gmem_ARLEN) + 1,
                        now_ + static_cast<std::uint64_t>(timing_.read_latency)});
    }
    if (stalled) --stall_left_;
    if (rvalid && t->m_axi_gmem_RREADY) {
      ++read_words_;
      reads_.front().address += beat_bytes;
      if (--reads_.front().left == 0) reads_.pop_front();
      if (timing_.stall_every > 0 && read_words_ % static_cast<std::uint64_t>(timing_.stall_every) == 0) {
        stall_left_ = timing_.stall_cycles;
      }
    }
    if (t->m_axi_gmem_AWVALID && t->m_axi_gmem_AWREADY) {
      writes_.push_back({t->m_axi_gmem_AWADDR, static_cast<std::uint32_t>(t->m_axi_gmem_AWLEN) + 1, 0});
    }
    if (t->m_axi_gmem_WVALID && t->m_axi_gmem_WREADY) {
      Burst& w = writes_.front();
      unsigned char* dst = memory_.word(w.address);
      if (dst == nullptr) {
        fail("write of 64 bytes at 0x", w.address, " outside every buffer");
      } else {
        const auto* src = reinterpret_cast<const unsigned char*>(&t->m_axi_gmem_WDATA[0]);
        for (int b = 0; b < 64; ++b) {
          if ((t->m_axi_gmem_WSTRB >> b) & 1u) dst[b] = src[b];
        }
      }
      ++written_words_;
      const bool last = (w.left == 1);
      if (bool(t->m_axi_gmem_WLAST) != last)
        fail("WLAST ", int(t->m_axi_gmem_WLAST), " on a burst with ", w.left, " words left");
      w.address += beat_bytes;
      if (--w.left == 0) {
        writes_.pop_front();
        ++responses_;
      }
    }
    if (t->m_axi_gmem_BVALID && t->m_axi_gmem_BREADY) --responses_;

    t->ap_clk = 1;
    t->eval();
    ++now_;
  }

  template <typename... Parts>
  void fail(const Parts&... parts) {
    if (!error_.empty()) return;
    std::ostringstream os;
    os << std::hex;
    (os << ... << parts);
    error_ = os.str();
  }

  void write_register(std::uint32_t address, std::uint32_t value) {
    auto* t = top_.get();
    t->s_axi_control_AWADDR = static_cast<std::uint8_t>(address);
    t->s_axi_control_WDATA = value;
    t->s_axi_control_WSTRB = 0xF;
    t->s_axi_control_AWVALID = 1;
    t->s_axi_control_WVALID = 1;
    t->s_axi_control_BREADY = 1;
    bool response = false;
    for (int i = 0; i < 64 && !response; ++i) {
      t->ap_clk = 0;
      t->eval();
      const bool aw = t->s_axi_control_AWVALID && t->s_axi_control_AWREADY;
      const bool w = t->s_axi_control_WVALID && t->s_axi_control_WREADY;
      response = t->s_axi_control_BVALID;
      cycle();
      if (aw) t->s_axi_control_AWVALID = 0;
      if (w) t->s_axi_control_WVALID = 0;
    }
    t->s_axi_control_AWVALID = 0;
    t->s_axi_control_WVALID = 0;
    t->s_axi_control_BREADY = 0;
    if (!response) detail::throw_error<device_error>("fpga engine (simulated): no response to a register write");
  }

  std::uint32_t read_register(std::uint32_t address) {
    auto* t = top_.get();
    t->s_axi_control_ARADDR = static_cast<std::uint8_t>(address);
    t->s_axi_control_ARVALID = 1;
    t->s_axi_control_RREADY = 1;
    for (int i = 0; i < 64; ++i) {
      t->ap_clk = 0;
      t->eval();
      const bool ar = t->s_axi_control_ARVALID && t->s_axi_control_ARREADY;
      const bool r = t->s_axi_control_RVALID;
      const std::uint32_t data = t->s_axi_control_RDATA;
      cycle();
      if (ar) t->s_axi_control_ARVALID = 0;
      if (r) {
        t->s_axi_control_RREADY = 0;
        return data;
      }
    }
    detail::throw_error<device_error>("fpga engine (simulated): no response to a register read");
  }

  std::unique_ptr<VerilatedContext> context_;
  std::unique_ptr<BBS_ENGINE_MODEL> top_;
  DeviceMemory memory_;
  std::shared_ptr<std::mutex> lock_ = std::make_shared<std::mutex>();
  MemoryTiming timing_;
  EngineCounters counters_;
  std::uint64_t cycle_limit_ = std::getenv("BBS_ENGINE_CYCLE_LIMIT") != nullptr
                                   ? std::strtoull(std::getenv("BBS_ENGINE_CYCLE_LIMIT"), nullptr, 10)
                                   : run_cycle_limit;
  std::deque<Burst> reads_;
  std::deque<Burst> writes_;
  int responses_ = 0;
  int stall_left_ = 0;
  std::uint64_t now_ = 0;
  std::uint64_t read_words_ = 0;
  std::uint64_t written_words_ = 0;
  std::string error_;
  unsigned char zeros_[64] = {};
};

class SimRun final : public DeviceRun {
 public:
  void wait() override {
    if (waited_) detail::throw_error<device_error>("fpga engine (simulated): wait() called twice on one run");
    waited_ = true;
  }

 private:
  bool waited_ = false;
};

/// A kernel of the simulated engine: the engine's own signature, or the fpga backend's SpMV one.
class SimKernel final : public DeviceKernel {
 public:
  SimKernel(std::shared_ptr<Simulation> sim, KernelSignature sig, bool spmv)
      : sim_(std::move(sim)), sig_(std::move(sig)), spmv_(spmv) {}
  const KernelSignature& signature() const override { return sig_; }

  std::unique_ptr<DeviceBuffer> allocate(std::size_t bytes, int arg) override {
    if (arg < 0 || arg >= static_cast<int>(sig_.args.size()) ||
        sig_.args[static_cast<std::size_t>(arg)].kind != ArgKind::buffer) {
      detail::throw_error<device_error>("fpga engine (simulated): kernel ", sig_.name, " argument ", arg,
                                        " is not a buffer");
    }
    std::lock_guard<std::mutex> g(*sim_->lock());
    return std::make_unique<SimBuffer>(sim_->memory().allocate(bytes), bytes, sim_->lock());
  }

  std::unique_ptr<DeviceRun> start(const std::vector<ArgValue>& args) override {
    check_arguments(sig_, args);
    std::vector<std::uint32_t> regs;
    auto pointer = [&](const ArgValue& a) {
      const auto* b = dynamic_cast<const SimBuffer*>(std::get<DeviceBuffer*>(a));
      if (b == nullptr) {
        detail::throw_error<device_error>("fpga engine (simulated): kernel ", sig_.name,
                                          " was given another runtime's buffer");
      }
      regs.push_back(static_cast<std::uint32_t>(b->address()));
      regs.push_back(static_cast<std::uint32_t>(b->address() >> 32));
    };
    if (spmv_) {  // (p_matrix, p_x, p_y, alpha_q, beta_q) -> mode 3
      regs.push_back(engine_spmv);
      pointer(args[0]);
      pointer(args[1]);
      pointer(args[2]);
      regs.insert(regs.end(), {0u, 0u, 0u, 0u});
      regs.push_back(static_cast<std::uint32_t>(std::get<std::int32_t>(args[3])));
      regs.push_back(static_cast<std::uint32_t>(std::get<std::int32_t>(args[4])));
    } else {
      regs.push_back(static_cast<std::uint32_t>(std::get<std::int32_t>(args[0])));
      for (int i = 1; i <= 4; ++i) pointer(args[static_cast<std::size_t>(i)]);
      for (int i = 5; i <= 8; ++i)
        regs.push_back(static_cast<std::uint32_t>(std::get<std::int32_t>(args[static_cast<std::size_t>(i)])));
    }
    sim_->run(regs);
    const std::uint32_t status = sim_->counters().status;
    if (status != 0) {
      detail::throw_error<device_error>("fpga engine (simulated): kernel ", sig_.name,
                                        " refused its input: ", engine_status_text(status), " (status ", status, ")");
    }
    return std::make_unique<SimRun>();
  }

 private:
  std::shared_ptr<Simulation> sim_;
  KernelSignature sig_;
  bool spmv_;
};

class VerilatedEngine final : public SimulatedEngine {
 public:
  std::string description() const override {
    return "simulated bbs_lstm_engine (Verilator, " + std::to_string(shape().row_engines) + " row engines x 16 PEs)";
  }
  std::unique_ptr<DeviceKernel> open_kernel(const KernelSignature& sig) override {
    if (sig.name == engine_kernel_signature().name) {
      check_signature(sig, engine_kernel_signature(), description());
      return std::make_unique<SimKernel>(sim_, engine_kernel_signature(), false);
    }
    if (sig.name == fixed16_kernel_signature().name) {
      check_signature(sig, fixed16_kernel_signature(), description());
      return std::make_unique<SimKernel>(sim_, fixed16_kernel_signature(), true);
    }
    detail::throw_error<device_error>("fpga: kernel ", sig.name, " is missing from ", description(), "; it has ",
                                      engine_kernel_signature().name, ", ", fixed16_kernel_signature().name);
  }
  EngineShape shape() const override {
    EngineShape s;
    s.row_engines = BBS_ENGINE_R;
    s.frac_bits = BBS_ENGINE_F;
    s.words = BBS_ENGINE_WD;
    s.x_depth = BBS_ENGINE_DX;
    s.h_depth = BBS_ENGINE_DH;
    s.m_depth = BBS_ENGINE_DM;
    s.slots = BBS_ENGINE_KD;
    s.staging_words = BBS_ENGINE_SD;
    s.c_words = BBS_ENGINE_CD;
    return s;
  }
  EngineCounters counters() const override { return sim_->counters(); }
  void set_memory_timing(const MemoryTiming& timing) override { sim_->set_timing(timing); }

 private:
  std::shared_ptr<Simulation> sim_ = std::make_shared<Simulation>();
};

}  // namespace

std::shared_ptr<SimulatedEngine> make_simulated_engine() { return std::make_shared<VerilatedEngine>(); }

}  // namespace fpga_runtime
}  // namespace bbs

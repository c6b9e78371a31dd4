// The LSTM engine in simulation: the device-runtime seam implemented by the Verilator model of
// backends/fpga/rtl/bbs_lstm_engine.sv, declared here and defined in backends/fpga/sim (link
// bbs::fpga_sim, built when Verilator is found). The host drives it as it would drive a card:
// buffers live in a simulated device memory served to the engine's AXI4 master port cycle by
// cycle, arguments and ap_start go through the AXI4-Lite control registers, and a run lasts
// until the engine raises ap_done. Every cycle is counted.
//
// Kernels: bbs_lstm_engine (engine_kernel_signature, all three modes) and bbs_spmv_fixed16 (the
// fpga backend's SpMV signature, run as the engine's spmv mode), so bbs::on<backend::fpga>(A) * x
// runs on the RTL once a Session on this runtime is the default one.
#pragma once

#include <cstdint>
#include <memory>

#include "bbs/backend/fpga/engine_image.hpp"
#include "bbs/backend/fpga/runtime.hpp"

namespace bbs {
namespace fpga_runtime {

/// What the simulation counted during the last run.
struct EngineCounters {
  std::uint64_t run_cycles = 0;     // ap_start seen to ap_done raised
  std::uint32_t status = 0;         // the engine's status register (engine_status_text)
  std::uint32_t step_cycles = 0;    // the last LSTM step: first gate word to the step's last write-back
  std::uint32_t spmv_cycles = 0;    // the last SpMV's compute phase: first word to the last write-back
  std::uint32_t load_cycles = 0;    // the last load: ap_start to the image's last word
  std::uint64_t read_words = 0;     // 64-byte words the engine read from device memory
  std::uint64_t written_words = 0;  // and wrote
};

/// How the simulated device memory answers: cycles from a read request to its first word, and an
/// optional stall (no data for stall_cycles after every stall_every words) to show that the
/// engine waits for its inputs.
struct MemoryTiming {
  int read_latency = 24;
  int stall_every = 0;
  int stall_cycles = 0;
};

class SimulatedEngine : public DeviceRuntime {
 public:
  /// The RTL parameters this model was built with.
  virtual EngineShape shape() const = 0;
  virtual EngineCounters counters() const = 0;
  virtual void set_memory_timing(const MemoryTiming& timing) = 0;
};

/// A fresh engine (its memories empty) in its own simulated device.
std::shared_ptr<SimulatedEngine> make_simulated_engine();

}  // namespace fpga_runtime
}  // namespace bbs

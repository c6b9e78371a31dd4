// The emulator: the device-runtime seam implemented in-process by running the kernel's own C++
// (backends/fpga/hw/spmv.hpp, the instantiations of kernel_config.hpp) on the same packed buffers
// and argument list a card gets. Buffers keep a host copy and a separate device copy, so a
// missing sync shows up as stale data, as it would on a card. A run executes on its own thread
// between start() and wait(). Unlike a card it checks that every buffer holds what the matrix
// header makes the kernel read and write, and reports a header the kernel refuses.
#pragma once

#include <cstring>
#include <future>
#include <utility>

#include "fpga/hw/kernel_config.hpp"
#include "fpga/hw/spmv.hpp"
#include "bbs/backend/fpga/pack.hpp"
#include "bbs/backend/fpga/runtime.hpp"

namespace bbs {
namespace fpga_runtime {

namespace impl {

class EmulatedBuffer final : public HostCopyBuffer {
 public:
  explicit EmulatedBuffer(std::size_t bytes) : HostCopyBuffer(bytes), device_(bytes) {}
  void sync_to_device() override { device_ = host_; }
  void sync_from_device() override { host_ = device_; }

  /// The device copy as n elements of E (a copy: no aliasing of the byte storage).
  template <typename E>
  std::vector<E> device_elements(std::size_t n) const {
    std::vector<E> out(n);
    if (n > 0) std::memcpy(out.data(), device_.data(), n * sizeof(E));
    return out;
  }
  template <typename E>
  void set_device_elements(const std::vector<E>& v) {
    if (!v.empty()) std::memcpy(device_.data(), v.data(), v.size() * sizeof(E));
  }

 private:
  std::vector<unsigned char> device_;
};

/// Throws device_error unless buffer argument `name` holds `needed` bytes.
inline void require_bytes(const KernelSignature& sig, const char* name, std::size_t have, std::uint64_t needed) {
  if (have < needed) {
    detail::throw_error<device_error>("fpga emulator: kernel ", sig.name, " would access ", needed, " bytes of buffer ",
                                      name, ", which holds ", have);
  }
}

inline const char* header_status_text(int status) {
  switch (status) {
    case fpga_hw::header_bad_magic:
      return "not a packed bbs matrix (bad magic)";
    case fpga_hw::header_bad_version:
      return "packed for another layout version";
    case fpga_hw::header_wrong_value_kind:
      return "packed for the other value type";
    case fpga_hw::header_wrong_lanes:
      return "packed for another number of PEs";
    case fpga_hw::header_x_too_deep:
      return "its x banks do not fit the kernel's buffers";
    default:
      return "its header fields are inconsistent";
  }
}

/// Runs the kernel `sig` names on the device copies of its buffers: the extern "C" shells'
/// argument order, the shipped template instantiation.
inline void run_kernel(const KernelSignature& sig, const std::vector<ArgValue>& args) {
  auto& matrix = static_cast<EmulatedBuffer&>(*std::get<DeviceBuffer*>(args[0]));
  auto& xb = static_cast<EmulatedBuffer&>(*std::get<DeviceBuffer*>(args[1]));
  auto& yb = static_cast<EmulatedBuffer&>(*std::get<DeviceBuffer*>(args[2]));
  require_bytes(sig, "p_matrix", matrix.size(), fpga_hw::word_bytes);
  const auto header = matrix.device_elements<fpga_hw::wide_word>(1)[0];
  const fpga_hw::matrix_shape shape = fpga_hw::read_shape(header);
  const std::uint64_t words = fpga_hw::packed_words(shape.rows, shape.words_per_row);
  const bool fixed = sig.name == fpga_hw::fixed16_kernel_name;
  if (!fixed && sig.name != fpga_hw::float_kernel_name) {
    detail::throw_error<device_error>("fpga emulator: no C model for kernel ", sig.name);
  }
  // The C model takes the shell's arguments; a kernel listed with others cannot run on it.
  check_signature(fixed ? fixed16_kernel_signature() : float_kernel_signature(), sig, "the emulator's C model");
  const std::size_t element = fixed ? sizeof(std::int16_t) : sizeof(float);
  int status = fpga_hw::header_ok;
  // The kernel checks the header before it reads past word 0; sizes only matter if it is valid.
  if (fixed) {
    status = fpga_hw::check_header<fpga_hw::fixed16_lanes, fpga_hw::fixed16_depth>(header, fpga_hw::value_fixed16);
  } else {
    status = fpga_hw::check_header<fpga_hw::float_lanes, fpga_hw::float_depth>(header, fpga_hw::value_float32);
  }
  if (status != fpga_hw::header_ok) {
    detail::throw_error<device_error>("fpga emulator: kernel ", sig.name,
                                      " refused the matrix: ", header_status_text(status));
  }
  require_bytes(sig, "p_matrix", matrix.size(), words * fpga_hw::word_bytes);
  require_bytes(sig, "p_x", xb.size(), std::uint64_t(shape.cols) * element);
  require_bytes(sig, "p_y", yb.size(), std::uint64_t(shape.rows) * element);
  const auto packed = matrix.device_elements<fpga_hw::wide_word>(static_cast<std::size_t>(words));
  if (fixed) {
    const auto x = xb.device_elements<std::int16_t>(shape.cols);
    auto y = yb.device_elements<std::int16_t>(shape.rows);
    fpga_hw::spmv_fixed16<fpga_hw::fixed16_lanes, fpga_hw::fixed16_depth>(
        packed.data(), x.data(), y.data(), std::get<std::int32_t>(args[3]), std::get<std::int32_t>(args[4]));
    yb.set_device_elements(y);
  } else {
    const auto x = xb.device_elements<float>(shape.cols);
    auto y = yb.device_elements<float>(shape.rows);
    fpga_hw::spmv_float<fpga_hw::float_lanes, fpga_hw::float_depth>(packed.data(), x.data(), y.data(),
                                                                    std::get<float>(args[3]), std::get<float>(args[4]));
    yb.set_device_elements(y);
  }
}

class EmulatedRun final : public DeviceRun {
 public:
  explicit EmulatedRun(std::future<void> done) : done_(std::move(done)) {}
  ~EmulatedRun() override {
    if (done_.valid()) done_.wait();  // never leave the thread running over freed buffers
  }
  void wait() override {
    if (!done_.valid()) detail::throw_error<device_error>("fpga emulator: wait() called twice on one run");
    done_.get();  // rethrows what the kernel thread threw
  }

 private:
  std::future<void> done_;
};

class EmulatedKernel final : public DeviceKernel {
 public:
  explicit EmulatedKernel(KernelSignature sig) : sig_(std::move(sig)) {}
  const KernelSignature& signature() const override { return sig_; }
  std::unique_ptr<DeviceBuffer> allocate(std::size_t bytes, int arg) override {
    if (arg < 0 || arg >= static_cast<int>(sig_.args.size()) ||
        sig_.args[static_cast<std::size_t>(arg)].kind != ArgKind::buffer) {
      detail::throw_error<device_error>("fpga emulator: kernel ", sig_.name, " argument ", arg, " is not a buffer");
    }
    return std::make_unique<EmulatedBuffer>(bytes);
  }
  std::unique_ptr<DeviceRun> start(const std::vector<ArgValue>& args) override {
    check_arguments(sig_, args);
    for (const ArgValue& a : args) {
      if (a.index() == 0 && dynamic_cast<EmulatedBuffer*>(std::get<DeviceBuffer*>(a)) == nullptr) {
        detail::throw_error<device_error>("fpga emulator: kernel ", sig_.name, " was given another runtime's buffer");
      }
    }
    return std::make_unique<EmulatedRun>(std::async(std::launch::async, [sig = sig_, args] { run_kernel(sig, args); }));
  }

 private:
  KernelSignature sig_;
};

}  // namespace impl

/// The device-runtime seam in process: the shipped kernels, run as C simulation.
class EmulatedRuntime final : public DeviceRuntime {
 public:
  /// Both kernels; a runtime with fewer (tests of the "kernel missing" error) lists them.
  EmulatedRuntime() : kernels_{fixed16_kernel_signature(), float_kernel_signature()} {}
  explicit EmulatedRuntime(std::vector<KernelSignature> kernels) : kernels_(std::move(kernels)) {}

  std::string description() const override { return "emulator (C simulation of backends/fpga/hw)"; }

  std::unique_ptr<DeviceKernel> open_kernel(const KernelSignature& sig) override {
    std::string names;
    for (const KernelSignature& k : kernels_) {
      if (k.name == sig.name) {
        check_signature(sig, k, description());
        return std::make_unique<impl::EmulatedKernel>(k);
      }
      names += (names.empty() ? "" : ", ") + k.name;
    }
    detail::throw_error<device_error>("fpga: kernel ", sig.name, " is missing from ", description(), "; it has ",
                                      names.empty() ? std::string("no kernels") : names);
  }

 private:
  std::vector<KernelSignature> kernels_;
};

}  // namespace fpga_runtime
}  // namespace bbs

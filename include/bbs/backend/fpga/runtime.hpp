// The device-runtime seam: what the fpga backend needs from a device, as abstract classes with
// two implementations, the in-process emulator (emulator.hpp) and XRT (xrt_runtime.hpp, compiled
// into bbs::fpga_xrt). A runtime is opened with its program already loaded (an .xclbin for XRT,
// the built-in kernels for the emulator); from it the backend opens kernels by signature,
// allocates buffers next to a kernel argument, writes / syncs / reads them, and starts runs
// with an argument list that is checked against the signature first.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "bbs/core/error.hpp"
#include "fpga/hw/kernel_config.hpp"

namespace bbs {
namespace fpga_runtime {

enum class ArgKind { buffer, int32, float32 };

inline const char* arg_kind_name(ArgKind k) {
  return k == ArgKind::buffer ? "buffer" : (k == ArgKind::int32 ? "int32" : "float32");
}

struct KernelArg {
  std::string name;
  ArgKind kind;
};

/// A kernel's name and argument list: the extern "C" signature of its shell in backends/fpga/hw.
struct KernelSignature {
  std::string name;
  std::vector<KernelArg> args;
};

/// bbs_spmv_fixed16(matrix, x, y, alpha_q, beta_q) (hw/bbs_spmv_fixed16.cpp).
inline KernelSignature fixed16_kernel_signature() {
  return {fpga_hw::fixed16_kernel_name,
          {{"p_matrix", ArgKind::buffer},
           {"p_x", ArgKind::buffer},
           {"p_y", ArgKind::buffer},
           {"p_alpha_q", ArgKind::int32},
           {"p_beta_q", ArgKind::int32}}};
}

/// bbs_spmv_float(matrix, x, y, alpha, beta) (hw/bbs_spmv_float.cpp).
inline KernelSignature float_kernel_signature() {
  return {fpga_hw::float_kernel_name,
          {{"p_matrix", ArgKind::buffer},
           {"p_x", ArgKind::buffer},
           {"p_y", ArgKind::buffer},
           {"p_alpha", ArgKind::float32},
           {"p_beta", ArgKind::float32}}};
}

/// Device memory with a host-side copy: write / read touch the host copy, sync moves it.
class DeviceBuffer {
 public:
  virtual ~DeviceBuffer() = default;
  virtual std::size_t size() const = 0;
  /// Copies bytes into the host copy at offset; device_error past the end.
  virtual void write(const void* src, std::size_t bytes, std::size_t offset = 0) = 0;
  /// Copies bytes out of the host copy at offset; device_error past the end.
  virtual void read(void* dst, std::size_t bytes, std::size_t offset = 0) const = 0;
  virtual void sync_to_device() = 0;
  virtual void sync_from_device() = 0;
};

/// Throws device_error unless [offset, offset + bytes) lies inside a buffer of `size` bytes.
inline void check_buffer_range(const char* what, std::size_t size, std::size_t bytes, std::size_t offset) {
  if (offset > size || bytes > size - offset) {
    detail::throw_error<device_error>("fpga: buffer ", what, " of ", bytes, " bytes at offset ", offset,
                                      " runs past the buffer's ", size, " bytes");
  }
}

/// The host side most runtimes share: the host copy with its checked write / read. A runtime
/// derives from it and adds the syncs to its own device copy.
class HostCopyBuffer : public DeviceBuffer {
 public:
  explicit HostCopyBuffer(std::size_t bytes) : host_(bytes) {}
  std::size_t size() const override { return host_.size(); }
  void write(const void* src, std::size_t bytes, std::size_t offset = 0) override {
    check_buffer_range("write", host_.size(), bytes, offset);
    if (bytes > 0) std::memcpy(host_.data() + offset, src, bytes);
  }
  void read(void* dst, std::size_t bytes, std::size_t offset = 0) const override {
    check_buffer_range("read", host_.size(), bytes, offset);
    if (bytes > 0) std::memcpy(dst, host_.data() + offset, bytes);
  }

 protected:
  std::vector<unsigned char> host_;
};

/// One kernel argument value. Buffers are borrowed: they must outlive the run.
using ArgValue = std::variant<DeviceBuffer*, std::int32_t, float>;

/// A started kernel execution.
class DeviceRun {
 public:
  virtual ~DeviceRun() = default;
  /// Blocks until the kernel finished; device_error if it did not complete normally.
  virtual void wait() = 0;
};

class DeviceKernel {
 public:
  virtual ~DeviceKernel() = default;
  virtual const KernelSignature& signature() const = 0;
  /// A buffer of `bytes` in the memory bank argument `arg` is connected to.
  virtual std::unique_ptr<DeviceBuffer> allocate(std::size_t bytes, int arg) = 0;
  /// Starts one execution; args must match signature() (check_arguments).
  virtual std::unique_ptr<DeviceRun> start(const std::vector<ArgValue>& args) = 0;
};

class DeviceRuntime {
 public:
  virtual ~DeviceRuntime() = default;
  /// The device and program, for messages ("emulator", "xrt device 0: <name>, <file>.xclbin").
  virtual std::string description() const = 0;
  /// The kernel of that name whose arguments match sig; device_error naming the kernels the
  /// program has, or the first argument that differs, otherwise.
  virtual std::unique_ptr<DeviceKernel> open_kernel(const KernelSignature& sig) = 0;
};

/// Throws device_error unless args match sig in count and kind; both runtimes call it in start().
inline void check_arguments(const KernelSignature& sig, const std::vector<ArgValue>& args) {
  if (args.size() != sig.args.size()) {
    detail::throw_error<device_error>("fpga: kernel ", sig.name, " takes ", sig.args.size(), " arguments, ",
                                      args.size(), " were given");
  }
  for (std::size_t i = 0; i < args.size(); ++i) {
    const ArgKind given =
        args[i].index() == 0 ? ArgKind::buffer : (args[i].index() == 1 ? ArgKind::int32 : ArgKind::float32);
    if (given != sig.args[i].kind) {
      detail::throw_error<device_error>("fpga: kernel ", sig.name, " argument ", i, " (", sig.args[i].name, ") is a ",
                                        arg_kind_name(sig.args[i].kind), ", got a ", arg_kind_name(given));
    }
    if (given == ArgKind::buffer && std::get<DeviceBuffer*>(args[i]) == nullptr) {
      detail::throw_error<device_error>("fpga: kernel ", sig.name, " argument ", i, " (", sig.args[i].name,
                                        ") is a null buffer");
    }
  }
}

/// Throws device_error unless the program's kernel `have` takes the arguments `want` lists (same
/// count, names and kinds); `where` names the program in the message.
inline void check_signature(const KernelSignature& want, const KernelSignature& have, const std::string& where) {
  if (have.args.size() != want.args.size()) {
    detail::throw_error<device_error>("fpga: kernel ", want.name, " in ", where, " takes ", have.args.size(),
                                      " arguments, the host expects ", want.args.size());
  }
  for (std::size_t i = 0; i < want.args.size(); ++i) {
    const KernelArg& w = want.args[i];
    const KernelArg& h = have.args[i];
    if (w.name != h.name || w.kind != h.kind) {
      detail::throw_error<device_error>("fpga: kernel ", want.name, " in ", where, ": argument ", i, " is ", h.name,
                                        " (", arg_kind_name(h.kind), "), the host expects ", w.name, " (",
                                        arg_kind_name(w.kind), ")");
    }
  }
}

}  // namespace fpga_runtime
}  // namespace bbs

// The device-runtime seam on XRT's native C++ API: xrt::device opens the card, xrt::xclbin reads
// the program and its kernels' argument lists (from the .xclbin's EMBEDDED_METADATA), load_xclbin
// programs the device, xrt::kernel / xrt::bo / xrt::run do the rest. Every XRT exception becomes
// a bbs::device_error that says which step failed. Built into bbs::fpga_xrt when XRT is found.
#include <bbs/bbs.hpp>

#include <fstream>
#include <utility>

#include <experimental/xrt_xclbin.h>
#include <xrt/xrt_bo.h>
#include <xrt/xrt_device.h>
#include <xrt/xrt_kernel.h>

namespace bbs {
namespace fpga_runtime {
namespace {

/// Runs f, turning anything XRT throws into a device_error that starts with `step`.
template <typename F>
auto xrt_step(const std::string& step, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const bbs::error&) {
    throw;
  } catch (const std::exception& e) {
    detail::throw_error<device_error>("fpga (XRT): ", step, ": ", e.what());
  }
}

/// What an argument of an .xclbin kernel is, from its host type: pointers are buffers.
ArgKind kind_of(const xrt::xclbin::arg& a, const std::string& kernel) {
  const std::string type = a.get_host_type();
  if (!type.empty() && type.back() == '*') return ArgKind::buffer;
  if (type == "float") return ArgKind::float32;
  if (a.get_size() == 4 && (type == "int" || type == "int32_t" || type == "unsigned int" || type == "uint32_t")) {
    return ArgKind::int32;
  }
  detail::throw_error<device_error>("fpga (XRT): kernel ", kernel, " argument ", a.get_name(), " has type \"", type,
                                    "\" (", a.get_size(), " bytes), which bbs does not pass");
}

/// XRT backs a buffer's host copy with aligned_alloc(4096, size), which wants a size that is a
/// multiple of 4096 (AddressSanitizer aborts on any other): buffers are allocated in whole pages,
/// and XrtBuffer::size() still reports the bytes asked for.
std::size_t whole_pages(std::size_t bytes) {
  constexpr std::size_t page = 4096;
  return (bytes + page - 1) / page * page;
}

class XrtBuffer final : public DeviceBuffer {
 public:
  XrtBuffer(xrt::bo bo, std::size_t size) : bo_(std::move(bo)), size_(size) {}
  std::size_t size() const override { return size_; }
  void write(const void* src, std::size_t bytes, std::size_t offset) override {
    check_buffer_range("write", size_, bytes, offset);
    if (bytes > 0) xrt_step("writing a buffer", [&] { bo_.write(src, bytes, offset); });
  }
  void read(void* dst, std::size_t bytes, std::size_t offset) const override {
    check_buffer_range("read", size_, bytes, offset);
    if (bytes > 0) xrt_step("reading a buffer", [&] { bo_.read(dst, bytes, offset); });
  }
  void sync_to_device() override {
    xrt_step("syncing a buffer to the device", [&] { bo_.sync(XCL_BO_SYNC_BO_TO_DEVICE); });
  }
  void sync_from_device() override {
    xrt_step("syncing a buffer from the device", [&] { bo_.sync(XCL_BO_SYNC_BO_FROM_DEVICE); });
  }
  xrt::bo& bo() { return bo_; }

 private:
  mutable xrt::bo bo_;  // xrt::bo::read is not const
  std::size_t size_;
};

class XrtRun final : public DeviceRun {
 public:
  XrtRun(xrt::run run, std::string kernel) : run_(std::move(run)), kernel_(std::move(kernel)) {}
  void wait() override {
    const ert_cmd_state state = xrt_step("waiting for kernel " + kernel_, [&] { return run_.wait(); });
    if (state != ERT_CMD_STATE_COMPLETED) {
      detail::throw_error<device_error>("fpga (XRT): kernel ", kernel_, " did not complete (command state ",
                                        static_cast<int>(state), ")");
    }
  }

 private:
  xrt::run run_;
  std::string kernel_;
};

class XrtKernel final : public DeviceKernel {
 public:
  XrtKernel(xrt::device device, xrt::kernel kernel, KernelSignature sig)
      : device_(std::move(device)), kernel_(std::move(kernel)), sig_(std::move(sig)) {}
  const KernelSignature& signature() const override { return sig_; }

  std::unique_ptr<DeviceBuffer> allocate(std::size_t bytes, int arg) override {
    if (arg < 0 || arg >= static_cast<int>(sig_.args.size()) ||
        sig_.args[static_cast<std::size_t>(arg)].kind != ArgKind::buffer) {
      detail::throw_error<device_error>("fpga (XRT): kernel ", sig_.name, " argument ", arg, " is not a buffer");
    }
    return xrt_step("allocating " + std::to_string(bytes) + " bytes for " + sig_.name + " argument " +
                        sig_.args[static_cast<std::size_t>(arg)].name,
                    [&] {
                      return std::make_unique<XrtBuffer>(xrt::bo(device_, whole_pages(bytes), kernel_.group_id(arg)),
                                                         bytes);
                    });
  }

  std::unique_ptr<DeviceRun> start(const std::vector<ArgValue>& args) override {
    check_arguments(sig_, args);
    return xrt_step("starting kernel " + sig_.name, [&] {
      xrt::run run(kernel_);
      for (std::size_t i = 0; i < args.size(); ++i) {
        const int index = static_cast<int>(i);
        if (const auto* b = std::get_if<DeviceBuffer*>(&args[i])) {
          auto* xb = dynamic_cast<XrtBuffer*>(*b);
          if (xb == nullptr) {
            detail::throw_error<device_error>("fpga (XRT): kernel ", sig_.name, " was given another runtime's buffer");
          }
          run.set_arg(index, xb->bo());
        } else if (const auto* v = std::get_if<std::int32_t>(&args[i])) {
          run.set_arg(index, *v);
        } else {
          run.set_arg(index, std::get<float>(args[i]));
        }
      }
      run.start();
      return std::make_unique<XrtRun>(std::move(run), sig_.name);
    });
  }

 private:
  xrt::device device_;
  xrt::kernel kernel_;
  KernelSignature sig_;
};

class XrtRuntime final : public DeviceRuntime {
 public:
  XrtRuntime(xrt::device device, xrt::xclbin xclbin, xrt::uuid uuid, std::string description)
      : device_(std::move(device)),
        xclbin_(std::move(xclbin)),
        uuid_(std::move(uuid)),
        description_(std::move(description)) {}

  std::string description() const override { return description_; }

  std::unique_ptr<DeviceKernel> open_kernel(const KernelSignature& sig) override {
    const std::vector<xrt::xclbin::kernel> kernels =
        xrt_step("listing the kernels of " + description_, [&] { return xclbin_.get_kernels(); });
    std::string names;
    for (const xrt::xclbin::kernel& k : kernels) {
      const std::string name = k.get_name();
      if (name != sig.name) {
        names += (names.empty() ? "" : ", ") + name;
        continue;
      }
      KernelSignature have{name, {}};
      for (const xrt::xclbin::arg& a : k.get_args()) have.args.push_back({a.get_name(), kind_of(a, name)});
      check_signature(sig, have, description_);
      xrt::kernel kernel =
          xrt_step("opening kernel " + name + " on " + description_, [&] { return xrt::kernel(device_, uuid_, name); });
      return std::make_unique<XrtKernel>(device_, std::move(kernel), sig);
    }
    detail::throw_error<device_error>("fpga: kernel ", sig.name, " is missing from ", description_, "; it has ",
                                      names.empty() ? std::string("no kernels") : names);
  }

 private:
  xrt::device device_;
  xrt::xclbin xclbin_;
  xrt::uuid uuid_;
  std::string description_;
};

}  // namespace

std::shared_ptr<DeviceRuntime> open_xrt_runtime(const std::string& xclbin_path, unsigned device_index) {
  if (!std::ifstream(xclbin_path, std::ios::binary).good()) {
    detail::throw_error<device_error>("fpga (XRT): cannot open .xclbin file \"", xclbin_path, "\"");
  }
  xrt::xclbin xclbin =
      xrt_step("reading \"" + xclbin_path + "\" (not a valid .xclbin?)", [&] { return xrt::xclbin(xclbin_path); });
  xrt::device device = xrt_step("opening XRT device " + std::to_string(device_index) +
                                    " (no card, no driver, or XCL_EMULATION_MODE without its shim?)",
                                [&] { return xrt::device(device_index); });
  xrt::uuid uuid = xrt_step(
      "loading \"" + xclbin_path + "\" on device " + std::to_string(device_index) + " (built for another platform?)",
      [&] { return device.load_xclbin(xclbin); });
  const std::string description =
      "XRT device " + std::to_string(device_index) + " with \"" + xclbin_path + "\" (" + xclbin.get_xsa_name() + ")";
  return std::make_shared<XrtRuntime>(std::move(device), std::move(xclbin), std::move(uuid), description);
}

}  // namespace fpga_runtime
}  // namespace bbs

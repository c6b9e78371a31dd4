// Sessions and resident matrices: what the fpga backend keeps between products.
//
// - fpga_runtime::Session: one device runtime (emulator or XRT) and its kernels, opened on first use.
// - fpga_runtime::DeviceMatrix<T>: a matrix packed into the device layout and uploaded once, with its own
//   x and y buffers; each product moves only x (and y when beta != 0) in and y out. start_spmv
//   returns a PendingSpmv, so the host works while the kernel runs; wait() delivers y.
// - The backend tag has no state (bbs::on<backend::fpga>(A) default-constructs it), so products
//   run on the process-wide default session: the emulator until set_default_session installs
//   another (an XRT session on a machine with a card). The DeviceMatrix for (matrix, session) is
//   kept in the matrix's LayoutCache: built on the first product, reused after, dropped when the
//   matrix's values change (BbsMatrix::valuesChanged) or the matrix dies. Views without a cache
//   (BbsMap, row slices) are packed and uploaded on every product.
// Why not in compiled_backends: backend::automatic should never pick a device by itself. An
// emulated kernel is slower than the CPU backends, a card needs an .xclbin chosen by the user, and
// only float and fixed16 have kernels, while automatic must serve every value type.
#pragma once

#include <atomic>
#include <mutex>
#include <utility>

#include "bbs/backend/fpga/emulator.hpp"
#include "bbs/backend/fpga/pack.hpp"
#include "bbs/backend/fpga/runtime.hpp"
#include "bbs/storage/csb_view.hpp"
#include "bbs/storage/layout_cache.hpp"

namespace bbs {
namespace fpga_runtime {

class Session {
 public:
  explicit Session(std::shared_ptr<DeviceRuntime> runtime) : runtime_(std::move(runtime)), id_(next_id()) {
    if (runtime_ == nullptr) detail::throw_error<device_error>("fpga: a Session needs a device runtime, got null");
  }

  /// A session on the in-process emulator.
  static std::shared_ptr<Session> emulated() { return std::make_shared<Session>(std::make_shared<EmulatedRuntime>()); }

  DeviceRuntime& runtime() const { return *runtime_; }
  std::string description() const { return runtime_->description(); }
  /// Unique in the process: resident matrices are keyed by it.
  std::uint64_t id() const { return id_; }

  /// The kernel for matrices of T, opened on first use; device_error if the program lacks it or
  /// its arguments differ from the host's.
  template <typename T>
  DeviceKernel& kernel() {
    std::lock_guard<std::mutex> lock(mutex_);
    std::unique_ptr<DeviceKernel>& k = std::is_same<T, float>::value ? float_kernel_ : fixed16_kernel_;
    if (k == nullptr) {
      k = runtime_->open_kernel(std::is_same<T, float>::value ? float_kernel_signature() : fixed16_kernel_signature());
    }
    return *k;
  }

 private:
  static std::uint64_t next_id() {
    static std::atomic<std::uint64_t> counter{0};
    return ++counter;
  }

  std::shared_ptr<DeviceRuntime> runtime_;
  std::uint64_t id_;
  std::mutex mutex_;
  std::unique_ptr<DeviceKernel> fixed16_kernel_;
  std::unique_ptr<DeviceKernel> float_kernel_;
};

namespace impl {
inline std::mutex& default_session_mutex() {
  static std::mutex m;
  return m;
}
inline std::shared_ptr<Session>& default_session_slot() {
  static std::shared_ptr<Session> s;
  return s;
}
}  // namespace impl

/// The session backend::fpga products run on; an emulator session until one is installed.
inline std::shared_ptr<Session> default_session() {
  std::lock_guard<std::mutex> lock(impl::default_session_mutex());
  auto& s = impl::default_session_slot();
  if (s == nullptr) s = Session::emulated();
  return s;
}

/// Makes `session` the one backend::fpga products run on; null goes back to a fresh emulator.
inline void set_default_session(std::shared_ptr<Session> session) {
  std::lock_guard<std::mutex> lock(impl::default_session_mutex());
  impl::default_session_slot() = std::move(session);
}

/// Bytes of a buffer for n elements of E: at least one word, as a zero-byte device buffer is not
/// portable (XRT refuses some).
template <typename E>
std::size_t buffer_bytes(index n) {
  const std::size_t bytes = static_cast<std::size_t>(n) * sizeof(E);
  return bytes < std::size_t(fpga_hw::word_bytes) ? std::size_t(fpga_hw::word_bytes) : bytes;
}

template <typename T>
class DeviceMatrix;

/// A product in flight: wait() blocks for the kernel and writes y. Holds the matrix's x / y
/// buffers until then (another product on the same DeviceMatrix waits), so the DeviceMatrix must
/// outlive it. Destroying it without wait() still waits, but drops any error: call wait().
template <typename T>
class PendingSpmv {
 public:
  PendingSpmv(PendingSpmv&&) noexcept = default;
  PendingSpmv& operator=(PendingSpmv&&) = delete;
  ~PendingSpmv() {
    if (run_ == nullptr) return;
    try {
      wait();
    } catch (...) {  // a destructor must not throw; wait() is where errors are reported
    }
  }

  /// Waits for the kernel, reads y back into the caller's array; device_error if the run failed.
  void wait() {
    if (run_ == nullptr) detail::throw_error<device_error>("fpga: wait() called twice on one product");
    const auto run = std::move(run_);
    const std::unique_lock<std::mutex> lock = std::move(lock_);
    run->wait();
    m_->y_buffer_->sync_from_device();
    m_->y_buffer_->read(m_->staging_.data(), static_cast<std::size_t>(m_->rows_) * sizeof(element), 0);
    from_device_elements<T>(m_->staging_.data(), m_->rows_, y_);
  }

 private:
  friend class DeviceMatrix<T>;
  using element = device_element_t<T>;
  PendingSpmv(DeviceMatrix<T>* m, std::unique_lock<std::mutex> lock, std::unique_ptr<DeviceRun> run, activation_t<T>* y)
      : m_(m), lock_(std::move(lock)), run_(std::move(run)), y_(y) {}

  DeviceMatrix<T>* m_;
  std::unique_lock<std::mutex> lock_;
  std::unique_ptr<DeviceRun> run_;
  activation_t<T>* y_;
};

/// A matrix resident on a session's device. Packing and the upload happen once, here.
template <typename T>
class DeviceMatrix {
 public:
  using element = device_element_t<T>;

  /// Packs a (format_error on broken CSB arrays, device_error if it does not fit the kernel) and
  /// uploads it; opens the session's kernel for T if needed.
  DeviceMatrix(std::shared_ptr<Session> session, const CsbView<T>& a)
      : session_(std::move(session)), rows_(a.rows), cols_(a.cols) {
    if (session_ == nullptr) detail::throw_error<device_error>("fpga: DeviceMatrix needs a session, got null");
    const PackedMatrix packed = pack_matrix(a, kernel_limits_for<T>());
    kernel_ = &session_->template kernel<T>();
    matrix_buffer_ = kernel_->allocate(packed.bytes(), 0);
    matrix_buffer_->write(packed.words.data(), packed.bytes(), 0);
    matrix_buffer_->sync_to_device();
    x_buffer_ = kernel_->allocate(buffer_bytes<element>(cols_), 1);
    y_buffer_ = kernel_->allocate(buffer_bytes<element>(rows_), 2);
    staging_.resize(static_cast<std::size_t>(rows_ > cols_ ? rows_ : cols_));
    matrix_bytes_ = packed.bytes();
  }

  index rows() const { return rows_; }
  index cols() const { return cols_; }
  const std::shared_ptr<Session>& session() const { return session_; }
  /// Bytes the packed matrix occupies on the device.
  std::size_t device_bytes() const { return matrix_bytes_; }

  /// Starts y = alpha * A * x + beta * y: x (cols entries) is copied and sent now, y (rows
  /// entries; read only when beta != 0) is sent now and written by wait(), so it must stay alive
  /// until then. alpha and beta follow the reference backend (fixed16: Q15.16, value_error out of
  /// range).
  PendingSpmv<T> start_spmv(scalar_t<T> alpha, const activation_t<T>* x, scalar_t<T> beta, activation_t<T>* y) {
    std::unique_lock<std::mutex> lock(mutex_);
    ArgValue alpha_arg;
    ArgValue beta_arg;
    bool reads_y = false;
    if constexpr (std::is_same<T, float>::value) {
      alpha_arg = alpha;
      beta_arg = beta;
      reads_y = beta != 0.0f;
    } else {
      const std::int32_t beta_q = detail::fixed_scale(beta, "beta");
      alpha_arg = detail::fixed_scale(alpha, "alpha");
      beta_arg = beta_q;
      reads_y = beta_q != 0;
    }
    to_device_elements<T>(x, cols_, staging_.data());
    x_buffer_->write(staging_.data(), static_cast<std::size_t>(cols_) * sizeof(element), 0);
    x_buffer_->sync_to_device();
    if (reads_y) {
      to_device_elements<T>(y, rows_, staging_.data());
      y_buffer_->write(staging_.data(), static_cast<std::size_t>(rows_) * sizeof(element), 0);
      y_buffer_->sync_to_device();
    }
    auto run = kernel_->start({matrix_buffer_.get(), x_buffer_.get(), y_buffer_.get(), alpha_arg, beta_arg});
    return PendingSpmv<T>(this, std::move(lock), std::move(run), y);
  }

  /// y = alpha * A * x + beta * y, start to finish.
  void spmv(scalar_t<T> alpha, const activation_t<T>* x, scalar_t<T> beta, activation_t<T>* y) {
    start_spmv(alpha, x, beta, y).wait();
  }

 private:
  friend class PendingSpmv<T>;

  std::shared_ptr<Session> session_;
  index rows_;
  index cols_;
  DeviceKernel* kernel_ = nullptr;
  std::unique_ptr<DeviceBuffer> matrix_buffer_;
  std::unique_ptr<DeviceBuffer> x_buffer_;
  std::unique_ptr<DeviceBuffer> y_buffer_;
  std::vector<element> staging_;  // x and y in the kernel's element type
  std::size_t matrix_bytes_ = 0;
  std::mutex mutex_;  // one product at a time owns the x / y buffers and the staging array
};

/// The DeviceMatrix of one matrix per session, kept in the matrix's LayoutCache.
template <typename T>
class ResidentMatrices {
 public:
  std::shared_ptr<DeviceMatrix<T>> on(const std::shared_ptr<Session>& session, const CsbView<T>& a) const {
    std::lock_guard<std::mutex> lock(state_->mutex);
    for (const auto& m : state_->matrices) {
      if (m.first == session->id()) return m.second;
    }
    auto m = std::make_shared<DeviceMatrix<T>>(session, a);
    state_->matrices.emplace_back(session->id(), m);
    return m;
  }

 private:
  struct State {
    std::mutex mutex;
    std::vector<std::pair<std::uint64_t, std::shared_ptr<DeviceMatrix<T>>>> matrices;
  };
  std::unique_ptr<State> state_ = std::make_unique<State>();
};

/// The DeviceMatrix backend::fpga multiplies a with on `session`: the cached one when a's owner
/// has a LayoutCache, else a fresh upload.
template <typename T>
std::shared_ptr<DeviceMatrix<T>> resident_matrix(const std::shared_ptr<Session>& session, const CsbView<T>& a) {
  if (a.layouts == nullptr) return std::make_shared<DeviceMatrix<T>>(session, a);
  return a.layouts->template get<ResidentMatrices<T>>([] { return ResidentMatrices<T>(); })->on(session, a);
}

}  // namespace fpga_runtime
}  // namespace bbs

// The fpga backend end to end: bbs::on<bbs::backend::fpga>(A) * x and kernel::* through the
// emulator (packing, transfers, the kernel's C simulation, read-back) against the reference
// backend, what stays resident and what moves per product, asynchronous runs, and every
// documented device_error. With XRT (BBS_FPGA_HAVE_XRT) the same seam runs on the real XRT
// library under XCL_EMULATION_MODE=noop, with .xclbin files written by xclbin_writer.hpp.
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <string>
#include <type_traits>

#include <unistd.h>

#include "backend/fpga/fpga_testbed.hpp"

// Configured with BBS_WITH_FPGA=OFF, test/'s glob still builds this file: it then holds no tests.
#ifdef BBS_WITH_FPGA

#ifdef BBS_FPGA_HAVE_XRT
#include "backend/fpga/xclbin_writer.hpp"
#endif

namespace fpga = bbs::fpga_runtime;
// The former names (README, "Renamed") stay for one release.
static_assert(std::is_same<bbs::fpga::Session, bbs::fpga_runtime::Session>::value, "bbs::fpga is bbs::fpga_runtime");
static_assert(bbs::fpga_layout::word_bits == bbs::fpga_hw::word_bits, "bbs::fpga_layout is in bbs::fpga_hw");
using bbs_test::Q12;
using bbs_test::Shape;

namespace {

/// Requires that f throws device_error whose message contains every one of `parts`.
template <typename F>
void require_device_error(F&& f, std::initializer_list<const char*> parts) {
  try {
    f();
  } catch (const bbs::device_error& e) {
    const std::string what = e.what();
    INFO("message: " << what);
    for (const char* p : parts) CHECK(what.find(p) != std::string::npos);
    return;
  }
  FAIL("no device_error thrown");
}

/// A runtime that forwards to another and counts what crosses the seam: buffers allocated and
/// bytes synced to the device per kernel argument.
class CountingRuntime final : public fpga::DeviceRuntime {
 public:
  struct Counts {
    std::atomic<int> allocations{0};
    std::atomic<int> runs{0};
    std::atomic<long> synced_to_device[3] = {0, 0, 0};
    std::atomic<long> synced_from_device[3] = {0, 0, 0};
  };

  explicit CountingRuntime(std::shared_ptr<fpga::DeviceRuntime> inner) : inner_(std::move(inner)) {}
  std::string description() const override { return "counting " + inner_->description(); }
  std::unique_ptr<fpga::DeviceKernel> open_kernel(const fpga::KernelSignature& sig) override {
    return std::make_unique<Kernel>(inner_->open_kernel(sig), counts);
  }
  std::shared_ptr<Counts> counts = std::make_shared<Counts>();

 private:
  class Buffer final : public fpga::DeviceBuffer {
   public:
    Buffer(std::unique_ptr<fpga::DeviceBuffer> inner, std::shared_ptr<Counts> c, int arg)
        : inner_(std::move(inner)), counts_(std::move(c)), arg_(arg) {}
    std::size_t size() const override { return inner_->size(); }
    void write(const void* s, std::size_t b, std::size_t o) override { inner_->write(s, b, o); }
    void read(void* d, std::size_t b, std::size_t o) const override { inner_->read(d, b, o); }
    void sync_to_device() override {
      counts_->synced_to_device[arg_] += static_cast<long>(size());
      inner_->sync_to_device();
    }
    void sync_from_device() override {
      counts_->synced_from_device[arg_] += static_cast<long>(size());
      inner_->sync_from_device();
    }
    fpga::DeviceBuffer* inner() { return inner_.get(); }

   private:
    std::unique_ptr<fpga::DeviceBuffer> inner_;
    std::shared_ptr<Counts> counts_;
    int arg_;
  };

  class Kernel final : public fpga::DeviceKernel {
   public:
    Kernel(std::unique_ptr<fpga::DeviceKernel> inner, std::shared_ptr<Counts> c)
        : inner_(std::move(inner)), counts_(std::move(c)) {}
    const fpga::KernelSignature& signature() const override { return inner_->signature(); }
    std::unique_ptr<fpga::DeviceBuffer> allocate(std::size_t bytes, int arg) override {
      ++counts_->allocations;
      return std::make_unique<Buffer>(inner_->allocate(bytes, arg), counts_, arg);
    }
    std::unique_ptr<fpga::DeviceRun> start(const std::vector<fpga::ArgValue>& args) override {
      ++counts_->runs;
      std::vector<fpga::ArgValue> unwrapped = args;
      for (auto& a : unwrapped) {
        if (auto* b = std::get_if<fpga::DeviceBuffer*>(&a)) *b = static_cast<Buffer*>(*b)->inner();
      }
      return inner_->start(unwrapped);
    }

   private:
    std::unique_ptr<fpga::DeviceKernel> inner_;
    std::shared_ptr<Counts> counts_;
  };

  std::shared_ptr<fpga::DeviceRuntime> inner_;
};

/// Installs a session as the default for one scope, restoring the emulator after.
struct DefaultSessionScope {
  explicit DefaultSessionScope(std::shared_ptr<fpga::Session> s) { fpga::set_default_session(std::move(s)); }
  ~DefaultSessionScope() { fpga::set_default_session(nullptr); }
};

using VecQ = Eigen::Matrix<Q12, Eigen::Dynamic, 1>;

}  // namespace

TEST_CASE("fpga backend: float conformance through the emulator") {
  std::uint32_t seed = 500;
  for (const Shape& s : bbs_test::all_shapes()) {
    INFO(s.name());
    bbs_test::check_spmv<bbs::backend::fpga, float>(s, ++seed);
  }
  for (const Shape& s : bbs_test::awkward_shapes()) {
    INFO(s.name());
    bbs_test::check_spmm<bbs::backend::fpga, float>(s, 3, ++seed);
    bbs_test::check_spmv_transposed<bbs::backend::fpga, float>(s, ++seed);
  }
}

TEST_CASE("fpga backend: fixed16 through the emulator is bit-exact with the reference backend") {
  std::uint32_t seed = 700;
  int checked = 0;
  for (const Shape& s : bbs_test::all_shapes()) {
    INFO(s.name());
    const auto a = bbs_test::random_fixed_bbs<Q12>(s, ++seed);
    const VecQ x = bbs_test::random_fixed_vector<Q12>(s.cols, seed + 1);
    const VecQ y0 = bbs_test::random_fixed_vector<Q12>(s.rows, seed + 2);
    // The expression form: Eigen evaluates the product with the fpga tag.
    VecQ got = bbs::on<bbs::backend::fpga>(a) * x;
    VecQ want(s.rows);
    bbs::kernel::spmv(bbs::backend::reference{}, a.view(), 1.0f, x.data(), 0.0f, want.data());
    REQUIRE(bbs_test::raw_values(got) == bbs_test::raw_values(want));
    // alpha and beta through kernel::spmv.
    got = y0;
    want = y0;
    bbs::kernel::spmv(bbs::backend::fpga{}, a.view(), -0.625f, x.data(), 1.5f, got.data());
    bbs::kernel::spmv(bbs::backend::reference{}, a.view(), -0.625f, x.data(), 1.5f, want.data());
    REQUIRE(bbs_test::raw_values(got) == bbs_test::raw_values(want));
    ++checked;
  }
  CHECK(checked == static_cast<int>(bbs_test::all_shapes().size()));
}

TEST_CASE("fpga backend: an LSTM with per-tensor fixed-point formats is bit-exact with the reference backend") {
  // Formats that differ from the container's everywhere (core/fixed_formats.hpp): every product
  // reaches its output format through a power-of-two alpha, which the emulated kernel applies
  // with the reference rule.
  std::mt19937 rng(41);
  std::normal_distribution<float> normal(0.0f, 0.4f);
  const auto random = [&](bbs::index r, bbs::index c) {
    Eigen::MatrixXf m(r, c);
    for (bbs::index i = 0; i < m.size(); ++i) m.data()[i] = normal(rng);
    return m;
  };
  bbs::nn::RecurrentDenseWeights w;
  w.weight_ih = random(64, 24);
  w.weight_hh = random(64, 16);
  w.bias_ih = random(64, 1);
  w.bias_hh = random(64, 1);
  bbs::fixed_rules::LstmFormats f;
  f.weight_ih = 13;
  f.weight_hh = 14;
  f.input = 11;
  f.gates = 10;
  f.activation = 14;
  f.cell = 9;
  f.output = 14;
  const bbs::BankConfig cfg(8, 2);
  const auto device = bbs::nn::LstmCell<Q12, bbs::backend::fpga>::from_dense(w, cfg, f);
  const auto host = bbs::nn::LstmCell<Q12, bbs::backend::reference>::from_dense(w, cfg, f);
  for (const bbs::index batch : {1, 3}) {
    INFO("batch " << batch);
    const auto x = bbs::nn::quantize_activations<Q12>(random(24, 6 * batch), f.input);
    auto s_device = device.zero_state(batch);
    auto s_host = host.zero_state(batch);
    CHECK(device.run(x, batch, s_device, false) == host.run(x, batch, s_host, false));
    CHECK(s_device.c == s_host.c);
  }
}

TEST_CASE("fpga backend: row-major SpMM through the emulator is bit-exact with the reference backend") {
  // kernel::spmm_row_major on fpga runs the device's SpMV per pixel column: fixed16 sums are
  // exact, so it equals the reference's row-major loops bit for bit.
  std::uint32_t seed = 1700;
  for (const Shape& s : bbs_test::awkward_shapes()) {
    for (const bbs::index n : {1, 5, 20}) {
      INFO(s.name() << ", n " << n);
      const auto a = bbs_test::random_fixed_bbs<Q12>(s, ++seed);
      const VecQ x = bbs_test::random_fixed_vector<Q12>(s.cols * n, seed + 1);  // cols x n, row-major
      const VecQ y0 = bbs_test::random_fixed_vector<Q12>(s.rows * n, seed + 2);
      VecQ got = y0, want = y0;
      bbs::kernel::spmm_row_major(bbs::backend::fpga{}, a.view(), n, 0.75f, x.data(), n, 1.0f, got.data(), n);
      bbs::kernel::spmm_row_major(bbs::backend::reference{}, a.view(), n, 0.75f, x.data(), n, 1.0f, want.data(), n);
      REQUIRE(bbs_test::raw_values(got) == bbs_test::raw_values(want));
      bbs::kernel::spmm_row_major(bbs::backend::fpga{}, a.view(), n, 1.0f, x.data(), n, 0.0f, got.data(), n);
      bbs::kernel::spmm_row_major(bbs::backend::reference{}, a.view(), n, 1.0f, x.data(), n, 0.0f, want.data(), n);
      REQUIRE(bbs_test::raw_values(got) == bbs_test::raw_values(want));
    }
  }
}

TEST_CASE("fpga backend: the matrix is uploaded once and stays resident, x and y move per product") {
  auto runtime = std::make_shared<CountingRuntime>(std::make_shared<fpga::EmulatedRuntime>());
  const auto counts = runtime->counts;
  DefaultSessionScope scope(std::make_shared<fpga::Session>(runtime));
  const Shape s{40, 300, bbs::BankConfig(32, 4)};
  auto a = bbs_test::random_bbs<float>(s, 1);
  float* values = a.valueData();  // kept across products: valuesChanged() announces writes
  const Eigen::VectorXf x = bbs_test::random_vector<float>(s.cols, 2);
  const auto packed_bytes = static_cast<long>(fpga::pack_matrix(a.view(), fpga::kernel_limits_for<float>()).bytes());

  Eigen::VectorXf y1 = bbs::on<bbs::backend::fpga>(a) * x;
  CHECK(a.view().layouts->holds<fpga::ResidentMatrices<float>>());
  CHECK(counts->allocations == 3);  // matrix, x, y
  CHECK(counts->synced_to_device[0] == packed_bytes);
  CHECK(counts->synced_to_device[1] == 300 * 4);
  CHECK(counts->synced_to_device[2] == 0);  // beta == 0: y is not sent
  CHECK(counts->synced_from_device[2] == 40 * 4);

  Eigen::VectorXf y2 = bbs::on<bbs::backend::fpga>(a) * x;
  CHECK(y2 == y1);
  CHECK(counts->allocations == 3);                     // nothing new on the device
  CHECK(counts->synced_to_device[0] == packed_bytes);  // the matrix did not move again
  CHECK(counts->synced_to_device[1] == 2 * 300 * 4);   // x did
  y2 += bbs::on<bbs::backend::fpga>(a) * x;            // beta == 1: y goes in too
  CHECK(counts->synced_to_device[2] == 40 * 4);
  CHECK(counts->runs == 3);

  // New values: valuesChanged drops the resident copy, the next product uploads the new matrix.
  values[0] += 1.0f;
  a.valuesChanged();
  Eigen::VectorXf y3 = bbs::on<bbs::backend::fpga>(a) * x;
  CHECK(counts->allocations == 6);
  CHECK(counts->synced_to_device[0] == 2 * packed_bytes);
  Eigen::VectorXf want(s.rows);
  bbs::kernel::spmv(bbs::backend::reference{}, a.view(), 1.0f, x.data(), 0.0f, want.data());
  bbs_test::require_float_close_to_reference(y3, want, a, x, 1.0f, 0.0f, Eigen::VectorXf::Zero(s.rows));
}

TEST_CASE("fpga backend: a view without a cache (BbsMap) is packed and uploaded on every product") {
  auto runtime = std::make_shared<CountingRuntime>(std::make_shared<fpga::EmulatedRuntime>());
  const auto counts = runtime->counts;
  DefaultSessionScope scope(std::make_shared<fpga::Session>(runtime));
  const Shape s{9, 50, bbs::BankConfig(8, 2)};
  const auto a = bbs_test::random_fixed_bbs<Q12>(s, 3);
  const bbs::CsbView<Q12> v = a.view();
  const bbs::BbsMap<Q12> map(v.rows, v.cols, v.config, v.values, static_cast<const std::uint8_t*>(v.indices));
  const VecQ x = bbs_test::random_fixed_vector<Q12>(s.cols, 4);
  const VecQ got1 = bbs::on<bbs::backend::fpga>(map) * x;
  const VecQ got2 = bbs::on<bbs::backend::fpga>(map) * x;
  CHECK(counts->allocations == 6);
  const VecQ want = bbs::on<bbs::backend::reference>(a) * x;
  CHECK(bbs_test::raw_values(got1) == bbs_test::raw_values(want));
  CHECK(bbs_test::raw_values(got2) == bbs_test::raw_values(want));
}

TEST_CASE("fpga backend: start_spmv runs asynchronously, wait delivers y") {
  auto session = fpga::Session::emulated();
  const Shape s{200, 1000, bbs::BankConfig(64, 8)};
  const auto a = bbs_test::random_fixed_bbs<Q12>(s, 5);
  const auto b = bbs_test::random_fixed_bbs<Q12>(s, 6);
  fpga::DeviceMatrix<Q12> da(session, a.view());
  fpga::DeviceMatrix<Q12> db(session, b.view());
  CHECK(da.rows() == 200);
  CHECK(da.cols() == 1000);
  CHECK(da.device_bytes() == static_cast<std::size_t>(1 + 200 * 8) * 64);  // 16 banks: one group, 8 slots
  const VecQ x = bbs_test::random_fixed_vector<Q12>(s.cols, 7);
  VecQ ya = VecQ::Constant(s.rows, Q12::from_raw(123));
  VecQ yb = ya;
  {
    auto pa = da.start_spmv(1.0f, x.data(), 0.0f, ya.data());
    auto pb = db.start_spmv(1.0f, x.data(), 0.0f, yb.data());  // both in flight
    pb.wait();
    pa.wait();
    require_device_error([&] { pa.wait(); }, {"wait() called twice"});
  }
  CHECK(bbs_test::raw_values(ya) == bbs_test::raw_values(VecQ(bbs::on<bbs::backend::reference>(a) * x)));
  CHECK(bbs_test::raw_values(yb) == bbs_test::raw_values(VecQ(bbs::on<bbs::backend::reference>(b) * x)));
  // A product not waited for is finished by its destructor, before the next one starts.
  VecQ yc(s.rows);
  { auto pending = da.start_spmv(1.0f, x.data(), 0.0f, yc.data()); }
  CHECK(bbs_test::raw_values(yc) == bbs_test::raw_values(ya));
}

TEST_CASE("fpga backend: a matrix too large for the kernel is a device_error naming the limits") {
  // 1 bank of 8192 columns: one PE would need 8192 x entries, the kernel holds 4096.
  const Shape s{2, 8192, bbs::BankConfig(8192, 1)};
  const auto a = bbs_test::random_bbs<float>(s, 8);
  const Eigen::VectorXf x = Eigen::VectorXf::Ones(s.cols);
  require_device_error([&] { Eigen::VectorXf y = bbs::on<bbs::backend::fpga>(a) * x; },
                       {"too large for kernel bbs_spmv_float", "8192 x entries per PE", "holds 4096 per PE"});
}

TEST_CASE("fpga backend: alpha and beta out of Q15.16 range are value_errors, as on the reference backend") {
  const Shape s{3, 16, bbs::BankConfig(4, 2)};
  const auto a = bbs_test::random_fixed_bbs<Q12>(s, 9);
  const VecQ x = bbs_test::random_fixed_vector<Q12>(s.cols, 10);
  VecQ y(s.rows);
  CHECK_THROWS_AS(bbs::kernel::spmv(bbs::backend::fpga{}, a.view(), 40000.0f, x.data(), 0.0f, y.data()),
                  bbs::value_error);
  CHECK_THROWS_AS(bbs::kernel::spmv(bbs::backend::fpga{}, a.view(), 1.0f, x.data(),
                                    std::numeric_limits<float>::quiet_NaN(), y.data()),
                  bbs::value_error);
}

TEST_CASE("fpga backend: a missing kernel or an argument mismatch is a device_error") {
  const Shape s{3, 16, bbs::BankConfig(4, 2)};
  const auto a = bbs_test::random_fixed_bbs<Q12>(s, 11);
  const VecQ x = bbs_test::random_fixed_vector<Q12>(s.cols, 12);
  {
    auto only_float =
        std::make_shared<fpga::EmulatedRuntime>(std::vector<fpga::KernelSignature>{fpga::float_kernel_signature()});
    DefaultSessionScope scope(std::make_shared<fpga::Session>(only_float));
    require_device_error([&] { VecQ y = bbs::on<bbs::backend::fpga>(a) * x; },
                         {"kernel bbs_spmv_fixed16 is missing", "it has bbs_spmv_float"});
  }
  {
    fpga::KernelSignature swapped = fpga::fixed16_kernel_signature();
    std::swap(swapped.args[1], swapped.args[2]);
    DefaultSessionScope scope(std::make_shared<fpga::Session>(
        std::make_shared<fpga::EmulatedRuntime>(std::vector<fpga::KernelSignature>{swapped})));
    require_device_error([&] { VecQ y = bbs::on<bbs::backend::fpga>(a) * x; },
                         {"argument 1 is p_y (buffer), the host expects p_x (buffer)"});
  }
  {
    fpga::KernelSignature shorter = fpga::fixed16_kernel_signature();
    shorter.args.pop_back();
    fpga::EmulatedRuntime runtime({shorter});
    require_device_error([&] { runtime.open_kernel(fpga::fixed16_kernel_signature()); },
                         {"takes 4 arguments, the host expects 5"});
  }
  require_device_error([] { fpga::Session s(nullptr); }, {"needs a device runtime"});
  require_device_error([&] { fpga::DeviceMatrix<Q12> m(nullptr, a.view()); }, {"needs a session"});
}

TEST_CASE("fpga emulator: start checks the argument list, buffer sizes and the matrix header") {
  fpga::EmulatedRuntime runtime;
  auto kernel = runtime.open_kernel(fpga::float_kernel_signature());
  const Shape s{5, 40, bbs::BankConfig(8, 2)};
  const auto a = bbs_test::random_bbs<float>(s, 13);
  const auto packed = fpga::pack_matrix(a.view(), fpga::kernel_limits_for<float>());
  auto m = kernel->allocate(packed.bytes(), 0);
  auto x = kernel->allocate(40 * 4, 1);
  auto y = kernel->allocate(5 * 4, 2);
  m->write(packed.words.data(), packed.bytes());
  m->sync_to_device();

  require_device_error([&] { kernel->start({m.get(), x.get(), y.get(), 1.0f}); }, {"takes 5 arguments, 4 were given"});
  require_device_error(
      [&] {
        kernel->start({m.get(), x.get(), y.get(), std::int32_t(1), 0.0f});
      },
      {"argument 3 (p_alpha) is a float32, got a int32"});
  require_device_error(
      [&] {
        kernel->start({m.get(), static_cast<fpga::DeviceBuffer*>(nullptr), y.get(), 1.0f, 0.0f});
      },
      {"argument 1 (p_x) is a null buffer"});
  require_device_error([&] { kernel->allocate(64, 3); }, {"argument 3 is not a buffer"});

  auto small_x = kernel->allocate(39 * 4, 1);
  require_device_error(
      [&] {
        kernel->start({m.get(), small_x.get(), y.get(), 1.0f, 0.0f})->wait();
      },
      {"would access 160 bytes of buffer p_x, which holds 156"});

  // A matrix packed for the other kernel is refused by the kernel's header check.
  const auto a16 = bbs_test::random_fixed_bbs<Q12>(s, 14);
  const auto packed16 = fpga::pack_matrix(a16.view(), fpga::kernel_limits_for<Q12>());
  auto m16 = kernel->allocate(packed16.bytes(), 0);
  m16->write(packed16.words.data(), packed16.bytes());
  m16->sync_to_device();
  require_device_error(
      [&] {
        kernel->start({m16.get(), x.get(), y.get(), 1.0f, 0.0f})->wait();
      },
      {"refused the matrix: packed for the other value type"});

  // Without sync_to_device the device copy is stale: the kernel sees an all-zero header.
  auto unsynced = kernel->allocate(packed.bytes(), 0);
  unsynced->write(packed.words.data(), packed.bytes());
  require_device_error(
      [&] {
        kernel->start({unsynced.get(), x.get(), y.get(), 1.0f, 0.0f})->wait();
      },
      {"not a packed bbs matrix"});

  // A kernel listed with the shipped name but other arguments has no C model to run.
  fpga::KernelSignature float_scales = fpga::fixed16_kernel_signature();
  float_scales.args[3].kind = fpga::ArgKind::float32;
  fpga::EmulatedRuntime odd_runtime({float_scales});
  auto odd = odd_runtime.open_kernel(float_scales);
  auto odd_m = odd->allocate(64, 0);
  require_device_error(
      [&] {
        odd->start({odd_m.get(), odd_m.get(), odd_m.get(), 1.0f, std::int32_t(0)})->wait();
      },
      {"in the emulator's C model", "argument 3 is p_alpha_q (float32)"});

  require_device_error([&] { x->write(packed.words.data(), 8, 40 * 4 - 4); }, {"runs past the buffer's 160 bytes"});
  char byte = 0;
  require_device_error([&] { y->read(&byte, 1, 20); }, {"runs past the buffer's 20 bytes"});
}

TEST_CASE("fpga backend: the default session is the emulator and can be replaced") {
  fpga::set_default_session(nullptr);
  const auto first = fpga::default_session();
  CHECK(first->description().find("emulator") != std::string::npos);
  CHECK(fpga::default_session() == first);
  auto other = fpga::Session::emulated();
  CHECK(other->id() != first->id());
  {
    DefaultSessionScope scope(other);
    CHECK(fpga::default_session() == other);
  }
  CHECK(fpga::default_session() != other);
  CHECK(std::string(bbs::backend::fpga::name) == "fpga");
}

// Without XRT (libxrt-dev / uuid-dev missing) these cases are not compiled; CMake says so at
// configure time ("FPGA backend without XRT").
#ifdef BBS_FPGA_HAVE_XRT

namespace {

/// Points XRT at its libraries: a directory whose lib/ links to them (XILINX_XRT), and with
/// `noop` XCL_EMULATION_MODE=noop, the shim that computes nothing. Set once, before the first
/// XRT call of the process (XRT reads both once).
const std::filesystem::path& xrt_dir(bool noop = true) {
  // Removed at exit; XRT has loaded its libraries by then, so the links are no longer needed.
  struct TemporaryDirectory {
    std::filesystem::path path;
    ~TemporaryDirectory() {
      std::error_code ignored;
      std::filesystem::remove_all(path, ignored);
    }
  };
  static const TemporaryDirectory dir{[noop] {
    namespace fs = std::filesystem;
    const fs::path root = fs::temp_directory_path() / ("bbs-fpga-xrt-" + std::to_string(::getpid()));
    fs::create_directories(root / "lib");
    for (const auto& entry : fs::directory_iterator(BBS_TEST_XRT_LIB_DIR)) {
      const std::string name = entry.path().filename().string();
      if (name.rfind("libxrt", 0) != 0) continue;
      std::error_code ignored;
      fs::create_symlink(entry.path(), root / "lib" / name, ignored);
    }
    ::setenv("XILINX_XRT", root.c_str(), 1);
    if (noop) ::setenv("XCL_EMULATION_MODE", "noop", 1);
    return root;
  }()};
  return dir.path;
}

std::string xclbin_with(const std::string& name, const std::vector<bbs_test::XclbinKernel>& kernels) {
  const std::string path = (xrt_dir() / (name + ".xclbin")).string();
  bbs_test::write_test_xclbin(path, kernels);
  return path;
}

}  // namespace

TEST_CASE("fpga xrt (noop shim): the .xclbin loads, kernels and arguments match, buffers and runs work") {
  const std::string path = xclbin_with("shipped", bbs_test::shipped_kernels());
  auto runtime = fpga::open_xrt_runtime(path);
  CHECK(runtime->description().find("shipped.xclbin") != std::string::npos);
  auto kernel = runtime->open_kernel(fpga::fixed16_kernel_signature());
  CHECK(kernel->signature().name == "bbs_spmv_fixed16");

  // Buffers: sizes as asked, and bytes survive write / sync / read.
  auto buffer = kernel->allocate(4096, 0);
  CHECK(buffer->size() == 4096);
  std::vector<unsigned char> out(4096), in(4096);
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = static_cast<unsigned char>(i * 7);
  buffer->write(out.data(), out.size());
  buffer->sync_to_device();
  buffer->sync_from_device();
  buffer->read(in.data(), in.size());
  CHECK(in == out);
  require_device_error([&] { buffer->write(out.data(), 16, 4090); }, {"runs past the buffer's 4096 bytes"});

  // The whole backend path on XRT: packing, upload, x / y transfers, start and wait. The noop
  // shim computes nothing, so only completion is checked here; the emulator checks the values.
  auto session = std::make_shared<fpga::Session>(runtime);
  const Shape s{30, 200, bbs::BankConfig(16, 4)};
  const auto a = bbs_test::random_fixed_bbs<Q12>(s, 15);
  fpga::DeviceMatrix<Q12> m(session, a.view());
  CHECK(m.device_bytes() == fpga::pack_matrix(a.view(), fpga::kernel_limits_for<Q12>()).bytes());
  const VecQ x = bbs_test::random_fixed_vector<Q12>(s.cols, 16);
  VecQ y = bbs_test::random_fixed_vector<Q12>(s.rows, 17);
  auto pending = m.start_spmv(0.5f, x.data(), 1.0f, y.data());
  CHECK_NOTHROW(pending.wait());

  const auto af = bbs_test::random_bbs<float>(s, 18);
  DefaultSessionScope scope(session);
  const Eigen::VectorXf xf = Eigen::VectorXf::Ones(s.cols);
  Eigen::VectorXf yf = Eigen::VectorXf::Zero(s.rows);
  CHECK_NOTHROW(yf.noalias() += bbs::on<bbs::backend::fpga>(af) * xf);
}

TEST_CASE("fpga xrt (noop shim): a wrong .xclbin or a missing kernel gives the documented device_error") {
  xrt_dir();
  require_device_error([] { fpga::open_xrt_runtime("/nonexistent/bbs.xclbin"); },
                       {"cannot open .xclbin file \"/nonexistent/bbs.xclbin\""});

  const std::string garbage = (xrt_dir() / "garbage.xclbin").string();
  std::ofstream(garbage) << "this is not an xclbin";
  require_device_error([&] { fpga::open_xrt_runtime(garbage); }, {"not a valid .xclbin?"});

  const std::string path = xclbin_with("shipped", bbs_test::shipped_kernels());
  auto only_float = bbs_test::shipped_kernels();
  only_float.erase(only_float.begin());
  auto runtime = fpga::open_xrt_runtime(xclbin_with("only_float", only_float));
  require_device_error([&] { runtime->open_kernel(fpga::fixed16_kernel_signature()); },
                       {"kernel bbs_spmv_fixed16 is missing", "only_float.xclbin", "it has bbs_spmv_float"});

  auto int_alpha = bbs_test::shipped_kernels();
  int_alpha[1].args[3].host_type = "int";
  runtime = fpga::open_xrt_runtime(xclbin_with("int_alpha", int_alpha));
  require_device_error([&] { runtime->open_kernel(fpga::float_kernel_signature()); },
                       {"argument 3 is p_alpha (int32), the host expects p_alpha (float32)"});

  auto renamed = bbs_test::shipped_kernels();
  renamed[0].args[0].name = "p_weights";
  runtime = fpga::open_xrt_runtime(xclbin_with("renamed", renamed));
  require_device_error([&] { runtime->open_kernel(fpga::fixed16_kernel_signature()); },
                       {"argument 0 is p_weights (buffer), the host expects p_matrix (buffer)"});

  auto odd_type = bbs_test::shipped_kernels();
  odd_type[1].args[4].host_type = "double";
  runtime = fpga::open_xrt_runtime(xclbin_with("odd_type", odd_type));
  require_device_error([&] { runtime->open_kernel(fpga::float_kernel_signature()); },
                       {"argument p_beta has type \"double\""});

  // An emulator buffer handed to an XRT kernel is refused before anything starts.
  runtime = fpga::open_xrt_runtime(path);
  auto kernel = runtime->open_kernel(fpga::float_kernel_signature());
  fpga::EmulatedRuntime emulator;
  auto foreign = emulator.open_kernel(fpga::float_kernel_signature())->allocate(64, 0);
  auto x = kernel->allocate(64, 1);
  require_device_error(
      [&] {
        kernel->start({foreign.get(), x.get(), x.get(), 1.0f, 0.0f});
      },
      {"another runtime's buffer"});
}

// Hidden from the default run (it must not see XCL_EMULATION_MODE=noop, which the other XRT tests
// set process-wide); backends/fpga/CMakeLists.txt runs it as a test of its own.
TEST_CASE("fpga xrt: without a card or shim, opening the device is a device_error", "[.xrt-no-device]") {
  REQUIRE(std::getenv("XCL_EMULATION_MODE") == nullptr);
  xrt_dir(false);
  const std::string path = (xrt_dir(false) / "shipped.xclbin").string();
  bbs_test::write_test_xclbin(path, bbs_test::shipped_kernels());
  require_device_error([&] { fpga::open_xrt_runtime(path, 0); }, {"opening XRT device 0", "no card"});
}

#endif  // BBS_FPGA_HAVE_XRT

#endif  // BBS_WITH_FPGA

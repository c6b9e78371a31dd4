// 06: the FPGA backend without a card. bbs::on<bbs::backend::fpga>(A) * x packs A into the
// kernel's device layout once, keeps it resident and moves only x and y per product; with no
// .xclbin configured it runs the kernel's own C++ in the in-process emulator. The 16-bit
// fixed-point result is bit for bit the reference backend's. With a card and an .xclbin
// (backends/fpga/README.md), `06_fpga_emulated path/to/bbs_spmv.hw.xclbin` runs the same products
// on it: one call installs an XRT session as the default. Built with the bbs::fpga target (CMake
// option BBS_WITH_FPGA, on by default); the XRT part when bbs::fpga_xrt was built.
#include <bbs/bbs.hpp>

#include <cstdio>

#ifdef BBS_WITH_FPGA

int main(int argc, char** argv) {
  if (argc > 1) {
#ifdef BBS_FPGA_HAVE_XRT
    try {
      bbs::fpga_runtime::set_default_session(
          std::make_shared<bbs::fpga_runtime::Session>(bbs::fpga_runtime::open_xrt_runtime(argv[1])));
    } catch (const bbs::device_error& e) {
      std::printf("%s\n", e.what());
      return 1;
    }
#else
    std::printf("this build has no XRT support (bbs::fpga_xrt was not built): cannot load %s\n", argv[1]);
    return 1;
#endif
  }
  using Q = bbs::fixed16<12>;  // Q3.12, the paper's weight and activation format
  const Eigen::MatrixXf w = Eigen::MatrixXf::Random(512, 1024) * 0.5f;
  const auto a_float = bbs::prune<float>(w, bbs::BankConfig::from_sparsity(64, 0.875));
  const auto a = bbs::quantize<Q>(a_float).value;
  const auto x = bbs::quantize<Q>(Eigen::VectorXf(Eigen::VectorXf::Random(1024))).value;

  std::printf("device: %s\n", bbs::fpga_runtime::default_session()->description().c_str());
  const Eigen::Matrix<Q, Eigen::Dynamic, 1> y_fpga = bbs::on<bbs::backend::fpga>(a) * x;
  const Eigen::Matrix<Q, Eigen::Dynamic, 1> y_reference = bbs::on<bbs::backend::reference>(a) * x;
  int mismatches = 0;
  for (bbs::index i = 0; i < y_fpga.size(); ++i) mismatches += y_fpga(i).raw() != y_reference(i).raw();
  std::printf("fixed16: %d of %ld outputs differ from the reference backend\n", mismatches,
              static_cast<long>(y_fpga.size()));

  // Asynchronous: start the product, do host work, then wait for y.
  auto session = bbs::fpga_runtime::default_session();
  bbs::fpga_runtime::DeviceMatrix<float> resident(session, a_float.view());
  const Eigen::VectorXf xf = Eigen::VectorXf::Random(1024);
  Eigen::VectorXf yf(512);
  auto pending = resident.start_spmv(1.0f, xf.data(), 0.0f, yf.data());
  const Eigen::VectorXf y_host = a_float * xf;  // meanwhile, on the CPU
  pending.wait();
  const float difference = (yf - y_host).cwiseAbs().maxCoeff();
  std::printf("float: device matrix %zu bytes, max difference to the CPU %.3g\n", resident.device_bytes(),
              static_cast<double>(difference));
  return mismatches == 0 && difference < 1e-3f ? 0 : 1;
}

#else

int main() {
  std::printf("built without the FPGA backend (configure with -DBBS_WITH_FPGA=ON)\n");
  return 0;
}

#endif

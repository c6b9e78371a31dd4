// Consumer of an installed bbs's FPGA backend (find_package(bbs COMPONENTS fpga)): bbs.hpp
// includes the backend and its kernel headers from the prefix, and the emulator computes
// y = A * x in fixed16 bit for bit as the reference backend. With bbs::fpga_xrt installed too,
// the XRT runtime links and refuses a missing .xclbin with a device_error.
#include <bbs/bbs.hpp>

#include <cstdio>
#include <string>

int main() {
  using Q = bbs::fixed16<12>;
  const Eigen::MatrixXf w = Eigen::MatrixXf::Random(48, 80) * 0.5f;
  const auto a = bbs::quantize<Q>(bbs::prune<float>(w, bbs::BankConfig(16, 2))).value;
  const auto x = bbs::quantize<Q>(Eigen::VectorXf(Eigen::VectorXf::Random(80))).value;
  const Eigen::Matrix<Q, Eigen::Dynamic, 1> y_fpga = bbs::on<bbs::backend::fpga>(a) * x;
  const Eigen::Matrix<Q, Eigen::Dynamic, 1> y_reference = bbs::on<bbs::backend::reference>(a) * x;
  int mismatches = 0;
  for (bbs::index i = 0; i < y_fpga.size(); ++i) mismatches += y_fpga(i).raw() != y_reference(i).raw();
  std::string xrt = "bbs::fpga_xrt not installed";
#ifdef BBS_FPGA_HAVE_XRT
  try {
    bbs::fpga_runtime::open_xrt_runtime("/nonexistent/bbs.xclbin");
    xrt = "bbs::fpga_xrt opened a missing .xclbin";
    mismatches += 1;
  } catch (const bbs::device_error& e) {
    xrt = std::string("bbs::fpga_xrt: ") + e.what();
  }
#endif
  std::printf("fpga consumer: %s, %d of %ld outputs differ from the reference backend; %s\n",
              bbs::fpga_runtime::default_session()->description().c_str(), mismatches, static_cast<long>(y_fpga.size()),
              xrt.c_str());
  return mismatches == 0 ? 0 : 1;
}

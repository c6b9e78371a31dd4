// 02: choosing the backend that runs a product: per product with bbs::on<Backend>(A), or once
// for the whole process with bbs::set_default_backend (by name, as a CLI would).
#include <bbs/bbs.hpp>

#include <cstdio>

int main(int argc, char** argv) {
  std::printf("backends in this build:");
  for (const auto& name : bbs::backend_names()) std::printf(" %s", name.c_str());
  std::printf("\n");

  // Process-wide default, chosen by name (here from the command line, e.g. "openmp"); an unknown
  // name throws bbs::config_error that lists the available ones.
  if (argc > 1) {
    try {
      bbs::set_default_backend(argv[1]);
    } catch (const bbs::config_error& e) {
      std::printf("%s\n", e.what());
      return 1;
    }
  }
  std::printf("default backend: %s\n", bbs::default_backend().c_str());

  const Eigen::MatrixXf w = Eigen::MatrixXf::Random(256, 256);
  const auto a = bbs::prune<float>(w, bbs::BankConfig::from_sparsity(32, 0.75));
  const Eigen::VectorXf x = Eigen::VectorXf::Random(256);

  const Eigen::VectorXf y_default = a * x;                                      // the default backend
  const Eigen::VectorXf y_reference = bbs::on<bbs::backend::reference>(a) * x;  // this product only
  std::printf("max difference between backends: %.3g\n", (y_default - y_reference).cwiseAbs().maxCoeff());
  return 0;
}

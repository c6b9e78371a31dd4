// Consumer of an installed bbs: y = A * x through find_package(bbs), checked against Eigen.
#include <bbs/bbs.hpp>

#include <cstdio>

float sparse_only_error();  // sparse_only.cpp: the same with <bbs/sparse.hpp> alone

int main() {
  const Eigen::MatrixXf w = Eigen::MatrixXf::Random(64, 96);
  const auto a = bbs::prune<float>(w, bbs::BankConfig(32, 4));
  const Eigen::VectorXf x = Eigen::VectorXf::Random(96);
  const Eigen::VectorXf y = a * x;
  const float error = (y - a.toDense() * x).cwiseAbs().maxCoeff();
  const float sparse_error = sparse_only_error();
  std::printf("consumer: y = A * x through find_package(bbs), max error %.3g (sparse.hpp alone: %.3g)\n", error,
              sparse_error);
  return error < 1e-4f && sparse_error < 1e-4f ? 0 : 1;
}

// 03: why bank balance costs little accuracy. At the same 87.5% sparsity, compare how much of a
// weight matrix's magnitude survives unstructured, per-row, bank-balanced and block pruning
// (Figure 1 of Cao et al., FPGA 2019).
#include <bbs/bbs.hpp>

#include <iostream>
#include <random>

int main() {
  // Stands in for trained weights: a 1024 x 1024 Gaussian matrix with a fixed seed.
  std::mt19937 gen(2019);
  std::normal_distribution<double> normal(0.0, 1.0);
  Eigen::MatrixXd w(1024, 1024);
  for (Eigen::Index j = 0; j < w.cols(); ++j)
    for (Eigen::Index i = 0; i < w.rows(); ++i) w(i, j) = normal(gen);

  // Banks of 64 columns keeping 8 each; every other pattern keeps the same number of weights.
  const bbs::BankConfig cfg = bbs::BankConfig::from_sparsity(64, 0.875);
  std::cout << bbs::compare_patterns(w, cfg, 8, 8) << '\n'
            << "At equal density, bank-balanced pruning keeps almost the magnitude of unstructured pruning and\n"
               "far more than 8x8 blocks, while every bank keeps the same number of weights for parallel hardware.\n";
}

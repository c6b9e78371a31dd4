// 00: prune a dense weight matrix to bank-balanced sparsity and multiply, y = A * x,
// checking the result against Eigen's sparse and dense products of the same pruned matrix.
#include <bbs/bbs.hpp>

#include <cstdio>

int main() {
  const Eigen::Index rows = 1024, cols = 1024;
  const Eigen::MatrixXf w = Eigen::MatrixXf::Random(rows, cols);  // stands in for trained weights

  // Banks of 64 columns, 87.5% sparsity: every bank of every row keeps its 8 largest weights.
  const bbs::BankConfig cfg = bbs::BankConfig::from_sparsity(64, 0.875);
  const bbs::BbsMatrix<float> a = bbs::prune<float>(w, cfg);

  const Eigen::VectorXf x = Eigen::VectorXf::Random(cols);
  const Eigen::VectorXf y = a * x;  // bank-balanced SpMV

  // The same product with Eigen, as a user would otherwise write it.
  const Eigen::SparseMatrix<float, Eigen::RowMajor> s = a.toSparse();
  const Eigen::VectorXf y_sparse = s * x;
  const Eigen::VectorXf y_dense = a.toDense() * x;

  std::printf("A: %ld x %ld, %ld banks of %ld per row, %ld kept per bank\n", (long)a.rows(), (long)a.cols(),
              (long)a.numBanks(), (long)a.bankSize(), (long)a.nnzPerBank());
  std::printf("nonzeros: %ld (%.1f%% sparse)\n", (long)a.nonZeros(),
              100.0 * (1.0 - double(a.nonZeros()) / double(rows * cols)));
  std::printf("memory: bbs CSB %zu bytes (%.1f per nonzero), Eigen CSR %zu bytes\n", a.csbBytes(),
              double(a.csbBytes()) / double(a.nonZeros()),
              size_t(s.nonZeros()) * (sizeof(float) + sizeof(int)) + size_t(rows + 1) * sizeof(int));
  std::printf("max |y - y_eigen_sparse| = %.3g, max |y - y_eigen_dense| = %.3g\n", (y - y_sparse).cwiseAbs().maxCoeff(),
              (y - y_dense).cwiseAbs().maxCoeff());
  const bool ok = (y - y_sparse).cwiseAbs().maxCoeff() <= 1e-4f && (y - y_dense).cwiseAbs().maxCoeff() <= 1e-4f;
  std::printf("%s\n", ok ? "y = A * x agrees with Eigen" : "MISMATCH");
  return ok ? 0 : 1;
}

// 01: a BbsMatrix is a drop-in for Eigen::SparseMatrix in products and in Eigen's iterative
// solvers: the same expressions compile and give the same results.
#include <bbs/bbs.hpp>

#include <Eigen/IterativeLinearSolvers>
#include <cstdio>

int main() {
  const Eigen::MatrixXd w = Eigen::MatrixXd::Random(300, 500);
  const bbs::BbsMatrix<double> a = bbs::prune<double>(w, bbs::BankConfig(50, 5));
  const Eigen::VectorXd x = Eigen::VectorXd::Random(500);
  Eigen::VectorXd y = Eigen::VectorXd::Ones(300);

  y.noalias() += a * x;                                           // accumulate without a temporary
  y -= a * x;                                                     // back to ones
  const Eigen::VectorXd z = 2 * (a * x) + y;                      // products inside larger expressions
  const Eigen::VectorXd t = a.transpose() * y;                    // A^T y without forming A^T
  const Eigen::MatrixXd Y = a * Eigen::MatrixXd::Random(500, 8);  // several right-hand sides
  Eigen::VectorXd seg = Eigen::VectorXd::Zero(310);
  seg.segment(10, 300) = a * x;  // segments, blocks and Maps work too
  std::printf("|z| = %.4f, |A^T y| = %.4f, Y is %ld x %ld, |seg| = %.4f\n", z.norm(), t.norm(), (long)Y.rows(),
              (long)Y.cols(), seg.norm());

  // Eigen's conjugate gradient on a symmetric positive definite bank-balanced matrix: banks of
  // 8 columns keep one entry each, at the columns congruent to the row modulo 8.
  const Eigen::Index n = 512;
  Eigen::MatrixXd spd = Eigen::MatrixXd::Zero(n, n);
  for (Eigen::Index i = 0; i < n; ++i)
    for (Eigen::Index j = 0; j < n; ++j)
      if (i % 8 == j % 8) spd(i, j) = i == j ? 4.0 : 0.5 / double(1 + (i > j ? i - j : j - i));
  const bbs::BbsMatrix<double> m = bbs::prune<double>(spd, bbs::BankConfig(8, 1));
  const Eigen::VectorXd b = Eigen::VectorXd::Ones(n);

  // A matrix-free operator: CG must use Lower|Upper; the identity and diagonal preconditioners work.
  Eigen::ConjugateGradient<bbs::BbsMatrix<double>, Eigen::Lower | Eigen::Upper, Eigen::DiagonalPreconditioner<double>>
      cg(m);
  const Eigen::VectorXd sol = cg.solve(b);
  const double residual = (spd * sol - b).norm() / b.norm();
  std::printf("CG: %ld iterations, relative residual %.2e\n", (long)cg.iterations(), residual);
  return cg.info() == Eigen::Success && residual < 1e-8 ? 0 : 1;
}

// Eigen's ConjugateGradient and BiCGSTAB on a BbsMatrix: a symmetric positive definite,
// bank-balanced system, with the identity and diagonal preconditioners.
#include <Eigen/Cholesky>
#include <Eigen/IterativeLinearSolvers>

#include "testbed.hpp"

using bbs::BankConfig;
using bbs::BbsMatrix;

namespace {
/// n x n SPD matrix, banks of 8 with one entry each: A(i, j) != 0 iff i = j (mod 8). Every row
/// holds one entry per bank, the pattern is symmetric, and the diagonal dominates.
Eigen::MatrixXd spd_bank_balanced(bbs::index n) {
  Eigen::MatrixXd d = Eigen::MatrixXd::Zero(n, n);
  for (bbs::index i = 0; i < n; ++i) {
    for (bbs::index j = 0; j < n; ++j) {
      if (i % 8 == j % 8)
        d(i, j) = i == j ? 10.0 + double(i % 5) : 0.9 / double(1 + std::abs(i - j)) + 0.01 * double((i + j) % 3);
    }
  }
  return d;
}
}  // namespace

TEST_CASE("ConjugateGradient and BiCGSTAB solve a bank-balanced SPD system", "[eigen][solvers]") {
  const bbs::index n = 256;
  const Eigen::MatrixXd dense = spd_bank_balanced(n);
  REQUIRE(dense.isApprox(dense.transpose()));
  const auto a = bbs::prune<double>(dense, BankConfig(8, 1));
  REQUIRE(a.toDense() == dense);
  const Eigen::VectorXd b = bbs_test::random_vector<double>(n, 3);
  const Eigen::VectorXd exact = dense.ldlt().solve(b);

  SECTION("CG, identity preconditioner") {
    Eigen::ConjugateGradient<BbsMatrix<double>, Eigen::Lower | Eigen::Upper, Eigen::IdentityPreconditioner> cg(a);
    cg.setTolerance(1e-12);
    const Eigen::VectorXd x = cg.solve(b);
    CHECK(cg.info() == Eigen::Success);
    CHECK((x - exact).norm() <= 1e-9 * exact.norm());
  }
  SECTION("CG, diagonal (Jacobi) preconditioner") {
    Eigen::ConjugateGradient<BbsMatrix<double>, Eigen::Lower | Eigen::Upper, Eigen::DiagonalPreconditioner<double>> cg;
    cg.setTolerance(1e-12);
    cg.compute(a);
    const Eigen::VectorXd x = cg.solve(b);
    CHECK(cg.info() == Eigen::Success);
    CHECK((x - exact).norm() <= 1e-9 * exact.norm());
  }
  SECTION("BiCGSTAB, identity and diagonal preconditioners") {
    Eigen::BiCGSTAB<BbsMatrix<double>, Eigen::IdentityPreconditioner> plain(a);
    plain.setTolerance(1e-12);
    Eigen::VectorXd x = plain.solve(b);
    CHECK(plain.info() == Eigen::Success);
    CHECK((x - exact).norm() <= 1e-9 * exact.norm());

    Eigen::BiCGSTAB<BbsMatrix<double>, Eigen::DiagonalPreconditioner<double>> jacobi(a);
    jacobi.setTolerance(1e-12);
    x = jacobi.solve(b);
    CHECK(jacobi.info() == Eigen::Success);
    CHECK((x - exact).norm() <= 1e-9 * exact.norm());
  }
}

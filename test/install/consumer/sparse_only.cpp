// The Eigen SpMV drop-in with the sparse module alone (<bbs/sparse.hpp>), in a second translation
// unit beside one that includes everything: both must build, link and agree.
#include <bbs/sparse.hpp>

float sparse_only_error() {
  const Eigen::MatrixXf w = Eigen::MatrixXf::Random(48, 80);
  const auto a = bbs::prune<float>(w, bbs::BankConfig(16, 2));
  const Eigen::VectorXf x = Eigen::VectorXf::Random(80);
  const Eigen::VectorXf y = a * x;
  return (y - a.toDense() * x).cwiseAbs().maxCoeff();
}

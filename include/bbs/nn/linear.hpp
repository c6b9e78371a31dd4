// Linear layer (torch.nn.Linear) with bank-balanced weights: y = W x + b for a batch of
// columns, one kernel::spmm (kernel::spmv for one column).
#pragma once

#include <string>
#include <utility>

#include "bbs/nn/layer_common.hpp"

namespace bbs {
namespace nn {

template <typename T, typename Backend = backend::automatic>
class Linear {
 public:
  using value_type = T;
  using activation_type = activation_t<T>;

  /// weight: out x in, bias: out entries; shape_error otherwise.
  Linear(BbsMatrix<T> weight, Vector<activation_type> bias) : w_(std::move(weight)), bias_(std::move(bias)) {
    if (bias_.rows() != w_.rows() || bias_.cols() != 1) {
      detail::throw_error<shape_error>(
          "Linear: bias (out features) is ", bias_.rows(), " x ", bias_.cols(), ", expected ", w_.rows(),
          " x 1 like the weight's rows", bias_.rows() == w_.cols() ? " (the weight looks transposed: it is " : "",
          bias_.rows() == w_.cols() ? std::to_string(w_.rows()) + " x " + std::to_string(w_.cols()) + ")"
                                    : std::string());
    }
  }

  /// Prunes PyTorch's dense weight (out x in) with cfg (quantizes for 16-bit T); bias may be
  /// empty (bias = False).
  static Linear from_dense(const Eigen::MatrixXf& weight, const Eigen::VectorXf& bias, const BankConfig& cfg) {
    const Eigen::VectorXf b = bias.size() == 0 ? Eigen::VectorXf::Zero(weight.rows()) : bias;
    return Linear(impl::prune_to<T>(weight, cfg), impl::to_activations<activation_type>(b.cast<double>()));
  }

  index in_features() const { return w_.cols(); }
  index out_features() const { return w_.rows(); }
  const BbsMatrix<T>& weight() const { return w_; }
  const Vector<activation_type>& bias() const { return bias_; }

  /// x: in_features x batch (any Eigen expression); returns out_features x batch.
  template <typename Derived>
  Matrix<activation_type> forward(const Eigen::MatrixBase<Derived>& x) const {
    if (x.rows() != in_features()) {
      detail::throw_error<shape_error>("Linear: the input has ", x.rows(), " rows, expected in_features ",
                                       in_features());
    }
    const Matrix<activation_type> xs = x;  // contiguous columns for the kernel
    Matrix<activation_type> y = impl::repeat_columns(bias_, xs.cols());
    impl::multiply_columns(Backend{}, w_, xs.cols(), xs.data(), in_features(), scalar_t<T>(1), y.data(),
                           out_features());
    impl::count_saturation("output", y.data(), y.size());
    return y;
  }

 private:
  BbsMatrix<T> w_;
  Vector<activation_type> bias_;
};

}  // namespace nn
}  // namespace bbs

// Convolutions on NCHW tensors (nn/tensor.hpp), with PyTorch's semantics (torch.nn.Conv2d,
// square kernels, zero padding, floor of the output size):
// - Conv2d: groups = 1, weights bank-balanced (Cout x Cin * k * k, PyTorch's weight flattened),
//   computed per image as W times the im2col matrix (channels * k * k x pixels) with the
//   row-major kernel::spmm_row_major, straight into the NCHW output. A 1 x 1 kernel
//   (Conv2d::pointwise) needs no im2col: the NCHW image is already the channels x pixels matrix.
// - DepthwiseConv2d: groups = channels, dense weights (C x k * k: they are tiny), direct loops.
// - BatchNorm2d (eval mode) folded into the preceding convolution when the layer is built:
//   w' = w * gamma / sqrt(var + eps), b' = (b - mean) * gamma / sqrt(var + eps) + beta, in
//   double, before pruning (a per-row scale keeps each row's magnitude order, so pruning the
//   folded weights keeps the same entries as pruning the raw ones).
#pragma once

#include <cmath>
#include <optional>
#include <algorithm>
#include <utility>
#include <vector>

#include <Eigen/Core>

#include "bbs/nn/layer_common.hpp"
#include "bbs/nn/tensor.hpp"

namespace bbs {
namespace nn {

/// An eval-mode torch.nn.BatchNorm2d, named as its state_dict.
struct BatchNorm2dParams {
  Eigen::VectorXf weight;  // gamma
  Eigen::VectorXf bias;    // beta
  Eigen::VectorXf running_mean;
  Eigen::VectorXf running_var;
  double eps = 1e-5;
};

/// Dense float weights of a convolution (or linear layer): weight is out_channels x
/// (in_channels / groups * k * k), PyTorch's weight tensor flattened per output channel; bias
/// has out_channels entries or none; an optional BatchNorm that follows it.
struct ConvDenseWeights {
  Eigen::MatrixXf weight;
  Eigen::VectorXf bias;
  std::optional<BatchNorm2dParams> batch_norm;
};

/// Square kernel size, stride and zero padding.
struct ConvGeometry {
  index kernel = 1;
  index stride = 1;
  index padding = 0;
};

/// The weights with the BatchNorm folded in (and no BatchNorm left); the bias becomes present.
/// Throws shape_error, from `owner`, when the weight's rows, the bias and the BatchNorm
/// parameters do not all give the same number of output channels, naming the one that disagrees
/// with the rest (impl::agreed_rows): a transposed weight is blamed, not the bias beside it.
inline ConvDenseWeights fold_batch_norm(const ConvDenseWeights& w, const char* owner = "fold_batch_norm") {
  std::vector<impl::NamedShape> shapes{{"the weight", w.weight.rows(), w.weight.cols()}};
  if (w.bias.size() != 0) shapes.push_back({"the bias", w.bias.size(), 1});
  if (w.batch_norm) {
    const BatchNorm2dParams& bn = *w.batch_norm;
    shapes.push_back({"the BatchNorm weight", bn.weight.size(), 1});
    shapes.push_back({"the BatchNorm bias", bn.bias.size(), 1});
    shapes.push_back({"the BatchNorm running_mean", bn.running_mean.size(), 1});
    shapes.push_back({"the BatchNorm running_var", bn.running_var.size(), 1});
  }
  const index out = impl::agreed_rows(owner, shapes);
  ConvDenseWeights folded{w.weight, w.bias.size() == 0 ? Eigen::VectorXf::Zero(out) : w.bias, std::nullopt};
  if (!w.batch_norm) return folded;
  const BatchNorm2dParams& bn = *w.batch_norm;
  Eigen::VectorXd scale(out);
  for (index c = 0; c < out; ++c) {
    scale(c) = static_cast<double>(bn.weight(c)) / std::sqrt(static_cast<double>(bn.running_var(c)) + bn.eps);
    folded.bias(c) =
        static_cast<float>((static_cast<double>(folded.bias(c)) - bn.running_mean(c)) * scale(c) + bn.bias(c));
  }
  // As a whole-matrix product, not row by row: a weight with no columns (a bias folded alone) has
  // no data, and a row block of it would offset a null pointer.
  folded.weight = (scale.asDiagonal() * w.weight.cast<double>()).cast<float>();
  return folded;
}

namespace impl {

/// Output size of a convolution or pooling along one axis; shape_error / config_error for
/// geometries PyTorch rejects too.
inline index conv_output_size(index in, const ConvGeometry& g, const char* owner) {
  if (g.kernel < 1 || g.stride < 1 || g.padding < 0) {
    detail::throw_error<config_error>(owner, ": kernel ", g.kernel, ", stride ", g.stride, ", padding ", g.padding,
                                      ", expected kernel >= 1, stride >= 1, padding >= 0");
  }
  if (in + 2 * g.padding < g.kernel) {
    detail::throw_error<shape_error>(owner, ": the input is ", in, " wide with padding ", g.padding,
                                     ", expected at least the kernel size ", g.kernel);
  }
  return (in + 2 * g.padding - g.kernel) / g.stride + 1;
}

template <typename A>
void require_channels(const Tensor<A>& x, index channels, const char* owner) {
  if (x.channels() != channels) {
    detail::throw_error<shape_error>(owner, ": the input is ", x.shape_string(), " (N x C x H x W), expected ",
                                     channels, " channels");
  }
}

template <typename A>
Vector<A> bias_activations(const Eigen::VectorXf& bias) {
  return to_activations<A>(bias.cast<double>());
}

}  // namespace impl

/// Standard k x k convolution (groups = 1) with bank-balanced weights of T on Backend.
template <typename T, typename Backend = backend::automatic>
class Conv2d {
 public:
  using value_type = T;
  using activation_type = activation_t<T>;

  /// weight: out x (in * k * k), bias: out entries. Throws shape_error / config_error.
  Conv2d(BbsMatrix<T> weight, Vector<activation_type> bias, index in_channels, const ConvGeometry& geometry)
      : w_(std::move(weight)), bias_(std::move(bias)), in_(in_channels), g_(geometry) {
    impl::conv_output_size(g_.kernel, g_, "Conv2d");  // checks the geometry itself
    impl::require_shape(w_, w_.rows(), in_ * g_.kernel * g_.kernel, "Conv2d",
                        "weight (out channels x in channels * kernel * kernel)");
    impl::require_shape(bias_, w_.rows(), 1, "Conv2d", "bias (out channels)");
  }

  /// Folds the BatchNorm if any, prunes with cfg (and quantizes for 16-bit T).
  static Conv2d from_dense(const ConvDenseWeights& w, index in_channels, const ConvGeometry& geometry,
                           const BankConfig& cfg) {
    const ConvDenseWeights folded = fold_batch_norm(w, "Conv2d");
    if (folded.weight.cols() != in_channels * geometry.kernel * geometry.kernel) {
      detail::throw_error<shape_error>("Conv2d: weight has ", folded.weight.cols(), " columns, expected ",
                                       "in channels ", in_channels, " x kernel ", geometry.kernel, " x kernel ",
                                       geometry.kernel, " = ", in_channels * geometry.kernel * geometry.kernel);
    }
    return Conv2d(impl::prune_to<T>(folded.weight, cfg), impl::bias_activations<activation_type>(folded.bias),
                  in_channels, geometry);
  }

  /// A 1 x 1 convolution (stride 1, no padding): weight out x in.
  static Conv2d pointwise(const ConvDenseWeights& w, const BankConfig& cfg) {
    return from_dense(w, w.weight.cols(), ConvGeometry{1, 1, 0}, cfg);
  }

  index in_channels() const { return in_; }
  index out_channels() const { return w_.rows(); }
  const ConvGeometry& geometry() const { return g_; }
  const BbsMatrix<T>& weight() const { return w_; }
  const Vector<activation_type>& bias() const { return bias_; }

  Tensor<activation_type> forward(const Tensor<activation_type>& x) const {
    impl::require_channels(x, in_, "Conv2d");
    const index ho = impl::conv_output_size(x.height(), g_, "Conv2d");
    const index wo = impl::conv_output_size(x.width(), g_, "Conv2d");
    const index k = g_.kernel;
    const index rows = in_ * k * k;
    const index pixels = ho * wo;
    const bool pointwise = k == 1 && g_.stride == 1 && g_.padding == 0;
    // An NCHW image is a row-major channels x pixels matrix, the layout kernel::spmm_row_major
    // reads and writes: each output image is W (out x rows) times the image's im2col matrix (rows
    // x pixels, row c * k * k + ky * k + kx, PyTorch's weight order), written in place. A 1 x 1
    // kernel with stride 1 and no padding multiplies the image itself.
    // Rows of the im2col matrix start on cache lines (a stride of whole 64-byte lines).
    constexpr index line = 64 / static_cast<index>(sizeof(activation_type));
    const index stride = (pixels + line - 1) / line * line;
    activation_type* patches = pointwise ? nullptr : impl::scratch<activation_type>(0, rows * stride);
    auto y = Tensor<activation_type>::uninitialized(x.batch(), out_channels(), ho, wo);
    for (index n = 0; n < x.batch(); ++n) {
      const activation_type* image = x.data() + n * in_ * x.height() * x.width();
      if (!pointwise) {
        // Gathered along rows of the image: reads and writes are both pixel-contiguous.
        for (index c = 0; c < in_; ++c) {
          for (index ky = 0; ky < k; ++ky) {
            for (index kx = 0; kx < k; ++kx) {
              activation_type* row = patches + ((c * k + ky) * k + kx) * stride;
              for (index oy = 0; oy < ho; ++oy) {
                const index iy = oy * g_.stride - g_.padding + ky;
                const bool row_inside = iy >= 0 && iy < x.height();
                for (index ox = 0; ox < wo; ++ox) {
                  const index ix = ox * g_.stride - g_.padding + kx;
                  row[oy * wo + ox] = row_inside && ix >= 0 && ix < x.width()
                                          ? image[(c * x.height() + iy) * x.width() + ix]
                                          : activation_type();
                }
              }
            }
          }
        }
      }
      activation_type* out = y.data() + n * out_channels() * pixels;
      // Output channel r starts as its bias; the product adds onto it (beta = 1: fixed point rounds
      // the sum and the bias once, as in the column-major path).
      for (index r = 0; r < out_channels(); ++r) std::fill(out + r * pixels, out + (r + 1) * pixels, bias_(r));
      impl::multiply_rows(Backend{}, w_, pixels, pointwise ? image : patches, pointwise ? pixels : stride,
                          scalar_t<T>(1), out, pixels);
    }
    impl::count_saturation("output", y.data(), y.size());
    return y;
  }

 private:
  BbsMatrix<T> w_;
  Vector<activation_type> bias_;
  index in_ = 0;
  ConvGeometry g_;
};

/// Depthwise convolution (groups = channels, one k x k filter per channel) with dense weights
/// held as activations of T (activation_t<T>): it has no bank-balanced matrix to multiply.
template <typename T>
class DepthwiseConv2d {
 public:
  using value_type = T;
  using activation_type = activation_t<T>;
  using ops = elementwise<activation_type>;

  /// weight: channels x (k * k), bias: channels entries.
  DepthwiseConv2d(Matrix<activation_type> weight, Vector<activation_type> bias, const ConvGeometry& geometry)
      : w_(std::move(weight)), bias_(std::move(bias)), g_(geometry) {
    impl::conv_output_size(g_.kernel, g_, "DepthwiseConv2d");
    impl::require_shape(w_, w_.rows(), g_.kernel * g_.kernel, "DepthwiseConv2d", "weight (channels x kernel * kernel)");
    impl::require_shape(bias_, w_.rows(), 1, "DepthwiseConv2d", "bias (channels)");
  }

  /// Folds the BatchNorm if any and converts the weights (fixed point: fixed16's rounding).
  static DepthwiseConv2d from_dense(const ConvDenseWeights& w, const ConvGeometry& geometry) {
    const ConvDenseWeights folded = fold_batch_norm(w, "DepthwiseConv2d");
    Matrix<activation_type> weight(folded.weight.rows(), folded.weight.cols());
    for (index j = 0; j < weight.cols(); ++j)
      for (index i = 0; i < weight.rows(); ++i) weight(i, j) = ops::from_float(folded.weight(i, j));
    return DepthwiseConv2d(std::move(weight), impl::bias_activations<activation_type>(folded.bias), geometry);
  }

  index channels() const { return w_.rows(); }
  const ConvGeometry& geometry() const { return g_; }
  /// channels x (k * k), row-major taps.
  const Matrix<activation_type>& weight() const { return w_; }
  const Vector<activation_type>& bias() const { return bias_; }

  Tensor<activation_type> forward(const Tensor<activation_type>& x) const {
    impl::require_channels(x, channels(), "DepthwiseConv2d");
    const index ho = impl::conv_output_size(x.height(), g_, "DepthwiseConv2d");
    const index wo = impl::conv_output_size(x.width(), g_, "DepthwiseConv2d");
    const index k = g_.kernel;
    auto y = Tensor<activation_type>::uninitialized(x.batch(), channels(), ho, wo);
    // One output plane at a time: for each filter tap, the range of output columns whose input
    // column lies inside the image, then a contiguous (vectorizable, for stride 1) row update.
    std::vector<typename ops::sum_type> acc(static_cast<std::size_t>(ho * wo));
    for (index n = 0; n < x.batch(); ++n) {
      for (index c = 0; c < channels(); ++c) {
        std::fill(acc.begin(), acc.end(), ops::start_sum(bias_(c)));
        const activation_type* plane = x.data() + (n * channels() + c) * x.height() * x.width();
        for (index ky = 0; ky < k; ++ky) {
          for (index kx = 0; kx < k; ++kx) {
            const activation_type w = w_(c, ky * k + kx);
            const index shift = kx - g_.padding;  // ix = ox * stride + shift
            const index first = shift >= 0 ? 0 : (-shift + g_.stride - 1) / g_.stride;
            const index last = x.width() - 1 - shift < 0 ? 0 : std::min(wo, (x.width() - 1 - shift) / g_.stride + 1);
            for (index oy = 0; oy < ho; ++oy) {
              const index iy = oy * g_.stride - g_.padding + ky;
              if (iy < 0 || iy >= x.height()) continue;
              const activation_type* in = plane + iy * x.width();  // ox * stride + shift >= 0 from `first` on
              auto* out = acc.data() + oy * wo;
              for (index ox = first; ox < last; ++ox) {
                out[ox] = ops::add_product(out[ox], w, in[ox * g_.stride + shift]);
              }
            }
          }
        }
        activation_type* dst = y.data() + (n * channels() + c) * ho * wo;
        for (index i = 0; i < ho * wo; ++i) dst[i] = ops::finish_sum(acc[static_cast<std::size_t>(i)]);
      }
    }
    impl::count_saturation("output", y.data(), y.size());
    return y;
  }

 private:
  Matrix<activation_type> w_;
  Vector<activation_type> bias_;
  ConvGeometry g_;
};

}  // namespace nn
}  // namespace bbs

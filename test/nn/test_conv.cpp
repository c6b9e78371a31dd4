// Convolution, pooling and linear layers (include/bbs/nn/conv.hpp, pooling.hpp, linear.hpp)
// against PyTorch's outputs in test/data/nn/conv/ (tools/fixtures/make_nn_fixtures.py): a
// depthwise-separable block (depthwise 3x3 + BatchNorm + ReLU6, pruned pointwise 1x1 +
// BatchNorm + ReLU6, MaxPool 2x2), depthwise with stride and padding, a dense 3x3 convolution
// with BatchNorm and ReLU, average and global average pooling and a pruned linear layer; float
// and fixed16<10>; every backend against the reference; shape errors.
#include <cstdio>

#include "nn/nn_fixtures.hpp"

namespace {

using bbs::index;
using bbs::nn::ConvDenseWeights;
using bbs::nn::ConvGeometry;
using bbs::nn::Tensor;
using bbs_test::fixture;
using bbs_test::fixture_vector;
using Q = bbs::fixed16<10>;  // range [-32, 32): the block's activations reach 6, the 3x3 conv ~10

const std::string kCase = "conv";

/// An N x C x H x W fixture (stored (N * C * H) x W) as a tensor of A.
template <typename A>
Tensor<A> tensor_fixture(const std::string& name, index n, index c, index h, index w) {
  const Eigen::MatrixXf m = fixture(kCase, name);
  REQUIRE(m.rows() == n * c * h);
  REQUIRE(m.cols() == w);
  Tensor<A> t(n, c, h, w);
  for (index r = 0; r < m.rows(); ++r)
    for (index x = 0; x < w; ++x) t.data()[r * w + x] = bbs::nn::elementwise<A>::from_float(m(r, x));
  return t;
}

template <typename A>
double max_difference(const Tensor<A>& got, const Tensor<float>& want) {
  REQUIRE(got.shape_string() == want.shape_string());
  double worst = 0;
  for (index i = 0; i < got.size(); ++i) {
    worst = std::max(worst, std::abs(bbs::nn::elementwise<A>::to_double(got.data()[i]) - want.data()[i]));
  }
  return worst;
}

template <typename A>
bool identical(const Tensor<A>& a, const Tensor<A>& b) {
  if (a.shape_string() != b.shape_string()) return false;
  for (index i = 0; i < a.size(); ++i)
    if (a.data()[i] != b.data()[i]) return false;
  return true;
}

bbs::nn::BatchNorm2dParams batch_norm(const std::string& prefix) {
  return {fixture_vector(kCase, prefix + "_gamma"), fixture_vector(kCase, prefix + "_beta"),
          fixture_vector(kCase, prefix + "_mean"), fixture_vector(kCase, prefix + "_var"), 1e-5};
}

ConvDenseWeights dw_weights() { return {fixture(kCase, "dw_weight"), {}, batch_norm("dw_bn")}; }
ConvDenseWeights pw_weights() { return {fixture(kCase, "pw_weight"), {}, batch_norm("pw_bn")}; }
ConvDenseWeights conv3_weights() {
  return {fixture(kCase, "conv3_weight"), fixture_vector(kCase, "conv3_bias"), batch_norm("conv3_bn")};
}
const bbs::BankConfig kPointwiseBanks(4, 2);  // as the fixture's mask: 75 % sparse
const bbs::BankConfig kConv3Dense(8, 8);      // nnz_per_bank == bank_size: dense
const bbs::BankConfig kLinearBanks(8, 2);

/// Float tolerance of a K-term dot product against PyTorch's: both sides' sum error
/// (dot_error_bound) on a magnitude of at most K * max|w| * max|x| plus the bias, twice for
/// BatchNorm applied after the sum (PyTorch) rather than folded into the weights (bbs).
double float_tolerance(index terms, double magnitude) {
  return 4.0 * bbs::dot_error_bound<float>(terms + 4) * magnitude;
}

/// The depthwise-separable block and the other layers, on one value type and backend.
template <typename T, typename Backend>
struct Network {
  using A = bbs::activation_t<T>;
  bbs::nn::DepthwiseConv2d<T> dw = bbs::nn::DepthwiseConv2d<T>::from_dense(dw_weights(), ConvGeometry{3, 1, 1});
  bbs::nn::Conv2d<T, Backend> pw = bbs::nn::Conv2d<T, Backend>::pointwise(pw_weights(), kPointwiseBanks);
  bbs::nn::Conv2d<T, Backend> conv3 =
      bbs::nn::Conv2d<T, Backend>::from_dense(conv3_weights(), 8, ConvGeometry{3, 2, 1}, kConv3Dense);
  bbs::nn::Linear<T, Backend> linear = bbs::nn::Linear<T, Backend>::from_dense(
      fixture(kCase, "linear_weight"), fixture_vector(kCase, "linear_bias"), kLinearBanks);

  struct Outputs {
    Tensor<A> dw, pw, maxpool, avgpool, gap, conv3;
    bbs::nn::Matrix<A> linear;
  };

  Outputs run(const Tensor<A>& x) const {
    Outputs o;
    o.dw = dw.forward(x);
    bbs::nn::relu6(o.dw);
    o.pw = pw.forward(o.dw);
    bbs::nn::relu6(o.pw);
    o.maxpool = bbs::nn::max_pool2d(o.pw);
    o.avgpool = bbs::nn::avg_pool2d(o.pw, 2);
    o.gap = bbs::nn::global_avg_pool2d(o.pw);
    o.linear = linear.forward(o.gap.as_columns());
    o.conv3 = conv3.forward(x);
    bbs::nn::relu(o.conv3);
    return o;
  }
};

struct Differences {
  double dw, pw, maxpool, avgpool, gap, linear, conv3;
};

template <typename T>
Differences differences_from_pytorch() {
  using A = bbs::activation_t<T>;
  const Network<T, bbs::backend::reference> net;
  const auto o = net.run(tensor_fixture<A>("input", 2, 8, 9, 9));
  const Eigen::MatrixXf linear_want = fixture(kCase, "linear_out").transpose();
  return {max_difference(o.dw, tensor_fixture<float>("dw_out", 2, 8, 9, 9)),
          max_difference(o.pw, tensor_fixture<float>("pw_out", 2, 16, 9, 9)),
          max_difference(o.maxpool, tensor_fixture<float>("maxpool_out", 2, 16, 4, 4)),
          max_difference(o.avgpool, tensor_fixture<float>("avgpool_out", 2, 16, 4, 4)),
          max_difference(o.gap, tensor_fixture<float>("gap_out", 2, 16, 1, 1)),
          bbs_test::max_abs_difference(bbs_test::to_double<A>(o.linear), linear_want.cast<double>()),
          max_difference(o.conv3, tensor_fixture<float>("conv3_out", 2, 16, 5, 5))};
}

double max_abs(const Eigen::MatrixXf& m) { return static_cast<double>(m.cwiseAbs().maxCoeff()); }

}  // namespace

TEST_CASE("convolution, pooling and linear layers in float match PyTorch", "[nn][conv]") {
  const auto d = differences_from_pytorch<float>();
  const double x_max = max_abs(fixture(kCase, "input"));
  // Depthwise: 9 terms of the input; pointwise: 8 terms of ReLU6 outputs (<= 6); the 3x3
  // convolution: 72 terms of the input; linear: 16 terms of averages (<= 6).
  const double tol_dw = float_tolerance(9, 9 * max_abs(bbs::nn::fold_batch_norm(dw_weights()).weight) * x_max + 1);
  const double tol_pw = float_tolerance(8, 8 * max_abs(bbs::nn::fold_batch_norm(pw_weights()).weight) * 6 + 1) + tol_dw;
  const double tol_conv3 =
      float_tolerance(72, 72 * max_abs(bbs::nn::fold_batch_norm(conv3_weights()).weight) * x_max + 1);
  const double tol_linear = float_tolerance(16, 16 * max_abs(fixture(kCase, "linear_weight")) * 6 + 1) + tol_pw;
  std::printf(
      "conv float: max |bbs - PyTorch| depthwise %.3g, pointwise %.3g, maxpool %.3g, avgpool %.3g, "
      "global avgpool %.3g, linear %.3g, 3x3 conv %.3g\n",
      d.dw, d.pw, d.maxpool, d.avgpool, d.gap, d.linear, d.conv3);
  CHECK(d.dw <= tol_dw);
  CHECK(d.pw <= tol_pw);
  CHECK(d.maxpool <= tol_pw);  // pooling adds no error of its own beyond the mean's rounding
  CHECK(d.avgpool <= tol_pw + 6 * bbs::dot_error_bound<float>(4));
  CHECK(d.gap <= tol_pw + 6 * bbs::dot_error_bound<float>(81));
  CHECK(d.linear <= tol_linear);
  CHECK(d.conv3 <= tol_conv3);
}

TEST_CASE("fold_batch_norm scales every row by gamma / sqrt(var + eps) and folds a bias alone", "[nn][conv]") {
  const ConvDenseWeights w = pw_weights();
  const bbs::nn::BatchNorm2dParams& bn = *w.batch_norm;
  const ConvDenseWeights folded = bbs::nn::fold_batch_norm(w);
  REQUIRE(folded.weight.rows() == w.weight.rows());
  REQUIRE(folded.weight.cols() == w.weight.cols());
  CHECK_FALSE(folded.batch_norm.has_value());
  for (bbs::index c = 0; c < w.weight.rows(); ++c) {
    const double scale = static_cast<double>(bn.weight(c)) / std::sqrt(static_cast<double>(bn.running_var(c)) + bn.eps);
    for (bbs::index j = 0; j < w.weight.cols(); ++j)
      CHECK(folded.weight(c, j) == static_cast<float>(static_cast<double>(w.weight(c, j)) * scale));
    CHECK(folded.bias(c) == static_cast<float>(-static_cast<double>(bn.running_mean(c)) * scale + bn.bias(c)));
  }
  // Model files fold a bias without its weight (out x 0): the same bias, and no row of an empty
  // matrix touched (fuzz_model found a null-pointer offset there under clang's UBSan).
  const ConvDenseWeights alone = bbs::nn::fold_batch_norm({Eigen::MatrixXf::Zero(w.weight.rows(), 0), {}, bn});
  CHECK(alone.weight.rows() == w.weight.rows());
  CHECK(alone.weight.cols() == 0);
  CHECK(alone.bias == folded.bias);
}

TEST_CASE("depthwise convolution with stride, padding and bias matches PyTorch", "[nn][conv]") {
  const auto x = tensor_fixture<float>("input", 2, 8, 9, 9);
  const double x_max = max_abs(fixture(kCase, "input"));
  const auto s2 = bbs::nn::DepthwiseConv2d<float>::from_dense(
      {fixture(kCase, "dw_s2_weight"), fixture_vector(kCase, "dw_s2_bias"), std::nullopt}, ConvGeometry{3, 2, 1});
  const double d2 = max_difference(s2.forward(x), tensor_fixture<float>("dw_s2_out", 2, 8, 5, 5));
  const auto s3 = bbs::nn::DepthwiseConv2d<float>::from_dense({fixture(kCase, "dw_s3p2_weight"), {}, std::nullopt},
                                                              ConvGeometry{3, 3, 2});
  const double d3 = max_difference(s3.forward(x), tensor_fixture<float>("dw_s3p2_out", 2, 8, 4, 4));
  std::printf("depthwise float: stride 2 padding 1 %.3g, stride 3 padding 2 %.3g\n", d2, d3);
  CHECK(d2 <= float_tolerance(9, 9 * max_abs(fixture(kCase, "dw_s2_weight")) * x_max + 1));
  CHECK(d3 <= float_tolerance(9, 9 * max_abs(fixture(kCase, "dw_s3p2_weight")) * x_max));
  const double d_avg =
      max_difference(bbs::nn::avg_pool2d(x, 3, 2), tensor_fixture<float>("avgpool3s2_out", 2, 8, 4, 4));
  CHECK(d_avg <= 2 * bbs::dot_error_bound<float>(9) * x_max);
}

TEST_CASE("convolution, pooling and linear layers in fixed16<10> match PyTorch within quantization error",
          "[nn][conv][fixed]") {
  const auto d = differences_from_pytorch<Q>();
  std::printf(
      "conv fixed16<10>: max |bbs - PyTorch| depthwise %.3g, pointwise %.3g, maxpool %.3g, avgpool %.3g, "
      "global avgpool %.3g, linear %.3g, 3x3 conv %.3g\n",
      d.dw, d.pw, d.maxpool, d.avgpool, d.gap, d.linear, d.conv3);
  // Half a step for each of the K weights and K inputs of a sum (|w|, |x| of order 1 and up to
  // 6), the bias and the final rounding: (2K + 2) half steps, times the largest magnitude.
  const double h = Q::resolution / 2;
  const double x_max = max_abs(fixture(kCase, "input"));
  const double dw_tol = h * (9 * x_max + 9 * 2 + 2);
  const double pw_tol = h * (8 * 6 + 8 * 2 + 2) + 8 * dw_tol;
  CHECK(d.dw <= dw_tol);
  CHECK(d.pw <= pw_tol);
  CHECK(d.maxpool <= pw_tol);
  CHECK(d.avgpool <= pw_tol + h);
  CHECK(d.gap <= pw_tol + h);
  CHECK(d.linear <= h * (16 * 6 + 16 + 2) + 16 * pw_tol);
  CHECK(d.conv3 <= h * (72 * x_max + 72 * 2 + 2));
}

TEST_CASE("convolution and linear layers on every backend match the reference backend", "[nn][conv][backend]") {
  const auto check = [](auto value_tag) {
    using T = decltype(value_tag);
    using A = bbs::activation_t<T>;
    const auto x = tensor_fixture<A>("input", 2, 8, 9, 9);
    const auto want = Network<T, bbs::backend::reference>().run(x);
    bbs::for_each_backend([&](auto backend) {
      using Backend = decltype(backend);
      INFO(bbs::value_traits<T>::name << " on " << Backend::name);
      const auto got = Network<T, Backend>().run(x);
      if constexpr (bbs::is_fixed16<T>::value) {
        CHECK(identical(got.pw, want.pw));
        CHECK(identical(got.conv3, want.conv3));
        CHECK(got.linear == want.linear);
      } else {
        // Backends reorder the same sums: the bound of one side, on |w| |x| (ReLU6 outputs <= 6).
        const double x_max = max_abs(fixture(kCase, "input"));
        const double pw_w = max_abs(bbs::nn::fold_batch_norm(pw_weights()).weight);
        const double conv3_w = max_abs(bbs::nn::fold_batch_norm(conv3_weights()).weight);
        const double linear_w = max_abs(fixture(kCase, "linear_weight"));
        CHECK(max_difference(got.pw, want.pw) <= float_tolerance(8, 8 * pw_w * 6 + 1));
        CHECK(max_difference(got.conv3, want.conv3) <= float_tolerance(72, 72 * conv3_w * x_max + 1));
        CHECK(bbs_test::max_abs_difference(got.linear, want.linear) <= float_tolerance(16, 16 * linear_w * 6 + 1));
      }
    });
  };
  check(float{});
  check(Q{});
}

TEST_CASE("convolutions over many pixels match a direct convolution on every backend", "[nn][conv][backend]") {
  // 380 pixels per image: several 64-pixel tiles of the row-major kernel and a partial one; a
  // partial last bank (12 input channels, bank 8) and an odd number of output channels.
  const bbs::index in = 12, out = 7, h = 20, w = 19;
  Tensor<float> x(2, in, h, w);
  const Eigen::VectorXf v = bbs_test::random_dense<float>(x.size(), 1, 41);
  for (bbs::index i = 0; i < x.size(); ++i) x.data()[i] = v(i);
  for (const ConvGeometry g : {ConvGeometry{1, 1, 0}, ConvGeometry{3, 1, 1}, ConvGeometry{3, 2, 0}}) {
    const Eigen::VectorXf bias = bbs_test::random_dense<float>(out, 1, 43);
    const ConvDenseWeights dense{bbs_test::random_dense<float>(out, in * g.kernel * g.kernel, 42), bias, std::nullopt};
    const auto cfg = bbs::BankConfig(8, 3);
    const auto layer = bbs::nn::Conv2d<float, bbs::backend::reference>::from_dense(dense, in, g, cfg);
    const Eigen::MatrixXd wd = layer.weight().toDense().cast<double>();
    const bbs::index ho = (h + 2 * g.padding - g.kernel) / g.stride + 1;
    const bbs::index wo = (w + 2 * g.padding - g.kernel) / g.stride + 1;
    // Direct convolution in double from the pruned weights.
    Eigen::MatrixXd want(x.batch() * out * ho, wo), scale(x.batch() * out * ho, wo);
    for (bbs::index n = 0; n < x.batch(); ++n)
      for (bbs::index o = 0; o < out; ++o)
        for (bbs::index oy = 0; oy < ho; ++oy)
          for (bbs::index ox = 0; ox < wo; ++ox) {
            double sum = dense.bias(o), abs_sum = std::abs(dense.bias(o));
            for (bbs::index c = 0; c < in; ++c)
              for (bbs::index ky = 0; ky < g.kernel; ++ky)
                for (bbs::index kx = 0; kx < g.kernel; ++kx) {
                  const bbs::index iy = oy * g.stride - g.padding + ky, ix = ox * g.stride - g.padding + kx;
                  if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                  const double p =
                      wd(o, (c * g.kernel + ky) * g.kernel + kx) * x.data()[((n * in + c) * h + iy) * w + ix];
                  sum += p;
                  abs_sum += std::abs(p);
                }
            want((n * out + o) * ho + oy, ox) = sum;
            scale((n * out + o) * ho + oy, ox) = abs_sum;
          }
    bbs::for_each_backend([&](auto backend) {
      using Backend = decltype(backend);
      INFO("kernel " << g.kernel << ", stride " << g.stride << ", padding " << g.padding << " on " << Backend::name);
      const bbs::nn::Conv2d<float, Backend> conv(layer.weight(), bias, in, g);
      const Tensor<float> y = conv.forward(x);
      REQUIRE(y.batch() == x.batch());
      REQUIRE(y.channels() == out);
      REQUIRE(y.height() == ho);
      REQUIRE(y.width() == wo);
      const Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> got(
          y.data(), want.rows(), want.cols());
      bbs_test::require_close(got, want, scale, 2 * bbs::dot_error_bound<float>(in * g.kernel * g.kernel + 2));
    });
  }
}

TEST_CASE("convolution, pooling and linear shape errors say what was expected and what was found",
          "[nn][conv][errors]") {
  using Conv = bbs::nn::Conv2d<float, bbs::backend::reference>;
  using Depthwise = bbs::nn::DepthwiseConv2d<float>;
  const Network<float, bbs::backend::reference> net;
  const Tensor<float> seven_channels(1, 7, 9, 9);
  BBS_CHECK_THROWS_CONTAINING(net.pw.forward(seven_channels), bbs::shape_error,
                              "the input is 1 x 7 x 9 x 9 (N x C x H x W), expected 8 channels");
  BBS_CHECK_THROWS_CONTAINING(net.dw.forward(seven_channels), bbs::shape_error, "expected 8 channels");
  const Tensor<float> tiny(1, 8, 1, 1);
  BBS_CHECK_THROWS_CONTAINING(Depthwise::from_dense(dw_weights(), ConvGeometry{3, 1, 0}).forward(tiny),
                              bbs::shape_error,
                              "the input is 1 wide with padding 0, expected at least the kernel size 3");
  BBS_CHECK_THROWS_CONTAINING(Depthwise::from_dense(dw_weights(), ConvGeometry{3, 0, 1}), bbs::config_error,
                              "kernel 3, stride 0, padding 1, expected kernel >= 1, stride >= 1, padding >= 0");
  BBS_CHECK_THROWS_CONTAINING(Depthwise::from_dense(dw_weights(), ConvGeometry{5, 1, 2}), bbs::shape_error,
                              "weight (channels x kernel * kernel) is 8 x 9, expected 8 x 25");
  BBS_CHECK_THROWS_CONTAINING(Conv::from_dense(conv3_weights(), 7, ConvGeometry{3, 2, 1}, kConv3Dense),
                              bbs::shape_error,
                              "weight has 72 columns, expected in channels 7 x kernel 3 x kernel 3 = 63");
  auto bad_bn = pw_weights();
  bad_bn.batch_norm->running_var = Eigen::VectorXf::Ones(15);
  BBS_CHECK_THROWS_CONTAINING(Conv::pointwise(bad_bn, kPointwiseBanks), bbs::shape_error,
                              "Conv2d: the BatchNorm running_var is 15 x 1, expected 16 rows like the weight and the "
                              "BatchNorm weight and the BatchNorm bias and the BatchNorm running_mean");
  auto bad_bias = pw_weights();
  bad_bias.bias = Eigen::VectorXf::Zero(3);
  BBS_CHECK_THROWS_CONTAINING(Conv::pointwise(bad_bias, kPointwiseBanks), bbs::shape_error,
                              "Conv2d: the bias is 3 x 1, expected 16 rows like the weight");
  BBS_CHECK_THROWS_CONTAINING(net.linear.forward(Eigen::MatrixXf::Zero(15, 2)), bbs::shape_error,
                              "the input has 15 rows, expected in_features 16");
  BBS_CHECK_THROWS_CONTAINING(bbs::nn::max_pool2d(tiny), bbs::shape_error,
                              "the input is 1 wide with padding 0, expected at least the kernel size 2");
  BBS_CHECK_THROWS_CONTAINING(bbs::nn::global_avg_pool2d(Tensor<float>(1, 2, 0, 3)), bbs::shape_error,
                              "the input is 1 x 2 x 0 x 3, expected a height and width of at least 1");
}

TEST_CASE("convolutions blame a transposed weight, not the bias or BatchNorm measured against it",
          "[nn][conv][errors]") {
  using Conv = bbs::nn::Conv2d<float, bbs::backend::reference>;
  using Depthwise = bbs::nn::DepthwiseConv2d<float>;
  auto transposed = pw_weights();  // weight 16 x 8 (out x in) given as 8 x 16
  transposed.weight.transposeInPlace();
  BBS_CHECK_THROWS_CONTAINING(Conv::pointwise(transposed, kPointwiseBanks), bbs::shape_error,
                              "Conv2d: the weight is 8 x 16, expected 16 rows like the BatchNorm weight and the "
                              "BatchNorm bias and the BatchNorm running_mean and the BatchNorm running_var (it looks "
                              "transposed)");
  auto dw = dw_weights();  // 8 channels x 9 taps given as 9 x 8
  dw.weight.transposeInPlace();
  BBS_CHECK_THROWS_CONTAINING(Depthwise::from_dense(dw, ConvGeometry{3, 1, 1}), bbs::shape_error,
                              "DepthwiseConv2d: the weight is 9 x 8, expected 8 rows like the BatchNorm weight");
  // With only a bias beside it, one against one: the bias is named, with the weight suspected.
  ConvDenseWeights no_bn{pw_weights().weight.transpose(), Eigen::VectorXf::Zero(16), std::nullopt};
  BBS_CHECK_THROWS_CONTAINING(Conv::pointwise(no_bn, kPointwiseBanks), bbs::shape_error,
                              "Conv2d: the bias is 16 x 1, expected 8 rows like the weight (or the weight looks "
                              "transposed: it is 8 x 16)");
  // Weights that fit are accepted.
  CHECK_NOTHROW(Conv::pointwise(pw_weights(), kPointwiseBanks));
  CHECK_NOTHROW(Depthwise::from_dense(dw_weights(), ConvGeometry{3, 1, 1}));
}

TEST_CASE("Linear blames a bias that disagrees with the weight, and says when the weight looks transposed",
          "[nn][linear][errors]") {
  using L = bbs::nn::Linear<float, bbs::backend::reference>;
  const bbs::BankConfig cfg(4, 2);
  const Eigen::MatrixXf w = Eigen::MatrixXf::Ones(6, 8);  // out 6, in 8
  BBS_CHECK_THROWS_CONTAINING(L::from_dense(w, Eigen::VectorXf::Zero(5), cfg), bbs::shape_error,
                              "Linear: bias (out features) is 5 x 1, expected 6 x 1 like the weight's rows");
  BBS_CHECK_THROWS_CONTAINING(
      L::from_dense(Eigen::MatrixXf::Ones(8, 6), Eigen::VectorXf::Zero(6), bbs::BankConfig(3, 1)), bbs::shape_error,
      "(the weight looks transposed: it is 8 x 6)");
  CHECK_NOTHROW(L::from_dense(w, Eigen::VectorXf::Zero(6), cfg));
}

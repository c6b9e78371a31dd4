// A depthwise-separable block on a 56 x 56 image, 128 channels in and out (MobileNet's third
// stage): depthwise 3x3 (stride 1, padding 1) + ReLU6, pointwise 1x1 + ReLU6, MaxPool 2x2, with
// bbs's layers (pointwise 87.5 % bank-balanced, bank 64, 8 kept, simd backend) against the same
// block with a dense Eigen GEMM for the pointwise convolution (NCHW needs no im2col for a 1 x 1
// kernel: one image is a pixels x channels column-major matrix, times W^T). The depthwise part
// is the same code in both (its weights are dense either way). The pointwise convolution alone
// is timed too: issue 5's target is bbs >= 4x faster than the dense GEMM of the same shape.
// One thread (Eigen::setNbThreads(1)); glibc keeps freed memory (mallopt in main). Names: <conv_block|pointwise>/impl:<bbs_simd|eigen_dense>.
#include <benchmark/benchmark.h>

#include <bbs/bbs.hpp>

#include <malloc.h>

#include <cmath>

namespace {

constexpr bbs::index kChannels = 128;
constexpr bbs::index kSize = 56;
const bbs::BankConfig kBanks = bbs::BankConfig::from_sparsity(64, 0.875);

bbs::nn::Tensor<float> random_image() {
  bbs::nn::Tensor<float> x(1, kChannels, kSize, kSize);
  const Eigen::VectorXf v = Eigen::VectorXf::Random(x.size());
  for (bbs::index i = 0; i < x.size(); ++i) x.data()[i] = v(i);
  return x;
}

bbs::nn::DepthwiseConv2d<float> depthwise() {
  return bbs::nn::DepthwiseConv2d<float>::from_dense({Eigen::MatrixXf::Random(kChannels, 9), {}, std::nullopt},
                                                     bbs::nn::ConvGeometry{3, 1, 1});
}

Eigen::MatrixXf pointwise_weight() {
  return Eigen::MatrixXf::Random(kChannels, kChannels) / std::sqrt(static_cast<float>(kChannels));
}

/// The dense pointwise convolution of one NCHW image: Y (pixels x out) = X (pixels x in) W^T.
bbs::nn::Tensor<float> dense_pointwise(const Eigen::MatrixXf& w, const bbs::nn::Tensor<float>& x) {
  bbs::nn::Tensor<float> y(1, w.rows(), x.height(), x.width());
  const bbs::index pixels = x.height() * x.width();
  Eigen::Map<Eigen::MatrixXf>(y.data(), pixels, w.rows()).noalias() =
      Eigen::Map<const Eigen::MatrixXf>(x.data(), pixels, x.channels()) * w.transpose();
  return y;
}

void conv_block_bbs(benchmark::State& st) {
  const auto dw = depthwise();
  const auto pw = bbs::nn::Conv2d<float, bbs::backend::simd>::pointwise({pointwise_weight(), {}, std::nullopt}, kBanks);
  const auto x = random_image();
  for (auto _ : st) {
    auto y = dw.forward(x);
    bbs::nn::relu6(y);
    auto z = pw.forward(y);
    bbs::nn::relu6(z);
    benchmark::DoNotOptimize(bbs::nn::max_pool2d(z).data());
  }
}

void conv_block_eigen_dense(benchmark::State& st) {
  Eigen::setNbThreads(1);
  const auto dw = depthwise();
  const Eigen::MatrixXf w = pointwise_weight();
  const auto x = random_image();
  for (auto _ : st) {
    auto y = dw.forward(x);
    bbs::nn::relu6(y);
    auto z = dense_pointwise(w, y);
    bbs::nn::relu6(z);
    benchmark::DoNotOptimize(bbs::nn::max_pool2d(z).data());
  }
}

void pointwise_bbs(benchmark::State& st) {
  const auto pw = bbs::nn::Conv2d<float, bbs::backend::simd>::pointwise({pointwise_weight(), {}, std::nullopt}, kBanks);
  const auto x = random_image();
  for (auto _ : st) benchmark::DoNotOptimize(pw.forward(x).data());
}

void pointwise_eigen_dense(benchmark::State& st) {
  Eigen::setNbThreads(1);
  const Eigen::MatrixXf w = pointwise_weight();
  const auto x = random_image();
  for (auto _ : st) benchmark::DoNotOptimize(dense_pointwise(w, x).data());
}

}  // namespace

BENCHMARK(conv_block_bbs)->Name("conv_block/impl:bbs_simd")->Unit(benchmark::kMicrosecond);
BENCHMARK(conv_block_eigen_dense)->Name("conv_block/impl:eigen_dense")->Unit(benchmark::kMicrosecond);
BENCHMARK(pointwise_bbs)->Name("pointwise/impl:bbs_simd")->Unit(benchmark::kMicrosecond);
BENCHMARK(pointwise_eigen_dense)->Name("pointwise/impl:eigen_dense")->Unit(benchmark::kMicrosecond);

int main(int argc, char** argv) {
  // Every iteration allocates its output tensors (megabytes); keep glibc from returning them to
  // the kernel between iterations, so both sides time arithmetic rather than page faults.
  mallopt(M_MMAP_THRESHOLD, 1 << 30);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

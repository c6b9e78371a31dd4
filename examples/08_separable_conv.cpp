// 08: a stack of MobileNet-style depthwise-separable blocks on bank-balanced weights:
// depthwise 3x3 + BatchNorm + ReLU6, pointwise 1x1 (87.5 % bank-balanced, BatchNorm folded in
// when the layer is built) + ReLU6, MaxPool 2x2; then global average pooling and a pruned
// linear classifier. Tensors are NCHW. The program runs the network on the default backend and
// on the reference backend, checks that they agree, and exits non-zero otherwise.
#include <bbs/bbs.hpp>

#include <chrono>
#include <cstdio>
#include <vector>

namespace {

bbs::nn::BatchNorm2dParams random_batch_norm(bbs::index channels) {
  return {Eigen::VectorXf::Constant(channels, 1.0f) + 0.2f * Eigen::VectorXf::Random(channels),
          0.1f * Eigen::VectorXf::Random(channels), 0.1f * Eigen::VectorXf::Random(channels),
          Eigen::VectorXf::Constant(channels, 1.0f) + 0.2f * Eigen::VectorXf::Random(channels), 1e-5};
}

/// One depthwise-separable block, in_channels -> out_channels, halving height and width.
template <typename Backend>
struct SeparableBlock {
  bbs::nn::DepthwiseConv2d<float> depthwise;
  bbs::nn::Conv2d<float, Backend> pointwise;

  bbs::nn::Tensor<float> forward(const bbs::nn::Tensor<float>& x) const {
    auto y = depthwise.forward(x);
    bbs::nn::relu6(y);
    auto z = pointwise.forward(y);
    bbs::nn::relu6(z);
    return bbs::nn::max_pool2d(z);
  }
};

template <typename Backend>
std::vector<SeparableBlock<Backend>> make_blocks(const std::vector<bbs::index>& channels, const bbs::BankConfig& banks) {
  std::srand(8);  // Eigen's Random uses std::rand: the same weights for every backend
  std::vector<SeparableBlock<Backend>> blocks;
  for (std::size_t i = 0; i + 1 < channels.size(); ++i) {
    const bbs::index in = channels[i], out = channels[i + 1];
    const bbs::nn::ConvDenseWeights dw{0.5f * Eigen::MatrixXf::Random(in, 9), {}, random_batch_norm(in)};
    const bbs::nn::ConvDenseWeights pw{Eigen::MatrixXf::Random(out, in) / std::sqrt(static_cast<float>(in)), {},
                                       random_batch_norm(out)};
    blocks.push_back({bbs::nn::DepthwiseConv2d<float>::from_dense(dw, bbs::nn::ConvGeometry{3, 1, 1}),
                      bbs::nn::Conv2d<float, Backend>::pointwise(pw, banks)});
  }
  return blocks;
}

template <typename Backend>
Eigen::MatrixXf classify(const bbs::nn::Tensor<float>& image, const bbs::BankConfig& banks, double* milliseconds) {
  const std::vector<bbs::index> channels{16, 32, 64, 128};
  const auto blocks = make_blocks<Backend>(channels, banks);
  const auto linear = bbs::nn::Linear<float, Backend>::from_dense(Eigen::MatrixXf::Random(10, channels.back()),
                                                                   Eigen::VectorXf::Random(10), banks);
  Eigen::MatrixXf logits;
  // The second run is timed: the first one also derives the simd backend's arrangement of each
  // weight matrix (cached in the matrix).
  for (int run = 0; run < 2; ++run) {
    const auto start = std::chrono::steady_clock::now();
    bbs::nn::Tensor<float> x = image;
    for (const auto& block : blocks) x = block.forward(x);
    logits = linear.forward(bbs::nn::global_avg_pool2d(x).as_columns());
    *milliseconds = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  }
  return logits;
}

}  // namespace

int main() {
  const auto banks = bbs::BankConfig::from_sparsity(16, 0.875);  // keep 2 of every 16 input channels
  bbs::nn::Tensor<float> image(1, 16, 64, 64);                    // N x C x H x W
  for (bbs::index i = 0; i < image.size(); ++i) image.data()[i] = static_cast<float>((i * 7919) % 255) / 255.0f;

  double ms_default = 0, ms_reference = 0;
  const Eigen::MatrixXf logits = classify<bbs::backend::automatic>(image, banks, &ms_default);
  const Eigen::MatrixXf want = classify<bbs::backend::reference>(image, banks, &ms_reference);
  const double difference = (logits - want).cwiseAbs().maxCoeff();
  std::printf("3 blocks 16 -> 32 -> 64 -> 128 channels on a 64 x 64 image, pointwise %.1f %% sparse\n",
              100.0 * (1.0 - static_cast<double>(banks.nnz_per_bank) / static_cast<double>(banks.bank_size)));
  std::printf("default backend (%s): %.2f ms, reference: %.2f ms\n", bbs::default_backend().c_str(), ms_default,
              ms_reference);
  std::printf("logits:");
  for (bbs::index i = 0; i < logits.rows(); ++i) std::printf(" %.3f", logits(i, 0));
  std::printf("\nmax |default - reference| = %.3g\n", difference);
  const bool ok = difference <= 1e-4 * (1.0 + want.cwiseAbs().maxCoeff());
  std::printf("%s\n", ok ? "OK" : "MISMATCH");
  return ok ? 0 : 1;
}

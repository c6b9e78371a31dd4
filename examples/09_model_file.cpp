// 09: a whole model from a bbs model file. Loads the shipped Fashion-MNIST depthwise-separable
// CNN (models/, exported from PyTorch by tools/studies/accuracy_study.py: 87.5 % bank-balanced pointwise
// and linear weights), lists its layers, runs a batch of images in float and in 16-bit fixed
// point, then saves the fixed-point model packed and loads it back. Exits non-zero when the
// reloaded model does not give the same outputs bit for bit or the two types disagree.
//
//   09_model_file [MODEL.bbsm]      (an image model; default: the shipped Fashion-MNIST CNN)
#include <bbs/bbs.hpp>

#include <cstdio>
#include <filesystem>
#include <string>

int main(int argc, char** argv) {
  const std::string path = argc > 1 ? argv[1] : std::string(BBS_MODELS_DIR) + "/fashion_dscnn_bbs.bbsm";
  using Q = bbs::fixed16<10>;
  const auto model = bbs::nn::load_model<float>(path);  // layers pruned, BatchNorms folded, shapes checked
  const auto model_q = bbs::nn::load_model<Q>(path);    // the same file as int16 fixed point
  const bbs::nn::DataShape in = model.input_shape();
  if (in.kind != bbs::nn::DataKind::image) {
    std::fprintf(stderr, "%s takes %s; this example feeds images\n", path.c_str(), in.str().c_str());
    return 1;
  }
  std::printf("%s: %s -> %s\n", path.c_str(), in.str().c_str(), model.output_shape().str().c_str());
  for (std::size_t i = 0; i < model.size(); ++i) {
    const auto r = model.layer(i).record();  // what save_model would write for it
    std::printf("  %2zu %-18s", i + 1, r.keyword.c_str());
    for (const auto& w : r.sparse) {
      std::printf(" %s %ld x %ld bank %ld keep %ld", w.first.c_str(), static_cast<long>(w.second->rows()),
                  static_cast<long>(w.second->cols()), static_cast<long>(w.second->bankSize()),
                  static_cast<long>(w.second->nnzPerBank()));
    }
    std::printf("\n");
  }

  // A batch of 8 images with values in [-1, 1] (the models' normalised pixel range is similar).
  const bbs::index batch = 8;
  bbs::nn::Tensor<float> images(batch, in.channels, in.height, in.width);
  bbs::nn::Tensor<Q> images_q(batch, in.channels, in.height, in.width);
  const Eigen::VectorXf pixels = Eigen::VectorXf::Random(images.size());
  for (bbs::index i = 0; i < images.size(); ++i) {
    images.data()[i] = pixels(i);
    images_q.data()[i] = Q(pixels(i));
  }
  const Eigen::MatrixXf logits = model.forward(images);  // classes x batch
  const auto logits_q = model_q.forward(images_q);
  int agree = 0;
  double worst = 0;
  for (bbs::index n = 0; n < batch; ++n) {
    Eigen::Index best = 0, best_q = 0;
    logits.col(n).maxCoeff(&best);
    logits_q.col(n).cast<float>().maxCoeff(&best_q);
    agree += best == best_q ? 1 : 0;
    for (bbs::index c = 0; c < logits.rows(); ++c) {
      worst = std::max(worst, std::abs(double(logits(c, n)) - double(logits_q(c, n))));
    }
  }
  std::printf("float and fixed16<10> predict the same class for %d of %ld images; max |logit difference| %.4f\n", agree,
              static_cast<long>(batch), worst);

  // Save the fixed-point model (weights packed as int16) and load it back.
  const std::string saved = (std::filesystem::temp_directory_path() / "09_model_file_int16.bbsm").string();
  bbs::nn::save_model(model_q, saved);
  const auto reloaded = bbs::nn::load_model<Q>(saved);
  const bool same = reloaded.forward(images_q) == logits_q;
  std::printf("saved %s (%ld bytes; the float file has %ld); reloaded outputs %s\n", saved.c_str(),
              static_cast<long>(std::filesystem::file_size(saved)), static_cast<long>(std::filesystem::file_size(path)),
              same ? "identical" : "DIFFERENT");
  std::filesystem::remove(saved);
  return same && agree >= batch - 1 ? 0 : 1;
}

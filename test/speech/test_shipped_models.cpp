// The shipped phone recognizers (models/speech_dense.bbsm, models/speech_bbs.bbsm) streamed by
// bbs against PyTorch running the same models (tools/fixtures/make_speech_fixtures.py): on every
// sample utterance (one per corpus split) and every backend, float logits within float
// tolerance and the same greedy phone sequence; fixed16 within its quantization error.
#include <algorithm>
#include <fstream>
#include <string>

#include <bbs/speech.hpp>

#include "source_tree.hpp"  // BBS_TEST_DATA_DIR, BBS_MODELS_DIR, BBS_CLI
#include "nn/nn_fixtures.hpp"
#include "speech/speech_testing.hpp"

namespace {

const std::string kSample = std::string(BBS_TEST_DATA_DIR) + "/speech/sample";
const char* const kUtterances[] = {"train/train_00000", "val/val_00000", "test/test_00000", "cross/cross_00000"};

std::string fixed_type_name() {
  std::ifstream in(std::string(BBS_MODELS_DIR) + "/speech.fixed_type");
  std::string name;
  in >> name;
  return name;
}

}  // namespace

TEST_CASE("the shipped speech models streamed by bbs give PyTorch's logits and phones", "[speech][models]") {
  for (const char* m : {"dense", "bbs"}) {
    const std::string model_path = std::string(BBS_MODELS_DIR) + "/speech_" + m + ".bbsm";
    bbs::for_each_backend([&](auto tag) {
      using Backend = decltype(tag);
      const auto model = bbs::nn::load_model<float, Backend>(model_path);
      for (const char* u : kUtterances) {
        INFO(m << " on " << Backend::name << ", " << u);
        const Eigen::MatrixXf want = bbs::read_npy(kSample + "/" + u + "." + m + ".logits.npy").matrix<float>();
        const bbs::speech::Audio audio = bbs::speech::read_wav(kSample + "/" + u + ".wav");
        bbs::speech::Recognizer<float, Backend> recognizer(model);
        recognizer.keep_logits();
        recognizer.push(audio.samples);
        const Eigen::MatrixXf got = recognizer.logits();
        REQUIRE(got.rows() == want.rows());
        REQUIRE(got.cols() == want.cols());
        const float worst = (got - want).cwiseAbs().maxCoeff();
        INFO("max |bbs - PyTorch| " << worst);
        CHECK(worst <= 1e-4f * (1.0f + want.cwiseAbs().maxCoeff()));
        CHECK(recognizer.text() == bbs_test::greedy_text(want));
        CHECK(!recognizer.text().empty());
      }
    });
  }
}

TEST_CASE("the shipped speech models in fixed16 stay close to PyTorch's float logits", "[speech][models]") {
  // The type the speech study chose for these models (models/speech.fixed_type).
  REQUIRE(fixed_type_name() == "fixed16<10>");
  using T = bbs::fixed16<10>;
  for (const char* m : {"dense", "bbs"}) {
    const auto model = bbs::nn::load_model<T>(std::string(BBS_MODELS_DIR) + "/speech_" + m + ".bbsm");
    double worst = 0, scale = 0;
    for (const char* u : kUtterances) {
      const Eigen::MatrixXf want = bbs::read_npy(kSample + "/" + u + "." + m + ".logits.npy").matrix<float>();
      const bbs::speech::Audio audio = bbs::speech::read_wav(kSample + "/" + u + ".wav");
      bbs::speech::Recognizer<T> recognizer(model);
      recognizer.keep_logits();
      recognizer.push(audio.samples);
      const Eigen::MatrixXf got = recognizer.logits();
      REQUIRE(got.rows() == want.rows());
      worst = std::max(worst, double((got - want).cwiseAbs().maxCoeff()));
      scale = std::max(scale, double(want.cwiseAbs().maxCoeff()));
    }
    INFO(m << ": max |fixed16 - PyTorch float| " << worst << " on logits up to " << scale);
    // Calibrated 16-bit LSTM formats and Q10 logits: errors of a few hundredths on logits of
    // tens, far below the margins greedy decoding looks at (docs/SPEECH.md has the PER).
    CHECK(worst <= 0.05 * scale);
  }
}

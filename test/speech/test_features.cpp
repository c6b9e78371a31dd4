// Streaming log-mel features (include/bbs/speech/features.hpp) against tools/speech/features.py
// on the committed sample corpus (test/data/speech/sample: one utterance per split, features
// written by the Python side): float precision on the same audio; chunked pushes give the very
// frames of one push; settings and files that cannot work are refused by name.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

#include <bbs/speech.hpp>

#include "source_tree.hpp"     // BBS_TEST_DATA_DIR, BBS_MODELS_DIR, BBS_CLI
#include "nn/nn_fixtures.hpp"  // BBS_CHECK_THROWS_CONTAINING

namespace {

const std::string kSample = std::string(BBS_TEST_DATA_DIR) + "/speech/sample";

const char* const kUtterances[] = {"train/train_00000", "val/val_00000", "test/test_00000", "cross/cross_00000"};

}  // namespace

TEST_CASE("log-mel features equal the Python definition on the sample corpus", "[speech]") {
  for (const char* u : kUtterances) {
    INFO(u);
    const bbs::speech::Audio audio = bbs::speech::read_wav(kSample + "/" + u + ".wav");
    REQUIRE(audio.sample_rate == 16000);
    const Eigen::MatrixXf want = bbs::read_npy(kSample + "/" + u + ".logmel.npy").matrix<float>().transpose();
    bbs::speech::LogMel features;
    const Eigen::MatrixXf got = features.compute(audio.samples.data(), static_cast<bbs::index>(audio.samples.size()));
    REQUIRE(got.rows() == 40);
    REQUIRE(got.cols() == want.cols());
    REQUIRE(got.cols() == 1 + (static_cast<bbs::index>(audio.samples.size()) - 400) / 160);
    // Both sides compute in double and round to float: one or two float steps apart at most.
    const float worst = (got - want).cwiseAbs().maxCoeff();
    INFO("max |C++ - Python| " << worst);
    CHECK(worst <= 4e-6f * std::max(1.0f, want.cwiseAbs().maxCoeff()));
  }
}

TEST_CASE("log-mel frames pushed in chunks of any size are the frames of one push", "[speech]") {
  const bbs::speech::Audio audio = bbs::speech::read_wav(kSample + "/train/train_00000.wav");
  const auto n = static_cast<bbs::index>(audio.samples.size());
  bbs::speech::LogMel whole;
  const Eigen::MatrixXf want = whole.compute(audio.samples.data(), n);
  for (const bbs::index chunk : {bbs::index(1), bbs::index(37), bbs::index(160), bbs::index(401), n}) {
    INFO("chunks of " << chunk);
    bbs::speech::LogMel stream;
    Eigen::MatrixXf got(40, 0);
    for (bbs::index at = 0; at < n; at += chunk) {
      const Eigen::MatrixXf frames = stream.push(audio.samples.data() + at, std::min(chunk, n - at));
      got.conservativeResize(40, got.cols() + frames.cols());
      got.rightCols(frames.cols()) = frames;
    }
    CHECK(stream.frames_emitted() == want.cols());
    CHECK(bool(got == want));
  }
  // Fewer samples than a window: no frame yet; silence: the floor.
  bbs::speech::LogMel stream;
  const std::vector<float> zeros(399, 0.0f);
  CHECK(stream.push(zeros).cols() == 0);
  const Eigen::MatrixXf silent = stream.push(std::vector<float>(1, 0.0f));
  REQUIRE(silent.cols() == 1);
  CHECK(silent.maxCoeff() == static_cast<float>(std::log(1e-10)));
}

TEST_CASE("log-mel settings and audio files that cannot work are refused by name", "[speech][errors]") {
  const auto refused = [](auto edit, const char* what) {
    bbs::speech::LogMelConfig c;
    edit(c);
    BBS_CHECK_THROWS_CONTAINING(bbs::speech::LogMel{c}, bbs::config_error, what);
  };
  refused([](auto& c) { c.hop = 0; }, "hop 0");
  refused([](auto& c) { c.fft_size = 256; }, "fft_size 256 is smaller than the window 400");
  refused([](auto& c) { c.high_hz = 9000; }, "half the sample rate");
  refused([](auto& c) { c.bands = 0; }, "bands 0");
  bbs::speech::LogMel ok;
  CHECK_THROWS_AS(ok.push(nullptr, 3), bbs::shape_error);

  BBS_CHECK_THROWS_CONTAINING(bbs::speech::read_wav(kSample + "/missing.wav"), bbs::file_error, "missing.wav");
  const std::string dir =
      (std::filesystem::temp_directory_path() / ("bbs_test_speech_" + std::to_string(::getpid()))).string();
  std::filesystem::create_directories(dir);
  const std::string text = dir + "/not_audio.wav";
  std::ofstream(text) << "this is not audio";
  BBS_CHECK_THROWS_CONTAINING(bbs::speech::read_wav(text), bbs::file_error, "not_audio.wav");
  // The first 4,000 bytes of a file whose header declares more.
  std::ifstream in(kSample + "/train/train_00000.wav", std::ios::binary);
  std::vector<char> head(4000);
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  const std::string cut = dir + "/cut.wav";
  std::ofstream(cut, std::ios::binary).write(head.data(), static_cast<std::streamsize>(head.size()));
  BBS_CHECK_THROWS_CONTAINING(bbs::speech::read_wav(cut), bbs::file_error, "truncated");
  std::filesystem::remove_all(dir);
}

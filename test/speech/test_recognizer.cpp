// Streaming recognition (include/bbs/speech/recognizer.hpp) and its frame stacking: audio pushed
// in chunks of any size gives, on every backend, the logits and phones of one offline pass
// (LogMel over the whole signal, FrameStack, Sequential::forward, greedy CTC); models that are
// no phone recognizer are refused by name.
#include <string>
#include <vector>

#include <bbs/speech.hpp>

#include "source_tree.hpp"            // BBS_TEST_DATA_DIR, BBS_MODELS_DIR, BBS_CLI
#include "nn/nn_fixtures.hpp"         // BBS_CHECK_THROWS_CONTAINING, lstm_model_bytes
#include "speech/speech_testing.hpp"  // greedy_text

namespace {

const std::string kAudio = std::string(BBS_TEST_DATA_DIR) + "/speech/sample/val/val_00000.wav";

// Two log-mel frames per step (80 features), an LSTM 16 x 2 and 39 classes, random weights.
std::string recognizer_manifest(bbs::index inputs, bbs::index classes) {
  return "bbs-model 1\ninput sequence features=" + std::to_string(inputs) +
         "\nlstm name=rnn input=" + std::to_string(inputs) +
         " hidden=16 layers=2 bidirectional=0 bank=8 nnz=2\nlinear name=fc in=16 out=" + std::to_string(classes) +
         " bank=8 nnz=4\n";
}

template <typename T, typename Backend = bbs::backend::automatic>
bbs::nn::Sequential<T, Backend> recognizer_model(bbs::index inputs = 80, bbs::index classes = 39) {
  const std::vector<unsigned char> bytes =
      bbs_test::lstm_model_bytes(recognizer_manifest(inputs, classes), inputs, 16, 2, classes, 5);
  return bbs::nn::load_model_from_memory<T, Backend>(bytes.data(), bytes.size());
}

}  // namespace

TEST_CASE("FrameStack puts k frames in one step, frame k i first, from chunks of any size", "[speech]") {
  const bbs::index bands = 3, k = 4, n = 11;
  Eigen::MatrixXf frames(bands, n);
  for (bbs::index t = 0; t < n; ++t)
    for (bbs::index b = 0; b < bands; ++b) frames(b, t) = float(10 * t + b);
  bbs::speech::FrameStack whole(k, bands);
  const Eigen::MatrixXf want = whole.push(frames);
  REQUIRE(want.rows() == k * bands);
  REQUIRE(want.cols() == 2);  // frames 8, 9, 10 wait for a fourth
  for (bbs::index s = 0; s < want.cols(); ++s)
    for (bbs::index j = 0; j < k; ++j)
      for (bbs::index b = 0; b < bands; ++b) CHECK(want(j * bands + b, s) == frames(b, k * s + j));
  for (const bbs::index chunk : {bbs::index(1), bbs::index(3), bbs::index(5)}) {
    INFO("chunks of " << chunk);
    bbs::speech::FrameStack stack(k, bands);
    Eigen::MatrixXf got(k * bands, 0);
    for (bbs::index at = 0; at < n; at += chunk) {
      const Eigen::MatrixXf steps = stack.push(frames.middleCols(at, std::min(chunk, n - at)));
      got.conservativeResize(Eigen::NoChange, got.cols() + steps.cols());
      got.rightCols(steps.cols()) = steps;
    }
    CHECK(bool(got == want));
  }
  whole.reset();  // drops frames 8..10: the next four frames make a whole step
  CHECK(whole.push(frames.leftCols(4)).cols() == 1);
  BBS_CHECK_THROWS_CONTAINING(bbs::speech::FrameStack(0, bands), bbs::config_error, "0 frames per step");
  BBS_CHECK_THROWS_CONTAINING(whole.push(Eigen::MatrixXf(2, 1)), bbs::shape_error, "frames of 2 bands, expected 3");
}

TEMPLATE_TEST_CASE("Recognizer fed audio in chunks of any size gives the logits and phones of one offline pass",
                   "[speech][streaming]", float, bbs::fixed16<9>) {
  using A = bbs::activation_t<TestType>;
  const bbs::speech::Audio audio = bbs::speech::read_wav(kAudio);
  const auto n = static_cast<bbs::index>(audio.samples.size());
  bbs::for_each_backend([&](auto tag) {
    using Backend = decltype(tag);
    INFO("backend " << Backend::name);
    const auto model = recognizer_model<TestType, Backend>();
    // Offline: the whole signal's frames, stacked, through forward().
    bbs::speech::LogMel features;
    bbs::speech::FrameStack stack(2, 40);
    const Eigen::MatrixXf steps = stack.push(features.compute(audio.samples.data(), n));
    bbs::nn::Matrix<A> xs(steps.rows(), steps.cols());
    for (bbs::index i = 0; i < xs.size(); ++i) xs.data()[i] = bbs::nn::elementwise<A>::from_float(steps.data()[i]);
    const bbs::nn::Matrix<A> ys = model.forward(xs, 1);
    Eigen::MatrixXf offline(ys.cols(), ys.rows());
    for (bbs::index t = 0; t < ys.cols(); ++t)
      for (bbs::index c = 0; c < ys.rows(); ++c)
        offline(t, c) = static_cast<float>(bbs::nn::elementwise<A>::to_double(ys(c, t)));

    bbs::speech::Recognizer<TestType, Backend> recognizer(model);
    CHECK(recognizer.frames_per_step() == 2);
    CHECK(recognizer.seconds_per_step() == Approx(0.02));
    recognizer.keep_logits();
    recognizer.push(audio.samples);
    const Eigen::MatrixXf whole = recognizer.logits();
    const std::string text = recognizer.text();
    REQUIRE(whole.rows() == steps.cols());
    REQUIRE(recognizer.steps() == steps.cols());
    if constexpr (bbs::is_fixed16<TestType>::value) {
      CHECK(bool(whole == offline));
    } else {
      CHECK((whole - offline).cwiseAbs().maxCoeff() <= 1e-4f * (1.0f + offline.cwiseAbs().maxCoeff()));
    }
    CHECK(text == bbs_test::greedy_text(whole));
    CHECK(!text.empty());

    for (const bbs::index chunk : {bbs::index(1), bbs::index(37), bbs::index(160), bbs::index(1000)}) {
      INFO("chunks of " << chunk);
      recognizer.reset();
      if (chunk == 37) recognizer.warm_up();  // leaves no trace
      CHECK(recognizer.steps() == 0);
      CHECK(recognizer.text().empty());
      std::vector<bbs::speech::RecognizedPhone> decided;
      for (bbs::index at = 0; at < n; at += chunk) {
        const auto got = recognizer.push(audio.samples.data() + at, std::min(chunk, n - at));
        decided.insert(decided.end(), got.begin(), got.end());
      }
      CHECK(bool(recognizer.logits() == whole));  // bit for bit, whatever the chunks
      CHECK(recognizer.text() == text);
      REQUIRE(decided.size() == recognizer.phones_so_far().size());
      for (std::size_t i = 0; i < decided.size(); ++i) {
        CHECK(decided[i].step == recognizer.phones_so_far()[i].step);
        CHECK(decided[i].seconds == Approx(0.02 * double(decided[i].step)));
        if (i > 0) CHECK(decided[i].step > decided[i - 1].step);
      }
    }
  });
}

TEST_CASE("Recognizer refuses a model that is no phone recognizer, by what it takes and gives", "[speech]") {
  const auto odd_inputs = recognizer_model<float>(50, 39);
  BBS_CHECK_THROWS_CONTAINING(bbs::speech::Recognizer<float>{odd_inputs}, bbs::config_error,
                              "a phone recognizer takes a sequence of k x 40 log-mel features");
  const auto three_classes = recognizer_model<float>(80, 3);
  BBS_CHECK_THROWS_CONTAINING(bbs::speech::Recognizer<float>{three_classes}, bbs::config_error, "gives 39 classes");
}

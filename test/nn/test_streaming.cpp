// nn::Stream (include/bbs/nn/streaming.hpp): a model run one frame at a time computes what
// Sequential::forward computes on the whole sequence (fixed16 bit for bit, float within
// rounding), reset() starts over, and models or frames that cannot stream are refused by name.
#include <random>
#include <string>

#include <bbs/nn/streaming.hpp>

#include "nn/nn_fixtures.hpp"

namespace {

const std::string kFramewise =
    "bbs-model 1\ninput sequence features=5\nlstm name=rnn input=5 hidden=8 layers=2 bidirectional=0 bank=4 nnz=2\n"
    "relu\nlinear name=fc in=8 out=3 bank=4 nnz=2\n";

template <typename T>
bbs::nn::Sequential<T> framewise_model() {
  const std::vector<unsigned char> bytes = bbs_test::lstm_model_bytes(kFramewise, 5, 8, 2, 3);
  return bbs::nn::load_model_from_memory<T>(bytes.data(), bytes.size());
}

}  // namespace

TEMPLATE_TEST_CASE("a model streamed frame by frame computes its whole-sequence outputs", "[nn][streaming]", float,
                   bbs::fixed16<12>) {
  using A = bbs::activation_t<TestType>;
  const auto model = framewise_model<TestType>();
  const bbs::index frames = 7, batch = 2;
  const Eigen::MatrixXf xf = bbs_test::random_dense<float>(5, frames * batch, 3) * 0.7f;
  bbs::nn::Matrix<A> xs(5, frames * batch);
  for (bbs::index i = 0; i < xs.size(); ++i) xs.data()[i] = bbs::nn::elementwise<A>::from_float(xf.data()[i]);
  const bbs::nn::Matrix<A> want = model.forward(xs, batch);
  REQUIRE(want.rows() == 3);
  REQUIRE(want.cols() == frames * batch);

  bbs::nn::Stream<TestType> stream(model);
  CHECK(stream.input_size() == 5);
  CHECK(stream.output_size() == 3);
  for (int pass = 0; pass < 2; ++pass) {  // the second pass after reset() starts over
    INFO("pass " << pass);
    double worst = 0;
    for (bbs::index t = 0; t < frames; ++t) {
      const bbs::nn::Matrix<A> y = stream.step(xs.middleCols(t * batch, batch));
      REQUIRE(y.rows() == 3);
      REQUIRE(y.cols() == batch);
      for (bbs::index i = 0; i < y.size(); ++i) {
        const double d =
            std::abs(bbs::nn::elementwise<A>::to_double(y.data()[i]) -
                     bbs::nn::elementwise<A>::to_double(want.middleCols(t * batch, batch).eval().data()[i]));
        worst = std::max(worst, d);
      }
    }
    CHECK(stream.frames() == frames);
    if constexpr (std::is_same<TestType, float>::value) {
      CHECK(worst <= 1e-5);
    } else {
      CHECK(worst == 0.0);
    }
    stream.reset();
  }
}

TEST_CASE("models and frames that cannot stream are refused by name", "[nn][streaming][errors]") {
  const auto model = framewise_model<float>();
  bbs::nn::Stream<float> stream(model);
  CHECK_THROWS_WITH(stream.step(Eigen::MatrixXf::Zero(4, 1)), Catch::Contains("expected 5 rows"));
  CHECK_THROWS_AS(stream.step(Eigen::MatrixXf::Zero(5, 0)), bbs::shape_error);
  stream.step(Eigen::MatrixXf::Zero(5, 2));
  CHECK_THROWS_WITH(stream.step(Eigen::MatrixXf::Zero(5, 3)), Catch::Contains("the batch of its first frame"));
  stream.reset();
  CHECK(stream.step(Eigen::MatrixXf::Zero(5, 3)).cols() == 3);

  const auto refused = [](const std::string& manifest, const char* what) {
    const std::vector<unsigned char> bytes = bbs_test::lstm_model_bytes(manifest, 5, 8, 1, 3);
    const auto m = bbs::nn::load_model_from_memory<float>(bytes.data(), bytes.size());
    CHECK_THROWS_AS(bbs::nn::Stream<float>(m), bbs::config_error);
    CHECK_THROWS_WITH(bbs::nn::Stream<float>(m), Catch::Contains(what));
  };
  refused(
      "bbs-model 1\ninput sequence features=5\nlstm name=rnn input=5 hidden=8 layers=1 bidirectional=0 bank=4 "
      "nnz=2\nlast_step\nlinear name=fc in=8 out=3 bank=4 nnz=2\n",
      "layer 2 (last_step) reduces the sequence");
}

TEMPLATE_TEST_CASE("a stream's state copies out and back: branches and other streams continue exactly",
                   "[nn][streaming]", float, bbs::fixed16<12>) {
  using A = bbs::activation_t<TestType>;
  using Stream = bbs::nn::Stream<TestType>;
  const auto model = framewise_model<TestType>();
  const bbs::index frames = 9, batch = 3, split = 4;
  const Eigen::MatrixXf xf = bbs_test::random_dense<float>(5, frames * batch, 11) * 0.8f;
  bbs::nn::Matrix<A> xs(5, frames * batch);
  for (bbs::index i = 0; i < xs.size(); ++i) xs.data()[i] = bbs::nn::elementwise<A>::from_float(xf.data()[i]);
  const auto frame = [&](bbs::index t) { return bbs::nn::Matrix<A>(xs.middleCols(t * batch, batch)); };
  const auto run_rest = [&](Stream& s) {
    std::vector<bbs::nn::Matrix<A>> ys;
    for (bbs::index t = split; t < frames; ++t) ys.push_back(s.step(frame(t)));
    return ys;
  };

  Stream stream(model);
  const typename Stream::State zero = stream.state();
  CHECK(zero.frames == 0);
  CHECK(zero.layers.size() == model.size());
  for (bbs::index t = 0; t < split; ++t) stream.step(frame(t));
  const typename Stream::State at_split = stream.state();
  CHECK(at_split.frames == split);
  CHECK(at_split.batch == batch);
  CHECK(at_split.layers[0].has_value());   // the LSTM
  CHECK(!at_split.layers[1].has_value());  // relu: frame-wise
  const auto want = run_rest(stream);

  // Back to the split on the same stream, and on a second stream over the same model.
  stream.set_state(at_split);
  CHECK(stream.frames() == split);
  const auto again = run_rest(stream);
  Stream other(model);
  other.step(frame(frames - 1));  // some unrelated history, replaced below
  other.set_state(at_split);
  const auto elsewhere = run_rest(other);
  REQUIRE(again.size() == want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    INFO("frame " << split + static_cast<bbs::index>(i));
    CHECK(again[i] == want[i]);  // bit for bit in float too: the same operations on the same state
    CHECK(elsewhere[i] == want[i]);
  }

  // A branch fed other frames departs from the original; the original's copy is unaffected.
  Stream branch(model);
  branch.set_state(at_split);
  const bbs::nn::Matrix<A> other_frame = frame(0);
  CHECK(branch.step(other_frame) != want[0]);
  stream.set_state(at_split);
  CHECK(stream.step(frame(split)) == want[0]);

  // The zero state (frames 0) restarts the sequence, as reset() does.
  stream.set_state(zero);
  CHECK(stream.step(frame(0)) == Stream(model).step(frame(0)));
}

TEST_CASE("set_state refuses a state that does not fit the model, by name, and keeps its own",
          "[nn][streaming][errors]") {
  using Stream = bbs::nn::Stream<float>;
  using LstmState = bbs::nn::Lstm<float>::State;
  const auto model = framewise_model<float>();
  Stream stream(model);
  const Eigen::MatrixXf x = bbs_test::random_dense<float>(5, 2, 5);
  stream.step(x);
  const Stream::State good = stream.state();
  const Eigen::MatrixXf want = Stream(stream).step(x);

  Stream::State s = good;
  s.layers.pop_back();
  CHECK_THROWS_AS(stream.set_state(s), bbs::config_error);
  CHECK_THROWS_WITH(stream.set_state(s), Catch::Contains("the state has 2 layers, the model 3"));

  s = good;
  s.layers[0] = std::any(42);
  CHECK_THROWS_WITH(stream.set_state(s),
                    Catch::Contains("layer 1 (lstm) needs its LSTM state") && Catch::Contains("another kind"));
  s.layers[0].reset();
  CHECK_THROWS_WITH(stream.set_state(s), Catch::Contains("the given state has none"));

  s = good;
  std::any_cast<LstmState&>(s.layers[0]).pop_back();
  CHECK_THROWS_WITH(stream.set_state(s), Catch::Contains("layer 1: the state has 1 stacked layers, the LSTM 2"));

  s = good;
  s.batch = 3;  // the matrices hold a batch of 2
  CHECK_THROWS_AS(stream.set_state(s), bbs::shape_error);

  s = good;
  s.layers[1] = std::any(good.layers[0]);
  CHECK_THROWS_WITH(stream.set_state(s), Catch::Contains("layer 2 (relu) has no state"));

  s = good;
  s.batch = 0;
  CHECK_THROWS_WITH(stream.set_state(s), Catch::Contains("1 frames of batch 0"));

  // None of these touched the stream: it continues from frame 1.
  CHECK(stream.frames() == 1);
  CHECK(stream.step(x) == want);
}

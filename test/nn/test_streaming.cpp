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

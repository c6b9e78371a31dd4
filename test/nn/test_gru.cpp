// GRU (include/bbs/nn/gru.hpp) against PyTorch's torch.nn.GRU outputs in test/data/nn/
// (tools/fixtures/make_nn_fixtures.py): dense bidirectional and pruned two-layer, float and fixed16<12>;
// streaming against whole sequences; every backend against the reference; shape errors.
#include <cstdio>

#include "nn/nn_fixtures.hpp"

namespace {

using bbs::index;
using bbs_test::fixture_columns;
using bbs_test::RecurrentCase;
using Q = bbs::fixed16<12>;

std::vector<RecurrentCase> gru_cases() {
  return {{"gru_dense", 2, true, 3, bbs::BankConfig(4, 4)}, {"gru_pruned", 2, false, 2, bbs::BankConfig(8, 2)}};
}

template <typename T, typename Backend>
typename bbs::nn::Gru<T, Backend>::State initial_state(const RecurrentCase& c) {
  typename bbs::nn::Gru<T, Backend>::State s;
  for (const auto& h : bbs_test::state_blocks<bbs::activation_t<T>>(c.name, "h0", c.batch)) s.push_back({h});
  return s;
}

struct GruResult {
  Eigen::MatrixXd output;
  std::vector<Eigen::MatrixXd> h;
};

template <typename T, typename Backend>
GruResult run_gru(const RecurrentCase& c) {
  using A = bbs::activation_t<T>;
  const auto gru = bbs::nn::Gru<T, Backend>::from_dense(bbs_test::load_weights(c), c.layers, c.bidirectional, c.config);
  auto state = initial_state<T, Backend>(c);
  GruResult r;
  r.output = bbs_test::to_double<A>(
      gru.forward(bbs_test::to_activations<A>(fixture_columns(c.name, "input")), c.batch, state));
  for (const auto& s : state) r.h.push_back(bbs_test::to_double<A>(s.h));
  return r;
}

double difference_from_pytorch(const RecurrentCase& c, const GruResult& r) {
  double worst = bbs_test::max_abs_difference(r.output, fixture_columns(c.name, "output").cast<double>());
  const auto hn = bbs_test::state_blocks<float>(c.name, "h_n", c.batch);
  REQUIRE(hn.size() == r.h.size());
  for (std::size_t i = 0; i < hn.size(); ++i) {
    worst = std::max(worst, bbs_test::max_abs_difference(r.h[i], hn[i].cast<double>()));
  }
  return worst;
}

index frames_of(const RecurrentCase& c) { return fixture_columns(c.name, "input").cols() / c.batch; }

}  // namespace

TEST_CASE("GRU in float matches PyTorch", "[nn][gru]") {
  for (const auto& c : gru_cases()) {
    const double tol =
        bbs_test::float_tolerance(c, bbs_test::widest_input_of(c), bbs_test::output_size_of(c), frames_of(c));
    const double err = difference_from_pytorch(c, run_gru<float, bbs::backend::reference>(c));
    std::printf("gru float %s: max |bbs - PyTorch| = %.3g (tolerance %.3g)\n", c.name.c_str(), err, tol);
    INFO(c.name << ": max |bbs - PyTorch| " << err << ", tolerance " << tol);
    CHECK(err <= tol);
  }
}

TEST_CASE("GRU in fixed16<12> matches PyTorch within quantization error", "[nn][gru][fixed]") {
  for (const auto& c : gru_cases()) {
    const double tol = bbs_test::fixed_tolerance(c, bbs_test::widest_input_of(c), bbs_test::output_size_of(c));
    const double err = difference_from_pytorch(c, run_gru<Q, bbs::backend::reference>(c));
    std::printf("gru fixed16<12> %s: max |bbs - PyTorch| = %.3g (tolerance %.3g)\n", c.name.c_str(), err, tol);
    INFO(c.name << ": max |bbs - PyTorch| " << err << ", tolerance " << tol);
    CHECK(err <= tol);
  }
}

TEST_CASE("GRU streaming frame by frame gives the whole-sequence result", "[nn][gru]") {
  const auto check = [](auto value_tag, const RecurrentCase& c) {
    using T = decltype(value_tag);
    using A = bbs::activation_t<T>;
    using Backend = bbs::backend::reference;
    const auto gru = bbs::nn::Gru<T, Backend>::from_dense(bbs_test::load_weights(c), c.layers, false, c.config);
    const auto xs = bbs_test::to_activations<A>(fixture_columns(c.name, "input"));
    auto whole_state = initial_state<T, Backend>(c);
    const auto whole = gru.forward(xs, c.batch, whole_state);
    auto stream_state = initial_state<T, Backend>(c);
    bbs::nn::Matrix<A> streamed(whole.rows(), whole.cols());
    for (bbs::index t = 0; t < frames_of(c); ++t) {
      streamed.middleCols(t * c.batch, c.batch) = gru.step(xs.middleCols(t * c.batch, c.batch), stream_state);
    }
    CHECK(streamed == whole);
    for (std::size_t i = 0; i < whole_state.size(); ++i) CHECK(stream_state[i].h == whole_state[i].h);
  };
  const RecurrentCase c = gru_cases()[1];
  check(float{}, c);
  check(Q{}, c);
}

TEST_CASE("GRU on every backend matches the reference backend", "[nn][gru][backend]") {
  for (const auto& c : gru_cases()) {
    const auto want_float = run_gru<float, bbs::backend::reference>(c);
    const auto want_fixed = run_gru<Q, bbs::backend::reference>(c);
    const double tol =
        bbs_test::float_tolerance(c, bbs_test::widest_input_of(c), bbs_test::output_size_of(c), frames_of(c));
    bbs::for_each_backend([&](auto backend) {
      using Backend = decltype(backend);
      INFO(c.name << " on " << Backend::name);
      CHECK(bbs_test::max_abs_difference(run_gru<float, Backend>(c).output, want_float.output) <= tol);
      const auto got_fixed = run_gru<Q, Backend>(c);
      CHECK(got_fixed.output == want_fixed.output);
      for (std::size_t i = 0; i < want_fixed.h.size(); ++i) CHECK(got_fixed.h[i] == want_fixed.h[i]);
    });
  }
}

TEST_CASE("GRU shape errors say what was expected and what was found", "[nn][gru][errors]") {
  using Cell = bbs::nn::GruCell<float, bbs::backend::reference>;
  const RecurrentCase c = gru_cases()[1];  // input 16, hidden 16, 2 layers
  const auto weights = bbs_test::load_weights(c);
  const auto gru = bbs::nn::Gru<float, bbs::backend::reference>::from_dense(weights, 2, false, c.config);
  auto state = gru.zero_state(1);
  BBS_CHECK_THROWS_CONTAINING(gru.step(Eigen::MatrixXf::Zero(15, 1), state), bbs::shape_error,
                              "the frame is 15 x 1, expected input_size 16 rows");
  BBS_CHECK_THROWS_CONTAINING(gru.step(Eigen::MatrixXf::Zero(16, 2), state), bbs::shape_error,
                              "state h (hidden size x batch) is 16 x 1, expected 16 x 2");
  auto bad = weights[0];
  bad.weight_hh = Eigen::MatrixXf::Zero(48, 15);
  BBS_CHECK_THROWS_CONTAINING(Cell::from_dense(bad, c.config), bbs::shape_error,
                              "weight_hh (3 hidden x hidden) is 48 x 15, expected 48 x 16");
  bad = weights[0];
  bad.bias_hh = Eigen::VectorXf::Zero(47);
  BBS_CHECK_THROWS_CONTAINING(Cell::from_dense(bad, c.config), bbs::shape_error,
                              "bias_hh is 47 x 1, expected 48 rows like weight_ih and weight_hh and bias_ih");
  bad = weights[0];
  bad.weight_hr = Eigen::MatrixXf::Zero(4, 16);
  BBS_CHECK_THROWS_CONTAINING(Cell::from_dense(bad, c.config), bbs::shape_error,
                              "weight_hr is 4 x 16, expected empty (a GRU has no projection)");
  bad = weights[0];
  bad.weight_ih = Eigen::MatrixXf::Zero(47, 16);
  BBS_CHECK_THROWS_CONTAINING(Cell::from_dense(bad, c.config), bbs::shape_error,
                              "weight_ih is 47 x 16, expected 48 rows like weight_hh and bias_ih and bias_hh");
  // A transposed weight_ih (16 x 48) is blamed, not weight_hh.
  bad = weights[0];
  bad.weight_ih = Eigen::MatrixXf::Zero(16, 48);
  BBS_CHECK_THROWS_CONTAINING(Cell::from_dense(bad, c.config), bbs::shape_error,
                              "weight_ih is 16 x 48, expected 48 rows like weight_hh and bias_ih and bias_hh (it looks "
                              "transposed)");
  BBS_CHECK_THROWS_CONTAINING(gru.step(Eigen::MatrixXf::Zero(16, 0), state), bbs::shape_error,
                              "the frame has no columns (16 x 0)");
}

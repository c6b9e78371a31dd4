// LSTM (include/bbs/nn/lstm.hpp, recurrent.hpp) against PyTorch's torch.nn.LSTM outputs in
// test/data/nn/ (tools/fixtures/make_nn_fixtures.py): dense and pruned, with and without projection,
// uni- and bidirectional, float and fixed16<12>; streaming against whole sequences; every
// backend against the reference; shape errors. The fixed-point sigmoid / tanh rule has its own
// tests: test/core/test_fixed_activation.cpp and test/backend/test_activation.cpp.
#include <cstdio>

#include "source_tree.hpp"  // BBS_TEST_DATA_DIR, BBS_MODELS_DIR, BBS_CLI
#include "nn/nn_fixtures.hpp"

namespace {

using bbs::index;
using bbs_test::fixed_tolerance;
using bbs_test::fixture;
using bbs_test::fixture_columns;
using bbs_test::float_tolerance;
using bbs_test::load_weights;
using bbs_test::output_size_of;
using bbs_test::RecurrentCase;
using bbs_test::state_blocks;
using bbs_test::widest_input_of;
using Q = bbs::fixed16<12>;

std::vector<RecurrentCase> lstm_cases() {
  return {{"lstm_dense", 2, true, 3, bbs::BankConfig(4, 4)},
          {"lstm_proj", 2, false, 2, bbs::BankConfig(4, 4), true},
          {"lstm_pruned", 2, true, 2, bbs::BankConfig(8, 2)},
          {"lstm_pruned_proj", 1, false, 1, bbs::BankConfig(8, 2), true}};
}

template <typename T, typename Backend>
typename bbs::nn::Lstm<T, Backend>::State initial_state(const RecurrentCase& c) {
  using A = bbs::activation_t<T>;
  const auto h0 = state_blocks<A>(c.name, "h0", c.batch);
  const auto c0 = state_blocks<A>(c.name, "c0", c.batch);
  typename bbs::nn::Lstm<T, Backend>::State s;
  for (std::size_t i = 0; i < h0.size(); ++i) s.push_back({h0[i], c0[i]});
  return s;
}

struct LstmResult {
  Eigen::MatrixXd output;
  std::vector<Eigen::MatrixXd> h;
  std::vector<Eigen::MatrixXd> c;
};

template <typename T, typename Backend>
LstmResult run_lstm(const RecurrentCase& c) {
  using A = bbs::activation_t<T>;
  const auto lstm = bbs::nn::Lstm<T, Backend>::from_dense(load_weights(c), c.layers, c.bidirectional, c.config);
  auto state = initial_state<T, Backend>(c);
  const auto x = bbs_test::to_activations<A>(fixture_columns(c.name, "input"));
  LstmResult r;
  r.output = bbs_test::to_double<A>(lstm.forward(x, c.batch, state));
  for (const auto& s : state) {
    r.h.push_back(bbs_test::to_double<A>(s.h));
    r.c.push_back(bbs_test::to_double<A>(s.c));
  }
  return r;
}

/// Largest difference of output, h_n and c_n from PyTorch's.
double difference_from_pytorch(const RecurrentCase& c, const LstmResult& r) {
  double worst = bbs_test::max_abs_difference(r.output, fixture_columns(c.name, "output").cast<double>());
  const auto hn = state_blocks<float>(c.name, "h_n", c.batch);
  const auto cn = state_blocks<float>(c.name, "c_n", c.batch);
  REQUIRE(hn.size() == r.h.size());
  for (std::size_t i = 0; i < hn.size(); ++i) {
    worst = std::max(worst, bbs_test::max_abs_difference(r.h[i], hn[i].cast<double>()));
    worst = std::max(worst, bbs_test::max_abs_difference(r.c[i], cn[i].cast<double>()));
  }
  return worst;
}

}  // namespace

TEST_CASE("LSTM in float matches PyTorch", "[nn][lstm]") {
  for (const auto& c : lstm_cases()) {
    const auto r = run_lstm<float, bbs::backend::reference>(c);
    const Eigen::MatrixXf x = fixture_columns(c.name, "input");
    const double tol = float_tolerance(c, widest_input_of(c), output_size_of(c), x.cols() / c.batch);
    const double err = difference_from_pytorch(c, r);
    std::printf("lstm float %s: max |bbs - PyTorch| = %.3g (tolerance %.3g)\n", c.name.c_str(), err, tol);
    INFO(c.name << ": max |bbs - PyTorch| " << err << ", tolerance " << tol);
    CHECK(err <= tol);
  }
}

TEST_CASE("LSTM in fixed16<12> matches PyTorch within quantization error", "[nn][lstm][fixed]") {
  for (const auto& c : lstm_cases()) {
    const auto r = run_lstm<Q, bbs::backend::reference>(c);
    const double err = difference_from_pytorch(c, r);
    const double tol = fixed_tolerance(c, widest_input_of(c), output_size_of(c));
    std::printf("lstm fixed16<12> %s: max |bbs - PyTorch| = %.3g (tolerance %.3g)\n", c.name.c_str(), err, tol);
    INFO(c.name << ": max |bbs - PyTorch| " << err << ", tolerance " << tol);
    CHECK(err <= tol);
  }
}

TEST_CASE("LSTM streaming frame by frame gives the whole-sequence result", "[nn][lstm]") {
  const auto check = [](auto value_tag, const RecurrentCase& c) {
    using T = decltype(value_tag);
    using A = bbs::activation_t<T>;
    using Backend = bbs::backend::reference;
    const auto lstm = bbs::nn::Lstm<T, Backend>::from_dense(load_weights(c), c.layers, c.bidirectional, c.config);
    const auto xs = bbs_test::to_activations<A>(fixture_columns(c.name, "input"));
    auto whole_state = initial_state<T, Backend>(c);
    const auto whole = lstm.forward(xs, c.batch, whole_state);
    auto stream_state = initial_state<T, Backend>(c);
    bbs::nn::Matrix<A> streamed(whole.rows(), whole.cols());
    for (bbs::index t = 0; t < xs.cols() / c.batch; ++t) {
      streamed.middleCols(t * c.batch, c.batch) = lstm.step(xs.middleCols(t * c.batch, c.batch), stream_state);
    }
    // The reference backend sums every column in the same order in SpMV and SpMM: same bits.
    CHECK(streamed == whole);
    for (std::size_t i = 0; i < whole_state.size(); ++i) {
      CHECK(stream_state[i].h == whole_state[i].h);
      CHECK(stream_state[i].c == whole_state[i].c);
    }
  };
  for (const auto& c : lstm_cases()) {
    if (c.bidirectional) continue;
    check(float{}, c);
    check(Q{}, c);
  }
}

TEST_CASE("LSTM on every backend matches the reference backend", "[nn][lstm][backend]") {
  for (const auto& c : lstm_cases()) {
    const auto want_float = run_lstm<float, bbs::backend::reference>(c);
    const auto want_fixed = run_lstm<Q, bbs::backend::reference>(c);
    const Eigen::MatrixXf x = fixture_columns(c.name, "input");
    const double tol = float_tolerance(c, widest_input_of(c), output_size_of(c), x.cols() / c.batch);
    bbs::for_each_backend([&](auto backend) {
      using Backend = decltype(backend);
      INFO(c.name << " on " << Backend::name);
      const auto got_float = run_lstm<float, Backend>(c);
      CHECK(bbs_test::max_abs_difference(got_float.output, want_float.output) <= tol);
      // Fixed-point kernels are bit-exact across backends, and so is everything after them.
      const auto got_fixed = run_lstm<Q, Backend>(c);
      CHECK(got_fixed.output == want_fixed.output);
      for (std::size_t i = 0; i < want_fixed.h.size(); ++i) {
        CHECK(got_fixed.h[i] == want_fixed.h[i]);
        CHECK(got_fixed.c[i] == want_fixed.c[i]);
      }
    });
  }
}

TEST_CASE("LSTM in bfloat16 weights stays within the storage rounding of float", "[nn][lstm]") {
  const RecurrentCase c = lstm_cases()[2];
  const auto want = run_lstm<float, bbs::backend::reference>(c);
  const auto got = run_lstm<Eigen::bfloat16, bbs::backend::simd>(c);
  // Each weight moves by at most storage_epsilon / 2 relative, so a gate by that times sum |w x|
  // (at most a few units here); per layer, with the same contraction argument as fixed point.
  const double tol = bbs::value_traits<Eigen::bfloat16>::storage_epsilon / 2 * 4.0 * static_cast<double>(c.layers);
  const double err = bbs_test::max_abs_difference(got.output, want.output);
  std::printf("lstm bfloat16 %s: max |bbs bfloat16 - bbs float| = %.3g (tolerance %.3g)\n", c.name.c_str(), err, tol);
  CHECK(err <= tol);
  CHECK(err > 0);  // the weights really were rounded
}

TEST_CASE("LSTM shape errors say what was expected and what was found", "[nn][lstm][errors]") {
  using Cell = bbs::nn::LstmCell<float, bbs::backend::reference>;
  const RecurrentCase c = lstm_cases()[1];  // lstm_proj: input 6, hidden 8, proj 5, 2 layers
  const auto weights = load_weights(c);
  const auto lstm = bbs::nn::Lstm<float, bbs::backend::reference>::from_dense(weights, 2, false, c.config);
  auto state = lstm.zero_state(2);

  BBS_CHECK_THROWS_CONTAINING(lstm.forward(Eigen::MatrixXf::Zero(7, 4), 2, state), bbs::shape_error,
                              "the sequence is 7 x 4, expected input_size 6 rows");
  // A transposed frame is the input's fault, not the state's (whose batch the columns set).
  BBS_CHECK_THROWS_CONTAINING(
      lstm.step(Eigen::MatrixXf::Zero(2, 6), state), bbs::shape_error,
      "the frame is 2 x 6, expected input_size 6 rows (features x columns); it looks transposed");
  BBS_CHECK_THROWS_CONTAINING(lstm.step(Eigen::MatrixXf::Zero(6, 0), state), bbs::shape_error,
                              "the frame has no columns (6 x 0)");
  BBS_CHECK_THROWS_CONTAINING(lstm.forward(Eigen::MatrixXf::Zero(6, 0), 2, state), bbs::shape_error,
                              "the sequence has no columns (6 x 0)");
  BBS_CHECK_THROWS_CONTAINING(lstm.forward(Eigen::MatrixXf::Zero(6, 5), 2, state), bbs::shape_error,
                              "the sequence has 5 columns, expected a multiple of the batch 2");
  BBS_CHECK_THROWS_CONTAINING(lstm.forward(Eigen::MatrixXf::Zero(6, 4), 0, state), bbs::shape_error,
                              "batch is 0, expected at least 1");
  BBS_CHECK_THROWS_CONTAINING(lstm.forward(Eigen::MatrixXf::Zero(6, 3), 3, state), bbs::shape_error,
                              "state h (output size x batch) is 5 x 2, expected 5 x 3");
  // A bad state of layer 1 is found before layer 0 runs: nothing of the state changes.
  auto bad_state = lstm.zero_state(2);
  bad_state[0].h.setConstant(0.25f);
  bad_state[1].c.resize(8, 3);
  const auto before = bad_state[0];
  BBS_CHECK_THROWS_CONTAINING(lstm.forward(Eigen::MatrixXf::Ones(6, 4), 2, bad_state), bbs::shape_error,
                              "state c (hidden size x batch) is 8 x 3, expected 8 x 2");
  CHECK(bad_state[0].h == before.h);
  CHECK(bad_state[0].c == before.c);
  auto short_state = state;
  short_state.pop_back();
  BBS_CHECK_THROWS_CONTAINING(lstm.forward(Eigen::MatrixXf::Zero(6, 4), 2, short_state), bbs::shape_error,
                              "the state has 1 entries, expected 2 (layers x directions)");

  auto bad = weights[0];
  bad.weight_hh = Eigen::MatrixXf::Zero(32, 8);  // needs proj_size 5 columns
  BBS_CHECK_THROWS_CONTAINING(Cell::from_dense(bad, c.config), bbs::shape_error,
                              "weight_hh (4 hidden x output size) is 32 x 8, expected 32 x 5");
  bad = weights[0];
  bad.bias_hh = Eigen::VectorXf::Zero(31);
  BBS_CHECK_THROWS_CONTAINING(Cell::from_dense(bad, c.config), bbs::shape_error,
                              "bias_ih has 32 entries and bias_hh 31");
  bad = weights[0];
  bad.weight_ih = Eigen::MatrixXf::Zero(30, 6);
  BBS_CHECK_THROWS_CONTAINING(Cell::from_dense(bad, c.config), bbs::shape_error,
                              "weight_ih is 30 x 6, expected 32 rows like weight_hh and the bias");
  // A transposed weight_ih is blamed, not weight_hh (the hidden size is not inferred from it).
  bad = weights[0];
  bad.weight_ih = weights[0].weight_ih.transpose();
  BBS_CHECK_THROWS_CONTAINING(Cell::from_dense(bad, c.config), bbs::shape_error,
                              "weight_ih is 6 x 32, expected 32 rows like weight_hh and the bias");
  bad = weights[0];
  bad.weight_hh = weights[0].weight_hh.transpose();
  BBS_CHECK_THROWS_CONTAINING(Cell::from_dense(bad, c.config), bbs::shape_error,
                              "weight_hh is 5 x 32, expected 32 rows like weight_ih and the bias");
  // All three agree on a count that is not a multiple of the gates.
  bad = weights[0];
  bad.weight_ih = Eigen::MatrixXf::Zero(30, 6);
  bad.weight_hh = Eigen::MatrixXf::Zero(30, 5);
  bad.bias_ih = bad.bias_hh = Eigen::VectorXf::Zero(30);
  BBS_CHECK_THROWS_CONTAINING(Cell::from_dense(bad, c.config), bbs::shape_error,
                              "weight_ih has 30 rows, expected a positive multiple of 4 (gates i, f, g, o)");

  // Layers whose sizes do not chain: layer 1 reads 5 rows (proj 5), give it a cell reading 6.
  std::vector<Cell> cells{Cell::from_dense(weights[0], c.config), Cell::from_dense(weights[0], c.config)};
  BBS_CHECK_THROWS_CONTAINING((bbs::nn::Lstm<float, bbs::backend::reference>(cells, 2, false)), bbs::shape_error,
                              "layer 1 direction 0 has input size 6, expected 5");
  BBS_CHECK_THROWS_CONTAINING((bbs::nn::Lstm<float, bbs::backend::reference>(cells, 3, false)), bbs::config_error,
                              "2 cells, expected num_layers 3 x directions 1 = 3");

  const auto bidirectional = bbs::nn::Lstm<float, bbs::backend::reference>::from_dense(load_weights(lstm_cases()[0]), 2,
                                                                                       true, lstm_cases()[0].config);
  auto bstate = bidirectional.zero_state(1);
  BBS_CHECK_THROWS_CONTAINING(bidirectional.step(Eigen::MatrixXf::Zero(6, 1), bstate), bbs::config_error,
                              "step() needs a unidirectional stack");
}

TEST_CASE("LSTM weights from an exported state_dict, by PyTorch's names", "[nn][lstm][state_dict]") {
  const RecurrentCase c = lstm_cases()[1];  // lstm_proj; state_dict.npz holds it under "lstm."
  const auto sd = bbs::nn::StateDict::load_npz(std::string(BBS_TEST_DATA_DIR) + "/nn/" + c.name + "/state_dict.npz");
  CHECK(sd.contains("lstm.weight_hr_l1"));
  const auto from_npz = bbs::nn::Lstm<float, bbs::backend::reference>::from_dense(
      bbs::nn::recurrent_weights(sd, "lstm.", 2, false, true), 2, false, c.config);
  auto state = initial_state<float, bbs::backend::reference>(c);
  const Eigen::MatrixXf got = from_npz.forward(fixture_columns(c.name, "input"), c.batch, state);
  // The same weights as the separate .npy files: the same bits as the fixture-built LSTM.
  CHECK(got.cast<double>() == run_lstm<float, bbs::backend::reference>(c).output);

  BBS_CHECK_THROWS_CONTAINING(bbs::nn::recurrent_weights(sd, "lstm.", 3, false, true), bbs::file_error,
                              "no tensor \"lstm.weight_ih_l2\"; it holds lstm.bias_hh_l0");
  BBS_CHECK_THROWS_CONTAINING(bbs::nn::recurrent_weights(sd, "rnn.", 1, false, true), bbs::file_error,
                              "no tensor \"rnn.weight_ih_l0\"");
  BBS_CHECK_THROWS_CONTAINING(bbs::nn::recurrent_weights(sd, "lstm.", 1, true, true), bbs::file_error,
                              "no tensor \"lstm.weight_ih_l0_reverse\"");
  // Read without its projection, weight_hh (32 x 5) does not fit hidden size 8.
  const auto no_projection = bbs::nn::recurrent_weights(sd, "lstm.", 2, false, false);
  BBS_CHECK_THROWS_CONTAINING(bbs::nn::LstmCell<float>::from_dense(no_projection[0], c.config), bbs::shape_error,
                              "weight_hh (4 hidden x output size) is 32 x 5, expected 32 x 8");
  BBS_CHECK_THROWS_CONTAINING(sd.vector("lstm.weight_ih_l0"), bbs::shape_error,
                              "tensor \"lstm.weight_ih_l0\" has 2 dimensions, expected 1 (a vector)");
}

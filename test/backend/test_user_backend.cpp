// A backend defined outside bbs, as a user would write one: a tag derived from the reference
// backend, in the user's own namespace, overriding SpMV and the sigmoid only. Checks the fallback
// by tag inheritance (backend/common/requires_backend.hpp): the kernel dispatch and the layers
// reach the overrides through argument-dependent lookup, the most derived overload wins, and
// everything the backend does not write runs on its parent with the same results.
#include <atomic>
#include <vector>

#include "testbed.hpp"

namespace user {

std::atomic<int> spmv_calls{0};
std::atomic<int> sigmoid_calls{0};

/// Counts its SpMVs and sigmoids and runs them on the reference backend.
struct counting : bbs::backend::reference {
  static constexpr const char* name = "counting";
};

template <typename Backend, typename T>
void spmv(Backend, bbs::backend::requires_backend<counting>, const bbs::CsbView<T>& a, bbs::scalar_t<T> alpha,
          const bbs::activation_t<T>* x, bbs::scalar_t<T> beta, bbs::activation_t<T>* y) {
  ++spmv_calls;
  spmv(bbs::backend::reference{}, bbs::backend::reference{}, a, alpha, x, beta, y);
}

template <typename Backend, typename A>
void sigmoid_in_place(Backend, bbs::backend::requires_backend<counting>, A* p, bbs::index n) {
  ++sigmoid_calls;
  sigmoid_in_place(bbs::backend::reference{}, bbs::backend::reference{}, p, n);
}

}  // namespace user

TEST_CASE("a user's backend overrides what it writes and inherits the rest", "[backend][dispatch]") {
  const bbs_test::Shape s{37, 70, bbs::BankConfig(16, 4)};
  const auto a = bbs_test::random_bbs<float>(s, 3);
  const Eigen::VectorXf x = bbs_test::random_vector<float>(s.cols, 4);
  const Eigen::VectorXf xt = bbs_test::random_vector<float>(s.rows, 5);
  const Eigen::MatrixXf xs = Eigen::MatrixXf::Random(s.cols, 3);

  user::spmv_calls = 0;
  const Eigen::VectorXf y = bbs::on<user::counting>(a) * x;
  CHECK(user::spmv_calls == 1);
  CHECK(y == Eigen::VectorXf(bbs::on<bbs::backend::reference>(a) * x));

  // SpMM is the reference's, one SpMV per column on the backend that asked: the user's.
  user::spmv_calls = 0;
  const Eigen::MatrixXf ys = bbs::on<user::counting>(a) * xs;
  CHECK(user::spmv_calls == 3);
  CHECK(ys == Eigen::MatrixXf(bbs::on<bbs::backend::reference>(a) * xs));

  // The transposed product is inherited as it is.
  user::spmv_calls = 0;
  const Eigen::VectorXf yt = bbs::on<user::counting>(a).transpose() * xt;
  CHECK(user::spmv_calls == 0);
  CHECK(yt == Eigen::VectorXf(bbs::on<bbs::backend::reference>(a).transpose() * xt));
}

TEST_CASE("a layer on a user's backend runs its products and activations there", "[backend][dispatch][nn]") {
  bbs::nn::RecurrentDenseWeights w;
  const bbs::index in = 12, hidden = 8;
  w.weight_ih = Eigen::MatrixXf::Random(4 * hidden, in);
  w.weight_hh = Eigen::MatrixXf::Random(4 * hidden, hidden);
  w.bias_ih = Eigen::VectorXf::Random(4 * hidden);
  w.bias_hh = Eigen::VectorXf::Random(4 * hidden);
  const bbs::BankConfig cfg(4, 2);
  const std::vector<bbs::nn::RecurrentDenseWeights> weights{w};
  const auto mine = bbs::nn::Lstm<float, user::counting>::from_dense(weights, 1, false, cfg);
  const auto ref = bbs::nn::Lstm<float, bbs::backend::reference>::from_dense(weights, 1, false, cfg);
  const Eigen::MatrixXf xs = Eigen::MatrixXf::Random(in, 5);  // five steps, batch 1

  user::spmv_calls = 0;
  user::sigmoid_calls = 0;
  auto state = mine.zero_state(1);
  auto ref_state = ref.zero_state(1);
  const Eigen::MatrixXf out = mine.forward(xs, 1, state);
  const Eigen::MatrixXf ref_out = ref.forward(xs, 1, ref_state);
  CHECK(user::spmv_calls > 0);
  CHECK(user::sigmoid_calls > 0);
  CHECK(out == ref_out);
}

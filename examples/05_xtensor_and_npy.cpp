// 05: weights from NumPy: load a dense .npy matrix with xtensor, prune it, and multiply xtensor
// vectors with bbs::spmv / bbs::multiply.
#include <bbs/bbs.hpp>

#include <cstdio>
#include <xtensor/xrandom.hpp>

int main() {
  // Write a weight matrix as NumPy would (np.save), then load it back as a user would.
  const std::string path = "05_weights.npy";
  xt::random::seed(7);
  const xt::xtensor<float, 2> w = xt::random::randn<float>({128, 200});
  xt::dump_npy(path, w);

  const xt::xtensor<float, 2> loaded = bbs::load_npy<float>(path);
  const auto a = bbs::prune<float>(loaded, bbs::BankConfig::from_sparsity(40, 0.9));
  std::printf("pruned %zu x %zu to %ld nonzeros\n", loaded.shape()[0], loaded.shape()[1], (long)a.nonZeros());

  const xt::xtensor<float, 1> x = xt::random::randn<float>({200});
  const xt::xtensor<float, 1> y = bbs::multiply(a, x);
  xt::xtensor<float, 1> y_again;
  bbs::spmv(a, x, y_again);  // reuses y_again's storage on later calls
  std::printf("y[0..3] = %.4f %.4f %.4f, same twice: %s\n", y(0), y(1), y(2), y == y_again ? "yes" : "no");
  std::remove(path.c_str());
  return y == y_again ? 0 : 1;
}

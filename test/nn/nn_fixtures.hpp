// Shared by the layer tests: reading the PyTorch fixtures of test/data/nn/ (written by
// tools/fixtures/make_nn_fixtures.py) into bbs's layouts, and the error measures the tests report.
#pragma once

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "testbed.hpp"
#include "source_tree.hpp"  // BBS_TEST_DATA_DIR

// Both the exception type and a fragment of its message: an error must say what was expected
// and what was found.
#define BBS_CHECK_THROWS_CONTAINING(expr, type, fragment) \
  do {                                                    \
    CHECK_THROWS_AS(expr, type);                          \
    CHECK_THROWS_WITH(expr, Catch::Contains(fragment));   \
  } while (false)

namespace bbs_test {

/// A fixture array as stored: rows x cols, 2-D (tools/fixtures/make_nn_fixtures.py flattens the rest).
inline Eigen::MatrixXf fixture(const std::string& case_name, const std::string& array) {
  return bbs::read_npy(std::string(BBS_TEST_DATA_DIR) + "/nn/" + case_name + "/" + array + ".npy").matrix<float>();
}

/// A fixture vector (stored 1 x n).
inline Eigen::VectorXf fixture_vector(const std::string& case_name, const std::string& array) {
  const Eigen::MatrixXf m = fixture(case_name, array);
  return Eigen::Map<const Eigen::VectorXf>(m.data(), m.size());
}

/// A (T, B, F) sequence or (L * D, B, F) state stored as (T * B) x F: bbs's F x (T * B) layout.
inline Eigen::MatrixXf fixture_columns(const std::string& case_name, const std::string& array) {
  return fixture(case_name, array).transpose();
}

/// Largest |got - want| over all entries of two equally shaped matrices (converted to double).
template <typename Got, typename Want>
double max_abs_difference(const Got& got, const Want& want) {
  REQUIRE(got.rows() == want.rows());
  REQUIRE(got.cols() == want.cols());
  double worst = 0;
  for (index j = 0; j < got.cols(); ++j)
    for (index i = 0; i < got.rows(); ++i)
      worst = std::max(worst, std::abs(static_cast<double>(got(i, j)) - static_cast<double>(want(i, j))));
  return worst;
}

/// A float matrix as a matrix of activations A (fixed point: fixed16's rounding rule).
template <typename A>
bbs::nn::Matrix<A> to_activations(const Eigen::MatrixXf& m) {
  bbs::nn::Matrix<A> out(m.rows(), m.cols());
  for (index j = 0; j < m.cols(); ++j)
    for (index i = 0; i < m.rows(); ++i) out(i, j) = bbs::nn::elementwise<A>::from_float(m(i, j));
  return out;
}

template <typename A>
Eigen::MatrixXd to_double(const bbs::nn::Matrix<A>& m) {
  Eigen::MatrixXd out(m.rows(), m.cols());
  for (index j = 0; j < m.cols(); ++j)
    for (index i = 0; i < m.rows(); ++i) out(i, j) = bbs::nn::elementwise<A>::to_double(m(i, j));
  return out;
}

/// A recurrent fixture case of tools/fixtures/make_nn_fixtures.py and how bbs builds it.
struct RecurrentCase {
  std::string name;
  index layers;
  bool bidirectional;
  index batch;
  bbs::BankConfig config;   // nnz_per_bank == bank_size: dense
  bool projection = false;  // LSTM with proj_size: weight_hr_l* fixtures
};

inline std::vector<bbs::nn::RecurrentDenseWeights> load_weights(const RecurrentCase& c) {
  std::vector<bbs::nn::RecurrentDenseWeights> w;
  for (index l = 0; l < c.layers; ++l) {
    for (index d = 0; d < (c.bidirectional ? 2 : 1); ++d) {
      const std::string suffix = "_l" + std::to_string(l) + (d == 1 ? "_reverse" : "");
      bbs::nn::RecurrentDenseWeights lw;
      lw.weight_ih = fixture(c.name, "weight_ih" + suffix);
      lw.weight_hh = fixture(c.name, "weight_hh" + suffix);
      lw.bias_ih = bbs_test::fixture_vector(c.name, "bias_ih" + suffix);
      lw.bias_hh = bbs_test::fixture_vector(c.name, "bias_hh" + suffix);
      if (c.projection) lw.weight_hr = fixture(c.name, "weight_hr" + suffix);
      w.push_back(lw);
    }
  }
  return w;
}

/// PyTorch's (L * D, B, F) state as one F x B matrix per layer and direction.
template <typename A>
std::vector<bbs::nn::Matrix<A>> state_blocks(const std::string& case_name, const std::string& array, index batch) {
  const Eigen::MatrixXf all = fixture_columns(case_name, array);
  std::vector<bbs::nn::Matrix<A>> blocks;
  for (index s = 0; s < all.cols() / batch; ++s) {
    blocks.push_back(bbs_test::to_activations<A>(all.middleCols(s * batch, batch)));
  }
  return blocks;
}

/// Float tolerance against PyTorch: both sides sum each gate's n = input + output + 2 terms in
/// float (error <= dot_error_bound(n) relative to the magnitudes, which are O(1) here: |x| and
/// |h| about 1, |w| below 1 / sqrt(hidden)); sigmoid and tanh are 1-Lipschitz, and the error of
/// a frame feeds the next through h and c: twice the bound (both sides) per frame and layer.
inline double float_tolerance(const RecurrentCase& c, index input, index output, index frames) {
  const index n = input + output + 2;
  return 2.0 * static_cast<double>(frames * c.layers) * bbs::dot_error_bound<float>(n);
}

/// fixed16<12> tolerance against PyTorch: every weight, input and bias is rounded to half a step
/// and each moves a gate by at most that (|x|, |h|, |w| <= 1), each product and activation
/// rounds once more; the gates are 1-Lipschitz and f < 1 keeps the state error from growing:
/// half a step per term and rounding, per layer.
inline double fixed_tolerance(const RecurrentCase& c, index input, index output) {
  return bbs::fixed16<12>::resolution / 2 * static_cast<double>((input + output + 8) * c.layers);
}

inline index output_size_of(const RecurrentCase& c) {
  return c.projection ? fixture(c.name, "weight_hr_l0").rows() : fixture(c.name, "weight_hh_l0").cols();
}

/// Rows of the widest layer input: the input, or both directions' outputs of a layer below.
inline index widest_input_of(const RecurrentCase& c) {
  return std::max(fixture(c.name, "weight_ih_l0").cols(), c.layers > 1 ? fixture(c.name, "weight_ih_l1").cols() : 0);
}

/// A model file held in memory: `manifest` and random dense weights for an LSTM stack named rnn
/// (`layers` layers) and a linear layer named fc, which the loader prunes as the manifest says.
inline std::vector<unsigned char> lstm_model_bytes(const std::string& manifest, bbs::index input, bbs::index hidden,
                                                   bbs::index layers, bbs::index classes, unsigned seed = 11) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> dist(0.0f, 0.4f);
  const auto random = [&](bbs::index r, bbs::index c) {
    Eigen::MatrixXf m(r, c);
    for (bbs::index i = 0; i < m.size(); ++i) m.data()[i] = dist(gen);
    return m;
  };
  bbs::detail::zip::Writer zip("test");
  zip.add("model.txt", manifest);
  const auto dense = [&](const std::string& name, const Eigen::MatrixXf& m) {
    zip.add(name + ".npy", m.cols() == 1 ? bbs::npy_bytes(m, {m.rows()}) : bbs::npy_bytes(m));
  };
  for (bbs::index l = 0; l < layers; ++l) {
    const std::string s = "_l" + std::to_string(l);
    dense("rnn.weight_ih" + s, random(4 * hidden, l == 0 ? input : hidden));
    dense("rnn.weight_hh" + s, random(4 * hidden, hidden));
    dense("rnn.bias_ih" + s, random(4 * hidden, 1));
    dense("rnn.bias_hh" + s, random(4 * hidden, 1));
  }
  dense("fc.weight", random(classes, hidden));
  dense("fc.bias", random(classes, 1));
  return zip.finish();
}

}  // namespace bbs_test

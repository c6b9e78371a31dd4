// Shared by the layer tests: reading the PyTorch fixtures of test/data/nn/ (written by
// tools/make_nn_fixtures.py) into bbs's layouts, and the error measures the tests report.
#pragma once

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "testbed.hpp"

// Both the exception type and a fragment of its message: an error must say what was expected
// and what was found.
#define BBS_CHECK_THROWS_CONTAINING(expr, type, fragment) \
  do {                                                    \
    CHECK_THROWS_AS(expr, type);                          \
    CHECK_THROWS_WITH(expr, Catch::Contains(fragment));   \
  } while (false)

namespace bbs_test {

/// A fixture array as stored: rows x cols, 2-D (tools/make_nn_fixtures.py flattens the rest).
inline Eigen::MatrixXf fixture(const std::string& case_name, const std::string& array) {
  const auto t = bbs::load_npy<float>(std::string(BBS_TEST_DATA_DIR) + "/nn/" + case_name + "/" + array + ".npy");
  Eigen::MatrixXf m(static_cast<index>(t.shape()[0]), static_cast<index>(t.shape()[1]));
  for (index i = 0; i < m.rows(); ++i)
    for (index j = 0; j < m.cols(); ++j) m(i, j) = t(static_cast<std::size_t>(i), static_cast<std::size_t>(j));
  return m;
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

/// Runs f with a default-constructed tag of every compiled backend.
template <typename F>
void for_each_backend(F&& f) {
  f(bbs::backend::reference{});
  f(bbs::backend::simd{});
#ifdef _OPENMP
  f(bbs::backend::openmp{});
#endif
}

}  // namespace bbs_test

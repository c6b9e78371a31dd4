// Backend conformance: every kernel of a backend against the dense Eigen product (computed in
// double) on tiny, awkward and large shapes, with alpha / beta and the beta == 0 rule. A new
// backend's test calls these with its tag; the reference backend is checked the same way.
#pragma once

#include <limits>

#include "testbed.hpp"

namespace bbs_test {

inline std::vector<Shape> all_shapes() {
  std::vector<Shape> shapes = tiny_shapes();
  for (const auto& s : awkward_shapes()) shapes.push_back(s);
  for (const auto& s : large_shapes()) shapes.push_back(s);
  return shapes;
}

/// Row length in stored entries: the number of terms of each dot product.
inline index terms_of(const Shape& s) { return s.config.num_banks(s.cols) * s.config.nnz_per_bank; }

/// Checks spmv(view, alpha, x, beta, y), any callable with the kernel signature (one SIMD
/// variant, say), against dense Eigen on one shape.
template <typename T, typename Spmv>
void check_spmv_with(const Shape& s, std::uint32_t seed, Spmv&& spmv) {
  using Vec = Eigen::Matrix<T, Eigen::Dynamic, 1>;
  const auto a = random_bbs<T>(s, seed);
  const auto dense = a.toDense();
  const Vec x = random_vector<T>(s.cols, seed + 1);
  const Vec y0 = random_vector<T>(s.rows, seed + 2);
  const T alpha = T(0.75);
  const T beta = T(-1.5);

  // beta == 0 must not read y: NaN there stays out of the result.
  Vec y = Vec::Constant(s.rows, std::numeric_limits<T>::quiet_NaN());
  spmv(a.view(), T(1), x.data(), T(0), y.data());
  require_product_close<T>(y, dense, x, terms_of(s));

  y = y0;
  spmv(a.view(), alpha, x.data(), beta, y.data());
  const Eigen::MatrixXd want =
      alpha * (dense.template cast<double>() * x.template cast<double>()) + beta * y0.template cast<double>();
  const Eigen::MatrixXd scale =
      std::abs(alpha) * (dense.template cast<double>().cwiseAbs() * x.template cast<double>().cwiseAbs()) +
      std::abs(beta) * y0.template cast<double>().cwiseAbs();
  require_close(y, want, scale, bbs::dot_error_bound<T>(terms_of(s) + 2));
}

template <typename Backend, typename T>
void check_spmv(const Shape& s, std::uint32_t seed) {
  check_spmv_with<T>(s, seed, [](const bbs::CsbView<T>& a, T alpha, const T* x, T beta, T* y) {
    bbs::kernel::spmv(Backend{}, a, alpha, x, beta, y);
  });
}

template <typename Backend, typename T>
void check_spmv_transposed(const Shape& s, std::uint32_t seed) {
  using Vec = Eigen::Matrix<T, Eigen::Dynamic, 1>;
  const auto a = random_bbs<T>(s, seed);
  const auto dense_t = a.toDense().transpose().eval();
  const Vec x = random_vector<T>(s.rows, seed + 1);
  Vec y = Vec::Constant(s.cols, std::numeric_limits<T>::quiet_NaN());
  bbs::kernel::spmv_transposed(Backend{}, a.view(), T(1), x.data(), T(0), y.data());
  require_product_close<T>(y, dense_t, x, s.rows);

  const Vec y0 = random_vector<T>(s.cols, seed + 2);
  y = y0;
  bbs::kernel::spmv_transposed(Backend{}, a.view(), T(2), x.data(), T(1), y.data());
  const Eigen::MatrixXd want =
      2.0 * (dense_t.template cast<double>() * x.template cast<double>()) + y0.template cast<double>();
  const Eigen::MatrixXd scale =
      2.0 * (dense_t.template cast<double>().cwiseAbs() * x.template cast<double>().cwiseAbs()) +
      y0.template cast<double>().cwiseAbs();
  require_close(y, want, scale, bbs::dot_error_bound<T>(s.rows + 2));
}

template <typename Backend, typename T>
void check_spmm(const Shape& s, index n, std::uint32_t seed) {
  using Mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;
  const auto a = random_bbs<T>(s, seed);
  const auto dense = a.toDense();
  // Leading dimensions larger than the row counts: SpMM must honour ldx and ldy.
  const Mat x_storage = random_dense<T>(s.cols + 3, n, seed + 1);
  Mat y_storage = Mat::Constant(s.rows + 2, n, std::numeric_limits<T>::quiet_NaN());
  bbs::kernel::spmm(Backend{}, a.view(), n, T(1), x_storage.data(), s.cols + 3, T(0), y_storage.data(), s.rows + 2);
  const Mat x = x_storage.topRows(s.cols);
  require_product_close<T>(y_storage.topRows(s.rows), dense, x, terms_of(s));
  // The padding rows of Y between columns are untouched.
  for (index j = 0; j < n; ++j) REQUIRE(std::isnan(static_cast<double>(y_storage(s.rows, j))));
}

}  // namespace bbs_test

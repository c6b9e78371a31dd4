// What the FPGA tests share: fixed-point matrices and vectors with raw values over the whole
// int16 range (long rows overflow int32, so wrap-around is exercised), the reference product the
// kernel must reproduce, and whether a shape fits a kernel's x buffers.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "backend/conformance.hpp"

namespace bbs_test {

using Q12 = bbs::fixed16<12>;

/// A random bank-balanced matrix of shape s whose stored values are fixed16<F> with raw values
/// uniform over [-32768, 32767] (the pattern comes from random_bbs; padding stays zero).
template <typename Q>
bbs::BbsMatrix<Q> random_fixed_bbs(const Shape& s, std::uint32_t seed) {
  const auto pattern = random_bbs<float>(s, seed);
  const bbs::CsbView<float> v = pattern.view();
  std::mt19937 gen(seed + 7);
  std::uniform_int_distribution<int> raw(-32768, 32767);
  std::vector<Q> values(static_cast<std::size_t>(v.stored_entries()));
  for (index e = 0; e < v.stored_entries(); ++e) {
    values[static_cast<std::size_t>(e)] = v.values[e] == 0.0f ? Q() : Q::from_raw(static_cast<std::int16_t>(raw(gen)));
  }
  return v.with_indices([&](auto idx) {
    using I = std::remove_const_t<std::remove_pointer_t<decltype(idx)>>;
    std::vector<I> indices(idx, idx + v.stored_entries());
    return bbs::BbsMatrix<Q>(s.rows, s.cols, s.config, std::move(values), std::move(indices));
  });
}

template <typename Q>
Eigen::Matrix<Q, Eigen::Dynamic, 1> random_fixed_vector(index n, std::uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_int_distribution<int> raw(-32768, 32767);
  Eigen::Matrix<Q, Eigen::Dynamic, 1> v(n);
  for (index i = 0; i < n; ++i) v(i) = Q::from_raw(static_cast<std::int16_t>(raw(gen)));
  return v;
}

/// Whether a kernel with `lanes` PEs of `depth` x entries holds shape s.
inline bool fits_kernel(const Shape& s, int lanes, int depth) {
  const index groups = (s.config.num_banks(s.cols) + lanes - 1) / lanes;
  return groups * s.config.bank_size <= depth;
}

/// Raw int16 values of a fixed-point vector, for bit-exact comparison with a readable message.
template <typename Vec>
std::vector<int> raw_values(const Vec& v) {
  std::vector<int> out;
  for (index i = 0; i < v.size(); ++i) out.push_back(v(i).raw());
  return out;
}

/// Checks a float result against the reference backend's: both are sums of the same terms in
/// different orders, so they differ by at most two dot-product error bounds of the row length.
template <typename VecGot, typename VecWant>
void require_float_close_to_reference(const VecGot& got, const VecWant& want, const bbs::BbsMatrix<float>& a,
                                      const Eigen::VectorXf& x, float alpha, float beta, const Eigen::VectorXf& y0) {
  const Eigen::MatrixXd dense = a.toDense().cast<double>();
  const Eigen::MatrixXd scale = std::abs(alpha) * (dense.cwiseAbs() * x.cast<double>().cwiseAbs()) +
                                std::abs(beta) * y0.cast<double>().cwiseAbs();
  const index terms = a.view().row_entries();
  require_close(got, want.template cast<double>(), scale, 2 * bbs::dot_error_bound<float>(terms + 2));
}

}  // namespace bbs_test

// Eigen scalar traits for bbs's value types:
// - NumTraits<bbs::fixed16<F>> and NumTraits<bbs::fixed8<Fw, Fx>>, so Eigen matrices and vectors
//   of fixed point exist (Eigen::Matrix<bbs::fixed16<12>, Eigen::Dynamic, 1>) and A * x works with
//   them. The types have no arithmetic operators on purpose: Eigen may store, copy, compare, cast
//   (.cast<float>()) and print such matrices; every product goes through bbs's kernels and
//   fixed_rules.
// - the product type of a fixed8<Fw, Fx> matrix with a fixed16<Fx> vector (fixed16<Fx>).
// - the product type of Eigen::bfloat16 / Eigen::half matrices with float vectors (float); Eigen
//   itself provides their NumTraits.
#pragma once

#include <Eigen/Core>

#include "bbs/core/fixed_point.hpp"

namespace bbs {
namespace detail {

/// Eigen's NumTraits for a fixed-point type T (fixed16 or fixed8).
template <typename T>
struct fixed_num_traits : Eigen::GenericNumTraits<T> {
  using Real = T;
  using NonInteger = T;
  using Literal = T;
  using Nested = T;
  enum {
    IsComplex = 0,
    IsInteger = 0,
    IsSigned = 1,
    RequireInitialization = 0,
    ReadCost = 1,
    AddCost = 1,
    MulCost = 1
  };
  /// One raw step, 2^-F: the resolution of the format.
  static Real epsilon() { return Real::from_raw(1); }
  static Real dummy_precision() { return Real::from_raw(1); }
  static Real highest() { return Real::max(); }
  static Real lowest() { return Real::lowest(); }
  static int digits10() { return sizeof(typename T::raw_type) == 1 ? 2 : 4; }
  static int digits() { return 8 * static_cast<int>(sizeof(typename T::raw_type)) - 1; }
};

}  // namespace detail
}  // namespace bbs

namespace Eigen {

template <int F>
struct NumTraits<bbs::fixed16<F>> : bbs::detail::fixed_num_traits<bbs::fixed16<F>> {};
template <int Fw, int Fx>
struct NumTraits<bbs::fixed8<Fw, Fx>> : bbs::detail::fixed_num_traits<bbs::fixed8<Fw, Fx>> {};

// A fixed8<Fw, Fx> matrix times a fixed16<Fx> vector is a fixed16<Fx> vector.
template <int Fw, int Fx>
struct ScalarBinaryOpTraits<bbs::fixed8<Fw, Fx>, bbs::fixed16<Fx>,
                            internal::scalar_product_op<bbs::fixed8<Fw, Fx>, bbs::fixed16<Fx>>> {
  using ReturnType = bbs::fixed16<Fx>;
};

// A bfloat16 or half matrix times a float vector is a float vector (weights stored narrow,
// activations and sums in float). Only the product is declared, not +, -: nothing else mixes them.
template <>
struct ScalarBinaryOpTraits<bfloat16, float, internal::scalar_product_op<bfloat16, float>> {
  using ReturnType = float;
};
template <>
struct ScalarBinaryOpTraits<half, float, internal::scalar_product_op<half, float>> {
  using ReturnType = float;
};

}  // namespace Eigen

// Eigen scalar traits for bbs's value types:
// - NumTraits<bbs::fixed16<F>>, so Eigen matrices and vectors of fixed point exist
//   (Eigen::Matrix<bbs::fixed16<12>, Eigen::Dynamic, 1>) and A * x works with them. fixed16 has no
//   arithmetic operators on purpose: Eigen may store, copy, compare, cast (.cast<float>()) and
//   print such matrices; every product goes through bbs's kernels and fixed_rules.
// - the product type of Eigen::bfloat16 / Eigen::half matrices with float vectors (float); Eigen
//   itself provides their NumTraits.
#pragma once

#ifndef BBS_UMBRELLA_INCLUDED
#error "Internal bbs header: include <bbs/bbs.hpp> instead."
#endif

#include <Eigen/Core>

namespace Eigen {

template <int F>
struct NumTraits<bbs::fixed16<F>> : GenericNumTraits<bbs::fixed16<F>> {
  using Real = bbs::fixed16<F>;
  using NonInteger = bbs::fixed16<F>;
  using Literal = bbs::fixed16<F>;
  using Nested = bbs::fixed16<F>;
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
  static int digits10() { return 4; }
  static int digits() { return 15; }
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

// The openmp backend's tag.
#pragma once

#include "bbs/backend/simd/tag.hpp"

namespace bbs {
namespace backend {

/// Runs Inner (a single-threaded backend) on contiguous row ranges, one per OpenMP thread;
/// operations it does not split run on Inner, from which it derives.
template <typename Inner = simd>
struct openmp_over : Inner {
  static constexpr const char* name = "openmp";
  using inner = Inner;
};
using openmp = openmp_over<>;

}  // namespace backend
}  // namespace bbs

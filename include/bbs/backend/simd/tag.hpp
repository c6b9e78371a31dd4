// The simd backend's tag.
#pragma once

#include "bbs/backend/reference/tag.hpp"

namespace bbs {
namespace backend {

/// The best kernel variant this CPU runs (simd/isa.hpp, chosen at run time); what it has no
/// kernel for falls back to the reference loops.
struct simd : reference {
  static constexpr const char* name = "simd";
  /// Where simd's operations go when no kernel of the CPU's variant takes a matrix.
  using parent = reference;
};

}  // namespace backend
}  // namespace bbs

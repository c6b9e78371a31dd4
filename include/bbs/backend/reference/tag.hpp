// The reference backend's tag: the root of every backend's fallback chain
// (backend/common/requires_backend.hpp).
#pragma once

namespace bbs {
namespace backend {

/// Plain loops: the specification every other backend is tested against. Every operation has a
/// reference overload, so every backend derived from it has every operation.
struct reference {
  static constexpr const char* name = "reference";
};

}  // namespace backend
}  // namespace bbs

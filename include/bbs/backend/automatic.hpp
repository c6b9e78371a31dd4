// backend::automatic: the tag that every product without bbs::on<Backend> carries. It names no
// backend of its own; the kernel dispatch (kernel/dispatch.hpp) resolves it at run time to the
// process-wide default of the registry (backend/registry.hpp).
#pragma once

namespace bbs {
namespace backend {

/// Resolves at run time to the process-wide default (bbs::set_default_backend); until that is
/// called, the first entry of bbs::compiled_backends (backend/registry.hpp).
struct automatic {
  static constexpr const char* name = "automatic";
};

}  // namespace backend
}  // namespace bbs

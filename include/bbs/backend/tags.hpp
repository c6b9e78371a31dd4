// Backend tag types. A backend is a tag plus a folder include/bbs/backend/<name>/ with the same
// file names as every other backend (spmv.hpp, spmv_transposed.hpp, spmm.hpp). The simd and openmp
// tags live in their own folders.
#pragma once

namespace bbs {
namespace backend {

/// Resolves at run time to the process-wide default (bbs::set_default_backend); until that is
/// called, the first entry of bbs::compiled_backends (backend/registry.hpp).
struct automatic {
  static constexpr const char* name = "automatic";
};

/// Plain loops: the specification every other backend is tested against.
struct reference {
  static constexpr const char* name = "reference";
};

}  // namespace backend
}  // namespace bbs

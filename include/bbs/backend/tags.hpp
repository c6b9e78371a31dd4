// Backend tag types. A backend is a tag plus a folder include/bbs/backend/<name>/ with the same
// file names as every other backend (spmv.hpp, spmv_transposed.hpp, spmm.hpp).
#pragma once

namespace bbs {
namespace backend {

/// Resolves at run time to the process-wide default (bbs::set_default_backend), which is the
/// reference backend until a faster one is compiled in and chosen.
struct automatic {
  static constexpr const char* name = "automatic";
};

/// Plain loops: the specification every other backend is tested against.
struct reference {
  static constexpr const char* name = "reference";
};

}  // namespace backend
}  // namespace bbs

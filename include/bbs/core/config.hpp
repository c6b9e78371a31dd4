// Version and basic types.
#pragma once

#include <cstddef>
#include <cstdint>

#define BBS_VERSION_MAJOR 0
#define BBS_VERSION_MINOR 1
#define BBS_VERSION_PATCH 0

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "bbs supports little-endian hosts only (the CSB file format and FPGA layout are little-endian)."
#endif

namespace bbs {

/// Signed index type for rows, columns and counts (same role as Eigen::Index).
using index = std::ptrdiff_t;

}  // namespace bbs

// The openmp backend: an inner single-threaded backend (simd by default) on row ranges, one per
// OpenMP thread. Needs OpenMP: bbs::bbs links it unless configured with BBS_WITH_OPENMP=OFF.
#pragma once

#ifndef _OPENMP
#error "bbs/backend/openmp.hpp needs OpenMP: compile with -fopenmp (bbs::bbs adds it with BBS_WITH_OPENMP=ON)"
#endif

#include "bbs/backend/simd.hpp"
#include "bbs/backend/openmp/tag.hpp"
#include "bbs/backend/openmp/partition.hpp"
#include "bbs/backend/openmp/spmv.hpp"
#include "bbs/backend/openmp/spmv_transposed.hpp"
#include "bbs/backend/openmp/spmm.hpp"
#include "bbs/backend/openmp/spmm_row_major.hpp"

namespace bbs {
/// Deprecated: the former name of bbs::backend::openmp_impl, kept for one release.
namespace openmp_detail = backend::openmp_impl;
}  // namespace bbs

// The simd backend: per-ISA kernels chosen at run time (simd/isa.hpp), falling back to the
// reference backend for what they do not cover.
#pragma once

#include "bbs/backend/reference.hpp"
#include "bbs/backend/simd/tag.hpp"
#include "bbs/backend/simd/isa.hpp"
#include "bbs/backend/simd/row_groups.hpp"
#include "bbs/backend/simd/float_lanes.hpp"
#include "bbs/backend/simd/spmv_avx512.hpp"
#include "bbs/backend/simd/spmv_avx2.hpp"
#include "bbs/backend/simd/spmv_avx512_fixed_point.hpp"
#include "bbs/backend/simd/spmv_dense.hpp"
#include "bbs/backend/simd/spmv.hpp"
#include "bbs/backend/simd/prepare.hpp"
#include "bbs/backend/simd/spmm_panel.hpp"
#include "bbs/backend/simd/spmm_avx512.hpp"
#include "bbs/backend/simd/spmm_avx2.hpp"
#include "bbs/backend/simd/spmm.hpp"
#include "bbs/backend/simd/spmm_row_major_avx512.hpp"
#include "bbs/backend/simd/spmm_row_major.hpp"
#include "bbs/backend/simd/activation_avx512.hpp"
#include "bbs/backend/simd/activation.hpp"

// The kernels' target and diagnostic macros end here (BBS_SIMD_HAVE_* stay: they say what this
// build has).
#undef BBS_TARGET_AVX512
#undef BBS_TARGET_AVX2
#undef BBS_SIMD_KERNELS_BEGIN
#undef BBS_SIMD_KERNELS_END

namespace bbs {
/// Deprecated: the former name of bbs::backend::simd_impl, kept for one release.
namespace simd_detail = backend::simd_impl;
}  // namespace bbs

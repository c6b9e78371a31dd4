// The reference backend: plain loops, the specification of every operation
// (backend/common/requires_backend.hpp explains how other backends inherit from it).
#pragma once

#include "bbs/backend/reference/tag.hpp"
#include "bbs/backend/reference/spmv.hpp"
#include "bbs/backend/reference/spmv_transposed.hpp"
#include "bbs/backend/reference/spmm.hpp"
#include "bbs/backend/reference/spmm_row_major.hpp"
#include "bbs/backend/reference/activation.hpp"
#include "bbs/backend/reference/prepare.hpp"
#include "bbs/backend/common/row_ranges.hpp"

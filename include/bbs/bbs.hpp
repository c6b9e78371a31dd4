// bbs: bank-balanced sparse matrices in Compressed Sparse Banks (CSB) storage, with SpMV kernels
// behind Eigen-style expressions. Include this header only; it pulls in the library in
// dependency order, so reading it top to bottom shows the architecture (docs/ARCHITECTURE.md).
#pragma once

#define BBS_UMBRELLA_INCLUDED

// Core: basic types, the exception family, fixed point, value-type traits, bank configuration.
#include "bbs/core/config.hpp"
#include "bbs/core/error.hpp"
#include "bbs/core/fixed_point.hpp"
#include "bbs/core/value_traits.hpp"
#include "bbs/core/bank_config.hpp"

// Storage: the canonical CSB arrays, their invariants, and the cache of arrangements backends
// derive from them (no arithmetic).
#include "bbs/storage/layout_cache.hpp"
#include "bbs/storage/csb_view.hpp"

// Matrix types: BbsMatrix (owning) and BbsMap (non-owning) over CSB, seen by Eigen as sparse operators.
#include "bbs/backend/tags.hpp"
#include "bbs/matrix/forward.hpp"
#include "bbs/eigen/num_traits.hpp"
#include "bbs/eigen/traits.hpp"
#include "bbs/matrix/matrix_base.hpp"
#include "bbs/matrix/bbs_matrix.hpp"
#include "bbs/matrix/bbs_map.hpp"

// Backends: one folder each, same file names; the reference backend is the specification.
#include "bbs/backend/spmm_by_columns.hpp"
#include "bbs/backend/row_ranges.hpp"
#include "bbs/backend/reference/spmv.hpp"
#include "bbs/backend/reference/spmv_transposed.hpp"
#include "bbs/backend/reference/spmm.hpp"
#include "bbs/backend/simd/isa.hpp"
#include "bbs/backend/simd/row_groups.hpp"
#include "bbs/backend/simd/spmv_avx512.hpp"
#include "bbs/backend/simd/spmv_avx2.hpp"
#include "bbs/backend/simd/spmv_avx512_fixed_point.hpp"
#include "bbs/backend/simd/spmv.hpp"
#include "bbs/backend/simd/spmv_transposed.hpp"
#include "bbs/backend/simd/spmm_panel.hpp"
#include "bbs/backend/simd/spmm_avx512.hpp"
#include "bbs/backend/simd/spmm_avx2.hpp"
#include "bbs/backend/simd/spmm.hpp"
#ifdef _OPENMP
#include "bbs/backend/openmp/partition.hpp"
#include "bbs/backend/openmp/spmv.hpp"
#include "bbs/backend/openmp/spmv_transposed.hpp"
#include "bbs/backend/openmp/spmm.hpp"
#endif
// The FPGA backend, opt-in: the CMake target bbs::fpga defines BBS_WITH_FPGA and puts
// backends/ on the include path (the device layout and kernel come from backends/fpga/hw).
#ifdef BBS_WITH_FPGA
#include "fpga/hw/kernel_config.hpp"
#include "fpga/hw/spmv.hpp"
#include "bbs/backend/fpga/tag.hpp"
#include "bbs/backend/fpga/pack.hpp"
#include "bbs/backend/fpga/runtime.hpp"
#include "bbs/backend/fpga/emulator.hpp"
#include "bbs/backend/fpga/xrt_runtime.hpp"
#include "bbs/backend/fpga/session.hpp"
#include "bbs/backend/fpga/spmv.hpp"
#include "bbs/backend/fpga/spmv_transposed.hpp"
#include "bbs/backend/fpga/spmm.hpp"
#endif
#include "bbs/backend/registry.hpp"

// Kernels: the dispatch that expressions and layers call.
#include "bbs/kernel/dispatch.hpp"

// Expressions: A * x, A.transpose() * x, bbs::on<Backend>(A) * x, and their Eigen evaluation.
#include "bbs/expr/matrix_operand.hpp"
#include "bbs/eigen/product.hpp"

// Pruning: dense weights to bank-balanced matrices.
#include "bbs/prune/bank_balanced.hpp"
#include "bbs/prune/patterns.hpp"

// Quantization: float matrices and vectors to narrower value types and back, with error reports.
#include "bbs/quant/quantize.hpp"

// Files: the checksummed binary CSB format, written atomically; any value type chosen at run
// time; .npy / .npz arrays.
#include "bbs/io/checksum.hpp"
#include "bbs/io/files.hpp"
#include "bbs/io/zip.hpp"
#include "bbs/io/csb_file.hpp"
#include "bbs/io/npy.hpp"
#include "bbs/io/any_value_type.hpp"

// Layers: LSTM, GRU, convolution, pooling and linear layers on the kernel dispatch (never a backend).
#include "bbs/nn/fixed_activation.hpp"
#include "bbs/nn/elementwise.hpp"
#include "bbs/nn/layer_common.hpp"
#include "bbs/nn/recurrent.hpp"
#include "bbs/nn/lstm.hpp"
#include "bbs/nn/gru.hpp"
#include "bbs/nn/tensor.hpp"
#include "bbs/nn/conv.hpp"
#include "bbs/nn/pooling.hpp"
#include "bbs/nn/linear.hpp"
#include "bbs/nn/state_dict.hpp"
#include "bbs/nn/sequential.hpp"
#include "bbs/nn/model_file.hpp"

// Optional integrations, enabled when their headers are found.
#if !defined(BBS_NO_XTENSOR) && __has_include(<xtensor/xtensor.hpp>)
#include "bbs/xtensor/xtensor.hpp"
#endif

#undef BBS_TARGET_AVX512
#undef BBS_TARGET_AVX2
#undef BBS_SIMD_KERNELS_BEGIN
#undef BBS_SIMD_KERNELS_END
#undef BBS_UMBRELLA_INCLUDED

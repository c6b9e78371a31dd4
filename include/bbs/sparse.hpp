// bbs's sparse module: bank-balanced matrices in Compressed Sparse Banks (CSB) storage, pruning,
// quantization, CSB files, the CPU backends and the Eigen products. Enough for y = A * x as a
// drop-in for Eigen's sparse SpMV; it parses none of the layers, model files, .npy / .npz or the
// FPGA host code (<bbs/nn.hpp>, <bbs/fpga.hpp>, or everything with <bbs/bbs.hpp>). Read top to
// bottom, it is the architecture below the layers (docs/ARCHITECTURE.md).
#pragma once

// Core: basic types, the exception family, fixed point and its activation rule, value-type
// traits, bank configuration, aligned memory.
#include "bbs/core/config.hpp"
#include "bbs/core/error.hpp"
#include "bbs/core/fixed_point.hpp"
#include "bbs/core/fixed_activation.hpp"
#include "bbs/core/value_traits.hpp"
#include "bbs/core/bank_config.hpp"
#include "bbs/core/memory.hpp"

// Storage: the canonical CSB arrays, their invariants, and the cache of arrangements backends
// derive from them (no arithmetic).
#include "bbs/storage/layout_cache.hpp"
#include "bbs/storage/csb_view.hpp"

// Matrix types: BbsMatrix (owning) and BbsMap (non-owning) over CSB, seen by Eigen as sparse operators.
#include "bbs/backend/automatic.hpp"
#include "bbs/matrix/forward.hpp"
#include "bbs/eigen/num_traits.hpp"
#include "bbs/eigen/traits.hpp"
#include "bbs/matrix/matrix_base.hpp"
#include "bbs/matrix/bbs_matrix.hpp"
#include "bbs/matrix/bbs_map.hpp"

// Backends: one folder and one module header each; a backend derives its tag from the backend it
// falls back to (backend/common/requires_backend.hpp), and the reference backend is the
// specification. The registry lists those backend::automatic may choose at run time.
#include "bbs/backend/reference.hpp"
#include "bbs/backend/simd.hpp"
#ifdef _OPENMP
#include "bbs/backend/openmp.hpp"
#endif
#include "bbs/backend/registry.hpp"

// Kernels: the dispatch that expressions and layers call.
#include "bbs/kernel/dispatch.hpp"

// Expressions: A * x, A.transpose() * x, bbs::on<Backend>(A) * x, and their Eigen evaluation.
#include "bbs/expr/matrix_operand.hpp"
#include "bbs/eigen/product.hpp"

// Pruning: dense weights to bank-balanced matrices, by magnitude or calibrated on inputs.
#include "bbs/prune/bank_balanced.hpp"
#include "bbs/prune/patterns.hpp"
#include "bbs/prune/calibrated.hpp"

// Quantization: float matrices and vectors to narrower value types and back, with error reports.
#include "bbs/quant/quantize.hpp"

// Files: the checksummed binary CSB format, written atomically, and any value type chosen at run
// time.
#include "bbs/io/checksum.hpp"
#include "bbs/io/files.hpp"
#include "bbs/io/csb_file.hpp"
#include "bbs/io/any_value_type.hpp"

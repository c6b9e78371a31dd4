// bbs: bank-balanced sparse matrices in Compressed Sparse Banks (CSB) storage, with SpMV kernels
// behind Eigen-style expressions, and neural-network layers on them. This header includes every
// module; each can also be included on its own:
//
//   <bbs/sparse.hpp>  matrices, pruning, quantization, CSB files, CPU backends, Eigen products
//   <bbs/nn.hpp>      layers, models and model files, .npy / .npz (includes sparse.hpp)
//   <bbs/fpga.hpp>    the FPGA backend (needs the CMake target bbs::fpga)
//
// Reading the module headers top to bottom shows the architecture (docs/ARCHITECTURE.md).
#pragma once

#include "bbs/sparse.hpp"
#include "bbs/nn.hpp"

// The FPGA backend, opt-in: the CMake target bbs::fpga defines BBS_WITH_FPGA and puts
// backends/ on the include path (the device layout and kernel come from backends/fpga/hw).
#ifdef BBS_WITH_FPGA
#include "bbs/fpga.hpp"
#endif

// Optional integrations, enabled when their headers are found.
#if !defined(BBS_NO_XTENSOR) && __has_include(<xtensor/xtensor.hpp>)
#include "bbs/xtensor/xtensor.hpp"
#endif

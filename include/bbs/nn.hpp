// bbs's layer module: LSTM, GRU, convolution, pooling and linear layers on the kernel dispatch
// (never a backend), whole models from model files, PyTorch weights from .npz. Includes the
// sparse module (<bbs/sparse.hpp>).
#pragma once

#include "bbs/sparse.hpp"

// Arrays: .npy / .npz (a ZIP of .npy files), read and written.
#include "bbs/io/zip.hpp"
#include "bbs/io/npy.hpp"

// Layers, written once against the element-wise rules of each activation type.
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
#include "bbs/nn/calibrate.hpp"
#include "bbs/nn/model_file.hpp"

// The activation tensor of the convolution layers: batch x channels x height x width in NCHW
// order (PyTorch's default memory format): element (n, c, y, x) is at
// ((n * C + c) * H + y) * W + x, so one channel of one image is a contiguous H x W plane,
// row-major, and one image is a contiguous C * H * W block.
#pragma once

#include <string>

#include "bbs/core/error.hpp"
#include "bbs/nn/elementwise.hpp"

namespace bbs {
namespace nn {

/// A dense NCHW tensor of activations A (float, double or fixed16<F>).
template <typename A>
class Tensor {
 public:
  Tensor() = default;
  /// Zero-initialised; shape_error for a negative dimension.
  Tensor(index batch, index channels, index height, index width)
      : Tensor(uninitialized(batch, channels, height, width)) {
    data_.setZero();
  }

  /// Storage whose every element the caller writes before reading (what layers return):
  /// floating-point elements are left unset, saving a pass over memory.
  static Tensor uninitialized(index batch, index channels, index height, index width) {
    if (batch < 0 || channels < 0 || height < 0 || width < 0) {
      detail::throw_error<shape_error>("Tensor: dimensions ", batch, " x ", channels, " x ", height, " x ", width,
                                       ", expected none negative");
    }
    Tensor t;
    t.n_ = batch;
    t.c_ = channels;
    t.h_ = height;
    t.w_ = width;
    t.data_.resize(batch * channels * height * width);
    return t;
  }

  index batch() const { return n_; }
  index channels() const { return c_; }
  index height() const { return h_; }
  index width() const { return w_; }
  index size() const { return data_.size(); }
  A* data() { return data_.data(); }
  const A* data() const { return data_.data(); }

  A& operator()(index n, index c, index y, index x) { return data_[offset(n, c, y, x)]; }
  const A& operator()(index n, index c, index y, index x) const { return data_[offset(n, c, y, x)]; }

  /// One image as a (C * H * W) x batch column-major matrix view: the input of a Linear layer
  /// after global average pooling (torch.flatten(x, 1), transposed).
  Eigen::Map<const Matrix<A>> as_columns() const { return {data_.data(), c_ * h_ * w_, n_}; }

  /// "N x C x H x W", for messages.
  std::string shape_string() const { return detail::concat(n_, " x ", c_, " x ", h_, " x ", w_); }

 private:
  index offset(index n, index c, index y, index x) const { return ((n * c_ + c) * h_ + y) * w_ + x; }

  index n_ = 0, c_ = 0, h_ = 0, w_ = 0;
  Vector<A> data_;
};

}  // namespace nn
}  // namespace bbs

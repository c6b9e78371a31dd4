// Element-wise activations and pooling on NCHW tensors, with PyTorch's semantics: ReLU, ReLU6,
// max pooling and average pooling (no padding, floor of the output size, the average over the
// full window, torch.nn.functional.max_pool2d / avg_pool2d), and global average pooling
// (adaptive_avg_pool2d(x, 1)).
#pragma once

#include "bbs/nn/conv.hpp"
#include "bbs/nn/layer_common.hpp"
#include "bbs/nn/tensor.hpp"

namespace bbs {
namespace nn {

/// max(x, 0) in place.
template <typename A>
void relu(Tensor<A>& x) {
  for (index i = 0; i < x.size(); ++i) x.data()[i] = elementwise<A>::relu(x.data()[i]);
}

/// min(max(x, 0), 6) in place (fixed16<F> with F >= 13 cannot hold 6: clamps at its largest value).
template <typename A>
void relu6(Tensor<A>& x) {
  for (index i = 0; i < x.size(); ++i) x.data()[i] = elementwise<A>::relu6(x.data()[i]);
}

namespace impl {

/// Applies reduce(n, c, first_y, first_x) to every pooling window.
template <typename A, typename Reduce>
Tensor<A> pool(const Tensor<A>& x, index kernel, index stride, const char* owner, Reduce&& reduce) {
  const ConvGeometry g{kernel, stride, 0};
  const index ho = conv_output_size(x.height(), g, owner);
  const index wo = conv_output_size(x.width(), g, owner);
  auto y = Tensor<A>::uninitialized(x.batch(), x.channels(), ho, wo);
  for (index n = 0; n < x.batch(); ++n)
    for (index c = 0; c < x.channels(); ++c)
      for (index oy = 0; oy < ho; ++oy)
        for (index ox = 0; ox < wo; ++ox) y(n, c, oy, ox) = reduce(n, c, oy * stride, ox * stride);
  return y;
}

}  // namespace impl

/// Max pooling over kernel x kernel windows, stride `stride` (0: the kernel size, PyTorch's default).
template <typename A>
Tensor<A> max_pool2d(const Tensor<A>& x, index kernel = 2, index stride = 0) {
  const index s = stride == 0 ? kernel : stride;
  return impl::pool(x, kernel, s, "max_pool2d", [&](index n, index c, index y0, index x0) {
    A best = x(n, c, y0, x0);
    for (index dy = 0; dy < kernel; ++dy)
      for (index dx = 0; dx < kernel; ++dx)
        if (elementwise<A>::less(best, x(n, c, y0 + dy, x0 + dx))) best = x(n, c, y0 + dy, x0 + dx);
    return best;
  });
}

/// Average pooling over kernel x kernel windows, stride `stride` (0: the kernel size). The sum
/// runs in double (fixed point: the exact raw sum) and is divided once.
template <typename A>
Tensor<A> avg_pool2d(const Tensor<A>& x, index kernel = 2, index stride = 0) {
  const index s = stride == 0 ? kernel : stride;
  return impl::pool(x, kernel, s, "avg_pool2d", [&](index n, index c, index y0, index x0) {
    double sum = 0;
    for (index dy = 0; dy < kernel; ++dy)
      for (index dx = 0; dx < kernel; ++dx) sum = elementwise<A>::accumulate(sum, x(n, c, y0 + dy, x0 + dx));
    return elementwise<A>::mean(sum, kernel * kernel);
  });
}

/// The mean of every channel plane: N x C x 1 x 1. shape_error for an empty plane.
template <typename A>
Tensor<A> global_avg_pool2d(const Tensor<A>& x) {
  if (x.height() * x.width() == 0) {
    detail::throw_error<shape_error>("global_avg_pool2d: the input is ", x.shape_string(),
                                     ", expected a height and width of at least 1");
  }
  Tensor<A> y(x.batch(), x.channels(), 1, 1);
  for (index n = 0; n < x.batch(); ++n) {
    for (index c = 0; c < x.channels(); ++c) {
      double sum = 0;
      for (index i = 0; i < x.height(); ++i)
        for (index j = 0; j < x.width(); ++j) sum = elementwise<A>::accumulate(sum, x(n, c, i, j));
      y(n, c, 0, 0) = elementwise<A>::mean(sum, x.height() * x.width());
    }
  }
  return y;
}

}  // namespace nn
}  // namespace bbs

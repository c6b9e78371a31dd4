// Reference activations: the logistic sigmoid and tanh of an array of activations, in place, as
// the layers apply them to their gates. Float and double: Eigen's array functions (vectorised by
// Eigen for the compiler's baseline ISA, a few ulp of the exact value); fixed16<F>: the table
// rule of core/fixed_activation.hpp, value by value. The specification of the kernel dispatch's
// sigmoid_in_place and tanh_in_place.
#pragma once

#include <type_traits>

#include <Eigen/Core>

#include "bbs/backend/common/requires_backend.hpp"
#include "bbs/backend/reference/tag.hpp"
#include "bbs/core/config.hpp"
#include "bbs/core/fixed_activation.hpp"

namespace bbs {
namespace backend {

template <typename Backend, typename A>
void sigmoid_in_place(Backend, requires_backend<reference>, A* p, index n) {
  static_assert(std::is_floating_point<A>::value, "activations are float, double or fixed16<F>");
  Eigen::Map<Eigen::Array<A, Eigen::Dynamic, 1>> a(p, n);
  a = A(1) / (A(1) + (-a).exp());
}

template <typename Backend, typename A>
void tanh_in_place(Backend, requires_backend<reference>, A* p, index n) {
  static_assert(std::is_floating_point<A>::value, "activations are float, double or fixed16<F>");
  Eigen::Map<Eigen::Array<A, Eigen::Dynamic, 1>> a(p, n);
  a = a.tanh();
}

template <typename Backend, int F>
void sigmoid_in_place(Backend, requires_backend<reference>, fixed16<F>* p, index n) {
  for (index i = 0; i < n; ++i) p[i] = fixed_sigmoid(p[i]);
}

template <typename Backend, int F>
void tanh_in_place(Backend, requires_backend<reference>, fixed16<F>* p, index n) {
  for (index i = 0; i < n; ++i) p[i] = fixed_tanh(p[i]);
}

}  // namespace backend
}  // namespace bbs

// Reference activations: the logistic sigmoid and tanh of an array of activations, in place, as
// the layers apply them to their gates. Float and double: Eigen's array functions (vectorised by
// Eigen for the compiler's baseline ISA, a few ulp of the exact value); fixed16<F>: the table
// rule of core/fixed_activation.hpp, value by value, also from one raw format to another
// (sigmoid_raw_in_place, tanh_raw_in_place), and the LSTM cell's other element-wise rules under
// per-tensor formats (core/fixed_formats.hpp). The specification of the kernel dispatch's
// element-wise operations.
#pragma once

#include <cstdint>
#include <type_traits>

#include <Eigen/Core>

#include "bbs/backend/common/requires_backend.hpp"
#include "bbs/backend/reference/tag.hpp"
#include "bbs/core/config.hpp"
#include "bbs/core/fixed_activation.hpp"
#include "bbs/core/fixed_formats.hpp"

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

template <typename Backend>
void sigmoid_raw_in_place(Backend, requires_backend<reference>, std::int16_t* p, index n, int in_frac, int out_frac) {
  for (index i = 0; i < n; ++i) p[i] = fixed_sigmoid_raw(p[i], in_frac, out_frac);
}

template <typename Backend>
void tanh_raw_in_place(Backend, requires_backend<reference>, std::int16_t* p, index n, int in_frac, int out_frac) {
  for (index i = 0; i < n; ++i) p[i] = fixed_tanh_raw(p[i], in_frac, out_frac);
}

template <typename Backend>
void lstm_cell_update_raw(Backend, requires_backend<reference>, const std::int16_t* i, const std::int16_t* f,
                          const std::int16_t* g, std::int16_t* c, index n, int act, int cell) {
  for (index j = 0; j < n; ++j) c[j] = fixed_rules::lstm_cell_update(f[j], c[j], i[j], g[j], act, cell);
}

template <typename Backend>
void gate_product_raw(Backend, requires_backend<reference>, const std::int16_t* a, std::int16_t* b, index n, int act,
                      int out) {
  for (index j = 0; j < n; ++j) b[j] = fixed_rules::gate_product(a[j], b[j], act, out);
}

}  // namespace backend
}  // namespace bbs

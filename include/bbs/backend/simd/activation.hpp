// SIMD activations: fixed16 sigmoid and tanh with AVX-512 where the CPU runs it, bit for bit the
// scalar table rule (core/fixed_activation.hpp). Float and double activations, and the values
// past the last whole vector, take the reference's path.
#pragma once

#include <cstdint>

#include "bbs/backend/common/requires_backend.hpp"
#include "bbs/backend/reference/activation.hpp"
#include "bbs/backend/simd/activation_avx512.hpp"
#include "bbs/backend/simd/isa.hpp"
#include "bbs/backend/simd/tag.hpp"
#include "bbs/core/fixed_activation.hpp"

namespace bbs {
namespace backend {
namespace simd_impl {

/// fixed_sigmoid (Sigmoid) or fixed_tanh of p[0, n) in place with one variant. Tests call it for
/// every variant the CPU supports.
template <bool Sigmoid, int F>
void fixed_activation_in_place(Isa isa, fixed16<F>* p, index n) {
  index done = 0;
#ifdef BBS_SIMD_HAVE_AVX512
  if constexpr (F > 0) {
    if (uses_avx512(isa)) {
      static_assert(sizeof(fixed16<F>) == sizeof(std::int16_t), "a fixed16 is its raw int16");
      done = fixed_activation_avx512<Sigmoid>(reinterpret_cast<std::int16_t*>(p), n, F,
                                              Sigmoid ? detail::sigmoid_table() : detail::tanh_table());
    }
  }
#endif
  (void)isa;
  if (Sigmoid) {
    sigmoid_in_place(simd::parent{}, simd::parent{}, p + done, n - done);
  } else {
    tanh_in_place(simd::parent{}, simd::parent{}, p + done, n - done);
  }
}

}  // namespace simd_impl

template <typename Backend, int F>
void sigmoid_in_place(Backend, requires_backend<simd>, fixed16<F>* p, index n) {
  simd_impl::fixed_activation_in_place<true>(simd_impl::best_isa(), p, n);
}

template <typename Backend, int F>
void tanh_in_place(Backend, requires_backend<simd>, fixed16<F>* p, index n) {
  simd_impl::fixed_activation_in_place<false>(simd_impl::best_isa(), p, n);
}

}  // namespace backend
}  // namespace bbs

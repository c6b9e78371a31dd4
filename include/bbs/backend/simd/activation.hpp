// SIMD activations: fixed16 sigmoid and tanh with AVX-512 where the CPU runs it, bit for bit the
// scalar table rule (core/fixed_activation.hpp), in one format (fixed16<F>) or from one raw
// format to another (the per-tensor formats of an LSTM); the LSTM cell update and gate product
// under those formats (core/fixed_formats.hpp). Float and double activations, and the values
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

/// fixed_sigmoid_raw (Sigmoid) or fixed_tanh_raw of the raw values p[0, n), Q(in_frac) to
/// Q(out_frac), in place with one variant. Tests call it for every variant the CPU supports.
template <bool Sigmoid>
void fixed_activation_raw_in_place(Isa isa, std::int16_t* p, index n, int in_frac, int out_frac) {
  index done = 0;
#ifdef BBS_SIMD_HAVE_AVX512
  if (in_frac > 0 && uses_avx512(isa)) {
    done = fixed_activation_avx512<Sigmoid>(p, n, in_frac, out_frac,
                                            Sigmoid ? detail::sigmoid_table() : detail::tanh_table());
  }
#endif
  (void)isa;
  if (Sigmoid) {
    sigmoid_raw_in_place(simd::parent{}, simd::parent{}, p + done, n - done, in_frac, out_frac);
  } else {
    tanh_raw_in_place(simd::parent{}, simd::parent{}, p + done, n - done, in_frac, out_frac);
  }
}

/// lstm_cell_update_raw and gate_product_raw (the kernel dispatch's) with one variant.
inline void lstm_cell_update_raw(Isa isa, const std::int16_t* i, const std::int16_t* f, const std::int16_t* g,
                                 std::int16_t* c, index n, int act, int cell) {
  index done = 0;
#ifdef BBS_SIMD_HAVE_AVX512
  if (uses_avx512(isa)) done = lstm_cell_update_avx512(i, f, g, c, n, act, cell);
#endif
  (void)isa;
  lstm_cell_update_raw(simd::parent{}, simd::parent{}, i + done, f + done, g + done, c + done, n - done, act, cell);
}

inline void gate_product_raw(Isa isa, const std::int16_t* a, std::int16_t* b, index n, int act, int out) {
  index done = 0;
#ifdef BBS_SIMD_HAVE_AVX512
  if (uses_avx512(isa)) done = gate_product_avx512(a, b, n, act, out);
#endif
  (void)isa;
  gate_product_raw(simd::parent{}, simd::parent{}, a + done, b + done, n - done, act, out);
}

/// The same for fixed16<F> values, Q(F) to Q(F).
template <bool Sigmoid, int F>
void fixed_activation_in_place(Isa isa, fixed16<F>* p, index n) {
  static_assert(sizeof(fixed16<F>) == sizeof(std::int16_t), "a fixed16 is its raw int16");
  fixed_activation_raw_in_place<Sigmoid>(isa, reinterpret_cast<std::int16_t*>(p), n, F, F);
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

template <typename Backend>
void sigmoid_raw_in_place(Backend, requires_backend<simd>, std::int16_t* p, index n, int in_frac, int out_frac) {
  simd_impl::fixed_activation_raw_in_place<true>(simd_impl::best_isa(), p, n, in_frac, out_frac);
}

template <typename Backend>
void tanh_raw_in_place(Backend, requires_backend<simd>, std::int16_t* p, index n, int in_frac, int out_frac) {
  simd_impl::fixed_activation_raw_in_place<false>(simd_impl::best_isa(), p, n, in_frac, out_frac);
}

template <typename Backend>
void lstm_cell_update_raw(Backend, requires_backend<simd>, const std::int16_t* i, const std::int16_t* f,
                          const std::int16_t* g, std::int16_t* c, index n, int act, int cell) {
  simd_impl::lstm_cell_update_raw(simd_impl::best_isa(), i, f, g, c, n, act, cell);
}

template <typename Backend>
void gate_product_raw(Backend, requires_backend<simd>, const std::int16_t* a, std::int16_t* b, index n, int act,
                      int out) {
  simd_impl::gate_product_raw(simd_impl::best_isa(), a, b, n, act, out);
}

}  // namespace backend
}  // namespace bbs

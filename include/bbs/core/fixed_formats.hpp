// Per-tensor fixed-point formats: every tensor of a fixed-point layer (each weight matrix, the
// input, the gate pre-activations, the gate activations, the cell state, the outputs) is an int16
// with its own number of fraction bits, and these rules move values between formats. They extend
// namespace bbs::fixed_rules (core/fixed_rules.hpp) with the same conventions: one rounding per
// operation (half up, as requantize), one saturation to int16, every intermediate exact in
// int64. Like fixed_rules.hpp this file is C++14 with <cstdint> only, so the FPGA kernel and RTL
// reference models include it as it is; docs/VALUE_TYPES.md ("Per-tensor formats") has the long
// form.
//
// A format is a fraction width f in [0, 15]: raw r stands for r / 2^f, range [-2^(15-f),
// 2^(15-f)). The container type fixed16<F> of a layer (its template argument) fixes the kernels'
// shift; a product of Q(fw) weights and Q(fx) inputs reaches Q(fy) through the kernel's alpha,
// an exact power of two (kernel_alpha_q), so SpMV and SpMM kernels need no change and every
// backend stays bit-exact.
#pragma once

#include <cstdint>

#include "bbs/core/fixed_rules.hpp"

namespace bbs {
namespace fixed_rules {

/// v / 2^shift rounded half up (floor(v / 2^shift + 1/2)) for shift > 0; v * 2^-shift (exact)
/// for shift <= 0. |v| * 2^-shift must stay below 2^62.
constexpr std::int64_t shift_round(std::int64_t v, int shift) {
  return shift > 0 ? floor_shift(v, shift) + (floor_shift(v, shift - 1) & 1) : v * (std::int64_t(1) << -shift);
}

/// A raw value of `from` fraction bits in `to` fraction bits: rounded once (half up) when bits
/// are dropped, exact when bits are added, saturated to int16.
constexpr std::int16_t rescale(std::int64_t v, int from, int to) { return saturate(shift_round(v, from - to)); }

/// Whether rescale(v, from, to) saturates.
constexpr bool rescale_saturates(std::int64_t v, int from, int to) { return saturates(shift_round(v, from - to)); }

/// The exponent e of the kernel alpha 2^e that turns the sums of Q(w) weights times Q(x) inputs
/// into Q(y) outputs, in a kernel whose container type has `container` fraction bits (the shift
/// scale_and_add applies): acc is Q(w + x), the kernel returns acc * alpha / 2^container, so
/// alpha = 2^(y + container - w - x).
constexpr int kernel_alpha_exponent(int w, int x, int y, int container) { return y + container - w - x; }

/// Whether alpha = 2^e is exact in Q15.16 and in range: -16 <= e <= 14.
constexpr bool kernel_alpha_in_range(int e) { return e >= -scale_frac_bits && e <= 14; }

/// alpha = 2^e as Q15.16 (kernel_alpha_in_range(e) required).
constexpr std::int32_t kernel_alpha_q(int e) { return static_cast<std::int32_t>(1) << (e + scale_frac_bits); }

/// The LSTM cell update c' = f * c + i * g with f, i, g in Q(act) and c, c' in Q(cell): both
/// products are brought exactly to Q(2 act + cell) (|f c 2^act|, |i g 2^cell| < 2^45), added, and
/// rounded once to Q(cell), saturated.
constexpr std::int16_t lstm_cell_update(std::int32_t f, std::int32_t c, std::int32_t i, std::int32_t g, int act,
                                        int cell) {
  return rescale(static_cast<std::int64_t>(f) * c * (std::int64_t(1) << act) +
                     static_cast<std::int64_t>(i) * g * (std::int64_t(1) << cell),
                 2 * act + cell, cell);
}

/// Whether lstm_cell_update(...) saturates.
constexpr bool lstm_cell_update_saturates(std::int32_t f, std::int32_t c, std::int32_t i, std::int32_t g, int act,
                                          int cell) {
  return rescale_saturates(static_cast<std::int64_t>(f) * c * (std::int64_t(1) << act) +
                               static_cast<std::int64_t>(i) * g * (std::int64_t(1) << cell),
                           2 * act + cell, cell);
}

/// a * b with a, b in Q(act) (the output gate and tanh(c)) to Q(out): one rounding, saturated.
constexpr std::int16_t gate_product(std::int32_t a, std::int32_t b, int act, int out) {
  return rescale(static_cast<std::int64_t>(a) * b, 2 * act, out);
}

/// The cell state's storage. A cell format of 0..15 fraction bits keeps c in int16, Q(15-f).f, as
/// every other tensor; 16..30 keeps it in int32, Q(31-f).f: the wide cell state. A counter-like
/// cell that reaches |c| = 153 is Q6 (step 2^-6) in 16 bits and Q22 in 32, so the rounding of c no
/// longer reaches h. The CPU backends (and the FPGA emulator's SpMV) run either; the RTL engine's
/// datapath keeps 16 bits, as the paper's.
constexpr int max_cell_frac_bits = 30;
constexpr std::int32_t raw32_min = -2147483647 - 1;
constexpr std::int32_t raw32_max = 2147483647;

/// Whether a cell format keeps c in int32 (fraction bits 16..30).
constexpr bool is_wide_cell(int cell) { return cell > 15; }

/// v saturated to int32.
constexpr std::int32_t saturate32(std::int64_t v) {
  return static_cast<std::int32_t>(v > raw32_max ? raw32_max : (v < raw32_min ? raw32_min : v));
}

/// Whether saturate32(v) changes v.
constexpr bool saturates32(std::int64_t v) { return v > raw32_max || v < raw32_min; }

/// lstm_cell_update for a wide cell state (cell in 16..30, c and c' int32): the same exact sum in
/// Q(2 act + cell) (|f c 2^act| < 2^61, |i g 2^cell| < 2^60), rounded once (half up) to Q(cell),
/// saturated to int32.
constexpr std::int32_t lstm_cell_update_wide(std::int32_t f, std::int32_t c, std::int32_t i, std::int32_t g, int act,
                                             int cell) {
  return saturate32(shift_round(static_cast<std::int64_t>(f) * c * (std::int64_t(1) << act) +
                                    static_cast<std::int64_t>(i) * g * (std::int64_t(1) << cell),
                                2 * act));
}

/// Whether lstm_cell_update_wide(...) saturates.
constexpr bool lstm_cell_update_wide_saturates(std::int32_t f, std::int32_t c, std::int32_t i, std::int32_t g, int act,
                                               int cell) {
  return saturates32(shift_round(static_cast<std::int64_t>(f) * c * (std::int64_t(1) << act) +
                                     static_cast<std::int64_t>(i) * g * (std::int64_t(1) << cell),
                                 2 * act));
}

/// The fraction bits of every tensor of one LSTM cell. A field of -1 means "the container's":
/// LstmFormats{} is the single shared format of fixed16<F>, bit for bit what bbs computed before
/// per-tensor formats existed (the FPGA engine's datapath).
struct LstmFormats {
  int weight_ih = -1;   ///< W_ih
  int weight_hh = -1;   ///< W_hh
  int weight_hr = -1;   ///< W_hr (projection; unused without one)
  int input = -1;       ///< x, the cell's input
  int gates = -1;       ///< the pre-activations W_ih x + W_hh h + b, and the bias
  int activation = -1;  ///< sigmoid(i, f, o), tanh(g), tanh(c)
  int cell = -1;        ///< c: 0..15 in int16, 16..30 in int32 (is_wide_cell)
  int hidden = -1;      ///< o * tanh(c) before the projection (ignored without one: h is then o * tanh(c))
  int output = -1;      ///< h, the cell's output and recurrent state

  /// Every -1 replaced by the container's fraction bits; without a projection hidden = output.
  constexpr LstmFormats resolved(int container, bool projection) const {
    LstmFormats r = *this;
    int* const fields[] = {&r.weight_ih,  &r.weight_hh, &r.weight_hr, &r.input, &r.gates,
                           &r.activation, &r.cell,      &r.hidden,    &r.output};
    for (int* p : fields) *p = *p < 0 ? container : *p;
    if (!projection) r.hidden = r.output;
    return r;
  }
};

}  // namespace fixed_rules
}  // namespace bbs

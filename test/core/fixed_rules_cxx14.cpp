// Compiled as C++14 with only namespace fixed_rules (core/fixed_rules.hpp and the per-tensor
// formats of core/fixed_formats.hpp), as an HLS kernel
// will include it: proves the rules need neither C++17 nor the rest of bbs, and evaluates a few
// of them at compile time. Nothing to run; building is the test.
#include <bbs/core/fixed_formats.hpp>
#include <bbs/core/fixed_rules.hpp>

#if __cplusplus != 201402L
#error "this file must be compiled as C++14"
#endif

namespace fr = bbs::fixed_rules;
static_assert(fr::quantize(2.5, 0) == 3 && fr::quantize(-2.5, 0) == -3, "ties away from zero");
static_assert(fr::quantize(100.0, 12) == 32767, "saturation");
static_assert(fr::requantize(24, 4) == 2 && fr::requantize(-24, 4) == -1, "round half up");
static_assert(fr::to_signed(fr::multiply_add(fr::multiply_add(fr::multiply_add(0u, 32767, 32767), 32767, 32767), 32767,
                                             32767)) == 3LL * 32767 * 32767 - 4294967296LL,
              "wrap-around");
static_assert(fr::scale_and_add(40000 * 16, 65536, 65536, -20000, 4) == 20000, "one saturation");

static_assert(fr::rescale(3, 1, 0) == 2 && fr::rescale(-3, 1, 0) == -1 && fr::rescale(7, 0, 3) == 56, "rescale");
static_assert(fr::lstm_cell_update(1 << 14, 1000, 0, 0, 14, 9) == 1000, "a forget gate of 1 keeps c");
static_assert(fr::LstmFormats{}.resolved(12, false).cell == 12, "unset formats are the container's");

int bbs_fixed_rules_cxx14_anchor() { return fr::raw_max; }

"""NumPy models of the C++ rules the Python tests check bbs against: bank-balanced pruning, the
error bound of a float dot product, and fixed16 arithmetic bit for bit (core/fixed_rules.hpp).
Deliberately plain loops and formulas, independent of the extension."""

import numpy as np


def bank_balanced_mask(W, bank_size, keep):
    """The C++ pruning rule: in every bank of bank_size consecutive columns of every row keep the
    `keep` largest magnitudes, ties to the lower column; a partial last bank keeps min(keep, width)."""
    rows, cols = W.shape
    mask = np.zeros(W.shape, dtype=bool)
    for r in range(rows):
        for first in range(0, cols, bank_size):
            bank = np.abs(W[r, first:first + bank_size].astype(np.float64))
            # A stable sort of -|w| keeps equal magnitudes in column order: ties go to the lower column.
            order = np.argsort(-bank, kind="stable")[: min(keep, bank.size)]
            mask[r, first + order] = True
    return mask


def dot_error_bound(n_terms, dtype):
    """bbs::dot_error_bound: 2 n u / (1 - n u) relative to sum |a_i x_i|, u half the dtype's epsilon."""
    u = float(np.finfo(dtype).eps) / 2
    nu = max(n_terms, 1) * u
    return 2 * nu / (1 - nu) if nu < 0.5 else 1.0


def assert_product_close(y, A_dense, x, n_terms, dtype, what=""):
    """y equals A_dense @ x (computed in float64) within the bound of a float sum of n_terms terms
    in `dtype`, elementwise relative to |A| @ |x| (a backend may sum in any order)."""
    A64 = A_dense.astype(np.float64)
    x64 = np.asarray(x, dtype=np.float64)
    exact = A64 @ x64
    scale = np.abs(A64) @ np.abs(x64)
    # Twice the bound: the float64 reference carries a rounding error of its own for float64 matrices.
    tolerance = 2 * dot_error_bound(n_terms, dtype) * scale + np.finfo(dtype).tiny
    error = np.abs(np.asarray(y, dtype=np.float64) - exact)
    worst = np.max(error - tolerance) if error.size else 0
    assert worst <= 0, f"{what}: error exceeds the bound by {worst} (largest error {error.max()})"


def quantize_raw(v, frac_bits):
    """fixed_rules::quantize: v * 2^F rounded to nearest, ties away from zero, saturated to int16."""
    scaled = np.asarray(v, dtype=np.float64) * 2.0 ** frac_bits
    rounded = np.sign(scaled) * np.floor(np.abs(scaled) + 0.5)
    return np.clip(rounded, -32768, 32767).astype(np.int64)


def quantize8_raw(v, frac_bits):
    """fixed_rules::quantize8: the same rounding as quantize_raw, saturated to int8."""
    scaled = np.asarray(v, dtype=np.float64) * 2.0 ** frac_bits
    rounded = np.sign(scaled) * np.floor(np.abs(scaled) + 0.5)
    return np.clip(rounded, -128, 127).astype(np.int64)


def fixed16_product(a_raw, x_raw, frac_bits):
    """y = A x in fixed16<F> as every backend computes it: exact int32 sums with wrap-around, then
    requantize (round half up, drop F bits, saturate). a_raw: rows x cols, x_raw: cols (x n).
    fixed8<Fw, Fx> is the same with F = Fw: int8 weights, sums in Q(Fw + Fx), results in Q(Fx)."""
    acc = a_raw.astype(np.int64) @ x_raw.astype(np.int64)
    acc = (acc + 2**31) % 2**32 - 2**31  # two's complement int32 wrap-around
    if frac_bits > 0:
        acc = (acc + (1 << (frac_bits - 1))) >> frac_bits  # >> on int64 is a floor shift
    return np.clip(acc, -32768, 32767)

#!/usr/bin/python3
"""Regenerates test/data/masks/: shared matrices and the masks tools/bbs_pruning.py computes for
them, which test/prune/test_patterns.cpp checks against the C++ masks entry for entry.

Each <matrix>.npz (numpy.savez: bbs reads only uncompressed archives) holds the weights "w" and
one boolean mask per configuration, named
    bbs_b<bank_size>_k<nnz_per_bank>            bank_balanced_mask
    unstructured_s<sparsity>                    unstructured_mask
    row_s<sparsity>                             row_mask (C++ unstructured_row_mask)
    block_r<rows>_c<cols>_s<sparsity>           block_mask
rounding.npz holds the two rounding rules as rows of float64 tables:
    from_sparsity: (bank_size, sparsity, nnz_per_bank)   bank_config_from_sparsity
    kept_count:    (n, sparsity, kept)                   kept_count
Run with Debian's interpreter: /usr/bin/python3 tools/make_mask_fixtures.py"""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bbs_pruning as bp  # noqa: E402

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "data", "masks")
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(20260128)


def tie_heavy(rows, cols):
    """Integers in [-3, 3], about half of the zeros negative: ties decide most entries."""
    w = rng.integers(-3, 4, size=(rows, cols)).astype(np.float32)
    w[(w == 0) & (rng.random((rows, cols)) < 0.5)] = -0.0
    return w


matrices = {
    # 21 columns: banks of 4, 5, 8 and 16 all leave a partial last bank (1, 1, 5 and 5 wide).
    "ties": tie_heavy(6, 21),
    # Tall, 6 columns: a bank of 8 is one partial bank; k = 7 exceeds its width.
    "tall": rng.standard_normal((40, 6)).astype(np.float32),
    # Wide, in float64, quantised to quarters: ties between non-integers, and a partial last bank.
    "wide": np.round(rng.standard_normal((3, 70)) * 4) / 4,
    # Gaussian float32, 50 columns (partial banks of 2 for 8 and 16).
    "gaussian": rng.standard_normal((24, 50)).astype(np.float32),
    # Mostly (signed) zeros, with all-zero rows and banks.
    "zeros": np.where(rng.random((5, 12)) < 0.8, 0.0, rng.integers(-2, 3, (5, 12))).astype(np.float32)
    * np.where(rng.random((5, 12)) < 0.5, -1.0, 1.0).astype(np.float32),
}
matrices["zeros"][1] = -0.0

banks = [(1, 1), (4, 1), (4, 2), (4, 3), (5, 2), (8, 2), (8, 5), (8, 7), (16, 3), (16, 7), (16, 16)]
sparsities = [0.0, 0.5, 0.75, 0.875, 0.9, 0.95]
blocks = [(1, 8), (2, 2), (3, 5), (4, 4)]


def name(x):
    return repr(float(x))


for matrix_name, w in matrices.items():
    t = torch.from_numpy(w)
    arrays = {"w": w}
    for b, k in banks:
        arrays[f"bbs_b{b}_k{k}"] = bp.bank_balanced_mask(t, b, k).numpy()
    for s in sparsities:
        arrays[f"unstructured_s{name(s)}"] = bp.unstructured_mask(t, s).numpy()
        arrays[f"row_s{name(s)}"] = bp.row_mask(t, s).numpy()
        for r, c in blocks:
            if s in (0.5, 0.75, 0.9):
                arrays[f"block_r{r}_c{c}_s{name(s)}"] = bp.block_mask(t, r, c, s).numpy()
    np.savez(os.path.join(out, f"{matrix_name}.npz"), **arrays)

decimal = [0.0, 0.1, 0.25, 0.3, 1 / 3, 0.5, 0.6, 0.7, 0.75, 0.8, 0.875, 0.9, 0.9375, 0.95, 0.99, 0.999, 1.0]
from_sparsity = [(b, s, bp.bank_config_from_sparsity(b, s).nnz_per_bank)
                 for b in (1, 2, 3, 4, 5, 8, 10, 15, 16, 20, 32, 64, 100, 256, 1000, 65536) for s in decimal]
kept = [(n, s, bp.kept_count(n, s))
        for n in (0, 1, 2, 3, 7, 15, 21, 100, 126, 1005, 12345, 10 ** 6 + 5, 3 * 10 ** 9 + 5) for s in decimal]
np.savez(os.path.join(out, "rounding.npz"), from_sparsity=np.array(from_sparsity, dtype=np.float64),
         kept_count=np.array(kept, dtype=np.float64))

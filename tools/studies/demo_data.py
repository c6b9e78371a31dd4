#!/usr/bin/python3
"""Writes the demo's test sets in the data format of ``bbs eval``.

    /usr/bin/python3 tools/studies/demo_data.py OUTDIR

- ``OUTDIR/digits_test.npz``: the accuracy study's digits test split (540 samples; scikit-learn's
  digits, stratified 70 / 30 split, seed 0): ``x`` (540, 8, 8) float32 = pixel / 16, the 8 rows
  as 8 time steps of 8 features; ``y`` int64.
- ``OUTDIR/fashion_test.npz``: Fashion-MNIST t10k: ``x`` (10000, 28, 28) uint8, ``y`` int64, and
  the float32 scalars ``x_scale``, ``x_offset`` of the study's normalisation
  (x_float = x * x_scale + x_offset = (x / 255 - 0.2860) / 0.3530).

Needs Debian's python3 (numpy, scikit-learn) and /usr/share/datasets/fashion-mnist/.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from accuracy_study import digits_split, fashion, fashion_scale, write_eval_npz  # noqa: E402


def main(argv):
    if len(argv) != 2:
        sys.exit("usage: demo_data.py OUTDIR")
    out = argv[1]
    os.makedirs(out, exist_ok=True)
    _, _, x, y = digits_split()
    write_eval_npz(os.path.join(out, "digits_test.npz"), x, y)
    print(f"{out}/digits_test.npz: x {x.shape} {x.dtype}, y {y.shape}")
    x, y = fashion("t10k")
    write_eval_npz(os.path.join(out, "fashion_test.npz"), x, y, *fashion_scale())
    print(f"{out}/fashion_test.npz: x {x.shape} {x.dtype}, y {y.shape}, x_scale / x_offset {fashion_scale()}")


if __name__ == "__main__":
    main(sys.argv)

#!/usr/bin/python3
"""Regenerates test/data/npy/: small .npy / .npz files written by NumPy itself, the independent
reference for bbs's .npy / .npz reader (include/bbs/io/npy.hpp, test/io/test_npy.cpp).
Run with Debian's interpreter: /usr/bin/python3 tools/make_npy_fixtures.py"""
import os

import numpy as np

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "data", "npy")
os.makedirs(out, exist_ok=True)


def path(name):
    return os.path.join(out, name)


a = (np.arange(12, dtype=np.float32).reshape(3, 4) - 5.5) / 4
np.save(path("c_order_f4.npy"), a)
np.save(path("fortran_f8.npy"), np.asfortranarray(a.astype(np.float64) * 3))
np.save(path("vector_f8.npy"), np.linspace(-1, 1, 5))
np.save(path("int16.npy"), np.array([[1, -2], [300, -32768]], dtype=np.int16))
np.save(path("half.npy"), np.array([[0.5, -1.25], [65504, 2**-14]], dtype=np.float16))
np.save(path("three_d.npy"), np.zeros((2, 2, 2), dtype=np.float32))
np.save(path("big_endian.npy"), np.array([1.0, 2.0], dtype=">f4"))
np.save(path("complex.npy"), np.array([1 + 2j], dtype=np.complex64))
np.savez(path("weights.npz"), w=a, b=np.arange(4, dtype=np.float64))
np.savez_compressed(path("compressed.npz"), w=a)

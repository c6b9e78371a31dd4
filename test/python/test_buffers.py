"""Buffers and threads: which right-hand sides a kernel reads in place (zero copy) and which are
converted, that every layout still gives the right answer, and that products release the GIL.

Zero copy is observed through bbs._bbs._last_kernel_input(), the address the last product handed
to its kernel: equal to the array's own buffer address when nothing was copied."""

import sys
import threading
import time

import numpy as np
import pytest

import bbs
from bbs import _bbs
from reference import assert_product_close


def address(a):
    return a.__array_interface__["data"][0]


@pytest.fixture
def A32(rng):
    return bbs.BbsMatrix.prune(rng.standard_normal((30, 64)).astype(np.float32), 16, keep=4)


def product_of(A, x):
    return A.to_dense().astype(np.float64) @ np.asarray(x, dtype=np.float64)


def test_contiguous_vector_of_the_matrix_dtype_is_not_copied(rng, A32):
    x = rng.standard_normal(64).astype(np.float32)
    y = A32 @ x
    assert _bbs._last_kernel_input() == address(x)
    assert not np.shares_memory(y, x)
    x.flags.writeable = False  # read-only inputs are read in place too
    A32 @ x
    assert _bbs._last_kernel_input() == address(x)


@pytest.mark.parametrize("order", ["C", "F"])
def test_contiguous_matrices_are_not_copied(rng, A32, order):
    X = np.asarray(rng.standard_normal((64, 9)), dtype=np.float32, order=order)
    Y = A32 @ X
    assert _bbs._last_kernel_input() == address(X)
    assert_product_close(Y, A32.to_dense(), X, 16, np.float32, f"{order} order")
    assert Y.flags.c_contiguous if order == "C" else Y.flags.f_contiguous


def test_column_slice_of_a_c_array_is_read_with_its_row_stride(rng, A32):
    big = rng.standard_normal((64, 20)).astype(np.float32)
    X = big[:, 3:11]  # rows contiguous, 20 elements apart
    Y = A32 @ X
    assert _bbs._last_kernel_input() == address(X)
    assert_product_close(Y, A32.to_dense(), X, 16, np.float32, "column slice")


def test_transposed_product_reads_fortran_order_in_place_and_copies_c_order(rng, A32):
    T = np.asfortranarray(rng.standard_normal((30, 5)).astype(np.float32))
    A32.T @ T
    assert _bbs._last_kernel_input() == address(T)
    C = np.ascontiguousarray(T)
    Y = A32.T @ C
    assert _bbs._last_kernel_input() != address(C)
    assert_product_close(Y, A32.to_dense().T, C, 30, np.float32, "A.T @ C-order X")


@pytest.mark.parametrize(
    "make",
    [
        lambda s: s[::2],  # strided
        lambda s: s[:64][::-1],  # negative stride
        lambda s: s[:64].astype(np.float64),  # another float dtype
        lambda s: np.round(s[:64] * 10).astype(np.int32),  # integers
        lambda s: s[:64].astype(s.dtype.newbyteorder(">")),  # big-endian float32
        lambda s: list(s[:64].astype(np.float64)),  # not an array at all
    ],
    ids=["strided", "reversed", "float64", "int32", "big-endian", "list"],
)
def test_other_inputs_are_converted_and_still_right(rng, A32, make):
    x = make(rng.standard_normal(128).astype(np.float32))
    y = A32 @ x
    if isinstance(x, np.ndarray):
        assert _bbs._last_kernel_input() != address(x)
    # The product of x converted to float32, the matrix's dtype.
    assert_product_close(y, A32.to_dense(), np.asarray(x, dtype=np.float32), 16, np.float32, "converted input")


def misaligned_copy(values):
    """values in a buffer one byte past an aligned address (NumPy flags it not aligned)."""
    raw = bytearray(values.nbytes + 1)
    x = np.frombuffer(raw, dtype=values.dtype, offset=1, count=values.size)
    order = "F" if values.flags.f_contiguous and not values.flags.c_contiguous else "C"
    x = x.reshape(values.shape, order=order)
    x[...] = values
    assert not x.flags.aligned
    return x


@pytest.mark.parametrize("shape,order", [((64,), "C"), ((64, 3), "C"), ((64, 3), "F")])
def test_misaligned_input_is_copied(rng, A32, shape, order):
    values = np.asarray(rng.standard_normal(shape), dtype=np.float32, order=order)
    x = misaligned_copy(values)
    y = A32 @ x
    assert _bbs._last_kernel_input() != address(x)
    assert_product_close(y, A32.to_dense(), values, 16, np.float32, "misaligned input")
    Q, _ = bbs.quantize(A32, "fixed16<12>")  # fixed point reads float64 first
    np.testing.assert_array_equal(Q @ misaligned_copy(values.astype(np.float64)), Q @ values)


def test_non_contiguous_matrix_is_converted_and_still_right(rng, A32):
    big = rng.standard_normal((128, 20)).astype(np.float32)
    X = big[::2, ::3]  # neither rows nor columns contiguous
    Y = A32 @ X
    assert _bbs._last_kernel_input() != address(X)
    assert_product_close(Y, A32.to_dense(), X, 16, np.float32, "strided matrix")


def test_float64_matrix_reads_float64_in_place_and_converts_float32(rng):
    A = bbs.BbsMatrix.prune(rng.standard_normal((10, 32)), 8, keep=2)
    x = rng.standard_normal(32)
    A @ x
    assert _bbs._last_kernel_input() == address(x)
    x32 = x.astype(np.float32)
    y = A @ x32
    assert y.dtype == np.float64 and _bbs._last_kernel_input() != address(x32)


def test_complex_and_object_inputs_are_rejected(A32):
    with pytest.raises(TypeError, match="complex"):
        A32 @ np.ones(64, dtype=np.complex64)
    with pytest.raises(TypeError):
        A32 @ np.array(["a"] * 64)


def test_products_release_the_gil(rng):
    """While one thread is inside a product, another Python thread runs. The switch interval is
    raised so that the interpreter never takes the GIL from the main thread by itself: without a
    release inside the product the counter cannot move between the two reads, deterministically."""
    A = bbs.BbsMatrix.prune(rng.standard_normal((1024, 1024)).astype(np.float32), 16, keep=4)
    X = rng.standard_normal((1024, 64)).astype(np.float32)  # a product of several milliseconds
    counter = [0]
    stop = threading.Event()

    def count():
        while not stop.is_set():
            counter[0] += 1
            time.sleep(1e-4)  # leaves the GIL free most of the time: the main thread never waits long for it

    previous = sys.getswitchinterval()
    thread = threading.Thread(target=count)
    try:
        sys.setswitchinterval(1000.0)
        thread.start()
        while counter[0] == 0:
            time.sleep(0.001)
        advanced = 0
        for _ in range(50):  # one product normally suffices; a busy machine may need a few
            before = counter[0]
            A.matmul(X, backend="reference")
            advanced = counter[0] - before
            if advanced > 0:
                break
        assert advanced > 0, "no other thread ran during any of 50 products: the GIL was held"
    finally:
        stop.set()
        thread.join()
        sys.setswitchinterval(previous)


def test_concurrent_products_are_right(rng):
    """Two threads multiplying by one matrix at once (the layout cache is built once, thread-safe)."""
    A = bbs.BbsMatrix.prune(rng.standard_normal((256, 512)).astype(np.float32), 16, keep=2)
    xs = [rng.standard_normal(512).astype(np.float32) for _ in range(2)]
    expected = [A @ x for x in xs]
    failures = []

    def work(i):
        for _ in range(200):
            if not np.array_equal(A @ xs[i], expected[i]):
                failures.append(i)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures

"""A @ x and A.T @ x against NumPy dense products and SciPy CSR products with the same nonzeros,
on awkward shapes, every backend, float32 and float64; fixed16 bit for bit against a NumPy model."""

import numpy as np
import pytest
import scipy.sparse

import bbs
from reference import assert_product_close, bank_balanced_mask, fixed16_product, quantize8_raw, quantize_raw

# (rows, cols, bank_size, keep): one row, one column, columns not a multiple of the bank, keep =
# bank (dense banks), keep 1, a partial last bank narrower than keep, banks of 257 (16-bit indices).
SHAPES = [
    (1, 40, 8, 2),
    (40, 1, 8, 2),
    (23, 37, 16, 4),
    (17, 64, 16, 16),
    (19, 50, 16, 1),
    (9, 35, 16, 5),  # last bank has 3 columns < keep
    (6, 600, 257, 30),
]
DTYPES = [np.float32, np.float64]


def make_matrix(rng, rows, cols, bank_size, keep, dtype):
    W = rng.standard_normal((rows, cols)).astype(dtype)
    return W, bbs.BbsMatrix.prune(W, bank_size, keep=keep)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("rows,cols,bank_size,keep", SHAPES)
def test_vector_products_match_numpy_and_scipy(rng, backend, dtype, rows, cols, bank_size, keep):
    W, A = make_matrix(rng, rows, cols, bank_size, keep, dtype)
    assert A.dtype == np.dtype(dtype).name
    dense = A.to_dense()
    # SciPy's matrix built independently, from the NumPy model of the pruning rule.
    S = scipy.sparse.csr_matrix(W * bank_balanced_mask(W, bank_size, keep))
    terms = max(1, min(cols, keep * -(-cols // bank_size)))

    x = rng.standard_normal(cols).astype(dtype)
    y = bbs.matmul(A, x, backend=backend)
    assert y.dtype == dtype and y.shape == (rows,)
    assert_product_close(y, dense, x, terms, dtype, f"A @ x on {backend}")
    assert_product_close(y, S.toarray(), x, terms, dtype, f"A @ x against SciPy on {backend}")
    assert_product_close(S @ x, dense, x, terms, dtype, "SciPy itself")

    t = rng.standard_normal(rows).astype(dtype)
    yt = bbs.matmul(A.T, t, backend=backend)
    assert yt.dtype == dtype and yt.shape == (cols,)
    assert_product_close(yt, dense.T, t, rows, dtype, f"A.T @ x on {backend}")
    assert_product_close(yt, S.T.toarray(), t, rows, dtype, f"A.T @ x against SciPy on {backend}")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [1, 17])
@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("rows,cols,bank_size,keep", SHAPES[:6])
def test_matrix_products_match_numpy_and_scipy(rng, backend, dtype, n, order, rows, cols, bank_size, keep):
    W, A = make_matrix(rng, rows, cols, bank_size, keep, dtype)
    dense = A.to_dense()
    S = scipy.sparse.csr_matrix(W * bank_balanced_mask(W, bank_size, keep))
    terms = max(1, min(cols, keep * -(-cols // bank_size)))

    X = np.asarray(rng.standard_normal((cols, n)), dtype=dtype, order=order)
    Y = A.matmul(X, backend=backend)
    assert Y.dtype == dtype and Y.shape == (rows, n)
    assert_product_close(Y, dense, X, terms, dtype, f"A @ X ({order} order) on {backend}")
    assert_product_close(Y, S.toarray(), X, terms, dtype, f"A @ X against SciPy on {backend}")

    T = np.asarray(rng.standard_normal((rows, n)), dtype=dtype, order=order)
    YT = A.T.matmul(T, backend=backend)
    assert YT.dtype == dtype and YT.shape == (cols, n)
    assert_product_close(YT, dense.T, T, rows, dtype, f"A.T @ X ({order} order) on {backend}")


def test_operator_and_default_backend_agree_with_named_backend(rng, restore_backend):
    W, A = make_matrix(rng, 33, 70, 16, 3, np.float32)
    x = rng.standard_normal(70).astype(np.float32)
    for name in bbs.backends():
        bbs.set_backend(name)
        assert bbs.get_backend() == name
        np.testing.assert_array_equal(A @ x, A.matmul(x, backend=name))
        np.testing.assert_array_equal(A.T @ x[:33], bbs.matmul(A.T, x[:33], backend=name))


def test_empty_products_have_the_right_shape(rng):
    _, A = make_matrix(rng, 5, 20, 8, 2, np.float64)
    assert (A @ np.zeros((20, 0))).shape == (5, 0)
    _, B = make_matrix(rng, 0, 20, 8, 2, np.float64)
    assert (B @ np.ones(20)).shape == (0,)
    np.testing.assert_array_equal(B.T @ np.ones(0), np.zeros(20))


@pytest.mark.parametrize("frac_bits", range(16))
def test_fixed16_round_trip_within_resolution(rng, frac_bits):
    # Magnitudes up to half the range of Q(15-F).F, so nothing saturates.
    limit = 2.0 ** (15 - frac_bits) / 2
    W = rng.uniform(-limit, limit, (12, 40))
    A = bbs.BbsMatrix.prune(W, 8, keep=3)
    Q, report = bbs.quantize(A, f"fixed16<{frac_bits}>")
    assert Q.dtype == f"fixed16<{frac_bits}>"
    assert (Q.shape, Q.bank_size, Q.keep, Q.nnz) == (A.shape, A.bank_size, A.keep, A.nnz)
    resolution = 2.0 ** -frac_bits
    error = np.abs(Q.to_dense().astype(np.float64) - A.to_dense())
    assert error.max() <= resolution / 2
    assert report.count == A.nnz and report.saturated == 0
    assert report.max_abs_error == pytest.approx(error.max(), rel=1e-6, abs=1e-12)
    np.testing.assert_array_equal(Q.dequantize().to_dense(), Q.to_dense())


@pytest.mark.parametrize("frac_bits", [0, 5, 12, 15])
def test_fixed16_products_bit_exact(rng, backend, frac_bits):
    limit = 2.0 ** (15 - frac_bits)
    W = rng.uniform(-limit / 4, limit / 4, (21, 45))
    Q, _ = bbs.quantize(bbs.BbsMatrix.prune(W, 16, keep=4), f"fixed16<{frac_bits}>")
    a_raw = np.round(Q.to_dense().astype(np.float64) * 2.0**frac_bits).astype(np.int64)
    # Inputs over the whole range and beyond it: rounding and saturation of x and of the sums.
    x = rng.uniform(-1.2 * limit, 1.2 * limit, 45)
    expected = fixed16_product(a_raw, quantize_raw(x, frac_bits), frac_bits) * 2.0**-frac_bits
    y = bbs.matmul(Q, x, backend=backend)
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y, expected)

    X = rng.uniform(-limit, limit, (45, 17))
    expected = fixed16_product(a_raw, quantize_raw(X, frac_bits), frac_bits) * 2.0**-frac_bits
    np.testing.assert_array_equal(bbs.matmul(Q, X, backend=backend), expected)

    t = rng.uniform(-limit, limit, 21)
    expected = fixed16_product(a_raw.T, quantize_raw(t, frac_bits), frac_bits) * 2.0**-frac_bits
    np.testing.assert_array_equal(bbs.matmul(Q.T, t, backend=backend), expected)

    T = rng.uniform(-limit, limit, (21, 3))
    expected = fixed16_product(a_raw.T, quantize_raw(T, frac_bits), frac_bits) * 2.0**-frac_bits
    np.testing.assert_array_equal(bbs.matmul(Q.T, T, backend=backend), expected)


@pytest.mark.parametrize("fw", range(8))
def test_fixed8_round_trip_within_resolution(rng, fw):
    limit = 2.0 ** (7 - fw)
    W = rng.uniform(-limit / 2, limit / 2, (12, 40))
    W[0, 0] = 1.5 * limit  # saturates to the largest weight, 127 / 2^Fw
    A = bbs.BbsMatrix.prune(W, 8, keep=3)
    Q, report = bbs.quantize(A, f"fixed8<{fw},9>")
    assert Q.dtype == f"fixed8<{fw},9>" and Q.result_dtype == np.float32
    assert (Q.shape, Q.bank_size, Q.keep, Q.nnz) == (A.shape, A.bank_size, A.keep, A.nnz)
    dense = Q.to_dense().astype(np.float64)
    np.testing.assert_array_equal(dense, quantize8_raw(A.to_dense(), fw) * 2.0**-fw)
    assert dense[0, 0] == 127 * 2.0**-fw
    assert report.count == A.nnz and report.saturated == 1
    assert np.abs(dense - A.to_dense())[1:].max() <= 2.0**-fw / 2
    np.testing.assert_array_equal(Q.dequantize().to_dense(), Q.to_dense())
    # One byte per weight: a stored entry costs 2 bytes against fixed16's 3.
    assert Q.memory_bytes < bbs.quantize(A, "fixed16<8>")[0].memory_bytes


def test_fixed8_auto_width_and_refusals(rng):
    W = rng.uniform(-3.0, 3.0, (6, 32))
    W[2, 5] = 3.9
    A = bbs.BbsMatrix.prune(W, 8, keep=2)
    Q, report = bbs.quantize(A, "fixed8<auto,12>")
    assert Q.dtype == "fixed8<5,12>"  # 127 / 2^5 = 3.97 holds 3.9; 127 / 2^6 would not
    assert report.saturated == 0
    assert bbs.quantize(A, "fixed8:5,12")[0].dtype == "fixed8<5,12>"
    for bad, why in [("fixed8<8,12>", "fraction width '8' is not auto or 0..7"),
                     ("fixed8<7,16>", "fraction width '16' is not auto or 0..15"),
                     ("fixed8<7,auto>", "expected float32"), ("fixed8<7>", "expected float32")]:
        with pytest.raises(bbs.ConfigError, match=f'value type "{bad}": {why}'):
            bbs.quantize(A, bad)
    with pytest.raises(bbs.ConfigError, match="quantize takes a float32 or float64 matrix"):
        bbs.quantize(Q, "fixed8<5,12>")
    with pytest.raises(bbs.InvalidValueError, match=r"fixed16<12>: cannot convert NaN to fixed point \(x\[3\]\)"):
        Q @ np.array([0, 0, 0, np.nan] + [0] * 28)


@pytest.mark.parametrize("fw,fx", [(0, 0), (3, 9), (7, 12), (5, 15), (7, 0), (1, 14)])
def test_fixed8_products_bit_exact(rng, backend, fw, fx):
    """int8 weights in Q(7-Fw).Fw against fixed16<Fx> activations: the NumPy model of the C++ rule
    (int32 sums in Q(Fw + Fx), requantized by Fw bits to Q(Fx)), every product form."""
    w_limit, x_limit = 2.0 ** (7 - fw), 2.0 ** (15 - fx)
    W = rng.uniform(-w_limit, w_limit, (21, 45))
    Q, _ = bbs.quantize(bbs.BbsMatrix.prune(W, 16, keep=4), f"fixed8<{fw},{fx}>")
    a_raw = np.round(Q.to_dense().astype(np.float64) * 2.0**fw).astype(np.int64)
    assert np.abs(a_raw).max() <= 128

    def expected(a, x):
        return fixed16_product(a, quantize_raw(x, fx), fw) * 2.0**-fx

    # Inputs over the whole range and beyond it: rounding and saturation of x and of the sums.
    x = rng.uniform(-1.2 * x_limit, 1.2 * x_limit, 45)
    y = bbs.matmul(Q, x, backend=backend)
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y, expected(a_raw, x))
    for order in "CF":
        X = np.asarray(rng.uniform(-x_limit, x_limit, (45, 17)), order=order)
        np.testing.assert_array_equal(bbs.matmul(Q, X, backend=backend), expected(a_raw, X))
    t = rng.uniform(-x_limit, x_limit, 21)
    np.testing.assert_array_equal(bbs.matmul(Q.T, t, backend=backend), expected(a_raw.T, t))
    T = rng.uniform(-x_limit, x_limit, (21, 3))
    np.testing.assert_array_equal(bbs.matmul(Q.T, T, backend=backend), expected(a_raw.T, T))


@pytest.mark.parametrize("kind", ["bfloat16", "float16"])
def test_16_bit_float_weights(rng, backend, kind):
    W = rng.standard_normal((30, 48)).astype(np.float32)
    A = bbs.BbsMatrix.prune(W, 16, keep=4)
    H, report = bbs.quantize(A, kind)
    assert H.dtype == kind and report.count == A.nnz
    eps = 2.0**-8 if kind == "bfloat16" else 2.0**-11  # half an ulp, relative
    assert np.all(np.abs(H.to_dense() - A.to_dense()) <= eps * np.abs(A.to_dense()))
    x = rng.standard_normal(48).astype(np.float32)
    assert_product_close(bbs.matmul(H, x, backend=backend), H.to_dense(), x, 12, np.float32, kind)
    X = rng.standard_normal((48, 5)).astype(np.float32)
    assert_product_close(bbs.matmul(H, X, backend=backend), H.to_dense(), X, 12, np.float32, kind + " A @ X")
    T = rng.standard_normal((30, 5)).astype(np.float32)
    assert_product_close(bbs.matmul(H.T, T, backend=backend), H.to_dense().T, T, 30, np.float32, kind + " A.T @ X")

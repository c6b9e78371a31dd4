"""BbsMatrix.prune against a NumPy model of the rule, and the SciPy / dense conversions."""

import numpy as np
import pytest
import scipy.sparse

import bbs
from reference import bank_balanced_mask


@pytest.mark.parametrize("rows,cols,bank_size,keep", [(7, 64, 16, 3), (5, 37, 8, 8), (4, 30, 16, 1), (3, 20, 16, 6)])
def test_prune_keeps_exactly_keep_largest_per_bank(rng, rows, cols, bank_size, keep):
    W = rng.standard_normal((rows, cols))  # continuous values: no ties, no zeros
    A = bbs.BbsMatrix.prune(W, bank_size, keep=keep)
    dense = A.to_dense()
    np.testing.assert_array_equal(dense, np.where(bank_balanced_mask(W, bank_size, keep), W, 0))
    for first in range(0, cols, bank_size):
        width = min(bank_size, cols - first)
        counts = np.count_nonzero(dense[:, first:first + width], axis=1)
        assert np.all(counts == min(keep, width))
    assert A.nnz == rows * sum(min(keep, min(bank_size, cols - f)) for f in range(0, cols, bank_size))
    assert (A.shape, A.bank_size, A.keep) == ((rows, cols), bank_size, keep)


def test_ties_go_to_the_lower_column():
    W = np.ones((2, 16))
    W[1, 10] = -1  # same magnitude: still a tie
    dense = bbs.BbsMatrix.prune(W, 8, keep=3).to_dense()
    np.testing.assert_array_equal(np.flatnonzero(dense[0]), [0, 1, 2, 8, 9, 10])
    np.testing.assert_array_equal(np.flatnonzero(dense[1]), [0, 1, 2, 8, 9, 10])


def test_sparsity_follows_the_rounding_rule(rng):
    W = rng.standard_normal((4, 64))
    assert bbs.BbsMatrix.prune(W, 64, sparsity=0.875).keep == 8
    assert bbs.BbsMatrix.prune(W, 16, sparsity=0.9).keep == 2  # 1.6 rounds up
    assert bbs.BbsMatrix.prune(W, 16, sparsity=0.99).keep == 1  # never 0 below sparsity 1
    assert bbs.BbsMatrix.prune(W, 16, sparsity=0.875).sparsity == pytest.approx(0.875)


def test_dtype_of_the_result(rng):
    W = rng.standard_normal((4, 32))
    assert bbs.BbsMatrix.prune(W.astype(np.float32), 8, keep=2).dtype == "float32"
    assert bbs.BbsMatrix.prune(W, 8, keep=2).dtype == "float64"
    assert bbs.BbsMatrix.prune(np.arange(128).reshape(4, 32), 8, keep=2).dtype == "float64"
    assert bbs.BbsMatrix.prune(W.astype(np.float16), 8, keep=2).dtype == "float64"
    assert bbs.BbsMatrix.prune(W, 8, keep=2, dtype="float32").dtype == "float32"
    Wf = np.asfortranarray(W.astype(np.float32))  # any layout
    np.testing.assert_array_equal(bbs.BbsMatrix.prune(Wf, 8, keep=2).to_dense(),
                                  bbs.BbsMatrix.prune(W.astype(np.float32), 8, keep=2).to_dense())


def test_memory_bytes(rng):
    A = bbs.BbsMatrix.prune(rng.standard_normal((10, 40)).astype(np.float32), 16, keep=4)
    stored = 10 * 3 * 4  # 3 banks (the last partial) of 4 entries per row
    assert A.memory_bytes == stored * (4 + 1)
    Q, _ = bbs.quantize(A, "fixed16<10>")
    assert Q.memory_bytes == stored * (2 + 1)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_scipy_round_trip(rng, dtype):
    W = rng.standard_normal((9, 45)).astype(dtype)
    A = bbs.BbsMatrix.prune(W, 16, keep=5)
    S = A.to_scipy()
    assert isinstance(S, scipy.sparse.csr_matrix)
    assert S.dtype == dtype and S.shape == A.shape and S.nnz == A.nnz
    np.testing.assert_array_equal(S.toarray(), A.to_dense())
    B = bbs.from_scipy(S.tocoo(), 16)  # any scipy format; keep inferred
    assert B.dtype == np.dtype(dtype).name and B.keep == 5
    np.testing.assert_array_equal(B.to_dense(), A.to_dense())


def test_from_scipy_keeps_explicit_zeros_and_sums_duplicates():
    # Row 0 stores an explicit zero as one of its two entries per bank; row 1 stores (1, 2) twice.
    data = [1.0, 0.0, 3.0, 4.0, 1.0, 1.0, 5.0, 6.0, 7.0]
    rows = [0, 0, 0, 0, 1, 1, 1, 1, 1]
    cols = [0, 1, 4, 7, 2, 2, 3, 5, 6]
    S = scipy.sparse.coo_matrix((data, (rows, cols)), shape=(2, 8))
    A = bbs.from_scipy(S, 4)
    assert A.keep == 2 and A.nnz == 8
    np.testing.assert_array_equal(A.to_dense(), S.toarray())


def test_from_scipy_rejects_unbalanced_patterns():
    S = scipy.sparse.csr_matrix(np.array([[1.0, 2.0, 0, 0], [1.0, 0, 0, 0]]))
    with pytest.raises(bbs.FormatError, match="row 1 bank 0"):
        bbs.from_scipy(S, 4)
    with pytest.raises(TypeError):
        bbs.from_scipy(np.eye(4), 4)


def test_properties_and_views(rng):
    A = bbs.BbsMatrix.prune(rng.standard_normal((6, 20)).astype(np.float32), 8, keep=3)
    assert repr(A) == "BbsMatrix(float32, 6 x 20, bank_size 8, keep 3, nnz 54)"
    assert A.T.shape == (20, 6) and A.T.T is A and A.T.dtype == "float32"
    assert repr(A.T) == repr(A) + ".T"
    np.testing.assert_array_equal(A.T.to_dense(), A.to_dense().T)
    assert A.result_dtype == np.float32 and A.T.result_dtype == np.float32
    assert A.dequantize() is A
    with pytest.raises(TypeError):
        np.ones(6, dtype=np.float32) @ A  # NumPy defers to BbsMatrix, which has no x @ A
    with pytest.raises(TypeError):
        bbs.BbsMatrix()  # only prune, from_scipy, quantize and load make matrices

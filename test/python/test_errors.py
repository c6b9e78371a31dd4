"""C++ exceptions arrive as bbs exception classes with the C++ messages."""

import numpy as np
import pytest

import bbs

CLASSES = [bbs.ShapeError, bbs.ConfigError, bbs.InvalidValueError, bbs.FormatError, bbs.FileError, bbs.DeviceError]


def test_hierarchy():
    assert issubclass(bbs.Error, Exception) and bbs.Error is not RuntimeError
    for cls in CLASSES:
        assert issubclass(cls, bbs.Error) and cls is not RuntimeError
        assert cls.__module__ == "bbs"
    for cls in (bbs.ShapeError, bbs.ConfigError, bbs.InvalidValueError, bbs.FormatError):
        assert issubclass(cls, ValueError)
    assert issubclass(bbs.FileError, OSError)


@pytest.fixture
def A(rng):
    return bbs.BbsMatrix.prune(rng.standard_normal((8, 37)).astype(np.float32), 16, keep=3)


def test_wrong_length_of_x_gives_the_cpp_shape_message(A):
    message = "product A * X: op(A) is 8 x 37, so the right-hand side needs 37 rows; it is 36 x 1"
    with pytest.raises(bbs.ShapeError) as caught:
        A @ np.ones(36, dtype=np.float32)
    assert str(caught.value) == message
    with pytest.raises(bbs.ShapeError, match=r"product A\^T \* X: op\(A\) is 37 x 8, so the right-hand side needs 8"):
        A.T @ np.ones((37, 2))
    with pytest.raises(bbs.ShapeError, match="1-D or 2-D"):
        A @ np.ones((37, 1, 1))


def test_bank_configuration_errors(rng):
    W = rng.standard_normal((4, 32))
    with pytest.raises(bbs.ConfigError, match=r"nnz_per_bank must be in \[0, bank_size = 16\], got 17"):
        bbs.BbsMatrix.prune(W, 16, keep=17)
    with pytest.raises(bbs.ConfigError, match=r"bank_size must be in \[1, 65536\], got 0"):
        bbs.BbsMatrix.prune(W, 0, keep=1)
    with pytest.raises(bbs.ConfigError, match="exactly one of keep and sparsity, got both"):
        bbs.BbsMatrix.prune(W, 16, keep=2, sparsity=0.5)
    with pytest.raises(bbs.ConfigError, match="exactly one of keep and sparsity, got neither"):
        bbs.BbsMatrix.prune(W, 16)
    with pytest.raises(bbs.ConfigError, match=r"sparsity must be in \[0, 1\]"):
        bbs.BbsMatrix.prune(W, 16, sparsity=1.5)
    with pytest.raises(bbs.ShapeError, match="W must be 2-D"):
        bbs.BbsMatrix.prune(W[0], 16, keep=2)


def test_non_finite_weights(rng):
    W = rng.standard_normal((4, 32))
    W[2, 5] = np.nan
    with pytest.raises(bbs.InvalidValueError, match=r"weight \(2, 5\) is nan"):
        bbs.BbsMatrix.prune(W, 16, keep=2)
    Q, _ = bbs.quantize(bbs.BbsMatrix.prune(W[:2], 16, keep=2), "fixed16<8>")
    with pytest.raises(bbs.InvalidValueError):
        Q @ np.full(32, np.nan)


def test_backend_errors(A, restore_backend):
    with pytest.raises(bbs.ConfigError, match='unknown backend "gpu"; this build has: ' + ", ".join(bbs.backends())):
        A.matmul(np.ones(37, dtype=np.float32), backend="gpu")
    with pytest.raises(bbs.ConfigError, match='unknown backend "gpu"'):
        bbs.set_backend("gpu")
    with pytest.raises(bbs.ConfigError, match='unknown backend "gpu"'):
        bbs.matmul(A.T, np.ones(8), backend="gpu")


def test_quantize_errors(A):
    with pytest.raises(bbs.ConfigError, match='value type "fixed16<16>": fraction width .16. is not auto or 0..15'):
        bbs.quantize(A, "fixed16<16>")
    with pytest.raises(bbs.ConfigError, match='value type "int8": expected float32, float64, bfloat16, float16, fixed16<F> or fixed8<Fw,Fx>'):
        bbs.quantize(A, "int8")
    Q, _ = bbs.quantize(A, "fixed16<auto>")
    assert Q.dtype.startswith("fixed16<")
    with pytest.raises(bbs.ConfigError, match="quantize takes a float32 or float64 matrix"):
        bbs.quantize(Q, "fixed16<12>")


def test_saturation_is_reported(rng):
    A = bbs.BbsMatrix.prune(np.full((2, 16), 10.0), 16, keep=4)
    _, report = bbs.quantize(A, "fixed16<12>")  # range [-8, 8)
    assert report.saturated == report.count == 8
    assert report.max_abs_error == pytest.approx(10.0 - (8 - 2**-12))

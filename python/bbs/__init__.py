"""bbs: bank-balanced sparse matrices (Compressed Sparse Banks) for NumPy and SciPy.

The C++ library (header-only, include/bbs/) does the work; this package is its Python face.
See docs/PYTHON.md for installation, the rules on copies and the GIL, backends and errors.

    >>> import numpy as np, bbs
    >>> W = np.random.default_rng(0).standard_normal((256, 512), dtype=np.float32)
    >>> A = bbs.BbsMatrix.prune(W, 16, sparsity=0.875)   # banks of 16, keep 2 per bank
    >>> y = A @ np.ones(512, dtype=np.float32)
"""

from bbs._bbs import (
    BbsMatrix,
    ConfigError,
    DeviceError,
    Error,
    FileError,
    FormatError,
    InvalidValueError,
    QuantizationReport,
    ShapeError,
    TransposedBbsMatrix,
    __version__,
    backends,
    get_backend,
    load,
    matmul,
    quantize,
    save,
    set_backend,
)
from bbs._scipy import from_scipy

__all__ = [
    "BbsMatrix",
    "ConfigError",
    "DeviceError",
    "Error",
    "FileError",
    "FormatError",
    "InvalidValueError",
    "QuantizationReport",
    "ShapeError",
    "TransposedBbsMatrix",
    "__version__",
    "backends",
    "from_scipy",
    "get_backend",
    "load",
    "matmul",
    "quantize",
    "save",
    "set_backend",
]

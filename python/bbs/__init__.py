"""bbs: bank-balanced sparse matrices (Compressed Sparse Banks) for NumPy and SciPy.

The C++ library (header-only, include/bbs/) does the work; this package is its Python face.
See docs/PYTHON.md for installation, the rules on copies and the GIL, backends and errors.

    >>> import numpy as np, bbs
    >>> W = np.random.default_rng(0).standard_normal((256, 512), dtype=np.float32)
    >>> A = bbs.BbsMatrix.prune(W, 16, sparsity=0.875)   # banks of 16, keep 2 per bank
    >>> y = A @ np.ones(512, dtype=np.float32)

Submodules: bbs.nn (model files, streams), bbs.torch (PyTorch conversion), bbs.pruning (masks,
GradualPruner), bbs.export (PyTorch to model files), bbs.calibration (fixed-point formats).
"""

try:
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
except ModuleNotFoundError as error:
    if error.name != "bbs._bbs":
        raise
    # The source tree without the compiled extension: the pure-Python modules (bbs.pruning,
    # bbs.export, bbs.calibration, which tools/ imports) work; everything else says what is missing.
    _missing = error

    def __getattr__(name):
        if name.startswith("__"):  # probes such as hasattr(bbs, "__wrapped__")
            raise AttributeError(name)
        raise ImportError(
            f"bbs.{name} needs the compiled extension bbs._bbs, which is not built here: build it "
            "(cmake --build <build> --target bbs_python_extension) and set PYTHONPATH=<build>/python, "
            "or pip install the package (docs/PYTHON.md)"
        ) from _missing


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

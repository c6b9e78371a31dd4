"""Shared fixtures of the bbs package tests. They import bbs from PYTHONPATH: CTest points it at
the build tree's package (<build>/python); by hand, e.g.
    PYTHONPATH=build-py/python /usr/bin/python3 -m pytest -q test/python
"""

import numpy as np
import pytest

try:
    import bbs
except ImportError as error:  # a clear message instead of an error in every test file
    raise ImportError(
        "the bbs package is not importable: build it (cmake --build <build> --target bbs_python_extension) "
        "and set PYTHONPATH=<build>/python"
    ) from error


@pytest.fixture
def rng():
    return np.random.default_rng(20261206)


@pytest.fixture(params=bbs.backends())
def backend(request):
    """Every backend compiled into this build."""
    return request.param


@pytest.fixture
def restore_backend():
    """Puts the process-wide default backend back after a test that changes it."""
    before = bbs.get_backend()
    yield
    bbs.set_backend(before)

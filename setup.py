"""The extension bbs._bbs for pip (pyproject.toml holds the rest of the metadata).

The library is header-only, so the extension is python/src/*.cpp compiled against include/,
Eigen and pybind11; no CMake. EIGEN3_INCLUDE_DIR overrides where Eigen is looked for.
"""

import os
import re
from glob import glob

import pybind11
from setuptools import Extension, setup

HERE = os.path.dirname(os.path.abspath(__file__))


def version():
    with open(os.path.join(HERE, "include", "bbs", "core", "config.hpp")) as f:
        text = f.read()
    parts = [re.search(rf"#define BBS_VERSION_{p} (\d+)", text).group(1) for p in ("MAJOR", "MINOR", "PATCH")]
    return ".".join(parts)


def eigen_include():
    for candidate in (os.environ.get("EIGEN3_INCLUDE_DIR"), "/usr/include/eigen3", "/usr/local/include/eigen3"):
        if candidate and os.path.isfile(os.path.join(candidate, "Eigen", "Core")):
            return candidate
    raise RuntimeError("Eigen 3 not found (Debian: libeigen3-dev); set EIGEN3_INCLUDE_DIR")


extension = Extension(
    "bbs._bbs",
    sources=sorted(glob("python/src/*.cpp")),
    include_dirs=["include", eigen_include(), pybind11.get_include()],
    language="c++",
    # -g0: the interpreter's default flags ask for debug information, which slows the build of the
    # kernels and bloats the module. -fopenmp: the openmp backend, as the CMake build has it.
    extra_compile_args=["-std=c++17", "-O3", "-g0", "-DNDEBUG", "-fvisibility=hidden", "-fopenmp"],
    extra_link_args=["-fopenmp"],
)

# Intermediate files go to build-pip/ (ignored like every /build*), never into the CMake build
# trees at the root (build/, build-*/) nor into the source tree (python/bbs.egg-info).
BUILD_BASE = "build-pip"
os.makedirs(BUILD_BASE, exist_ok=True)

setup(
    version=version(),
    ext_modules=[extension],
    options={"build": {"build_base": BUILD_BASE}, "egg_info": {"egg_base": BUILD_BASE}},
)

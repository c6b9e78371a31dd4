"""Makes the package module bbs.<name> importable from tools/ under its old script name.

bbs.pruning, bbs.export and bbs.calibration are pure Python (torch and numpy, no compiled
extension), so the scripts here import them from the source tree (python/) when the built
package is not on the path; with it (PYTHONPATH=build/python, or pip install) they get the
built copy of the same file.
"""

import importlib
import os
import sys

SOURCE = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))


def alias(script_name: str, module: str) -> None:
    """Replaces the module `script_name` in sys.modules by bbs.<module>."""
    if SOURCE not in sys.path:
        sys.path.append(SOURCE)  # after PYTHONPATH and site-packages: a built package wins
    sys.modules[script_name] = importlib.import_module(f"bbs.{module}")

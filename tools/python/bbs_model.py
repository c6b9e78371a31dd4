"""bbs_model: the name tools/ scripts and tests import; the implementation is bbs.export
(python/bbs/export.py), and this module is replaced by it on import (_package.py)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _package import alias  # noqa: E402

alias(__name__, "export")

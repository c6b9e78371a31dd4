"""The type stubs (python/bbs/_bbs.pyi) name exactly what the extension defines."""

import ast
import os

import bbs
from bbs import _bbs


def stub_tree():
    path = os.path.join(os.path.dirname(bbs.__file__), "_bbs.pyi")
    with open(path) as f:
        return ast.parse(f.read())


def public(names):
    return {n for n in names if not n.startswith("__") or n in ("__version__", "__matmul__", "__array_ufunc__", "__call__")}


def test_module_names_match():
    tree = stub_tree()
    stubbed = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            stubbed.add(node.name)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id != "_Path":
            stubbed.add(node.target.id)
    defined = public(n for n in dir(_bbs) if not n.startswith("__") or n == "__version__")
    assert stubbed == defined


def test_class_members_match():
    for node in stub_tree().body:
        if not isinstance(node, ast.ClassDef) or issubclass(getattr(_bbs, node.name), BaseException):
            continue
        stubbed = set()
        for member in node.body:
            if isinstance(member, ast.FunctionDef):
                stubbed.add(member.name)
            elif isinstance(member, ast.AnnAssign):
                stubbed.add(member.target.id)
        cls = getattr(_bbs, node.name)
        defined = public(n for n in vars(cls) if not n.startswith("_") or n in ("__matmul__", "__array_ufunc__", "__call__"))
        # __getstate__ / __setstate__ (pickling) and __init__ are listed for type checkers.
        assert stubbed - {"__getstate__", "__setstate__", "__init__"} == defined, node.name


def test_package_exports_everything_public():
    import bbs.nn

    public_names = {n for n in dir(_bbs) if not n.startswith("_")}
    assert set(bbs.__all__) | set(bbs.nn.__all__) == public_names | {"from_scipy", "__version__"}
    assert not set(bbs.__all__) & set(bbs.nn.__all__)

"""The public API of every package (STYLE rule 3), and every docstring example, in one place.

- Each package's ``__all__`` exists, repeats nothing, is sorted (constants first), names
  attributes that exist, and is what a star import gives.
- Every exported class and function has a docstring.
- Nothing public is left out: every name a package ``__init__`` defines or imports from its
  own modules without a leading underscore is in its ``__all__`` (helpers it only uses are
  imported under a private name, or reached through their module).
- Every module's ``__all__`` names exist.
- Every docstring example in the package runs and shows what it claims (doctest).

Packages and modules are discovered with pkgutil, so a new one is checked without editing
this file.
"""

from __future__ import annotations

import ast
import doctest
import importlib
import inspect
import logging
import pkgutil
from pathlib import Path

import pytest

import twinverse


def _modules() -> list[str]:
    names = ["twinverse"]
    for info in pkgutil.walk_packages(twinverse.__path__, "twinverse."):
        if info.name.endswith("__main__"):
            continue
        names.append(info.name)
    return names


MODULES = _modules()
PACKAGES = [n for n in MODULES if hasattr(importlib.import_module(n), "__path__")]


def _sort_key(name: str) -> tuple[bool, str]:
    return (not name.isupper(), name)


def test_packages_found() -> None:
    assert {
        "twinverse",
        "twinverse.core",
        "twinverse.model",
        "twinverse.ingest",
        "twinverse.live",
        "twinverse.store",
        "twinverse.trust",
        "twinverse.sim",
        "twinverse.scene",
        "twinverse.api",
        "twinverse.cli",
    } <= set(PACKAGES)


@pytest.mark.parametrize("name", PACKAGES)
def test_package_exports(name: str) -> None:
    mod = importlib.import_module(name)
    exported = getattr(mod, "__all__", None)
    assert exported is not None, f"{name} has no __all__"
    assert len(exported) == len(set(exported)), f"{name}.__all__ repeats a name"
    assert list(exported) == sorted(exported, key=_sort_key), f"{name}.__all__ is not sorted"
    missing = [n for n in exported if not hasattr(mod, n)]
    assert missing == [], f"{name}.__all__ names missing attributes: {missing}"
    ns: dict[str, object] = {}
    exec(f"from {name} import *", ns)  # what users get with a star import
    assert set(exported) <= set(ns)


@pytest.mark.parametrize("name", PACKAGES)
def test_exported_classes_and_functions_are_documented(name: str) -> None:
    mod = importlib.import_module(name)
    bare = [
        n
        for n in getattr(mod, "__all__", [])
        if (inspect.isclass(obj := getattr(mod, n)) or inspect.isfunction(obj)) and not inspect.getdoc(obj)
    ]
    assert bare == [], f"{name} exports without a docstring: {bare}"


def _public_bindings(source: str, package: str) -> set[str]:
    """Public names an ``__init__`` binds at top level from inside ``package``.

    Definitions and assignments count, and imports from the package's own modules
    (``from .x import y``, ``from package.x import y``); imports of submodules
    (``from . import x``) and of anything outside the package do not.
    """
    names: set[str] = set()

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.If | ast.Try):  # TYPE_CHECKING and fallback imports
                visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.ImportFrom):
                own = node.level == 1 or (node.level == 0 and (node.module or "").startswith(package + "."))
                if own and node.module is not None:
                    names.update(a.asname or a.name for a in node.names)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(node.name)
            elif isinstance(node, ast.Assign):
                names.update(t.id for t in node.targets if isinstance(t, ast.Name))
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                names.add(node.target.id)

    visit(ast.parse(source).body)
    return {n for n in names if not n.startswith("_")}


@pytest.mark.parametrize("name", PACKAGES)
def test_package_leaves_nothing_public_out_of_all(name: str) -> None:
    mod = importlib.import_module(name)
    assert mod.__file__ is not None
    left_out = sorted(_public_bindings(Path(mod.__file__).read_text(), name) - set(getattr(mod, "__all__", [])))
    assert left_out == [], f"{name}/__init__.py binds public names missing from __all__: {left_out}"


def test_left_out_check_finds_an_offence() -> None:
    source = """
from typing import TYPE_CHECKING, Any
from . import sub
from .. import errors
from .a import Public, helper, _private
from .b import used as _used
from pkg.c import absolute
if TYPE_CHECKING:
    from .d import Typed
CONSTANT = 1
table: dict[str, Any] = {}
_state = {}
def func() -> None: ...
class Thing: ...
"""
    assert _public_bindings(source, "pkg") == {
        "CONSTANT",
        "Public",
        "Thing",
        "Typed",
        "absolute",
        "func",
        "helper",
        "table",
    }


@pytest.mark.parametrize("name", [n for n in MODULES if n not in PACKAGES])
def test_module_all_names_exist(name: str) -> None:
    mod = importlib.import_module(name)
    missing = [n for n in getattr(mod, "__all__", []) if not hasattr(mod, n)]
    assert missing == [], f"{name}.__all__ names missing attributes: {missing}"


def _has_examples(name: str) -> bool:
    finder = doctest.DocTestFinder()
    return any(t.examples for t in finder.find(importlib.import_module(name)))


@pytest.mark.parametrize("name", [n for n in MODULES if _has_examples(n)])
def test_docstring_examples(name: str) -> None:
    logging.disable(logging.WARNING)  # the examples' throwaway keys are unencrypted on purpose
    try:
        result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    finally:
        logging.disable(logging.NOTSET)
    assert result.attempted > 0 and result.failed == 0


def test_examples_are_found() -> None:
    """The doctest sweep really covers the modules known to carry examples."""
    with_examples = {n for n in MODULES if _has_examples(n)}
    assert {"twinverse.core.clock", "twinverse.core.values", "twinverse.sim", "twinverse.trust.merkle"} <= with_examples

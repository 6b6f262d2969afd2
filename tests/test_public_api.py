"""The public API of every package (STYLE rule 3), and every docstring example, in one place.

- Each package's ``__all__`` exists, repeats nothing, is sorted (constants first), names
  attributes that exist, and is what a star import gives.
- Every exported class and function has a docstring.
- Every module's ``__all__`` names exist.
- Every docstring example in the package runs and shows what it claims (doctest).

Packages and modules are discovered with pkgutil, so a new one is checked without editing
this file.
"""

from __future__ import annotations

import doctest
import importlib
import inspect
import logging
import pkgutil

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

"""Every package's ``__all__`` names exist and import (STYLE rule 3)."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import twinverse


def _modules() -> list[str]:
    names = ["twinverse"]
    for info in pkgutil.walk_packages(twinverse.__path__, "twinverse."):
        if info.name.split(".")[-1].startswith("_") and not info.name.endswith("__main__"):
            continue
        if info.name.endswith("__main__"):
            continue
        names.append(info.name)
    return names


PACKAGES = [n for n in _modules() if hasattr(importlib.import_module(n), "__path__")]


def test_packages_found() -> None:
    assert {
        "twinverse",
        "twinverse.model",
        "twinverse.ingest",
        "twinverse.live",
        "twinverse.store",
        "twinverse.api",
        "twinverse.cli",
    } <= set(PACKAGES)


@pytest.mark.parametrize("name", PACKAGES)
def test_package_exports(name: str) -> None:
    mod = importlib.import_module(name)
    exported = getattr(mod, "__all__", None)
    assert exported is not None, f"{name} has no __all__"
    assert len(exported) == len(set(exported)), f"{name}.__all__ repeats a name"
    missing = [n for n in exported if not hasattr(mod, n)]
    assert missing == [], f"{name}.__all__ names missing attributes: {missing}"
    ns: dict[str, object] = {}
    exec(f"from {name} import *", ns)  # what users get with a star import
    assert set(exported) <= set(ns)


@pytest.mark.parametrize("name", [n for n in _modules() if n not in PACKAGES])
def test_module_all_names_exist(name: str) -> None:
    mod = importlib.import_module(name)
    missing = [n for n in getattr(mod, "__all__", []) if not hasattr(mod, n)]
    assert missing == []


def test_model_api() -> None:
    from twinverse import model

    assert set(model.__all__) >= {"Plant", "SignalIndex", "load_plant", "loads_plant", "TwinType", "Twin"}
    assert twinverse.__version__.count(".") == 2

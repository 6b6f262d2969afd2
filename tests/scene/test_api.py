"""The public API of twinverse.scene: its export list and its docstring example."""

from __future__ import annotations

import doctest

import twinverse.scene as scene


def test_export_list() -> None:
    assert scene.__all__ == sorted(scene.__all__, key=lambda n: (not n.isupper(), n))
    for name in scene.__all__:
        assert getattr(scene, name) is not None
    public = {n for n in vars(scene) if not n.startswith("_") and n not in {"annotations", "gltf", "layout", "shapes",
                                                                              "timetravel"}}
    assert public == set(scene.__all__)


def test_docstring_example_runs() -> None:
    result = doctest.testmod(scene, optionflags=doctest.ELLIPSIS)
    assert result.attempted == 5 and result.failed == 0

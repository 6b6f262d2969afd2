"""twinverse.scene's docstring example (its export list is checked in tests/test_public_api.py)."""

from __future__ import annotations

import doctest

import twinverse.scene as scene


def test_docstring_example_runs() -> None:
    result = doctest.testmod(scene, optionflags=doctest.ELLIPSIS)
    assert result.attempted == 5 and result.failed == 0

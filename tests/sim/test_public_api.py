"""The package's public API: what __all__ promises exists, and the docstring example runs."""

from __future__ import annotations

import doctest

import twinverse.sim as sim
from twinverse.sim import distributions, engine, scenario, spec


def test_exports_exist_and_are_sorted() -> None:
    assert sim.__all__ == sorted(sim.__all__, key=lambda n: (not n.isupper(), n))
    for name in sim.__all__:
        assert getattr(sim, name) is not None, name


def test_docstring_examples() -> None:
    for mod in (sim, distributions, engine, scenario, spec):
        result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS)
        assert result.failed == 0, mod.__name__
        assert result.attempted > 0, mod.__name__

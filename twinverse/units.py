"""Units of measure: one shared pint registry and affine conversions for columns."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
import pint

__all__ = ["UnknownUnit", "check_unit", "conversion", "registry"]


class UnknownUnit(ValueError):
    """pint does not know this unit, or the two units are not compatible."""


@lru_cache(maxsize=1)
def registry() -> Any:
    """The process-wide unit registry (building one takes ~0.3 s, so it is shared)."""
    ureg: Any = pint.UnitRegistry(autoconvert_offset_to_baseunit=True)
    # Counting units common on production lines; all dimensionless.
    ureg.define("piece = [] = pcs = parts = bottle = bottles = case = cases")
    return ureg


@lru_cache(maxsize=4096)
def check_unit(unit: str) -> str:
    """Return ``unit`` if pint can parse it; raise :class:`UnknownUnit` otherwise."""
    try:
        registry().parse_units(unit)
    except (pint.errors.UndefinedUnitError, pint.errors.DefinitionSyntaxError, ValueError,
            AttributeError, TypeError, AssertionError) as exc:
        raise UnknownUnit(f"unknown unit {unit!r}") from exc
    return unit


@lru_cache(maxsize=4096)
def conversion(source: str, target: str) -> tuple[float, float]:
    """``(scale, offset)`` so that ``value_in_target = value_in_source * scale + offset``.

    Every pint unit conversion is affine, so two evaluations fix it; columns are then
    converted with one multiply-add.
    """
    ureg = registry()
    try:
        src, dst = ureg.parse_units(check_unit(source)), ureg.parse_units(check_unit(target))
        zero = ureg.Quantity(0.0, src).to(dst).magnitude
        one = ureg.Quantity(1.0, src).to(dst).magnitude
    except pint.errors.DimensionalityError as exc:
        raise UnknownUnit(f"cannot convert {source!r} to {target!r}") from exc
    return float(one - zero), float(zero)


def convert(values: np.ndarray, source: str, target: str) -> np.ndarray:
    """Convert a float column from ``source`` to ``target`` units."""
    scale, offset = conversion(source, target)
    if scale == 1.0 and offset == 0.0:
        return values
    return values * scale + offset

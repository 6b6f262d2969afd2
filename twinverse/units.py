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
    except Exception as exc:  # pint's parser raises many kinds ('1/0': ZeroDivisionError, 'm)': TokenError)
        raise UnknownUnit(f"unknown unit {unit!r}") from exc
    return unit


@lru_cache(maxsize=4096)
def conversion(source: str, target: str) -> tuple[float, float]:
    """``(scale, offset)`` so that ``value_in_target = value_in_source * scale + offset``.

    Every pint unit conversion is affine, so two evaluations fix it; columns are then
    converted with one multiply-add. The second point is far from the first: with 0 and 1,
    the offset (-17.8 for °F → °C) cancels most digits of the scale (32 °F came out as
    -3.7e-13 °C); with 0 and 1e6 the scale keeps full precision.
    """
    ureg = registry()
    try:
        src, dst = ureg.parse_units(check_unit(source)), ureg.parse_units(check_unit(target))
        zero = ureg.Quantity(0.0, src).to(dst).magnitude
        far = ureg.Quantity(_FAR, src).to(dst).magnitude
    except pint.errors.PintError as exc:
        raise UnknownUnit(f"cannot convert {source!r} to {target!r}") from exc
    return float((far - zero) / _FAR), float(zero)


_FAR = 1e6


def convert(values: np.ndarray, source: str, target: str) -> np.ndarray:
    """Convert a float column from ``source`` to ``target`` units."""
    scale, offset = conversion(source, target)
    if scale == 1.0 and offset == 0.0:
        return values
    return values * scale + offset

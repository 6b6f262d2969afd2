"""Units: pint parsing with clear errors, and affine conversions checked against known factors."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from twinverse.units import UnknownUnit, check_unit, conversion, convert


@pytest.mark.parametrize(
    "unit",
    [
        "degC",
        "degF",
        "K",
        "bar",
        "psi",
        "kW",
        "kW*h",
        "bottle/min",
        "bottle",
        "A",
        "N*m",
        "mL",
        "%",
        "rpm",
        "m^2",
        "degC/s",
    ],
)
def test_known_units(unit: str) -> None:
    assert check_unit(unit) == unit


@pytest.mark.parametrize("unit", ["furlongz", "m + s", "kg**", "3", "2 m", "1/0", "meter)", "__class__", "NaN"])
def test_unknown_units(unit: str) -> None:
    with pytest.raises(UnknownUnit, match=re.escape(f"unknown unit {unit!r}")):
        check_unit(unit)


@pytest.mark.parametrize(
    ("src", "dst", "scale", "offset"),
    [
        ("degF", "degC", 5 / 9, -160 / 9),  # °C = (°F − 32)·5/9
        ("degC", "K", 1.0, 273.15),
        ("K", "degC", 1.0, -273.15),
        ("psi", "bar", 0.06894757293168361, 0.0),  # 1 psi = 6894.757293168 Pa
        ("bar", "kPa", 100.0, 0.0),
        ("bottle/min", "bottle/s", 1 / 60, 0.0),
        ("kW*h", "MJ", 3.6, 0.0),
        ("mL", "L", 1e-3, 0.0),
        ("degC", "degC", 1.0, 0.0),
        ("delta_degC", "delta_degF", 1.8, 0.0),
    ],
)
def test_conversion_factors(src: str, dst: str, scale: float, offset: float) -> None:
    s, o = conversion(src, dst)
    assert s == pytest.approx(scale, rel=1e-12)
    assert o == pytest.approx(offset, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize(("src", "dst"), [("kg", "m"), ("degC", "degC/s"), ("bar", "kW"), ("nope", "m")])
def test_incompatible_units(src: str, dst: str) -> None:
    with pytest.raises(UnknownUnit):
        conversion(src, dst)


def test_convert_columns() -> None:
    f = np.array([32.0, 212.0, -40.0, 98.6])
    np.testing.assert_allclose(convert(f, "degF", "degC"), [0.0, 100.0, -40.0, 37.0], rtol=0, atol=1e-12)
    same = np.array([1.0, 2.0])
    assert convert(same, "bar", "bar") is same  # no copy when nothing changes


@given(
    st.floats(-1e6, 1e6), st.sampled_from([("degF", "degC"), ("psi", "bar"), ("K", "degF"), ("bottle/min", "bottle/h")])
)
def test_round_trip(x: float, pair: tuple[str, str]) -> None:
    a, b = pair
    there = convert(np.array([x]), a, b)
    back = convert(there, b, a)
    assert back[0] == pytest.approx(x, rel=1e-9, abs=1e-9)

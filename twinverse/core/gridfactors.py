"""China's official grid CO2 emission factors (kg CO2 per kWh), kept as data with year and source.

Published by the Ministry of Ecology and Environment (MEE) with the National Bureau of
Statistics (NBS) in their announcements of the electricity CO2 emission factors of each data
year: the national average, the regional grids, and provinces. Location-based Scope 2
accounting (GHG Protocol Scope 2 guidance) multiplies the kWh used by the factor of the grid
the plant draws from; the plant file names its region and year (``energy: {grid: east,
year: 2022}``) and every report prints the factor used. They count CO2 only; other
greenhouse gases from power generation add well under 1 %, so they serve as CO2e factors.

>>> grid_factor("national", 2022).kg_per_kwh
0.5366
>>> grid_factor("east", 2023).kg_per_kwh
0.55
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "DEFAULT_GRID", "GRID_FACTORS", "GridFactor", "MarketInstrument", "grid_factor", "grid_regions", "scope2",
]


@dataclass(frozen=True)
class GridFactor:
    """One published factor: grid (``national``, a regional grid or a province), data year, value, source."""

    grid: str
    year: int
    kg_per_kwh: float
    source: str

    def to_dict(self) -> dict[str, object]:
        return {"grid": self.grid, "year": self.year, "kg_per_kwh": self.kg_per_kwh, "source": self.source}


def _src(year: int) -> str:
    return (f"Ministry of Ecology and Environment and National Bureau of Statistics of China, announcement of the "
            f"{year} electricity CO2 emission factors")  # fmt: skip


_TABLE: dict[tuple[str, int], float] = {
    ("national", 2021): 0.5568, ("national", 2022): 0.5366, ("national", 2023): 0.5306,
    ("north", 2022): 0.6776, ("northeast", 2022): 0.5564, ("east", 2022): 0.5617, ("central", 2022): 0.5395,
    ("northwest", 2022): 0.5857, ("south", 2022): 0.3869, ("southwest", 2022): 0.2268,
    ("north", 2023): 0.6361, ("northeast", 2023): 0.5122, ("east", 2023): 0.5500, ("central", 2023): 0.5271,
    ("northwest", 2023): 0.5543, ("south", 2023): 0.4042, ("southwest", 2023): 0.2472,
    ("jiangsu", 2021): 0.6451, ("jiangsu", 2022): 0.5978,
}  # fmt: skip

#: Every factor, by (grid, year).
GRID_FACTORS: dict[tuple[str, int], GridFactor] = {
    (g, y): GridFactor(g, y, v, _src(y)) for (g, y), v in _TABLE.items()
}

#: The factor a plant without an ``energy:`` section is reported with (as the simulator's default).
DEFAULT_GRID = ("national", 2022)


def grid_factor(grid: str, year: int) -> GridFactor:
    """The published factor of ``grid`` in data year ``year``; KeyError naming what exists if none."""
    try:
        return GRID_FACTORS[(grid, year)]
    except KeyError:
        raise KeyError(f"no published factor for grid {grid!r} in {year} (have: {', '.join(grid_regions())})") from None


def grid_regions() -> list[str]:
    """``grid year`` pairs with a factor, e.g. ``east 2022``."""
    return [f"{g} {y}" for g, y in sorted(GRID_FACTORS)]


@dataclass(frozen=True)
class MarketInstrument:
    """A market-based instrument of the plant file: a supply contract or certificates, covering a share of use."""

    name: str
    kind: str  # "contract" or "certificate"
    share: float
    kg_per_kwh: float


def scope2(kwh: float, location: GridFactor, instruments: tuple[MarketInstrument, ...] = (),
           residual_kg_per_kwh: float | None = None) -> dict[str, object]:  # fmt: skip
    """Scope 2 CO2e both ways, as the GHG Protocol's guidance asks them reported side by side.

    Location-based: ``kwh`` × the grid's factor. Market-based: each instrument's share of
    ``kwh`` × its own factor, the rest × the residual factor (the grid factor when the plant
    names none: China publishes no residual mix).

    >>> f = GridFactor("east", 2022, 0.5617, "MEE")
    >>> s = scope2(1000, f, (MarketInstrument("PPA", "contract", 0.25, 0.0),))
    >>> round(s["location_kg"], 2), round(s["market_kg"], 3)
    (561.7, 421.275)
    """
    residual = location.kg_per_kwh if residual_kg_per_kwh is None else residual_kg_per_kwh
    covered = sum(i.share for i in instruments)
    parts = [{"name": i.name, "kind": i.kind, "share": i.share, "kwh": kwh * i.share,
              "kg_per_kwh": i.kg_per_kwh, "co2e_kg": kwh * i.share * i.kg_per_kwh} for i in instruments]  # fmt: skip
    per_kwh = sum(i.share * i.kg_per_kwh for i in instruments) + (1 - covered) * residual
    return {"location_kg": kwh * location.kg_per_kwh, "market_kg": kwh * per_kwh, "market_kg_per_kwh": per_kwh,
            "residual_kg_per_kwh": residual, "instruments": parts}  # fmt: skip

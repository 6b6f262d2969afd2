"""Energy and carbon: kWh from the time spent in each state, CO2e from a grid factor.

The default grid factor is China's national average electricity CO2 emission factor for
2022, **0.5366 kg CO2/kWh**, published by the Ministry of Ecology and Environment and the
National Bureau of Statistics on 26 December 2024 (生态环境部 国家统计局《关于发布2022年
电力二氧化碳排放因子的公告》). It counts CO2 only; other greenhouse gases from power
generation add well under 1 %, so it is used as the CO2e factor. Models can set their own
``grid_factor`` (kg CO2e per kWh), e.g. a provincial factor from the same publication.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

__all__ = [
    "CHINA_GRID_FACTOR",
    "CHINA_GRID_FACTOR_SOURCE",
    "CHINA_GRID_FACTOR_YEAR",
    "DEFAULT_GRID_FACTOR",
    "HOURS_PER_UNIT",
    "state_energy_kwh",
]

#: kg CO2 per kWh, national average of China's grid, data year 2022.
CHINA_GRID_FACTOR = 0.5366
CHINA_GRID_FACTOR_YEAR = 2022
CHINA_GRID_FACTOR_SOURCE = (
    "Ministry of Ecology and Environment (MEE) and National Bureau of Statistics of China, "
    "announcement on the 2022 electricity CO2 emission factors, 26 December 2024"
)
DEFAULT_GRID_FACTOR = CHINA_GRID_FACTOR

#: Hours in one model time unit.
HOURS_PER_UNIT: Mapping[str, float] = {"s": 1 / 3600, "min": 1 / 60, "h": 1.0}


def state_energy_kwh(
    fractions: Sequence[float], states: Sequence[str], span: float, power_kw: Mapping[str, float], time_unit: str
) -> float:
    """Energy of one machine: Σ over states of (fraction × span) × kW, in kWh.

    ``fractions[i]`` is the fraction of ``span`` (model time units) spent in ``states[i]``;
    a state without a power entry draws nothing.
    """
    hours = span * HOURS_PER_UNIT[time_unit]
    return sum(f * hours * power_kw.get(s, 0.0) for f, s in zip(fractions, states, strict=True))

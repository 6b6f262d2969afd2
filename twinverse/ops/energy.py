"""Energy of a machine from its signals: a power signal integrated, or an energy meter differenced.

Both are split by the machine state in force, so kWh per state comes from measurement when
the machine has a meter or a power signal, and from the type's power per state × time in
state otherwise (:func:`twinverse.ops.kpis.production_from_series`); where a machine has
both, the report lists both (``energy_compare``).

* **power** (a signal named ``power``, any unit pint converts to kW): each sample holds
  until the next (as states do); kWh = Σ kW × hours, over the window only.
* **meter** (a signal named ``energy``, a unit convertible to kWh): kWh = the sum of the
  increases between samples. A meter rolls over at its signal's range maximum (``range: [0,
  99999.9]`` for a five-digit register): a drop adds the range maximum; without a range a
  drop is a reset and counts the new value. Each increase is booked to the state in force
  at the earlier sample.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["meter_kwh_by_state", "power_kwh_by_state", "state_at"]

_US_PER_H = 3_600_000_000


def state_at(
    state_ts: npt.NDArray[np.int64], state_code: npt.NDArray[np.float64], t: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    """The state code in force at each time of ``t`` (-1 before the first state sample)."""
    i = np.searchsorted(state_ts, t, side="right") - 1
    return np.where(i >= 0, state_code[np.maximum(i, 0)].astype(np.int64) if len(state_code) else -1, -1)


def power_kwh_by_state(
    ts: npt.NDArray[np.int64],
    kw: npt.NDArray[np.float64],
    state_ts: npt.NDArray[np.int64],
    state_code: npt.NDArray[np.float64],
    start_us: int,
    end_us: int,
    n_states: int,
) -> tuple[float, npt.NDArray[np.float64]]:
    """kWh of a sample-and-hold power signal (kW) in ``[start_us, end_us)``, total and per state code.

    Time before the first power sample has no energy (nothing is known); time with no state
    known is in the total, not in any state.
    """
    if not len(ts):
        return 0.0, np.zeros(n_states)
    edges = np.union1d(np.concatenate([ts, state_ts]), [start_us, end_us])
    edges = edges[(edges >= start_us) & (edges <= end_us)]
    lo, hi = edges[:-1], edges[1:]
    pi = np.searchsorted(ts, lo, side="right") - 1
    known = pi >= 0
    kwh = np.where(known, kw[np.maximum(pi, 0)], 0.0) * (hi - lo) / _US_PER_H
    codes = state_at(state_ts, state_code, lo)
    ok = (codes >= 0) & (codes < n_states)
    per = np.bincount(codes[ok], weights=kwh[ok], minlength=n_states)[:n_states].astype(np.float64)
    return float(kwh.sum()), per


def meter_kwh_by_state(
    ts: npt.NDArray[np.int64],
    kwh: npt.NDArray[np.float64],
    state_ts: npt.NDArray[np.int64],
    state_code: npt.NDArray[np.float64],
    n_states: int,
    rollover: float | None = None,
) -> tuple[float, npt.NDArray[np.float64]]:
    """kWh a meter counted along its samples (the last one before the window first), total and per state.

    A drop is a roll-over (adds ``rollover``) when the meter has one, else a reset (counts
    the new value, as production counters do).
    """
    if len(ts) < 2:
        return 0.0, np.zeros(n_states)
    d = np.diff(kwh)
    drop = d < 0
    d = np.where(drop, d + rollover, d) if rollover else np.where(drop, kwh[1:], d)
    codes = state_at(state_ts, state_code, ts[:-1])
    ok = (codes >= 0) & (codes < n_states)
    per = np.bincount(codes[ok], weights=d[ok], minlength=n_states)[:n_states].astype(np.float64)
    return float(d.sum()), per

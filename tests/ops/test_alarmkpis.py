"""Alarm KPIs (ISA-18.2 / EEMUA 191) on hand-made event sequences with known answers."""

from __future__ import annotations

import pytest

from twinverse.core.clock import iso
from twinverse.model import loads_plant
from twinverse.ops import AlarmEvent, Journal, Raises, alarm_kpis, area_kpis

S = 1_000_000
W0 = 1_700_000_400 * S  # a multiple of 10 minutes
H = 3600 * S


def sequence() -> list[tuple[int, str, bool]]:
    """(time, alarm, annunciated): a flood of 15 alarms every 30 s; a chattering alarm; a slow repeater."""
    rows = [(W0 + 30 * i * S, f"a:{i + 1:02d}", True) for i in range(15)]
    rows += [(W0 + 3000 * S, "c", True), (W0 + 3020 * S, "c", False), (W0 + 3040 * S, "c", True),
             (W0 + 3100 * S, "c", True)]  # fmt: skip
    rows += [(W0 + 4000 * S, "d", True), (W0 + 4030 * S, "d", True), (W0 + 4070 * S, "d", True)]
    rows += [(W0 - 60 * S, "early", True), (W0 + 2 * H, "late", True)]  # outside [W0, W0 + 2 h)
    return rows


def test_known_answers() -> None:
    standing = [("s:1", W0 - 25 * H, "acknowledged"), ("s:2", W0 + H, "unacknowledged")]
    k = alarm_kpis(Raises.of(sequence()), W0, W0 + 2 * H, standing)
    # 15 + 3 annunciated raises of c (the shelved one is not an annunciation) + 3 of d
    assert (k["alarms"], k["hours"], k["per_hour"], k["per_10min"]) == (21, 2.0, 10.5, 1.75)
    assert [p["count"] for p in k["periods"]] == [15, 0, 0, 0, 0, 3, 3, 0, 0, 0, 0, 0]
    assert k["periods"][5]["start"] == iso(W0 + 3000 * S)
    assert (k["peak_10min"], k["periods_over_10"], k["peak_10min_sliding"]) == (15, 1, 15)
    # the 11th alarm in 10 minutes comes at 300 s; fewer than 5 remain once the alarm of 300 s ages out at 900 s
    assert k["floods"] == [{"start": iso(W0 + 300 * S), "end": iso(W0 + 900 * S), "minutes": 10.0, "peak_10min": 15}]
    assert k["flood_minutes"] == 10.0
    assert k["flood_percent"] == pytest.approx(600 / 7200 * 100)
    # c: raised 3 times within 40 s (the shelved raise counts: it is the condition that chatters); d: 70 s
    assert k["chattering"] == [{"alarm": "c", "raises": 4, "max_per_minute": 3}]
    assert k["stale"] == [{"alarm": "s:1", "since": iso(W0 - 25 * H), "hours": 27.0, "state": "acknowledged"}]
    assert [(t["alarm"], t["count"]) for t in k["top10"]] == [("c", 3), ("d", 3)] + [(f"a:{i:02d}", 1)
                                                                                      for i in range(1, 9)]  # fmt: skip
    assert k["top10"][0]["share"] == pytest.approx(3 / 21 * 100)
    assert k["top10_share"] == pytest.approx(14 / 21 * 100)


def test_flood_hysteresis_carries_between_5_and_10() -> None:
    # 11 alarms 5 s apart: more than 10 at 50 s. They age out from 600 s: 10 left at 600 s (no longer > 10,
    # but not below 5: still a flood) … 4 left at 630 s: the flood ends there.
    rows = [(W0 + 5 * i * S, f"x{i}", True) for i in range(11)]
    k = alarm_kpis(Raises.of(rows), W0, W0 + H)
    assert [(f["start"], f["end"]) for f in k["floods"]] == [(iso(W0 + 50 * S), iso(W0 + 630 * S))]
    assert k["flood_minutes"] == pytest.approx(580 / 60)
    # only the events of the window count: from 100 s on there are none
    assert alarm_kpis(Raises.of(rows), W0 + 100 * S, W0 + H)["flood_minutes"] == pytest.approx(0.0)
    # and the flood is clipped at the window's end
    assert alarm_kpis(Raises.of(rows), W0, W0 + 330 * S)["flood_minutes"] == pytest.approx(280 / 60)


def test_no_alarms() -> None:
    k = alarm_kpis(Raises.of([]), W0, W0 + H)
    assert (k["alarms"], k["per_hour"], k["peak_10min"], k["floods"], k["top10"], k["top10_share"]) == (
        0, 0.0, 0, [], [], 0)  # fmt: skip
    with pytest.raises(ValueError, match="end must be after"):
        alarm_kpis(Raises.of([]), W0, W0)


PLANT = """
plant: p
types:
  m:
    signals:
      x: {unit: m}
twins:
  - id: line1
    type: line
    children: [{id: m, type: m, count: 2}]
  - id: line2
    type: line
    children: [{id: m, type: m, count: 1}]
"""


def _event(ts: int, twin: str, rule: str, event: str, state: str) -> AlarmEvent:
    return AlarmEvent(ts, f"{twin}:{rule}", twin, rule, event, state, "normal", "high", 1.0)


def test_areas_from_the_journal() -> None:
    plant = loads_plant(PLANT)
    j = Journal(":memory:", plant="p")
    j.append([
        _event(W0 + 1 * S, "p/line1/m1", "hi", "raise", "unacknowledged"),
        _event(W0 + 2 * S, "p/line1/m2", "hi", "raise", "unacknowledged"),
        _event(W0 + 3 * S, "p/line1/m2", "hi", "clear", "rtn_unacknowledged"),
        _event(W0 + 4 * S, "p/line1/m2", "hi", "raise", "shelved"),
        _event(W0 + 5 * S, "p/line2/m1", "hi", "raise", "unacknowledged"),
        _event(W0 - 30 * H, "p/line2/m1", "lo", "raise", "unacknowledged"),  # standing for 31 h at the end
        _event(W0 - 29 * H, "p/line2/m1", "lo", "ack", "acknowledged"),
    ])  # fmt: skip
    k = area_kpis(j, plant, W0, W0 + H)
    assert (k["area"], k["alarms"]) == ("p", 3)
    assert k["areas"] == [{"area": "p/line1", "alarms": 2, "per_hour": 2.0}, {"area": "p/line2", "alarms": 1,
                                                                               "per_hour": 1.0}]  # fmt: skip
    assert [(s["alarm"], s["hours"], s["state"]) for s in k["stale"]] == [("p/line2/m1:lo", 31.0, "acknowledged")]
    one = area_kpis(j, plant, W0, W0 + H, "p/line1")
    assert (one["alarms"], one["stale"], [a["area"] for a in one["areas"]]) == (2, [], ["p/line1/m1", "p/line1/m2"])
    # the raise while shelved came after a clear: m2:hi's condition is active, raised 1 h before the end
    stale = area_kpis(j, plant, W0, W0 + 25 * H, "p/line1")["stale"]
    assert [s["alarm"] for s in stale] == ["p/line1/m1:hi", "p/line1/m2:hi"]

"""The alarm service over a real engine and DuckDB store: batches in, lifecycle and journal out."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from twinverse.core import make_batch
from twinverse.errors import ConflictError, InputError, NotFoundError
from twinverse.live import Engine
from twinverse.model import Plant, loads_plant
from twinverse.ops import AlarmService, AlarmState, Event, Journal
from twinverse.store import DuckDBStore

S = 1_000_000
T0 = 1_700_000_000 * S

PLANT = """
plant: p
types:
  m:
    signals:
      state: {kind: state, states: [running, idle, down, off]}
      speed: {unit: bottle/min, range: [0, 1000]}
    alarms:
      slow: {kind: lo, signal: speed, limit: 100, priority: high, suppress_in: [off]}
      down_long: {kind: state, signal: state, state: down, for: 60}
twins:
  - id: line
    type: line
    children:
      - {id: m, type: m, count: 2}
"""


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def plant() -> Plant:
    return loads_plant(PLANT)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def setup(plant: Plant, tmp_path: Path, clock: Clock) -> Iterator[tuple[Engine, AlarmService]]:
    store = DuckDBStore(tmp_path / "a.duckdb")
    engine = Engine(plant, store)
    service = AlarmService(plant, engine, journal=Journal(tmp_path / "alarms.sqlite"), clock=clock)
    yield engine, service
    service.close()
    engine.close()
    store.close()


def put(engine: Engine, plant: Plant, twin: str, signal: str, values: list[float], start: int = T0) -> None:
    sid = plant.signals.sid(f"p/line/{twin}", signal)
    n = len(values)
    engine.ingest(make_batch(np.arange(n, dtype=np.int64) * S + start, np.full(n, sid, np.int32), np.array(values)))


def test_a_low_speed_raises_one_alarm_and_every_transition_is_an_event(plant: Plant, setup: tuple[Engine,
                                                                       AlarmService]) -> None:  # fmt: skip
    engine, svc = setup
    put(engine, plant, "m1", "speed", [500, 90, 80, 120])
    a = svc.get("p/line/m1:slow")
    assert a.state is AlarmState.RTN_UNACKNOWLEDGED  # raised at 90, cleared at 120, nobody acked
    assert [a.id for a in svc.list()] == ["p/line/m1:slow"]
    ev = svc.journal.query(alarm=a.id)
    assert [(e.event, e.previous, e.state, e.value, (e.ts - T0) // S) for e in ev] == [
        ("raise", "normal", "unacknowledged", 90.0, 1),
        ("clear", "unacknowledged", "rtn_unacknowledged", 120.0, 3),
    ]
    svc.act(a.id, Event.ACK, user="did:key:z6Mk-op")
    assert a.state is AlarmState.NORMAL
    assert svc.list() == []
    assert svc.journal.query(alarm=a.id)[-1].user == "did:key:z6Mk-op"


def test_operator_actions_and_their_limits(plant: Plant, setup: tuple[Engine, AlarmService], clock: Clock) -> None:
    engine, svc = setup
    put(engine, plant, "m2", "speed", [50])
    aid = "p/line/m2:slow"
    with pytest.raises(InputError, match="maximum shelve time"):
        svc.act(aid, Event.SHELVE, seconds=9 * 3600)
    with pytest.raises(NotFoundError):
        svc.act("p/line/m9:slow", Event.ACK)
    svc.act(aid, Event.SHELVE, seconds=600, user="u", comment="sensor being cleaned")
    assert svc.get(aid).state is AlarmState.SHELVED
    with pytest.raises(ConflictError):
        svc.act(aid, Event.ACK)
    clock.now = T0 + 599 * S
    svc.tick()
    assert svc.get(aid).state is AlarmState.SHELVED
    clock.now = T0 + 600 * S
    svc.tick()
    assert svc.get(aid).state is AlarmState.UNACKNOWLEDGED  # still slow: annunciated again
    svc.act(aid, Event.COMMENT, comment="maintenance called", user="u")
    svc.act(aid, Event.OUT_OF_SERVICE, user="u")
    assert svc.get(aid).state is AlarmState.OUT_OF_SERVICE
    svc.act(aid, Event.IN_SERVICE, user="u")
    assert [e.event for e in svc.journal.query(alarm=aid)] == [
        "raise", "shelve", "shelve_expired", "comment", "out_of_service", "in_service"]  # fmt: skip


def test_suppressed_by_design_while_the_machine_is_off(plant: Plant, setup: tuple[Engine, AlarmService]) -> None:
    engine, svc = setup
    off = 3.0
    put(engine, plant, "m1", "state", [off])
    put(engine, plant, "m1", "speed", [0], start=T0 + S)
    assert svc.get("p/line/m1:slow").state is AlarmState.SUPPRESSED
    assert svc.list(states=[AlarmState.UNACKNOWLEDGED]) == []
    put(engine, plant, "m1", "state", [0.0], start=T0 + 2 * S)
    assert svc.get("p/line/m1:slow").state is AlarmState.UNACKNOWLEDGED  # on again and still at 0


def test_duration_alarm_by_timer_and_filters(plant: Plant, setup: tuple[Engine, AlarmService], clock: Clock) -> None:
    engine, svc = setup
    put(engine, plant, "m2", "state", [2.0])  # down at T0
    clock.now = T0 + 61 * S
    assert svc.tick() == 1
    a = svc.get("p/line/m2:down_long")
    assert a.state is AlarmState.UNACKNOWLEDGED and a.raised_us == T0 + 60 * S
    put(engine, plant, "m1", "speed", [10])
    assert [x.id for x in svc.list()] == ["p/line/m1:slow", "p/line/m2:down_long"]  # high priority first
    assert [x.id for x in svc.list(within="p/line/m2")] == ["p/line/m2:down_long"]
    from twinverse.model.rules import AlarmPriority

    assert [x.id for x in svc.list(priorities=[AlarmPriority.MEDIUM])] == ["p/line/m2:down_long"]
    assert svc.list(start_us=T0 + 61 * S) == []
    assert svc.counts()["unacknowledged"] == 2


def test_the_journal_survives_a_restart(plant: Plant, tmp_path: Path, clock: Clock) -> None:
    j = Journal(tmp_path / "j.sqlite")
    store = DuckDBStore(tmp_path / "b.duckdb")
    engine = Engine(plant, store)
    svc = AlarmService(plant, engine, journal=j, clock=clock)
    put(engine, plant, "m1", "speed", [10, 200])
    svc.close()
    engine.close()
    store.close()
    again = Journal(tmp_path / "j.sqlite")
    assert [e.event for e in again.query()] == ["raise", "clear"]
    assert again.last_seq == 2
    again.close()


def test_a_restart_resumes_acks_shelves_and_out_of_service(plant: Plant, tmp_path: Path, clock: Clock) -> None:
    store = DuckDBStore(tmp_path / "r.duckdb")
    engine = Engine(plant, store)
    svc = AlarmService(plant, engine, journal=Journal(tmp_path / "r.sqlite"), clock=clock)
    put(engine, plant, "m1", "speed", [10])  # m1 slow: unacknowledged
    put(engine, plant, "m2", "speed", [10])
    svc.act("p/line/m2:slow", Event.SHELVE, seconds=600)
    put(engine, plant, "m1", "state", [2.0])  # m1 down
    clock.now = T0 + 61 * S
    svc.tick()
    svc.act("p/line/m1:down_long", Event.OUT_OF_SERVICE)
    svc.close()
    engine.close()
    again = Engine(plant, store)
    svc = AlarmService(plant, again, journal=Journal(tmp_path / "r.sqlite"), clock=clock)
    assert svc.get("p/line/m1:slow").state is AlarmState.UNACKNOWLEDGED
    assert svc.get("p/line/m2:slow").state is AlarmState.SHELVED
    assert svc.get("p/line/m2:slow").shelved_until_us == T0 + 600 * S
    assert svc.get("p/line/m1:down_long").state is AlarmState.OUT_OF_SERVICE
    seq = svc.journal.last_seq
    put(again, plant, "m1", "speed", [20], start=T0 + 100 * S)  # still slow: no second raise
    assert svc.journal.last_seq == seq
    clock.now = T0 + 600 * S
    svc.tick()
    assert svc.get("p/line/m2:slow").state is AlarmState.UNACKNOWLEDGED  # shelve over, its speed still 10
    svc.close()
    again.close()
    store.close()

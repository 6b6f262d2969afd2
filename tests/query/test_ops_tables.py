"""``alarms``, ``alarm_events``, ``annotations`` and ``kpis(…)`` answer what their services hold (both stores)."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest

from twinverse.core.clock import from_us
from twinverse.errors import PermissionDenied, QueryError
from twinverse.ops.lifecycle import Event
from twinverse.trust.records import ROLE_PERMISSIONS, Permission, Role

from .conftest import FILLER, MINUTES, T0_US, Known

START = f"make_timestamp({T0_US})"
END = f"make_timestamp({T0_US}) + INTERVAL {MINUTES} MINUTE"


def rows(known: Known, sql: str) -> list[dict[str, object]]:
    return known.platform.query.run(sql).to_pylist()


def test_alarms_are_the_services_alarms(known: Known) -> None:
    svc = known.platform.alarms
    got = rows(known, "SELECT id, twin, rule, priority, state, active, acknowledged FROM alarms ORDER BY id")
    expect = sorted(({"id": a.id, "twin": a.twin, "rule": a.name, "priority": a.rule.priority.value,
                      "state": a.state.value, "active": a.condition.active, "acknowledged": a.condition.acked}
                     for a in svc.alarms), key=lambda r: str(r["id"]))  # fmt: skip
    assert got == expect and len(got) == len(svc.alarms) > 0
    active = [a for a in svc.alarms if a.condition.active]
    assert rows(known, "SELECT count(*) AS n FROM alarms WHERE active") == [{"n": len(active)}]


def test_alarm_events_are_the_journal_and_carry_operator_actions(known: Known) -> None:
    svc = known.platform.alarms
    events = svc.journal.query(limit=1_000_000)
    got = rows(known, "SELECT count(*) AS n, min(seq) AS lo, max(seq) AS hi FROM alarm_events")
    assert got == [{"n": len(events), "lo": events[0].seq, "hi": events[-1].seq}]
    raised = next(e for e in events if e.event == "raise")
    svc.act(raised.alarm, Event.ACK, user="did:key:z6Mk-op", comment="seen it")
    acks = rows(known, "SELECT alarm, actor, comment, state FROM alarm_events WHERE event = 'ack'")
    assert acks == [{"alarm": raised.alarm, "actor": "did:key:z6Mk-op", "comment": "seen it",
                     "state": svc.get(raised.alarm).state.value}]  # fmt: skip
    # Joined with the graph and history: the raise's value is the stored sample at its time.
    sql = f"""SELECT e.value, h.value AS stored FROM alarm_events e
              JOIN history h ON h.twin = e.twin AND h.ts = e.ts AND h.signal = 'temperature'
              WHERE e.alarm = '{FILLER}:temperature_hi' AND e.event = 'raise' ORDER BY e.seq LIMIT 1"""
    first = rows(known, sql)
    assert first and first[0]["value"] == first[0]["stored"]


def test_annotations_are_the_rooms_notes(known: Known) -> None:
    p = known.platform
    room = p.collab.room(p.plant.id)
    note = {"id": "n-1", "twin": FILLER, "text": "check the seal", "author": "Ada", "author_id": "did:key:z6Mk-ada",
            "created": T0_US // 1000 + 60_000, "status": "open", "resolved_by": None, "resolved_at": None}  # fmt: skip
    room.notes["n-1"] = note
    got = rows(known, "SELECT id, twin, text, author, status, created, resolved_at FROM annotations")
    assert got == [{"id": "n-1", "twin": FILLER, "text": "check the seal", "author": "Ada", "status": "open",
                    "created": from_us(T0_US + 60_000_000), "resolved_at": None}]  # fmt: skip
    # Notes on the line fed by the depalletiser, with the hottest minute of their twin.
    sql = """SELECT a.text, max(h.value) AS peak FROM downstream('bottling/line1/depal') d
             JOIN annotations a ON a.twin = d.id JOIN history h ON h.twin = a.twin AND h.signal = 'temperature'
             GROUP BY a.text"""
    assert [r["text"] for r in rows(known, sql)] == ["check the seal"]


def _close(a: object, b: object) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(float(a), float(b), rel_tol=1e-12, abs_tol=1e-12)  # type: ignore[arg-type]


def test_kpis_equal_the_kpi_service(known: Known) -> None:
    p = known.platform
    got = rows(known, f"SELECT * FROM kpis({START}, {END}, 'bottling/line1') ORDER BY twin")
    start = from_us(T0_US)
    end = start + timedelta(minutes=MINUTES)
    machines = sorted(t for t in p.plant.subtree("bottling/line1") if p.plant.state_names(t) is not None)
    assert [r["twin"] for r in got] == machines
    for r in got:
        prod = p.kpis.machine(str(r["twin"]), start, end)
        k = prod.kpis()
        for name in ("availability", "effectiveness", "quality_ratio", "oee", "mttr_s", "mtbf_s"):
            assert _close(r[name], k[name]), (r["twin"], name)
        assert _close(r["down_s"], prod.adot_s) and r["failures"] == prod.failures
        assert _close(r["planned_s"], prod.pbt_s) and _close(r["produced"], prod.pq)
    # Every machine of the plant without a twin argument; joined with the graph like any table.
    every = rows(known, f"SELECT count(*) AS n FROM kpis({START}, {END})")
    assert every == [{"n": sum(1 for t in p.plant.twins if p.plant.state_names(t) is not None)}]
    sql = f"""SELECT k.twin, k.availability FROM downstream('bottling/line1/depal') d
              JOIN kpis({START}, {END}) k ON k.twin = d.id JOIN twins t ON t.id = k.twin AND t.type = 'filler'"""
    filler = rows(known, sql)
    assert [r["twin"] for r in filler] == [FILLER]
    assert _close(filler[0]["availability"], p.kpis.machine(FILLER, start, end).kpis()["availability"])


@pytest.mark.parametrize(
    ("sql", "reason", "words"),
    [
        ("SELECT * FROM kpis", "table", "kpis is a table function"),
        ("SELECT * FROM kpis(now())", "function", "a start, an end and optionally a twin"),
        ("SELECT * FROM twins t, kpis(t.id, now()) k", "function", "must be a constant"),
        ("SELECT * FROM kpis('yesterday', now())", "function", "is not a time"),
        ("SELECT * FROM kpis(now(), now() - INTERVAL 1 DAY)", "function", "end must be after the start"),
        ("SELECT * FROM kpis(now() - INTERVAL 1 DAY, now(), 'nowhere')", "function", "nowhere"),
        ("SELECT * FROM kpis(getenv('HOME'), now())", "function", "getenv() is not on the allow-list"),
    ],
)
def test_kpis_refusals(known: Known, sql: str, reason: str, words: str) -> None:
    with pytest.raises(QueryError) as err:
        known.platform.query.run(sql)
    assert err.value.reason == reason and words in err.value.message, err.value.message


def test_roles_scope_the_ops_tables(known: Known) -> None:
    svc = known.platform.query
    viewer = ROLE_PERMISSIONS[Role.VIEWER]
    assert svc.run("SELECT count(*) AS n FROM alarms", viewer.__contains__).num_rows == 1
    plant_only = {Permission.PLANT_READ}.__contains__
    assert svc.run("SELECT count(*) AS n FROM annotations", plant_only).num_rows == 1
    for sql, table, perm in (("SELECT * FROM alarms", "alarms", "alarm:read"),
                             ("SELECT * FROM alarm_events", "alarm_events", "alarm:read"),
                             (f"SELECT * FROM kpis({START}, {END})", "kpis", "data:read")):  # fmt: skip
        with pytest.raises(PermissionDenied, match=f"'{table}' needs permission '{perm}'"):
            svc.run(sql, plant_only)


def test_the_guides_filler_question_runs(known: Known) -> None:
    """docs/query.md's first statement (the issue's question, OEE from kpis) runs as written on both stores."""
    from pathlib import Path

    guide = (Path(__file__).resolve().parents[2] / "docs" / "query.md").read_text()
    sql = guide.split("```sql\n", 1)[1].split("```", 1)[0]
    answer = known.platform.query.run(sql)
    assert answer.column_names == ["id", "minutes_hot", "oee", "availability"]
    # The same statement over the known window (two hours of 2026-11-23) instead of this week.
    window = sql.replace("date_trunc('week', now()), now()", f"{START}, {END}").replace(
        "h.ts >= date_trunc('week', now())", f"h.ts >= {START}")
    got = known.platform.query.run(window).to_pylist()
    p = known.platform
    hot = int((known.value[known.sid == p.plant.signals.sid(FILLER, "temperature")] > 80).sum())
    expect_oee = p.kpis.machine(FILLER, from_us(T0_US), from_us(T0_US) + timedelta(minutes=MINUTES)).kpis()["oee"]
    assert got == ([{"id": FILLER, "minutes_hot": hot, "oee": expect_oee,
                     "availability": got[0]["availability"]}] if hot > 5 else [])  # fmt: skip

"""SQL over the twin against the same questions hand-written on the store's own tables.

A plant of ``--machines`` machines (default 10,000: a site, 10 areas, lines of 20 machines
chained by ``feeds``; each machine has a temperature and a state) with ``--rows`` history
rows (default 2M, small for ``make bench``; the issue's run is ``--rows 100000000``, a few
minutes to generate, bounded by ``--max-fill-s``) in a DuckDB store file. Ten questions
that mix the graph, the live state, history and aggregation are asked twice in the same run, on the same database:

- twinverse: ``platform.query.run(sql)`` — parse and check with sqlglot, scope, rewrite the
  graph calls, turn named twins and signals into sids and drop the joins that only picked
  them (``twinverse.query.pushdown``), aggregate plant-wide questions by sid first
  (``twinverse.query.preagg``), run on the store's reader over the virtual tables, fetch as
  Arrow (a kept plan skips sqlglot: the repeats time what a dashboard asking again costs);
- hand-written: the same question as an engineer would write it against the store's own
  ``points`` table — graph walks done with the model's methods in Python and turned into
  ``sid IN (…)`` lists (timed too), plant-wide questions joined to a sid → name table,
  then plain SQL on a reader connection of the same database, fetched as Arrow. Live
  values come from the engine's arrays, registered as a table.

Each query runs ``--repeat`` times, the two versions alternating (after one warm-up); the
table shows the best and the median time of each and the overhead of twinverse over
hand-written on the best times (on a shared machine the best of N is the least disturbed
figure; the load average is printed). Both answers are compared (same rows).

Run: ``python benchmarks/bench_query.py`` or ``--quick`` (1,000 machines, 1M rows).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import table
from twinverse.config import Settings
from twinverse.core import make_batch
from twinverse.core.states import DEFAULT_STATES
from twinverse.model import Plant
from twinverse.model.types import Relationship, Signal, SignalKind, Twin, TwinType
from twinverse.platform import Platform
from twinverse.store import DuckDBStore

LINE = ["depal", "rinser", "filler", "capper", "labeller", "inspector", "packer", "palletiser"]
RUNNING, DOWN = DEFAULT_STATES.index("running"), DEFAULT_STATES.index("down")
MINUTE_US = 60_000_000


def bench_plant(machines: int) -> Plant:
    """Site → 10 areas → lines of 20 machines (the 8 of LINE, then conveyors), each line a feeds chain."""
    sig = {"temperature": Signal(name="temperature", unit="degC", range=(-50.0, 200.0)),
           "state": Signal(name="state", kind=SignalKind.STATE, states=DEFAULT_STATES)}  # fmt: skip
    types = {n: TwinType(name=n, signals=sig) for n in [*LINE, "conveyor"]}
    types |= {n: TwinType(name=n, container=True) for n in ("site", "area", "line")}
    twins = [Twin(id="plant", type="site", name="Plant")]
    rels: list[Relationship] = []
    per_line = 20
    lines = max(1, machines // per_line)
    for li in range(lines):
        area = f"plant/a{li % 10}"
        if li < 10:
            twins.append(Twin(id=area, type="area", name=f"Area {li}", parent="plant"))
            rels.append(Relationship(source="plant", name="contains", target=area))
        line = f"{area}/l{li}"
        twins.append(Twin(id=line, type="line", name=f"Line {li}", parent=area))
        rels.append(Relationship(source=area, name="contains", target=line))
        prev = None
        for k in range(per_line):
            kind = LINE[k] if k < len(LINE) else "conveyor"
            tid = f"{line}/{kind}" if kind != "conveyor" else f"{line}/c{k}"
            twins.append(Twin(id=tid, type=kind, name=f"{kind} {li}.{k}", parent=line))
            rels.append(Relationship(source=line, name="contains", target=tid))
            if prev is not None:
                rels.append(Relationship(source=prev, name="feeds", target=tid))
            prev = tid
    return Plant("plant", "Benchmark plant", types, twins, rels)


def fill(platform: Platform, rows: int, end_us: int, max_s: float = 3600.0) -> int:
    """History: every machine's temperature and state, one sample a minute up to ``end_us``.

    Generated columnar (NumPy, batches of about 2M rows) and appended straight to the store's
    ``points`` table, with a progress line; stops with an error after ``max_s`` seconds.
    """
    idx = platform.plant.signals
    n = len(idx)
    per = max(1, rows // n)
    rng = np.random.default_rng(1)
    ts0 = end_us - per * MINUTE_US
    kind = np.array([s.kind is SignalKind.STATE for s in idx.signal])
    step = max(1, 2_000_000 // per)  # signals per batch: batches of about 2M rows
    started = time.perf_counter()
    for lo in range(0, n, step):
        took = time.perf_counter() - started
        if took > max_s:
            raise SystemExit(f"filling the store took more than {max_s:.0f} s (--max-fill-s); stopped")
        done = lo * per
        eta = took / done * (per * n - done) if done else float("nan")
        bar = "#" * int(30 * lo / n)
        print(f"\rfill [{bar:<30}] {done:>13,} / {per * n:,} rows, {took:5.0f} s, eta {eta:5.0f} s",
              end="", file=sys.stderr, flush=True)  # fmt: skip
        sids = np.arange(lo, min(n, lo + step), dtype=np.int32)
        sid = np.repeat(sids, per)
        ts = np.tile(ts0 + np.arange(per, dtype=np.int64) * MINUTE_US, len(sids))
        temp = rng.normal(70.0, 8.0, len(sid)).round(2)
        state = rng.choice(len(DEFAULT_STATES), len(sid), p=[0.7, 0.1, 0.06, 0.06, 0.04, 0.02, 0.02]).astype(float)
        value = np.where(kind[sid], state, temp)
        platform.store.append(make_batch(ts, sid, value))
    print(f"\rfill [{'#' * 30}] {per * n:>13,} rows in {time.perf_counter() - started:.0f} s" + " " * 30,
          file=sys.stderr, flush=True)  # fmt: skip
    # The live state as the engine would hold it after these rows.
    latest = platform.store.latest()
    e = platform.engine
    s = np.asarray(latest.column("sid").to_numpy())
    e.value[s] = latest.column("value").to_numpy()
    e.ts[s] = latest.column("ts").cast(pa.int64()).to_numpy()
    return per * n


def questions(plant: Plant, end_us: int, live: Callable[[], pa.Table]) -> list[tuple[str, str, Callable[[], tuple[str, list[object], dict[str, pa.Table]]]]]:  # noqa: E501
    """(name, twinverse SQL, hand-written builder → (SQL, params, tables to register)) for ten questions."""
    idx = plant.signals
    t_end = f"make_timestamp({end_us})"
    t_1h = f"make_timestamp({end_us - 60 * MINUTE_US})"
    t_4h = f"make_timestamp({end_us - 240 * MINUTE_US})"
    line = "plant/a3/l13"
    area = "plant/a3"
    names = idx.as_table().select(["sid", "twin", "signal"])

    def sids(twins: list[str], signal: str) -> str:
        return ",".join(str(idx.sid(t, signal)) for t in twins)

    def q_hot() -> tuple[str, list[object], dict[str, pa.Table]]:
        fillers = [t for t in plant.downstream(f"{line}/depal") if plant.twins[t].type == "filler"]
        return (f"""SELECT n.twin, count(*) AS minutes_hot FROM points p JOIN names n USING (sid)
                    WHERE p.sid IN ({sids(fillers, 'temperature')}) AND p.value > 80 AND p.ts >= {t_4h}
                    GROUP BY n.twin HAVING count(*) > 5""", [], {"names": names})

    def q_line_hourly() -> tuple[str, list[object], dict[str, pa.Table]]:
        ms = plant.subtree(line)[1:]
        return (f"""SELECT n.twin, time_bucket(INTERVAL 1 HOUR, p.ts) AS hour, avg(p.value) AS mean
                    FROM points p JOIN names n USING (sid) WHERE p.sid IN ({sids(ms, 'temperature')})
                    GROUP BY ALL""", [], {"names": names})

    def q_peak_type() -> tuple[str, list[object], dict[str, pa.Table]]:
        types = pa.table({"sid": pa.array(np.arange(len(idx), dtype=np.int32)), "signal": idx.name.tolist(),
                          "type": [plant.twins[str(t)].type for t in idx.twin]})  # fmt: skip
        return (f"""SELECT t.type, max(p.value) AS peak FROM points p JOIN types t USING (sid)
                    WHERE t.signal = 'temperature' AND p.ts >= {t_1h} GROUP BY t.type""", [], {"types": types})

    def q_top10() -> tuple[str, list[object], dict[str, pa.Table]]:
        return (f"""SELECT n.twin, avg(p.value) AS mean FROM points p JOIN names n USING (sid)
                    WHERE n.signal = 'temperature' AND p.ts >= {t_1h}
                    GROUP BY n.twin ORDER BY mean DESC, n.twin LIMIT 10""", [], {"names": names})

    def q_share() -> tuple[str, list[object], dict[str, pa.Table]]:
        ms = [t for t in plant.subtree(area) if plant.twins[t].type not in ("area", "line")]
        return (f"""SELECT n.twin, avg(CASE WHEN p.value = {RUNNING} THEN 1.0 ELSE 0.0 END) AS running
                    FROM points p JOIN names n USING (sid) WHERE p.sid IN ({sids(ms, 'state')}) AND p.ts >= {t_4h}
                    GROUP BY n.twin""", [], {"names": names})

    def q_live_down() -> tuple[str, list[object], dict[str, pa.Table]]:
        parents = pa.table({"twin": list(plant.twins), "parent": [t.parent for t in plant.twins.values()]})
        return (f"""SELECT l.twin, t.parent FROM live l JOIN parents t USING (twin)
                    WHERE l.signal = 'state' AND l.value = {DOWN}""", [], {"live": live(), "parents": parents})

    def q_live_vs_avg() -> tuple[str, list[object], dict[str, pa.Table]]:
        return (f"""SELECT l.twin, l.value - a.mean AS delta FROM live l JOIN (
                      SELECT n.twin, avg(p.value) AS mean FROM points p JOIN names n USING (sid)
                      WHERE n.signal = 'temperature' AND p.ts >= {t_1h} GROUP BY n.twin) a USING (twin)
                    WHERE l.signal = 'temperature' AND l.value > a.mean + 10""",
                [], {"live": live(), "names": names})  # fmt: skip

    def q_upstream() -> tuple[str, list[object], dict[str, pa.Table]]:
        ups = plant.upstream(f"{line}/palletiser")
        return (f"""SELECT count(*) AS hot FROM points WHERE sid IN ({sids(ups, 'temperature')})
                    AND value > 80 AND ts >= {t_1h}""", [], {})

    def q_kinds() -> tuple[str, list[object], dict[str, pa.Table]]:
        return ("SELECT n.signal, count(*) AS n, avg(p.value) AS mean FROM points p JOIN names n USING (sid) "
                "GROUP BY n.signal", [], {"names": names})  # fmt: skip

    def q_area_15m() -> tuple[str, list[object], dict[str, pa.Table]]:
        parent = pa.table({"sid": pa.array(np.arange(len(idx), dtype=np.int32)),
                           "line": [plant.twins[str(t)].parent for t in idx.twin]})  # fmt: skip
        ms = [t for t in plant.subtree(area) if plant.twins[t].type not in ("area", "line")]
        return (f"""SELECT l.line, time_bucket(INTERVAL 15 MINUTE, p.ts) AS q, avg(p.value) AS mean
                    FROM points p JOIN parent l USING (sid) WHERE p.sid IN ({sids(ms, 'temperature')})
                    AND p.ts >= {t_4h} AND p.ts < {t_end} GROUP BY ALL""", [], {"parent": parent})

    return [
        ("filler question (graph+history)", f"""
            SELECT t.id AS twin, count(*) AS minutes_hot FROM downstream('{line}/depal') d
            JOIN twins t ON t.id = d.id AND t.type = 'filler'
            JOIN history h ON h.twin = t.id AND h.signal = 'temperature'
            WHERE h.value > 80 AND h.ts >= {t_4h} GROUP BY t.id HAVING count(*) > 5""", q_hot),
        ("line hourly avg (tree+buckets)", f"""
            SELECT h.twin, time_bucket(INTERVAL 1 HOUR, h.ts) AS hour, avg(h.value) AS mean
            FROM descendants('{line}') d JOIN history h ON h.twin = d.id AND h.signal = 'temperature'
            GROUP BY ALL""", q_line_hourly),
        ("peak per type, 1 h (plant)", f"""
            SELECT t.type, max(h.value) AS peak FROM history h JOIN twins t ON t.id = h.twin
            WHERE h.signal = 'temperature' AND h.ts >= {t_1h} GROUP BY t.type""", q_peak_type),
        ("top 10 hottest, 1 h", f"""
            SELECT twin, avg(value) AS mean FROM history WHERE signal = 'temperature' AND ts >= {t_1h}
            GROUP BY twin ORDER BY mean DESC, twin LIMIT 10""", q_top10),
        ("running share per machine, area", f"""
            SELECT h.twin, avg(CASE WHEN s.state = 'running' THEN 1.0 ELSE 0.0 END) AS running
            FROM descendants('{area}') d JOIN history h ON h.twin = d.id AND h.signal = 'state'
            JOIN states s ON s.twin = h.twin AND s.signal = h.signal AND s.code = h.value
            WHERE h.ts >= {t_4h} GROUP BY h.twin""", q_share),
        ("machines down now (live)", """
            SELECT l.twin, t.parent FROM live l JOIN twins t ON t.id = l.twin
            WHERE l.signal = 'state' AND l.state = 'down'""", q_live_down),
        ("live vs 1 h average", f"""
            SELECT l.twin, l.value - a.mean AS delta FROM live l JOIN (
              SELECT twin, avg(value) AS mean FROM history WHERE signal = 'temperature' AND ts >= {t_1h}
              GROUP BY twin) a ON a.twin = l.twin
            WHERE l.signal = 'temperature' AND l.value > a.mean + 10""", q_live_vs_avg),
        ("upstream hot samples, 1 h", f"""
            SELECT count(*) AS hot FROM upstream('{line}/palletiser') u
            JOIN history h ON h.twin = u.id AND h.signal = 'temperature' WHERE h.value > 80 AND h.ts >= {t_1h}""",
         q_upstream),
        ("rows and mean per signal (full scan)",
         "SELECT signal, count(*) AS n, avg(value) AS mean FROM history GROUP BY signal", q_kinds),
        ("area 15-min avg per line", f"""
            SELECT t.parent AS line, time_bucket(INTERVAL 15 MINUTE, h.ts) AS q, avg(h.value) AS mean
            FROM descendants('{area}') d JOIN twins t ON t.id = d.id
            JOIN history h ON h.twin = d.id AND h.signal = 'temperature'
            WHERE h.ts >= {t_4h} AND h.ts < {t_end} GROUP BY ALL""", q_area_15m),
    ]  # fmt: skip


def _canon(t: pa.Table) -> list[tuple[object, ...]]:
    rows = [tuple(round(v, 6) if isinstance(v, float) else v for v in r.values()) for r in t.to_pylist()]
    return sorted(rows, key=repr)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--machines", type=int, default=10_000)
    ap.add_argument("--rows", type=int, default=2_000_000, help="history rows (the issue's run: 100000000)")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--max-fill-s", type=float, default=3600.0, help="give up filling the store after this long")
    ap.add_argument("--quick", action="store_true", help="1,000 machines, 1M rows, 3 repeats")
    a = ap.parse_args()
    if a.quick:
        a.machines, a.rows, a.repeat = 1_000, 1_000_000, 3
    plant = bench_plant(a.machines)
    end_us = 1_795_392_000_000_000
    with tempfile.TemporaryDirectory(prefix="twinverse-bench-query-") as tmp:
        store = DuckDBStore(Path(tmp) / "h.duckdb")
        settings = Settings(data_dir=Path(tmp), store=str(Path(tmp) / "h.duckdb"), seal_history=False,
                            query_max_rows=10_000_000, query_timeout=600)  # fmt: skip
        platform = Platform(settings, plant=plant, store=store)
        t = time.perf_counter()
        rows = fill(platform, a.rows, end_us, a.max_fill_s)
        print(f"plant: {len(plant.twins):,} twins ({a.machines:,} machines), {len(plant.signals):,} signals; "
              f"history: {rows:,} rows in DuckDB, written in {time.perf_counter() - t:.0f} s")  # fmt: skip
        reader = store.reader()
        out = []
        for name, sql, hand in questions(plant, end_us, platform.query._live.table):

            def twinverse(sql: str = sql) -> pa.Table:
                return platform.query.run(sql)

            def handwritten(hand: Callable[..., tuple[str, list[object], dict[str, pa.Table]]] = hand) -> pa.Table:
                text, params, tables = hand()
                for n, tb in tables.items():
                    reader.register(n, tb)
                return reader.sql(text, params=params or None).to_arrow_table()

            a_rows, b_rows = twinverse(), handwritten()  # warm-up, and the answers must agree
            same = _canon(a_rows) == _canon(b_rows)
            tv: list[float] = []
            hw: list[float] = []
            for _ in range(a.repeat):
                t = time.perf_counter()
                twinverse()
                tv.append(time.perf_counter() - t)
                t = time.perf_counter()
                handwritten()
                hw.append(time.perf_counter() - t)
            b_tv, b_hw = min(tv), min(hw)
            out.append((name, f"{a_rows.num_rows}", f"{b_tv * 1000:.1f}", f"{b_hw * 1000:.1f}",
                        f"{(b_tv / b_hw - 1) * 100:+.0f}%", f"{statistics.median(tv) * 1000:.1f}",
                        f"{statistics.median(hw) * 1000:.1f}", "yes" if same else "NO"))  # fmt: skip
            print(" | ".join(out[-1]), flush=True)
        reader.close()
        platform.stop()
    print()
    print(table(out, ("query", "rows", "twinverse ms", "hand-written ms", "overhead", "median tv", "median hw",
                      "same answer")))  # fmt: skip
    total_tv = sum(float(r[2]) for r in out)
    total_hw = sum(float(r[3]) for r in out)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"\ntotal: twinverse {total_tv:.0f} ms, hand-written {total_hw:.0f} ms, "
          f"overhead {(total_tv / total_hw - 1) * 100:+.0f}% (best of {a.repeat} runs each; "
          f"load average {load:.1f} on {os.cpu_count()} cores)")  # fmt: skip
    return 0 if all(r[-1] == "yes" for r in out) else 1


if __name__ == "__main__":
    sys.exit(main())

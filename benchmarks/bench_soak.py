"""Soak: one `twinverse serve` under steady load for minutes; does its memory stay flat?

A paced loop POSTs Arrow batches to /api/ingest (default 20,000 points/s in 1,000-point
batches, at most four requests in flight: a tick that finds them all busy is skipped and
counted, so a slow server lowers the rate instead of piling up requests). Five websocket
clients follow the whole plant and consume every frame; every few seconds a client asks
one twin for its history (raw for the last 10 s, then downsampled for the last 5 min).
The server's resident set size (VmRSS of the process and any children, from /proc) is
sampled every few seconds into a CSV, drawn to a PNG, and summarised: RSS after warm-up
(the first 20% of the loaded run) against RSS at the end.

Baseline beside it, same process: the server idle before the load starts (for the
warm-up period, at most two minutes), sampled the same way. At the end the points
acknowledged (2xx) are compared with the points the store holds (history, ``agg=count``):
every point has its own (signal, ts), so the two must be equal.

    python benchmarks/bench_soak.py --minutes 60        # results in benchmarks/results/soak-<time>/
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import io
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import httpx2 as httpx
import numpy as np
import orjson
import pyarrow as pa
import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import bench_plant_yaml, rss_kib, serve_process, table

MACHINES, SIGNALS = 10, 10  # 100 signals; 20k points/s is 200 points/s per signal
WS_CLIENTS = 5
MAX_IN_FLIGHT = 4
WARMUP = 0.2  # share of the loaded run counted as warm-up
IDLE_MAX_S = 120.0
RESULTS = Path(__file__).resolve().parent / "results"


@dataclass
class Tally:
    """What the clients saw; shared by the tasks of one run (one event loop, no locks)."""

    sent: int = 0
    acked: int = 0
    skipped_ticks: int = 0
    frames: int = 0
    queries: int = 0
    errors: Counter[str] = field(default_factory=Counter)


class Batches:
    """Arrow IPC bodies of ``size`` points spread over every signal, each (signal, ts) new.

    Timestamps follow the wall clock in milliseconds; consecutive points of one signal in a
    batch are 1 ms apart, and a batch never starts before the previous one ended.
    """

    def __init__(self, size: int, rng: np.random.Generator) -> None:
        names = [(f"bench/m{i + 1}", f"x{j}") for i in range(MACHINES) for j in range(SIGNALS)]
        idx = np.arange(size) % len(names)
        self.size = size
        self.twin = pa.array([names[k][0] for k in idx])
        self.signal = pa.array([names[k][1] for k in idx])
        self.offset = np.arange(size) // len(names)
        self.span = int(self.offset[-1]) + 1
        self.rng = rng
        self.next_ms = 0

    def body(self) -> bytes:
        base = max(int(time.time() * 1000), self.next_ms)
        self.next_ms = base + self.span
        batch = pa.record_batch(
            {
                "twin": self.twin,
                "signal": self.signal,
                "ts": pa.array(base + self.offset, pa.int64()),
                "value": pa.array(self.rng.normal(50.0, 5.0, self.size)),
            }
        )
        sink = io.BytesIO()
        with pa.ipc.new_stream(sink, batch.schema) as w:
            w.write_batch(batch)
        return sink.getvalue()


async def ingest(client: httpx.AsyncClient, rate: int, size: int, until: float, tally: Tally) -> None:
    """Paced, bounded: one batch per tick, a tick skipped when MAX_IN_FLIGHT requests are busy."""
    batches = Batches(size, np.random.default_rng(1))
    period = size / rate
    busy: set[asyncio.Task[None]] = set()

    async def post(body: bytes) -> None:
        try:
            r = await client.post(
                "/api/ingest", content=body, headers={"content-type": "application/vnd.apache.arrow.stream"}
            )
            if r.is_success:
                tally.acked += size
            else:
                tally.errors[f"ingest {r.status_code}"] += 1
        except httpx.HTTPError as exc:
            tally.errors[f"ingest {type(exc).__name__}"] += 1

    start = time.perf_counter()
    k = 0
    while time.perf_counter() < until:
        if len(busy) >= MAX_IN_FLIGHT:
            tally.skipped_ticks += 1
        else:
            task = asyncio.create_task(post(batches.body()))
            busy.add(task)
            task.add_done_callback(busy.discard)
            tally.sent += size
        k += 1
        late = time.perf_counter() - (start + k * period)
        if late > period:  # more than a tick behind: skip the missed ticks rather than burst
            missed = int(late // period)
            tally.skipped_ticks += missed
            k += missed
        await asyncio.sleep(max(0.0, start + k * period - time.perf_counter()))
    await asyncio.gather(*busy)


async def follow(url: str, token: str, tally: Tally, stop: asyncio.Event) -> None:
    """A websocket client on the whole plant; reconnects (and counts an error) if dropped."""
    ws_url = url.replace("http", "ws", 1) + f"/ws?twin=bench&access_token={token}"
    while not stop.is_set():
        try:
            async with websockets.connect(ws_url, max_size=1 << 24) as ws:
                while not stop.is_set():
                    try:
                        raw = await asyncio.wait_for(ws.recv(), 0.5)
                    except TimeoutError:
                        continue
                    msg = orjson.loads(raw)
                    if msg.get("type") == "delta":
                        tally.frames += 1
                    elif msg.get("type") == "error":
                        tally.errors["ws error frame"] += 1
        except (OSError, websockets.WebSocketException) as exc:
            tally.errors[f"ws {type(exc).__name__}"] += 1
            await asyncio.sleep(1.0)


async def query(client: httpx.AsyncClient, every: float, tally: Tally, stop: asyncio.Event) -> None:
    """History of one twin every ``every`` seconds, alternating raw and downsampled."""
    rng = np.random.default_rng(2)
    k = 0
    while not stop.is_set():
        twin = f"bench/m{int(rng.integers(MACHINES)) + 1}"
        params = {"start": "-10s"} if k % 2 == 0 else {"start": "-5m", "interval": "auto"}
        try:
            r = await client.get(f"/api/twins/{twin}/history", params=params)
            if r.is_success:
                tally.queries += 1
            else:
                tally.errors[f"history {r.status_code}"] += 1
        except httpx.HTTPError as exc:
            tally.errors[f"history {type(exc).__name__}"] += 1
        k += 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every)


async def sample(
    pid: int, every: float, t0: float, phase: list[str], tally: Tally, rows: list[dict[str, Any]], out: TextIO,
    stop: asyncio.Event,
) -> None:
    """RSS every ``every`` seconds, appended to ``rows`` and written to ``out`` as it comes."""
    writer = csv.writer(out)
    writer.writerow(["t_s", "phase", "rss_mib", "points_acked", "ws_frames", "queries", "errors"])
    last_print = -60.0
    while True:
        t = time.perf_counter() - t0
        row = {"t_s": t, "phase": phase[0], "rss_mib": rss_kib(pid) / 1024, "points_acked": tally.acked,
               "ws_frames": tally.frames, "queries": tally.queries, "errors": sum(tally.errors.values())}
        rows.append(row)
        writer.writerow([f"{t:.1f}", row["phase"], f"{row['rss_mib']:.1f}", *list(row.values())[3:]])
        out.flush()
        if t - last_print >= 60 or stop.is_set():
            last_print = t
            print(f"  {t / 60:5.1f} min  {phase[0]:<4}  RSS {row['rss_mib']:7.1f} MiB  acked {tally.acked:,}  "
                  f"frames {tally.frames:,}  errors {row['errors']}", flush=True)
        if stop.is_set():
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every)


async def stored_points(client: httpx.AsyncClient, since: datetime) -> int:
    """Points the store holds for every bench twin since ``since``, counted by the server."""
    span = int((datetime.now(UTC) - since).total_seconds()) + 120
    total = 0
    for i in range(MACHINES):
        r = await client.get(
            f"/api/twins/bench/m{i + 1}/history",
            params={"start": since.isoformat(), "end": "now", "interval": f"{span}s", "agg": "count"},
        )
        r.raise_for_status()
        total += sum(int(v) for s in r.json()["series"] for v in s["value"] if v is not None)
    return total


def at(rows: list[dict[str, Any]], t: float) -> float:
    """RSS of the first sample at or after ``t`` seconds (the last sample if none)."""
    return next((r["rss_mib"] for r in rows if r["t_s"] >= t), rows[-1]["rss_mib"])


def plot(rows: list[dict[str, Any]], load_t0: float, warm_t: float, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 4.5))
    ts = np.array([r["t_s"] for r in rows]) / 60
    ax.plot(ts, [r["rss_mib"] for r in rows], lw=1.2)
    ax.axvline(load_t0 / 60, color="grey", ls="--", lw=0.8, label="load starts")
    ax.axvline(warm_t / 60, color="orange", ls=":", lw=0.8, label="warm-up ends")
    ax.set_xlabel("minutes")
    ax.set_ylabel("server RSS (MiB)")
    ax.set_title(title)
    ax.set_ylim(bottom=0)
    ax.legend(loc="lower right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


async def run(args: argparse.Namespace) -> int:
    load_s = args.minutes * 60
    idle_s = min(WARMUP * load_s, IDLE_MAX_S) if args.idle_seconds is None else args.idle_seconds
    out = args.out or RESULTS / f"soak-{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
    out.mkdir(parents=True, exist_ok=True)
    tally = Tally()
    rows: list[dict[str, Any]] = []
    phase = ["idle"]
    stop_sampling = asyncio.Event()
    print(
        f"soak: {args.minutes:g} min at {args.rate:,} points/s ({args.batch:,}-point Arrow batches), "
        f"{WS_CLIENTS} websocket clients, history every {args.query_every:g} s, RSS every {args.sample_every:g} s; "
        f"idle baseline {idle_s:.0f} s; results in {out}",
        flush=True,
    )
    with serve_process(bench_plant_yaml(MACHINES, SIGNALS), store=args.store) as srv, (out / "rss.csv").open(
        "w", newline=""
    ) as csv_file:
        t0 = time.perf_counter()
        sampler = asyncio.create_task(
            sample(srv.proc.pid, args.sample_every, t0, phase, tally, rows, csv_file, stop_sampling)
        )
        await asyncio.sleep(idle_s)
        phase[0] = "load"
        load_t0 = time.perf_counter() - t0
        since = datetime.now(UTC)
        stop = asyncio.Event()
        headers = {"authorization": f"Bearer {srv.token}"}
        async with httpx.AsyncClient(base_url=srv.url, timeout=60, headers=headers) as client:
            watchers = [asyncio.create_task(follow(srv.url, srv.token, tally, stop)) for _ in range(WS_CLIENTS)]
            querier = asyncio.create_task(query(client, args.query_every, tally, stop))
            await ingest(client, args.rate, args.batch, time.perf_counter() + load_s, tally)
            load_t1 = time.perf_counter() - t0
            stop.set()
            await asyncio.gather(*watchers, querier)
            stop_sampling.set()
            await sampler
            stored = await stored_points(client, since)
    idle = [r for r in rows if r["phase"] == "idle"]
    load = [r for r in rows if r["phase"] == "load"]
    warm_t = load_t0 + WARMUP * (load_t1 - load_t0)
    warm, end = at(load, warm_t), load[-1]["rss_mib"]
    plot(rows, load_t0, warm_t, out / "rss.png",
         f"twinverse serve RSS: {args.rate:,} points/s, {WS_CLIENTS} ws clients, {args.minutes:g} min")

    step = max(args.sample_every, (load_t1 - load_t0) / 12)
    marks = np.arange(0.0, load_t1 - load_t0 + 1e-9, step)
    print(f"\nRSS over the loaded run (minutes since load started); CSV {out / 'rss.csv'}, plot {out / 'rss.png'}")
    print(table([(f"{m / 60:.2f}", f"{at(load, load_t0 + m):.1f}") for m in marks], ("min", "RSS MiB")))
    rate = tally.acked / (load_t1 - load_t0)
    errors = sum(tally.errors.values())
    print()
    print(
        table(
            [
                ("baseline: idle server, start → end of idle",
                 f"{idle[0]['rss_mib']:.1f}", f"{idle[-1]['rss_mib']:.1f}",
                 f"{(idle[-1]['rss_mib'] / idle[0]['rss_mib'] - 1):+.1%}", f"{max(r['rss_mib'] for r in idle):.1f}"),
                ("under load: after warm-up → end", f"{warm:.1f}", f"{end:.1f}", f"{end / warm - 1:+.1%}",
                 f"{max(r['rss_mib'] for r in load):.1f}"),
            ],
            ("phase", "RSS from MiB", "RSS to MiB", "growth", "max MiB"),
        )
    )
    print(
        f"\npoints sent {tally.sent:,}, acknowledged {tally.acked:,} ({rate:,.0f}/s), stored {stored:,} "
        f"({'equal' if stored == tally.acked else f'DIFFER by {stored - tally.acked:+,}'}); "
        f"ticks skipped (server behind) {tally.skipped_ticks:,}"
    )
    print(f"ws frames received {tally.frames:,} ({tally.frames / (load_t1 - load_t0) / WS_CLIENTS:.1f}/s per client), "
          f"history queries {tally.queries:,}, errors {errors}" + (f": {dict(tally.errors)}" if errors else ""))
    return 0 if stored == tally.acked and errors == 0 else 1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=1.0, help="length of the loaded run (default 1)")
    ap.add_argument("--quick", action="store_true", help="a 30-second run (for run_all.py --quick)")
    ap.add_argument("--rate", type=int, default=20_000, help="points per second (default 20,000)")
    ap.add_argument("--batch", type=int, default=1_000, help="points per request (default 1,000)")
    ap.add_argument("--query-every", type=float, default=3.0, help="seconds between history queries")
    ap.add_argument("--sample-every", type=float, default=None, help="seconds between RSS samples")
    ap.add_argument("--idle-seconds", type=float, default=None,
                    help="idle baseline before the load (default: the warm-up period, at most 120 s)")
    ap.add_argument("--store", default=None, help="duckdb (default), a file, or a postgresql:// URL")
    ap.add_argument("--out", type=Path, default=None, help="results folder (default benchmarks/results/soak-<time>)")
    args = ap.parse_args()
    if args.quick:
        args.minutes = 0.5
    if args.sample_every is None:
        args.sample_every = 1.0 if args.minutes <= 2 else 5.0
    sys.exit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()

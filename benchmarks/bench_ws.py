"""Ingest → websocket delivery latency at a steady point rate (default 10,000 points/s).

A load generator POSTs JSON batches to a `twinverse serve` subprocess at a fixed pace;
every value is the wall-clock time at which it was sent. A websocket client subscribed
to the whole plant computes, for every value it receives, ``receive time − value``: the
end-to-end latency of that observation (HTTP + validation + durable store + push).
Coalescing means only the newest value per signal and frame is delivered; those are the
ones measured. Baseline beside it: the latency of the HTTP POST alone (request → 200),
measured on the same requests.

``--shared-pg`` adds the multi-process topology (docs/deployment.md): two ``twinverse serve``
processes on one PostgreSQL database, both ``live_source = "postgres"``; the load goes to the
first, one websocket watches the first (its own ingest: the local path) and one the second
(live values reach it through the ``live_latest`` upsert and NOTIFY), in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

import httpx2 as httpx
import orjson
import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import bench_plant_yaml, percentile, server, table

MACHINES = 500


async def load(url: str, token: str, rate: int, seconds: float, per_batch: int, post_lat: list[float]) -> int:
    names = [f"bench/m{i + 1}" for i in range(MACHINES)]
    sent = 0
    period = per_batch / rate
    async with httpx.AsyncClient(base_url=url, timeout=30, headers={"authorization": f"Bearer {token}"}) as client:
        start = time.perf_counter()
        k = 0
        while time.perf_counter() - start < seconds:
            now = time.time()
            pts = [
                {"twin": names[(k * per_batch + j) % MACHINES], "signal": "x0", "value": now, "ts": now * 1000}
                for j in range(per_batch)
            ]
            t = time.perf_counter()
            r = await client.post(
                "/api/ingest", content=orjson.dumps(pts), headers={"content-type": "application/json"}
            )
            post_lat.append(time.perf_counter() - t)
            r.raise_for_status()
            sent += per_batch
            k += 1
            await asyncio.sleep(max(0.0, start + k * period - time.perf_counter()))
    return sent


async def watch(url: str, token: str, lat: list[float], frames: list[int], stop: asyncio.Event) -> None:
    ws_url = url.replace("http", "ws") + f"/ws?twin=bench&access_token={token}"
    async with websockets.connect(ws_url, max_size=1 << 24) as ws:
        await ws.recv()  # snapshot
        while not stop.is_set():
            try:
                raw = await asyncio.wait_for(ws.recv(), 0.5)
            except TimeoutError:
                continue
            now = time.time()
            msg = orjson.loads(raw)
            if msg.get("type") == "delta":
                frames.append(len(msg["value"]))
                lat.extend(now - v for v in msg["value"] if isinstance(v, float))


async def main_async(rate: int, seconds: float, ws_rate: float) -> None:
    env = {"TWINVERSE_WS_MAX_RATE": str(ws_rate)}
    with server(bench_plant_yaml(MACHINES).replace("{unit: degC}", "{}"), env=env) as (url, token):
        lat: list[float] = []
        post: list[float] = []
        frames: list[int] = []
        stop = asyncio.Event()
        watcher = asyncio.create_task(watch(url, token, lat, frames, stop))
        await asyncio.sleep(0.5)
        lat.clear()
        per_batch = max(1, rate // 50)  # 50 requests/s
        sent = await load(url, token, rate, seconds, per_batch, post)
        await asyncio.sleep(0.3)
        stop.set()
        await watcher
    ms = [x * 1000 for x in lat]
    pm = [x * 1000 for x in post]
    print(
        f"ingest → websocket latency at {rate:,} points/s for {seconds:g} s "
        f"({sent:,} points sent, {len(frames)} frames, {len(ms):,} values delivered)"
    )
    print(
        table(
            [
                (
                    "websocket delivery (end to end)",
                    f"{percentile(ms, 50):.1f}",
                    f"{percentile(ms, 99):.1f}",
                    f"{max(ms):.1f}",
                ),
                (
                    "baseline: HTTP POST alone",
                    f"{percentile(pm, 50):.1f}",
                    f"{percentile(pm, 99):.1f}",
                    f"{max(pm):.1f}",
                ),
            ],
            ("path", "p50 ms", "p99 ms", "max ms"),
        )
    )
    print(f"frames per second: {len(frames) / seconds:.1f} (limit ws_max_rate={ws_rate:g})\n")


async def shared_async(rate: int, seconds: float, pg: str) -> None:
    """The load on process A; websockets on A (local) and on B (through PostgreSQL NOTIFY)."""
    import psycopg

    name = f"tv_bench_ws_{int(time.time())}"
    with psycopg.connect(pg, autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}"')
    url = f"{pg.rsplit('/', 1)[0]}/{name}"
    env = {"TWINVERSE_LIVE_SOURCE": "postgres"}
    plant = bench_plant_yaml(MACHINES).replace("{unit: degC}", "{}")
    try:
        with server(plant, store=url, env=env) as (url_a, tok_a), server(plant, store=url, env=env) as (url_b, tok_b):
            lat_a: list[float] = []
            lat_b: list[float] = []
            post: list[float] = []
            frames_a: list[int] = []
            frames_b: list[int] = []
            stop = asyncio.Event()
            watchers = [asyncio.create_task(watch(url_a, tok_a, lat_a, frames_a, stop)),
                        asyncio.create_task(watch(url_b, tok_b, lat_b, frames_b, stop))]  # fmt: skip
            await asyncio.sleep(0.5)
            lat_a.clear()
            lat_b.clear()
            sent = await load(url_a, tok_a, rate, seconds, max(1, rate // 50), post)
            await asyncio.sleep(0.5)
            stop.set()
            await asyncio.gather(*watchers)
    finally:
        with psycopg.connect(pg, autocommit=True) as con:
            con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    rows = []
    for label, lat in (("websocket on the ingesting process", lat_a),
                       ("websocket on another process (PostgreSQL NOTIFY)", lat_b),
                       ("baseline: HTTP POST alone", post)):  # fmt: skip
        ms = [x * 1000 for x in lat]
        rows.append((label, f"{percentile(ms, 50):.1f}", f"{percentile(ms, 99):.1f}", f"{max(ms, default=0):.1f}"))
    print(f"shared live state, 2 API processes on PostgreSQL, {rate:,} points/s for {seconds:g} s "
          f"({sent:,} points sent; {len(lat_a):,} / {len(lat_b):,} values delivered)")  # fmt: skip
    print(table(rows, ("path", "p50 ms", "p99 ms", "max ms")))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rate", type=int, default=10_000)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--ws-rate", type=float, action="append", help="ws_max_rate values (default: the default and half)")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--shared-pg", metavar="URL", nargs="?", const="postgresql://postgres@127.0.0.1:5432/test",
                    help="also two API processes sharing live state through this PostgreSQL server")  # fmt: skip
    ap.add_argument("--only-shared", action="store_true", help="with --shared-pg: skip the single-process runs")
    args = ap.parse_args()
    from twinverse.config import Settings

    default = float(Settings.model_fields["ws_max_rate"].default)
    seconds = 3.0 if args.quick else args.seconds
    if not args.only_shared:
        for ws_rate in args.ws_rate or [default, default / 2]:
            asyncio.run(main_async(args.rate, seconds, ws_rate))
    if args.shared_pg:
        asyncio.run(shared_async(args.rate, seconds, args.shared_pg))


if __name__ == "__main__":
    main()

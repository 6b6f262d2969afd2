"""OPC UA change notifications per second: twinverse's source end to end against a bare asyncua client.

One asyncua server (in its own process) holds ``--items`` Double variables and rewrites all
of them in a loop, as fast as it can. Each client subscribes to every one of them
(publishing interval 50 ms, sampling 0, queue 1) and counts the change notifications it
gets during ``--seconds``:

- baseline: a bare asyncua client with the documented handler (``datachange_notification``
  counting), the items in subscriptions of 5,000;
- twinverse: :class:`OpcuaSource` (the same split), into an :class:`Engine` with a DuckDB
  file store; counted twice over the same window: as decoded (handed to the buffer) and as
  stored (``engine.ingest`` returned: durable), the figure the target is about.

Beside each client's rate the table shows how many values the server wrote meanwhile: a
client that keeps up receives about that many (one publish per 50 ms, queue 1).

The clients run one after the other against the same server (with ``--drift`` the bare one
again at the end, to show how much the machine's load moved meanwhile).
With ``--server node`` the server is node-opcua (tests/peers/opcua/bench_server.js, ``make
opcua-peer``) instead of asyncua: asyncua's server writes only a few thousand values/s from
Python, below the target, so the asyncua server measures the server more than the clients.
Target: >= 10,000 changes/s and >= 50 % of the bare client.
Run: ``python benchmarks/bench_opcua.py`` (``--quick`` for a smoke run).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from asyncua import Client, Server, ua

from benchmarks._common import free_port, table
from twinverse.ingest.opcua import OpcuaSource
from twinverse.ingest.spec import build_field_sources
from twinverse.live.engine import Engine
from twinverse.model import loads_plant
from twinverse.store.duckdb import DuckDBStore

PER_SUB = 5000


async def serve(port: int, items: int) -> None:
    logging.disable(logging.WARNING)
    server = Server()
    await server.init()
    server.set_endpoint(f"opc.tcp://127.0.0.1:{port}")
    ns = await server.register_namespace("urn:bench")
    # 100 variables per object: asyncua adds a child in time linear in its siblings, so one
    # object with 10,000 children takes minutes to build.
    parents = [await server.nodes.objects.add_object(ua.NodeId(f"B{j}", ns), ua.QualifiedName(f"B{j}", ns))
               for j in range((items + 99) // 100)]  # fmt: skip
    requests = []
    for i in range(items):
        it = ua.AddNodesItem()
        it.RequestedNewNodeId = ua.NodeId(i + 1, ns)
        it.BrowseName = ua.QualifiedName(f"v{i}", ns)
        it.NodeClass = ua.NodeClass.Variable
        it.ParentNodeId = parents[i // 100].nodeid
        it.ReferenceTypeId = ua.NodeId(ua.ObjectIds.HasComponent)
        it.TypeDefinition = ua.NodeId(ua.ObjectIds.BaseDataVariableType)
        attrs = ua.VariableAttributes()
        attrs.DisplayName = ua.LocalizedText(f"v{i}")
        attrs.Value = ua.Variant(0.0, ua.VariantType.Double)
        attrs.DataType = ua.NodeId(ua.ObjectIds.Double)
        attrs.ValueRank = -1
        attrs.AccessLevel = attrs.UserAccessLevel = ua.AccessLevel.CurrentRead.mask
        it.NodeAttributes = attrs
        requests.append(it)
    await server.iserver.isession.add_nodes(requests)
    ids = [ua.NodeId(i + 1, ns) for i in range(items)]
    async with server:
        k = 0
        writes = 0
        while True:
            k += 1
            for i, nid in enumerate(ids):
                await server.write_attribute_value(nid, ua.DataValue(ua.Variant(float(k * 10 + i % 7),
                                                                                ua.VariantType.Double)))
                writes += 1
                if i % 500 == 0:
                    await asyncio.sleep(0)  # let the server answer publish requests
                    # The running count of writes, for the parent to take the rate over its windows.
                    print(f"{time.time():.3f} {writes}", flush=True)


def _writes(lines: list[tuple[float, int]], t0: float, t1: float) -> float:
    """The server's writes/s between two wall-clock times, from its progress lines."""
    inside = [(t, n) for t, n in lines if t0 <= t <= t1]
    if len(inside) < 2:
        return float("nan")
    return (inside[-1][1] - inside[0][1]) / (inside[-1][0] - inside[0][0])


class _Count:
    def __init__(self) -> None:
        self.n = 0

    def datachange_notification(self, node: object, val: object, data: object) -> None:
        self.n += 1

    def status_change_notification(self, status: object) -> None:
        print(f"bare client: subscription status {status}", file=sys.stderr)


async def bare(url: str, items: int, seconds: float) -> tuple[float, float, float]:
    # A long watchdog interval: under load the client's own liveness probe would time out and
    # drop the session in the middle of the measurement (twinverse's source gets the same).
    async with Client(url, timeout=30, watchdog_intervall=30) as client:
        handler = _Count()
        ns = await client.get_namespace_index("urn:bench")
        nodes = [client.get_node(ua.NodeId(i + 1, ns)) for i in range(items)]
        for i in range(0, items, PER_SUB):
            sub = await client.create_subscription(50, handler)
            for j in range(i, min(i + PER_SUB, items), 1000):
                await sub.subscribe_data_change(nodes[j:min(j + 1000, i + PER_SUB, items)], queuesize=1,
                                                sampling_interval=0)  # fmt: skip
        await asyncio.sleep(1.0)  # settle: initial values arrive
        n0, t0, w0 = handler.n, time.perf_counter(), time.time()
        await asyncio.sleep(seconds)
        return (handler.n - n0) / (time.perf_counter() - t0), w0, time.time()


def plant_yaml(url: str, items: int) -> str:
    nodes = "\n".join(f'      - {{twin: m{i + 1}, signal: x0, node: "ns=2;i={i + 1}"}}' for i in range(items))
    return ("plant: bench\ntypes:\n  m:\n    signals:\n      x0: {}\n"
            f"twins:\n  - {{id: m, type: m, count: {items}}}\n"
            f"sources:\n  opc:\n    kind: opcua\n    url: {url}\n    timeout: 30\n    watchdog: 30\n"
            "    publishing: 50\n"
            f"    max_items: {PER_SUB}\n    buffer: 1000000\n    nodes:\n{nodes}\n")  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=10_000)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--verbose", action="store_true", help="show the server's write rate")
    ap.add_argument("--drift", action="store_true", help="run the bare client again at the end")
    ap.add_argument("--server", choices=("asyncua", "node"), default="asyncua",
                    help="the OPC UA server: asyncua (Python) or node-opcua (tests/peers/opcua, make opcua-peer)")
    ap.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.serve:
        asyncio.run(serve(a.serve, a.items))
        return 0
    if a.quick:
        a.items, a.seconds = 1000, 2.0
    logging.disable(logging.WARNING)
    t_begin = time.perf_counter()
    port = free_port()
    url = f"opc.tcp://127.0.0.1:{port}"
    pki = tempfile.TemporaryDirectory()
    if a.server == "node":
        peer = Path(__file__).resolve().parents[1] / "tests" / "peers" / "opcua"
        if not (peer / "node_modules" / "node-opcua").is_dir():
            sys.exit("the node-opcua server is not installed: run make opcua-peer")
        cmd = ["node", str(peer / "bench_server.js"), str(port), str(a.items), pki.name]
    else:
        cmd = [sys.executable, __file__, "--serve", str(port), "--items", str(a.items)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=None if a.verbose else subprocess.DEVNULL,
                            text=True)  # fmt: skip
    progress: list[tuple[float, int]] = []

    def read_progress() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            parts = line.split()
            if len(parts) == 2 and parts[1].isdigit():  # node-opcua prints notes of its own
                progress.append((float(parts[0]), int(parts[1])))

    threading.Thread(target=read_progress, daemon=True).start()
    try:
        deadline = time.monotonic() + 120
        while True:  # the server builds its address space first
            try:
                asyncio.run(_probe(url))
                break
            except Exception:
                if time.monotonic() > deadline or proc.poll() is not None:
                    sys.exit("the OPC UA server did not start")
                time.sleep(0.5)
        t_ready = time.perf_counter()
        before, b0, b1 = asyncio.run(bare(url, a.items, a.seconds))
        t_bare = time.perf_counter()
        plant = loads_plant(plant_yaml(url, a.items))
        with tempfile.TemporaryDirectory() as tmp:
            engine = Engine(plant, DuckDBStore(Path(tmp) / "b.duckdb"))
            [source] = build_field_sources(plant)
            assert isinstance(source, OpcuaSource)
            t_start = time.perf_counter()
            source.start(engine)
            deadline = time.monotonic() + 120
            while not source.connected and time.monotonic() < deadline:
                time.sleep(0.05)
            t_sub = time.perf_counter() - t_start
            time.sleep(1.0)
            n0, s0, t0, w0 = source.notifications, source.stored, time.perf_counter(), time.time()
            time.sleep(a.seconds)
            dt = time.perf_counter() - t0
            ours, ours_stored = (source.notifications - n0) / dt, (source.stored - s0) / dt
            w1 = time.time()
            source.stop()
            stored, monitored = source.stored, source.monitored
            engine.close()
            engine.store.close()
        after, a0, a1 = asyncio.run(bare(url, a.items, a.seconds)) if a.drift else (None, 0.0, 0.0)
        print(f"{a.items:,} monitored items ({monitored:,} in twinverse) on one {a.server} server process, "
              f"{a.seconds:g} s per client; server ready after {t_ready - t_begin:.0f} s, bare client "
              f"{t_bare - t_ready:.0f} s, twinverse connected+subscribed in {t_sub:.0f} s")  # fmt: skip
        print(table([
            ("bare asyncua client (handler, count only), before", f"{before:,.0f}",
             f"{_writes(progress, b0, b1):,.0f}", "-", "100%"),
            *([("bare asyncua client (handler, count only), after", f"{after:,.0f}",
                f"{_writes(progress, a0, a1):,.0f}", "-", f"{after / before:.0%}")] if after is not None else []),
            ("twinverse opcua source, decoded", f"{ours:,.0f}", f"{_writes(progress, w0, w1):,.0f}",
             "-", f"{ours / before:.0%}"),
            ("twinverse opcua source, until stored", f"{ours_stored:,.0f}", f"{_writes(progress, w0, w1):,.0f}",
             f"{stored:,}", f"{ours_stored / before:.0%}"),
        ], ("client", "changes/s", "server writes/s meanwhile", "points stored", "vs bare")))  # fmt: skip
        print("(a client that keeps up gets about as many changes as the server writes: then the server, "
              "not the client, is the limit)")  # fmt: skip
    finally:
        proc.terminate()
        proc.wait(10)
        pki.cleanup()
    return 0


async def _probe(url: str) -> None:
    async with Client(url, timeout=2) as client:
        await client.get_namespace_index("urn:bench")


if __name__ == "__main__":
    sys.exit(main())

"""Shared helpers for benchmark scripts: a server in a subprocess, a flat bench plant, tables."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def best(fn: Callable[[], Any], n: int = 3) -> float:
    """The shortest of ``n`` timed calls of ``fn``, in seconds."""
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def rss_kib(pid: int) -> int:
    """VmRSS of ``pid`` and its descendants, in KiB (0 once the process is gone).

    Read from /proc rather than psutil, which the environment need not have.
    """
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bench_plant_yaml(machines: int, signals: int = 1) -> str:
    """A flat plant of ``machines`` twins with ``signals`` unbounded float signals each."""
    sigs = "\n".join(f"      x{j}: {{unit: degC}}" for j in range(signals))
    return (
        "plant: bench\ntypes:\n  m:\n    signals:\n" + sigs + f"\ntwins:\n  - {{id: m, type: m, count: {machines}}}\n"
    )


@dataclass(frozen=True)
class Served:
    """A running ``twinverse serve`` subprocess: its base URL, admin token and process."""

    url: str
    token: str
    proc: subprocess.Popen[bytes]


@contextmanager
def serve_process(
    plant_yaml: str, *, store: str | None = None, env: dict[str, str] | None = None
) -> Iterator[Served]:
    """Run ``twinverse serve`` (token auth, as deployed) on a free port; yields the :class:`Served`."""
    with tempfile.TemporaryDirectory(prefix="twinverse-bench-") as tmp:
        plant = Path(tmp) / "plant.yaml"
        plant.write_text(plant_yaml)
        port = free_port()
        cmd = [
            sys.executable,
            "-m",
            "twinverse",
            "serve",
            "--plant",
            str(plant),
            "--port",
            str(port),
            "--data-dir",
            tmp,
        ]
        if store:
            cmd += ["--store", store]
        proc = subprocess.Popen(
            cmd, env={**os.environ, "TWINVERSE_AUTH": "token", **(env or {})}, stdout=subprocess.DEVNULL
        )
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                with socket.socket() as s:
                    if s.connect_ex(("127.0.0.1", port)) == 0:
                        break
                if proc.poll() is not None:
                    raise RuntimeError("server exited during start-up")
                time.sleep(0.1)
            token_file = Path(tmp) / "admin.token"
            while not token_file.exists() and time.monotonic() < deadline:
                time.sleep(0.05)
            yield Served(f"http://127.0.0.1:{port}", token_file.read_text().strip(), proc)
        finally:
            proc.terminate()
            proc.wait(20)


@contextmanager
def server(
    plant_yaml: str, *, store: str | None = None, env: dict[str, str] | None = None
) -> Iterator[tuple[str, str]]:
    """Run ``twinverse serve`` (token auth, as deployed) on a free port; yields (base URL, admin token)."""
    with serve_process(plant_yaml, store=store, env=env) as served:
        yield served.url, served.token


def table(rows: list[tuple[str, ...]], header: tuple[str, ...]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(out)


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


#: The PostgreSQL server the benchmarks use (its ``test`` database; a fresh one per run beside it).
PG_SERVER = os.environ.get("TWINVERSE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


@contextmanager
def fresh_database(server: str = PG_SERVER) -> Iterator[str]:
    """A new empty PostgreSQL database on ``server`` for one run; its URL, dropped afterwards."""
    import uuid

    import psycopg

    name = f"tv_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server, autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{server.rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(server, autocommit=True) as con:
            con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

"""Many small ingest requests: Debian's ``wrk`` against ``twinverse serve`` and a bare FastAPI endpoint.

A factory's gateways send many small bodies, not a few big ones. Both servers get the same
workload in the same run: ``wrk -t1 -c20`` posting 10-point JSON bodies (every request with
new timestamps, so nothing is a duplicate), twinverse with token auth on a DuckDB file store.
The two are measured in alternating rounds (``--rounds``), and the ratio is the median.
Baseline: ``benchmarks/bare_app.py``, a FastAPI + uvicorn endpoint that only parses the body.
A Python load generator would measure itself (BASELINES.md): this needs ``wrk`` (apt-get install wrk).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx2 as httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import bench_plant_yaml, free_port, serve_process, table

HERE = Path(__file__).resolve().parent
MACHINES = 1000
POINTS = 10

# Every request: 10 signals of the bench plant, one new millisecond per request and connection.
_LUA = """
local counter = 0
local base = %(base)d
local token = "%(token)s"
local conn = 0
setup = function(thread) end
init = function(args) conn = math.random(0, 1000000) end
request = function()
  counter = counter + 1
  local ts = base + counter
  local parts = {}
  for i = 0, %(points)d - 1 do
    local m = (counter * %(points)d + i) %% %(machines)d + 1
    parts[#parts + 1] = string.format('{"twin":"bench/m%%d","signal":"x0","ts":%%d,"value":%%d}', m, ts, i)
  end
  local body = "[" .. table.concat(parts, ",") .. "]"
  return wrk.format("POST", "/api/ingest", {["Content-Type"] = "application/json",
                    ["Authorization"] = "Bearer " .. token}, body)
end
"""


def wrk(url: str, token: str, seconds: int, connections: int, base_ms: int) -> tuple[float, float, float, int, int]:
    """Run wrk; returns (requests/s, p50 ms, p99 ms, non-2xx responses, socket errors)."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(_LUA % {"base": base_ms, "token": token, "points": POINTS, "machines": MACHINES})
        script = f.name
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", script, url + "/api/ingest"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    Path(script).unlink()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]

    def pct(p: str) -> float:
        m = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)", out, re.M)
        if m is None:
            return float("nan")
        return float(m.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[m.group(2)]

    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errs = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return (
        rps,
        pct("50"),
        pct("99"),
        int(bad.group(1)) if bad else 0,
        sum(int(x) for x in errs.groups()) if errs else 0,
    )


def bare(port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([sys.executable, str(HERE / "bare_app.py"), str(port)])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError("bare app did not start")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="shorter runs")
    ap.add_argument("--seconds", type=int, default=None, help="duration of each wrk run")
    ap.add_argument("--rounds", type=int, default=3, help="alternating bare/twinverse runs (the ratio is their median)")
    ap.add_argument("--connections", type=int, default=20)
    ap.add_argument("--store", default=None, help="twinverse's store (default: a DuckDB file in its data dir)")
    args = ap.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("bench_small needs Debian's wrk: apt-get install wrk")
    seconds = args.seconds or (5 if args.quick else 10)
    base_ms = int((time.time() - 3600) * 1000)
    rows = []
    ratios = []
    port = free_port()
    proc = bare(port)
    # Both servers run throughout and the runs alternate, so that a load that comes and goes on
    # the machine (other jobs) weighs on both alike; each twinverse round posts new timestamps.
    cpu: dict[str, list[float]] = {"bare": [], "twinverse": []}
    try:
        with serve_process(bench_plant_yaml(MACHINES), store=args.store) as served:
            url, token = served.url, served.token
            for k in range(args.rounds):
                c0 = cpu_seconds(proc.pid)
                b = wrk(f"http://127.0.0.1:{port}", "none", seconds, args.connections, base_ms)
                cpu["bare"].append((cpu_seconds(proc.pid) - c0) / (b[0] * seconds) * 1e6)
                c0 = cpu_seconds(served.proc.pid)
                t = wrk(url, token, seconds, args.connections, base_ms + k * 1_000_000)
                cpu["twinverse"].append((cpu_seconds(served.proc.pid) - c0) / (t[0] * seconds) * 1e6)
                rows.append((f"{k + 1}: bare FastAPI (parse only)", *_fmt(b), f"{cpu['bare'][-1]:.0f}", ""))
                rows.append((f"{k + 1}: twinverse /api/ingest", *_fmt(t), f"{cpu['twinverse'][-1]:.0f}",
                             f"{t[0] / b[0]:.0%}"))  # fmt: skip
                ratios.append(t[0] / b[0])
            with httpx.Client(base_url=url, headers={"authorization": f"Bearer {token}"}) as c:
                stats = c.get("/healthz").json()
    finally:
        proc.terminate()
        proc.wait(10)
    print(f"wrk -t1 -c{args.connections} -d{seconds}s, {POINTS}-point JSON bodies, 127.0.0.1, {args.rounds} rounds")
    print(table(rows, ("round: server", "requests/s", "points/s", "p50 ms", "p99 ms", "non-2xx", "socket errors",
                       "CPU µs/request", "of bare")))  # fmt: skip
    print(f"twinverse / bare: {statistics.median(ratios):.0%} of the requests/s (median of {len(ratios)} rounds)")
    # CPU time per request (all the server's threads) depends far less than requests/s on
    # what else the machine runs: the ceiling on a machine of one's own is about their ratio.
    mb, mt = statistics.median(cpu["bare"]), statistics.median(cpu["twinverse"])
    print(f"server CPU per request (median): bare {mb:.0f} µs, twinverse {mt:.0f} µs (bare / twinverse: {mb / mt:.0%})")
    print(f"server counters after the run: {stats.get('engine') or stats}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far, all its threads (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _fmt(r: tuple[float, float, float, int, int]) -> tuple[str, ...]:
    return (f"{r[0]:,.0f}", f"{r[0] * POINTS:,.0f}", f"{r[1]:.1f}", f"{r[2]:.1f}", str(r[3]), str(r[4]))


if __name__ == "__main__":
    main()

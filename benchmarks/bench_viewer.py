"""Viewer rendering in headless chromium: instanced machines against one mesh per machine.

A server process holds a plant of 10,000 machines (100 lines of 100) and changes the
state of every machine ten times a second (seeded random states, ingested in-process);
the page follows over ``/ws``. In the same run, for each renderer:

- time from navigation start to the first full frame (scene built, snapshot coloured);
- mean and 95th-percentile frame interval while the colours change, drawing every frame;
- deltas the page applied meanwhile (it keeps up when this is about 10 per second).

Baseline: ``?render=meshes``, one ``Mesh`` and material per machine (the straightforward
three.js scene); twinverse: ``InstancedMesh`` per shape with per-instance colour. Chromium
renders with SwiftShader (no GPU here), so only the ratio carries over to real machines.

Run: ``python benchmarks/bench_viewer.py`` (10,000 machines) or ``--quick`` (1,000).
Needs /usr/bin/chromium and the viewer bundle (web/build.sh).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import ROOT, free_port, table

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 960, "height": 540}
LABELS = 48  # the viewer's default
STATES = "[running, idle, starved, blocked, down, setup, off]"


def plant_yaml(lines: int, per_line: int) -> str:
    out = ["plant: big", "types:", "  machine:", f"    signals: {{state: {{kind: state, states: {STATES}}}}}",
           "    shape: box", "    size: [1.5, 1.5, 1.5]", "twins:"]
    flow = ", ".join(f"m{i}" for i in range(1, per_line + 1))
    for k in range(1, lines + 1):
        out += [f"  - id: l{k}", "    type: line", f"    flow: [{flow}]", "    children:",
                f"      - {{id: m, type: machine, count: {per_line}}}"]
    return "\n".join(out) + "\n"


class StateChanger:
    """A connector that gives every machine a random state ``rate`` times a second."""

    def __init__(self, plant: Any, rate: float, seed: int = 7) -> None:
        self.sids = np.array([plant.signals.sid(t, "state") for t in plant.machines()], dtype=np.int32)
        self.rate = rate
        self.rng = np.random.default_rng(seed)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, engine: Any) -> None:
        from twinverse.core.batch import make_batch

        def run() -> None:
            period = 1.0 / self.rate
            nxt = time.monotonic()
            while not self._stop.is_set():
                ts = np.full(len(self.sids), int(time.time() * 1e6), dtype=np.int64)
                engine.ingest(make_batch(ts, self.sids, self.rng.integers(0, 7, len(self.sids)).astype(float)),
                              source="bench")
                nxt += period
                self._stop.wait(max(0.0, nxt - time.monotonic()))

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def describe(self) -> str:
        return f"bench: {len(self.sids)} machine states at {self.rate:g} Hz"


def serve(plant_path: str, port: int, rate: float) -> None:
    """The server process: the plant, an in-memory store and the state changer."""
    import uvicorn

    from twinverse.api import create_app
    from twinverse.config import load_settings
    from twinverse.platform import Platform

    platform = Platform(load_settings(plant=plant_path, store=":memory:", auth="open"))
    platform.add_source(StateChanger(platform.plant, rate))
    uvicorn.run(create_app(platform=platform), host="127.0.0.1", port=port, log_level="warning")


def wait_up(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(url + "/api/scene", timeout=30):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("bench server did not start")


def measure(browser: Any, url: str, render: str, seconds: float) -> dict[str, Any]:
    ctx = browser.new_context(viewport=VIEWPORT)
    ctx.add_init_script("window.__TWINVERSE_TEST__ = true;")  # the viewer's test/benchmark hook
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{url}/?render={render}&labels={LABELS}")
    page.wait_for_function("() => window.__twinverse && window.__twinverse.ready", timeout=300_000)
    first = page.evaluate("window.__twinverse.firstFullFrameMs()")
    page.wait_for_timeout(1500)  # let the first deltas and shader compiles settle
    page.evaluate("window.__twinverse.bench.start()")
    page.wait_for_timeout(int(seconds * 1000))
    stats = page.evaluate("window.__twinverse.bench.stop()")
    calls = page.evaluate("window.__twinverse.drawCalls()")
    n = len(page.evaluate("window.__twinverse.pickables()"))
    ctx.close()
    if errors:
        raise SystemExit(f"page errors with render={render}: {errors[:3]}")
    return {"render": render, "first": first, "calls": calls, "objects": n, "seconds": seconds, **stats}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="1,000 machines, shorter windows")
    ap.add_argument("--seconds", type=float, default=None, help="measuring window per renderer")
    ap.add_argument("--rate", type=float, default=10.0, help="state changes per machine per second")
    ap.add_argument("--serve", nargs=2, metavar=("PLANT", "PORT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        serve(args.serve[0], int(args.serve[1]), args.rate)
        return
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"{CHROMIUM} is missing (apt-get install chromium)")
    if not (ROOT / "twinverse/api/static/viewer/viewer.js").exists():
        raise SystemExit("the viewer bundle is missing: run web/build.sh")
    lines = 10 if args.quick else 100
    seconds = args.seconds or (4.0 if args.quick else 8.0)
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="twinverse-bench-viewer-") as tmp:
        plant = Path(tmp) / "plant.yaml"
        plant.write_text(plant_yaml(lines, 100))
        port = free_port()
        proc = subprocess.Popen([sys.executable, __file__, "--serve", str(plant), str(port), "--rate", str(args.rate)])
        try:
            url = f"http://127.0.0.1:{port}"
            wait_up(url, proc)
            results = []
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
                # Meshes first, then instanced: any warm-up favours the baseline, not us.
                for render in ("meshes", "instanced"):
                    results.append(measure(browser, url, render, seconds))
                browser.close()
        finally:
            proc.terminate()
            proc.wait(20)
    base = next(r for r in results if r["render"] == "meshes")
    rows = []
    for r in results:
        label = "one mesh per machine (baseline)" if r["render"] == "meshes" else "instanced (twinverse)"
        rows.append((
            label,
            f"{r['objects']:,}",
            str(r["calls"]),
            f"{r['first']:.0f}",
            f"{r['meanFrameMs']:.1f}",
            f"{r['p95FrameMs']:.1f}",
            f"{r['meanRenderCallMs']:.1f}",
            f"{r['meanApplyDeltaMs'] or 0:.1f}",
            f"{r['deltas'] / r['seconds']:.1f}",
            f"{base['meanFrameMs'] / r['meanFrameMs']:.1f}x",
        ))
    print(f"{lines * 100:,} machines changing state at {args.rate:g} Hz, headless chromium (SwiftShader), "
          f"{seconds:g} s per renderer")
    print(table(rows, ("renderer", "objects", "draw calls", "first full frame ms", "mean frame ms", "p95 frame ms",
                       "render() ms", "apply delta ms", "deltas/s applied", "frame speed-up")))


if __name__ == "__main__":
    main()

"""The 3D viewer in Debian's chromium against a real server process.

The page exposes a read-only hook, ``window.__twinverse``, that reports what it draws
(colours read back from the instance buffers, the panel's chart data, the legend).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import ARTIFACTS, Console, plant_yaml, save_artifact
from tests.server import Server
from twinverse.core import MachineState
from twinverse.model import load_plant, loads_plant
from twinverse.platform import example_path
from twinverse.scene import build_scene

pytestmark = pytest.mark.slow

Serve = Callable[..., Server]
OpenPage = Callable[[str], tuple[Any, Console]]
FILLER = "bottling/line1/filler"


def bottling(serve: Serve) -> Server:
    return serve("serve", "--plant", str(example_path("bottling.yaml")), "--store", "history.duckdb")


def iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def hook(page: Any, expr: str, *args: Any) -> Any:
    return page.evaluate(f"(args) => window.__twinverse.{expr}", list(args))


def wait_hook(page: Any, predicate: str, arg: Any = None) -> None:
    """Wait (up to 20 s: a software-rendered browser on a busy machine) until ``predicate`` holds."""
    page.wait_for_function(f"(arg) => {{ const tv = window.__twinverse; return {predicate}; }}", arg=arg,
                           timeout=20_000, polling="raf")


def test_page_loads_with_one_pickable_object_per_machine(serve: Serve, open_page: OpenPage) -> None:
    server = bottling(serve)
    page, console = open_page(server.url + "/")
    plant = load_plant(example_path("bottling.yaml"))
    scene = build_scene(plant)
    pickables = hook(page, "pickables()")
    assert sorted(pickables) == sorted(scene.ids)  # one pickable per object, no duplicates
    assert set(plant.machines()) <= set(pickables)
    assert len(pickables) == len(set(pickables)) == 16
    assert hook(page, "render") == "instanced"
    # before any data every machine reads off (no data); equipment without a state has its own colour
    palette = hook(page, "palette()")
    assert hook(page, "colorOf(args[0])", FILLER) == palette["off"]
    assert hook(page, "colorOf(args[0])", "bottling/utilities/air") == palette["equipment"]
    assert [e["key"] for e in hook(page, "legend()")] == ["running", "idle", "starved", "blocked", "down", "setup",
                                                          "off"]
    assert palette["off"] == MachineState.OFF.color and palette["down"] == MachineState.DOWN.color
    assert page.locator("#plant-name").inner_text() == plant.name
    assert page.locator("#banner").is_hidden()
    # the tree lists every object and container; search narrows it
    assert page.locator("#tree button").count() == len(scene.ids) + len(scene.zones)
    page.fill("#search", "fill")
    assert page.locator("#tree button.leaf").all_inner_texts() == ["Filler"]
    assert console.errors == []


def test_ingested_state_changes_the_machine_colour(serve: Serve, open_page: OpenPage) -> None:
    server = bottling(serve)
    page, console = open_page(server.url + "/")
    palette = hook(page, "palette()")
    capper = "bottling/line1/capper"
    server.ingest([{"twin": capper, "signal": "state", "value": "blocked"}])
    sent = time.monotonic()
    wait_hook(page, "tv.colorOf(arg[0]) === arg[1]", [capper, palette["blocked"]])
    latency = time.monotonic() - sent
    assert hook(page, "stateOf(args[0])", capper) == "blocked"
    legend = {e["key"]: e["text"] for e in hook(page, "legend()")}
    wait_hook(page, "tv.legend().find((e) => e.key === 'blocked').text === 'blocked 1'")
    assert legend["off"].startswith("off / no data")
    # a machine that goes down pulses: red, at a brightness that changes over time
    server.ingest([{"twin": capper, "signal": "state", "value": "down"}])
    wait_hook(page, "tv.legendKeyOf(arg) === 'down'", capper)
    seen = set()
    for _ in range(12):
        hexa = hook(page, "colorOf(args[0])", capper)
        r, g, b = (int(hexa[k : k + 2], 16) for k in (1, 3, 5))
        assert r > 2 * g and r > 2 * b  # red
        seen.add(hexa)
        page.wait_for_timeout(90)
    assert len(seen) > 1
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "e2e-colour-latency.json").write_text(json.dumps({"ingest_to_colour_s": latency}))
    assert console.errors == []


def test_click_opens_the_panel_with_a_chart_of_history(serve: Serve, open_page: OpenPage) -> None:
    server = bottling(serve)
    # Twelve temperatures over the last hour, on whole minutes (multiples of the 6 s buckets
    # interval=auto picks for one hour, so each bucket holds one point and its mean is the point).
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    points = [(now - timedelta(seconds=150 + 300 * k), 4.0 + 0.25 * k) for k in range(12)]
    server.ingest([{"twin": FILLER, "signal": "temperature", "ts": iso(t), "value": v} for t, v in points])
    page, console = open_page(server.url + "/")
    pt = hook(page, "screenPoint(args[0])", FILLER)
    assert hook(page, "pickAt(args[0], args[1])", pt["x"], pt["y"]) == FILLER
    page.mouse.click(pt["x"], pt["y"])
    wait_hook(page, "tv.panel() && tv.panel().charts.some((c) => c.signal === 'temperature')")
    assert page.locator("#panel-name").inner_text() == "Filler"
    assert hook(page, "selected()") == FILLER
    chart = next(c for c in hook(page, "panel()")["charts"] if c["signal"] == "temperature")
    expected = sorted((int(t.timestamp() * 1000), v) for t, v in points)
    assert list(zip(chart["ts"], chart["values"], strict=True)) == expected
    assert page.locator(".chart[data-signal=temperature] canvas").count() >= 1
    # the range buttons reload with server-side downsampling: 15 minutes hold three points
    page.click("#panel .ranges button[data-range='15m']")
    wait_hook(page, "tv.panel().range === '15m' && tv.panel().charts.find((c) => c.signal === 'temperature')"
                    ".points === 3")
    chart = next(c for c in hook(page, "panel()")["charts"] if c["signal"] == "temperature")
    assert chart["values"] == [v for _, v in sorted(points)[-3:]]
    # live values are appended to the open chart
    server.ingest([{"twin": FILLER, "signal": "temperature", "value": 9.5}])
    wait_hook(page, "tv.panel().charts.find((c) => c.signal === 'temperature').points === 4")
    chart = next(c for c in hook(page, "panel()")["charts"] if c["signal"] == "temperature")
    assert chart["values"][-1] == 9.5
    assert console.errors == []


def test_time_slider_shows_a_past_state(serve: Serve, open_page: OpenPage) -> None:
    server = bottling(serve)
    labeller = "bottling/line1/labeller"
    now = datetime.now(UTC)
    server.ingest([
        {"twin": labeller, "signal": "state", "ts": iso(now - timedelta(minutes=40)), "value": "blocked"},
        {"twin": labeller, "signal": "state", "ts": iso(now - timedelta(minutes=2)), "value": "setup"},
    ])
    page, console = open_page(server.url + "/")
    palette = hook(page, "palette()")
    wait_hook(page, "tv.stateOf(arg) === 'setup'", labeller)
    assert hook(page, "colorOf(args[0])", labeller) == palette["setup"]
    # drag the slider to the middle of the last hour: 30 minutes ago the labeller was blocked
    page.eval_on_selector("#tl-slider", "(el) => { el.value = '500'; el.dispatchEvent(new Event('input')); }")
    wait_hook(page, "tv.mode() === 'past' && tv.stateOf(arg) === 'blocked'", labeller)
    assert hook(page, "colorOf(args[0])", labeller) == palette["blocked"]
    at = hook(page, "travelAt()")
    assert abs(at / 1000 - (now - timedelta(minutes=30)).timestamp()) < 120
    assert "live" not in page.locator("#tl-time").inner_text()
    # before any data the machine reads off
    page.eval_on_selector("#tl-slider", "(el) => { el.value = '100'; el.dispatchEvent(new Event('input')); }")
    wait_hook(page, "tv.pastAppliedAt() < Date.now() - 50 * 60e3 && tv.stateOf(arg) === null", labeller)
    assert hook(page, "colorOf(args[0])", labeller) == palette["off"]
    # "live" returns to now
    page.click("#tl-live")
    wait_hook(page, "tv.mode() === 'live' && tv.stateOf(arg) === 'setup'", labeller)
    assert hook(page, "colorOf(args[0])", labeller) == palette["setup"]
    # play replays forward from the start of the range and reaches live again at 600x
    page.select_option("#tl-speed", "600")
    page.click("#tl-play")
    wait_hook(page, "tv.mode() === 'past'")
    wait_hook(page, "tv.mode() === 'live'")
    assert console.errors == []


def test_reconnects_after_a_server_restart(serve: Serve, open_page: OpenPage) -> None:
    server = bottling(serve)
    page, console = open_page(server.url + "/")
    assert hook(page, "connected")
    server.stop()
    page.wait_for_selector("#banner:not([hidden])", timeout=20_000)
    assert page.locator("#banner").inner_text().startswith("Disconnected from the server")
    assert page.locator("#status").inner_text() == "disconnected"
    server.start()
    page.wait_for_selector("#banner", state="hidden", timeout=30_000)
    wait_hook(page, "tv.connected")
    palette = hook(page, "palette()")
    server.ingest([{"twin": "bottling/line1/packer", "signal": "state", "value": "starved"}])
    wait_hook(page, "tv.colorOf(arg[0]) === arg[1]", ["bottling/line1/packer", palette["starved"]])
    # the only errors are the browser's reports of the refused connections during the restart
    assert [e for e in console.errors if "ERR_CONNECTION_REFUSED" not in e and "WebSocket" not in e] == []


def test_a_plant_without_machines_renders(serve: Serve, open_page: OpenPage) -> None:
    server = serve("serve", "--store", "h.duckdb", plant_text="plant: empty\nname: Empty site\n")
    page, console = open_page(server.url + "/")
    assert hook(page, "pickables()") == []
    assert page.locator("#empty").is_visible()
    assert hook(page, "frames()") >= 1
    assert console.errors == []


def test_unknown_states_get_a_neutral_colour_and_a_legend_entry(serve: Serve, open_page: OpenPage) -> None:
    text = plant_yaml(1, 3, states="[running, cleaning, down]")
    server = serve("serve", "--store", "h.duckdb", plant_text=text)
    page, console = open_page(server.url + "/")
    server.ingest([{"twin": "big/l1/m2", "signal": "state", "value": "cleaning"},
                   {"twin": "big/l1/m1", "signal": "state", "value": "running"}])
    palette = hook(page, "palette()")
    wait_hook(page, "tv.colorOf(arg[0]) === arg[1]", ["big/l1/m2", palette["unknown"]])
    assert hook(page, "colorOf(args[0])", "big/l1/m1") == palette["running"]
    entry = next(e for e in hook(page, "legend()") if e["key"] == "other:cleaning")
    assert entry["text"] == "cleaning (unknown) 1"
    assert console.errors == []


def test_ten_thousand_machines_render_instanced(serve: Serve, open_page: OpenPage) -> None:
    text = plant_yaml(100, 100)
    server = serve("serve", "--store", "h.duckdb", plant_text=text)
    page, console = open_page(server.url + "/")
    ids = hook(page, "pickables()")
    assert len(ids) == len(set(ids)) == 10_000
    assert set(ids) == set(build_scene(loads_plant(text)).ids)
    # floor + zones + belts + one instanced mesh per shape used: a handful of draw calls
    assert hook(page, "drawCalls()") <= 4
    server.ingest([{"twin": "big/l57/m42", "signal": "state", "value": "idle"}])
    palette = hook(page, "palette()")
    wait_hook(page, "tv.colorOf(arg[0]) === arg[1]", ["big/l57/m42", palette["idle"]])
    assert console.errors == []


def test_demo_screenshot(serve: Serve, open_page: OpenPage) -> None:
    """An hour of the synthetic line, replayed into a server; kept as artifacts/viewer.png."""
    import pyarrow as pa

    from twinverse.ingest.synthetic import SyntheticPlant

    server = bottling(serve)
    plant = load_plant(example_path("bottling.yaml"))
    # 240 ticks of 15 s: failures every few minutes (MTBF 5 min) so the picture shows several states.
    source = SyntheticPlant(plant, rate=1.0, seed=11, speedup=15.0, mtbf_s=300.0, mttr_s=120.0)
    start = int((datetime.now(UTC) - timedelta(hours=1)).timestamp() * 1e6)
    batches = [source.step(now_us=start + k * 15_000_000) for k in range(240)]
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, batches[0].schema) as w:
        for b in batches:
            w.write_batch(b)
    server.post_arrow(sink.getvalue().to_pybytes())
    page, console = open_page(server.url + "/")
    pt = hook(page, "screenPoint(args[0])", FILLER)
    page.mouse.click(pt["x"], pt["y"])
    wait_hook(page, "tv.panel() && tv.panel().charts.length > 0 && tv.panel().charts[0].points > 100")
    page.mouse.move(5, 400)
    page.wait_for_timeout(1500)
    path: Path = save_artifact("viewer.png", page.screenshot())
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the last tick's states are what the page shows
    last = dict(zip(batches[-1].column("sid").to_pylist(), batches[-1].column("value").to_pylist(), strict=True))
    for twin in plant.machines():
        states = plant.state_names(twin)
        assert states is not None
        assert hook(page, "stateOf(args[0])", twin) == states[int(last[plant.signals.sid(twin, "state")])]
    assert console.errors == []

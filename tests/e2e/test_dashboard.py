"""The line dashboard at tablet size: this shift's OEE, throughput, alarms, energy per unit; two languages."""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from tests.e2e.conftest import TEST_MODE, Console
from tests.server import Server
from twinverse.platform import example_path

LINE = "bottling/line1"
SHIFT_S = 28_800  # the demo plant's shift calendar
BREAK_S = (4 * 3600, 4 * 3600 + 1800)  # each shift's 30-minute break, from the shift's start


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat().replace("+00:00", "Z")


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=30) as r:
        return json.loads(r.read())


def _tablet(browser: Any, url: str) -> tuple[Any, Any, Console]:
    ctx = browser.new_context(viewport={"width": 820, "height": 1180}, has_touch=True, is_mobile=True)
    ctx.add_init_script(TEST_MODE)
    page = ctx.new_page()
    console = Console()
    console.attach(page)
    page.goto(url)
    page.wait_for_function("() => window.__dashboard && window.__dashboard.state.updated !== null", timeout=30_000)
    return ctx, page, console


def test_a_tablet_reads_this_shift_of_the_line_in_two_languages(serve: Callable[..., Server], browser: Any) -> None:
    server = serve("serve", "--plant", str(example_path("bottling.yaml")), "--store", "h.duckdb")
    now = time.time()
    start = now // SHIFT_S * SHIFT_S
    t0, t1 = start + 0.1 * (now - start), start + 0.9 * (now - start)
    if BREAK_S[0] <= t1 - start < BREAK_S[1]:  # counts in the break are not this shift's output
        t1 = start + BREAK_S[0] - 60
    machines = [m["id"] for m in _get(server.url + "/api/twins")["items"] if m["parent"] == LINE]
    server.ingest([{"twin": m, "signal": "state", "ts": _iso(t0), "value": "running"} for m in machines])
    server.ingest([{"twin": f"{LINE}/palletiser", "signal": "good_count", "ts": _iso(t0), "value": 0},
                   {"twin": f"{LINE}/palletiser", "signal": "good_count", "ts": _iso(t1), "value": 5000},
                   {"twin": f"{LINE}/filler", "signal": "state", "ts": _iso(t1), "value": "down"},
                   {"twin": f"{LINE}/filler", "signal": "temperature", "ts": _iso(t1), "value": 30.0}])  # fmt: skip
    ctx, page, console = _tablet(browser, f"{server.url}/static/dashboard.html?line={LINE}&lang=en")
    st = page.evaluate("() => window.__dashboard.state")
    assert (st["line"], st["exit"], st["shiftStart"]) == (LINE, f"{LINE}/palletiser", start * 1000)
    report = _get(server.url + "/api/kpis?" + urllib.parse.urlencode(
        {"twin": LINE, "start": _iso(start), "end": _iso(st["updated"] / 1000)}))  # fmt: skip
    assert st["oee"] == report["total"]["kpis"]["oee"]
    assert st["availability"] == report["total"]["kpis"]["availability"]
    assert st["good"] == report["machines"][f"{LINE}/palletiser"]["gq"] == 5000
    assert st["ratedPerH"] == 36_000  # the slowest rating on the line, 600 bottles/min
    assert abs(st["throughputPerH"] - 5000 / ((st["updated"] / 1000 - start) / 3600)) < 1e-6
    assert abs(st["whPerUnit"] - report["total"]["energy_kwh"] * 1000 / 5000) < 1e-9
    assert page.locator("#d-oee").inner_text() == f"{report['total']['kpis']['oee'] * 100:.1f} %"
    assert page.locator("#d-good").inner_text() == "5,000"
    # the filler's bowl temperature alarm (limit 12 °C) is listed with its priority
    alarms = {a["id"]: a for a in st["alarms"]}
    assert f"{LINE}/filler:temperature_hi" in alarms
    assert page.locator(f"#d-alarms li[data-alarm='{LINE}/filler:temperature_hi']").inner_text().startswith("medium")
    assert page.locator("#d-machines li").count() == len(report["machines"])
    # readable on a tablet: nothing wider than the screen
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 820

    # 简体中文: every string exists in both languages; the switch keeps the line and language in the address
    strings = page.evaluate("() => window.__dashboard.strings")
    assert set(strings["en"]) == set(strings["zh-CN"])
    page.locator("#d-lang").select_option("zh-CN")
    assert page.locator("h1").inner_text().startswith("产线看板")
    assert page.locator("#c-oee h2").inner_text() == "设备综合效率 OEE"
    assert page.locator(f"#d-alarms li[data-alarm='{LINE}/filler:temperature_hi']").inner_text().startswith("中")
    link = page.evaluate("() => location.href")
    assert urllib.parse.parse_qs(urllib.parse.urlparse(link).query) == {"line": [LINE], "lang": ["zh-CN"]}
    ctx.close()
    ctx2, shared, console2 = _tablet(browser, link)  # the shared link opens the same view in the same language
    assert shared.locator("h1").inner_text().startswith("产线看板")
    assert shared.evaluate("() => window.__dashboard.state.line") == LINE
    assert shared.locator("#d-good").inner_text() == "5,000"
    ctx2.close()
    assert console.errors == [] and console2.errors == []

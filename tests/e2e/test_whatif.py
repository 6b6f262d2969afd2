"""The what-if panel in the browser: a scenario beside its baseline, run on the server from the live state."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from typing import Any

from tests.e2e.conftest import Console
from tests.server import Server
from twinverse.platform import example_path

FILLER = "bottling/line1/filler"


def _run(url: str, run_id: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{url}/api/sim/runs/{run_id}", timeout=30) as r:
        out: dict[str, Any] = json.loads(r.read())
    return out


def test_a_slower_filler_against_the_baseline(
    serve: Callable[..., Server], open_page: Callable[[str], tuple[Any, Console]]
) -> None:
    server = serve("serve", "--plant", str(example_path("bottling.yaml")), "--store", "h.duckdb")
    page, console = open_page(server.url + "/")
    page.locator("#whatif-open").click()
    page.wait_for_function("() => document.querySelectorAll('#wi-param option').length > 10", timeout=20_000)
    assert page.locator("#wi-until").input_value() == "28800"  # the model's own defaults
    assert page.locator("#wi-reps").input_value() == "5"
    page.locator("#wi-until").fill("1800")
    page.locator("#wi-reps").fill("2")
    page.locator("#wi-seed").fill("3")
    page.locator("#wi-param").select_option("station.filler.process_mean")
    assert page.locator("#wi-value").input_value() == "0.1"
    page.locator("#wi-value").fill("0.2")
    page.locator("#wi-add").click()
    assert page.locator("#wi-changes li").inner_text().startswith("station.filler.process_mean: 0.1 → 0.2")
    shift = page.locator("#wi-shifts input[data-calendar=shift]")
    assert shift.input_value() == "14400-16200"  # the model's mid-shift break
    shift.fill("")  # and the scenario without it
    page.locator("#wi-run").click()
    page.wait_for_function("() => window.__twinverse.whatIf().status === 'done'", timeout=120_000)

    state = page.evaluate("() => window.__twinverse.whatIf()")
    assert state["progress"] == {"baseline": 1, "scenario": 1}
    base, scen = _run(server.url, state["runs"]["baseline"]), _run(server.url, state["runs"]["scenario"])
    assert base["request"]["params"] == {} and scen["request"]["params"] == {"station.filler.process_mean": 0.2}
    assert base["request"]["calendars"] == {}
    assert scen["request"]["calendars"] == {"shift": {"period": 28800, "off": []}}
    assert base["request"]["from_live"] is True and base["request"]["seed"] == scen["request"]["seed"] == 3
    b, s = state["compare"]["baseline"], state["compare"]["scenario"]
    # the panel shows the server's numbers, per hour (the model counts seconds)
    assert b["throughput"]["mean"] == base["result"]["throughput"]["mean"] * 3600
    assert s["throughput"]["mean"] == scen["result"]["throughput"]["mean"] * 3600
    assert s["energy_kwh"]["mean"] == scen["result"]["energy_kwh"]["mean"]
    assert s["co2e_kg"]["ci95"] == scen["result"]["co2e_kg"]["ci95"]
    # 0.2 s per bottle caps the line at 18,000 bottles/h; the baseline runs faster
    assert s["throughput"]["mean"] <= 18_000 < b["throughput"]["mean"]
    assert s["bottleneck"] == "filler"
    row = page.locator("#wi-compare tr[data-figure=throughput] td")
    assert row.nth(2).inner_text() == f"{s['throughput']['mean']:.0f} ± {s['throughput']['ci95']:.0f}"
    assert page.locator("#wi-compare tr[data-figure=bottleneck] td").nth(2).inner_text() == "filler"
    assert page.evaluate("() => window.__twinverse.bottleneckMarks()") == [FILLER]
    assert console.errors == []


def test_a_viewer_is_told_it_may_not_run(
    room: tuple[Server, dict[str, Any]], person: Callable[[str], tuple[Any, Console]]
) -> None:
    """A viewer reads the model but may not start runs: the panel says why (the server's 403)."""
    page, _ = person("Vic")
    page.locator("#whatif-open").click()
    page.wait_for_function("() => document.querySelectorAll('#wi-param option').length > 10", timeout=20_000)
    page.locator("#wi-run").click()
    page.wait_for_function("() => window.__twinverse.whatIf().status === 'failed'", timeout=20_000)
    assert page.locator("#wi-error").inner_text() == "/api/sim/runs: 403 permission 'sim:run' required"
    assert page.evaluate("() => window.__twinverse.whatIf().runs") == {"baseline": None, "scenario": None}

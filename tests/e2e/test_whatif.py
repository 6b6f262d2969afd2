"""The what-if panel in the browser: a scenario beside its baseline, run on the server from the live state."""

from __future__ import annotations

import json
import shutil
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.e2e.conftest import Console, save_artifact
from tests.server import Server
from twinverse.platform import example_path

FILLER = "bottling/line1/filler"


def _run(url: str, run_id: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{url}/api/sim/runs/{run_id}", timeout=30) as r:
        out: dict[str, Any] = json.loads(r.read())
    return out


def _plant_without_breaks(folder: Path) -> Path:
    """The example plant with its stations off the shift calendar (the calendar stays declared): a
    run from the live state inside the mid-shift break would otherwise see the line off, whatever
    the hour CI runs (04:00, 12:00 and 20:00 UTC, 30 minutes each)."""
    example = example_path("bottling.yaml")
    shutil.copytree(example.parent / "models", folder / "models")
    text = example.read_text()
    assert "    calendar: shift\n" in text
    (folder / "bottling.yaml").write_text(text.replace("    calendar: shift\n", "", 1))
    return folder / "bottling.yaml"


def test_a_slower_filler_against_the_baseline(
    serve: Callable[..., Server], open_page: Callable[[str], tuple[Any, Console]], tmp_path: Path
) -> None:
    server = serve("serve", "--plant", str(_plant_without_breaks(tmp_path)), "--store", "h.duckdb")
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


def _slide(page: Any, at: int) -> None:
    """Move the time slider to ``at`` (of 1000) as a drag does."""
    page.evaluate("(at) => { const s = document.getElementById('tl-slider'); s.value = String(at);"
                  " s.dispatchEvent(new Event('input')); }", at)  # fmt: skip


def test_both_runs_play_back_side_by_side_on_the_time_slider(
    serve: Callable[..., Server], open_page: Callable[[str], tuple[Any, Console]]
) -> None:
    """A bigger buffer before the capper: both runs played back, states and levels as the server sampled them."""
    server = serve("serve", "--plant", str(example_path("bottling.yaml")), "--store", "h.duckdb")
    page, console = open_page(server.url + "/")
    page.locator("#whatif-open").click()
    page.wait_for_function("() => document.querySelectorAll('#wi-param option').length > 10", timeout=20_000)
    page.locator("#wi-until").fill("3600")
    page.locator("#wi-reps").fill("1")
    page.locator("#wi-seed").fill("3")
    page.locator("#wi-param").select_option("buffer.c3.capacity")
    page.locator("#wi-value").fill("2000")
    page.locator("#wi-add").click()
    page.locator("#wi-run").click()
    page.wait_for_function("() => window.__twinverse.whatIf().status === 'done'", timeout=120_000)
    runs = page.evaluate("() => window.__twinverse.whatIf().runs")
    base, scen = (_run(server.url, runs[w])["result"] for w in ("baseline", "scenario"))
    assert base["playback"]["every"] == 7.5 and len(base["playback"]["t"]) == 481  # 3600 / 480

    page.locator("#wi-play").click()
    page.wait_for_function("() => window.__twinverse.playback().active && window.__twinverse.mode() === 'sim'")
    assert page.locator("#sim-side").is_visible()
    palette = page.evaluate("() => window.__twinverse.palette()")
    for at in (0, 250, 731, 1000):  # slider positions (0 … 1000)
        _slide(page, at)
        pb = page.evaluate("() => window.__twinverse.playback()")
        k = int(at / 1000 * 3600 / 7.5 + 1e-9)
        assert pb["index"] == k
        for which, result in (("baseline", base), ("scenario", scen)):
            want = {f"bottling/line1/{sid}": states[k] for sid, states in result["playback"]["stations"].items()}
            assert pb["shown"][which] == want
            assert pb["levels"][which]["bottling/line1/c3"] == result["playback"]["buffers"]["c3"][k]
        shown = pb["shown"]
        assert page.evaluate(f"() => window.__twinverse.colorOf('{FILLER}')") == palette[shown["baseline"][FILLER]]
        assert page.evaluate(f"() => window.__twinverse.sideColorOf('{FILLER}')") == palette[shown["scenario"][FILLER]]
    assert pb["bottleneck"] == {"baseline": f"bottling/line1/{base['bottleneck']['station']}",
                                "scenario": f"bottling/line1/{scen['bottleneck']['station']}"}  # fmt: skip
    assert page.locator("#tl-time").inner_text() == "simulated 1:00:00 / 1:00:00"
    save_artifact("playback.png", page.screenshot())

    # ▶ at 600× plays model time forward from the start
    _slide(page, 0)
    page.locator("#tl-speed").select_option("600")
    page.locator("#tl-play").click()
    page.wait_for_function("() => window.__twinverse.playback().index > 20", timeout=20_000)
    page.locator("#tl-live").click()  # back to live ends the playback
    page.wait_for_function("() => !window.__twinverse.playback().active && window.__twinverse.mode() === 'live'")
    assert page.locator("#sim-side").is_hidden()
    assert console.errors == []

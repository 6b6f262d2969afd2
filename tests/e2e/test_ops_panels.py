"""The alarm list, alarm badges and band, and the KPI panel in the browser, against a real server."""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Console
from tests.server import Server
from twinverse.core.clock import iso_dt as iso
from twinverse.platform import example_path

FILLER = "bottling/line1/filler"
HI = f"{FILLER}:temperature_hi"


def _get(url: str, token: str | None = None) -> Any:
    req = urllib.request.Request(url, headers={"authorization": f"Bearer {token}"} if token else {})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


def _ingest(server: Server, points: list[dict[str, Any]], token: str | None = None) -> None:
    req = urllib.request.Request(f"{server.url}/api/ingest", data=json.dumps(points).encode(),
                                 headers={"content-type": "application/json",
                                          **({"authorization": f"Bearer {token}"} if token else {})})  # fmt: skip
    with urllib.request.urlopen(req, timeout=30) as r:
        assert json.loads(r.read())["rejected"] == 0


def _history(now: datetime) -> list[dict[str, Any]]:
    """Ten minutes of the line running, the filler down 2–4 min ago, the filler's counters counting."""
    pts: list[dict[str, Any]] = []
    t0 = now - timedelta(minutes=10)
    for twin in ("depal", "rinser", "filler", "capper", "labeller", "inspector", "packer", "palletiser"):
        pts.append({"twin": f"bottling/line1/{twin}", "signal": "state", "ts": iso(t0), "value": "running"})
    pts.append({"twin": FILLER, "signal": "state", "ts": iso(now - timedelta(minutes=4)), "value": "down"})
    pts.append({"twin": FILLER, "signal": "state", "ts": iso(now - timedelta(minutes=2)), "value": "running"})
    for k in range(11):
        t = t0 + timedelta(minutes=k)
        for twin in ("filler", "palletiser"):
            pts.append({"twin": f"bottling/line1/{twin}", "signal": "good_count", "ts": iso(t), "value": 500 * k})
    return pts


def _plant_with_a_shift_around(now: datetime, where: Path) -> Path:
    """The bottling example with one UTC shift from an hour before ``now`` to two hours after, no break.

    The example's own calendar has breaks and shift changes; a test run during one (CI ran at
    04:16 Shanghai, inside the night break) would see a shift with no planned time and no OEE.
    """
    src = example_path("bottling.yaml")
    start = (now - timedelta(hours=1)).strftime("%H:%M")
    end = (now + timedelta(hours=2)).strftime("%H:%M")
    shifts = f'shifts:\n  timezone: UTC\n  test: {{start: "{start}", end: "{end}"}}\n\n'
    text, n = re.subn(r"(?ms)^shifts:\n.*?\n\n", shifts, src.read_text())
    assert n == 1, "the example's shifts section moved"
    (where / "models").symlink_to(src.parent / "models")
    (where / "plant.yaml").write_text(text)
    return where / "plant.yaml"


def test_alarm_list_badge_band_ack_and_kpis(
    serve: Callable[..., Server], open_page: Callable[[str], tuple[Any, Console]], tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    plant = _plant_with_a_shift_around(now, tmp_path)
    server = serve("serve", "--plant", str(plant), "--store", "h.duckdb")
    _ingest(server, _history(now))
    page, console = open_page(server.url + "/")
    # a real alarm: the filler's product temperature above its 12 °C limit, live over the websocket
    _ingest(server, [{"twin": FILLER, "signal": "temperature", "value": 14.5}])
    row = page.locator(f'#alarm-list tr[data-alarm="{HI}"]')
    row.wait_for(timeout=20_000)
    assert row.locator("td.state").inner_text() == "unacknowledged"
    server_alarm = next(a for a in _get(f"{server.url}/api/alarms")["items"] if a["id"] == HI)
    assert server_alarm["value"] == 14.5 and server_alarm["priority"] == row.locator("td.prio").inner_text()
    badge = page.locator(f'#alarm-badges .alarm-badge[data-twin="{FILLER}"]')
    badge.wait_for(timeout=10_000)
    on_filler = [a for a in _get(f"{server.url}/api/alarms")["items"] if a["twin"] == FILLER]
    # the temperature, and the filler's two minutes down (raised after 60 s, returned to normal unacknowledged)
    assert {a["rule"]: a["state"] for a in on_filler} == {"temperature_hi": "unacknowledged",
                                                          "down_long": "rtn_unacknowledged"}  # fmt: skip
    assert badge.inner_text() == "⚠ 2" and "unacked" in (badge.get_attribute("class") or "")
    # filter and sort
    page.locator("#alarm-filter").fill("capper")
    assert page.locator("#alarm-list tbody tr").count() == 0
    page.locator("#alarm-filter").fill("temperature")
    assert page.locator("#alarm-list tbody tr").count() == 1
    # open mode: everyone may acknowledge; the list follows the server's answer
    row.locator("button.ack").click()
    page.wait_for_function(f"""() => document.querySelector('#alarm-list tr[data-alarm="{HI}"] td.state')
                               ?.textContent === 'acknowledged'""", timeout=20_000)  # fmt: skip
    assert next(a for a in _get(f"{server.url}/api/alarms")["items"] if a["id"] == HI)["state"] == "acknowledged"
    # the alarm band in the filler's charts
    row.click()
    page.locator(".alarm-band").wait_for(timeout=20_000)
    assert int(page.locator(".alarm-band").get_attribute("data-spans") or 0) >= 1
    # the KPI panel: this shift beside the previous one, the server's figures
    page.locator("#kpis-open").click()
    page.wait_for_function("() => document.querySelector('#kpis').dataset.loaded", timeout=20_000)
    cur = _get(f"{server.url}/api/kpis?twin=bottling/line1&shift=current")
    # the shift under way is counted to now: the page asked a moment before this test did
    cells = page.locator("#kpi-table tr[data-figure=oee] td")
    oee = cur["total"]["kpis"]["oee"]
    assert oee is not None and 0 < oee < 1
    shown = cells.nth(1).inner_text()
    assert re.fullmatch(r"\d+\.\d %", shown) and float(shown[:-2]) == pytest.approx(oee * 100, rel=0.02)
    per = page.locator("#kpi-table tr[data-figure=co2e_per_1000] td").nth(1).inner_text()
    assert float(per) == pytest.approx(cur["total"]["co2e_kg_per_good_unit"] * 1000, rel=0.02) and float(per) > 0
    good = page.locator("#kpi-table tr[data-figure=good] td").nth(1).inner_text()
    assert good == f"{round(cur['total']['good_units_out']):,}"  # counters stopped: the same number
    assert "east 2023: 0.55 kg CO2/kWh" in page.locator("#kpi-note").inner_text()
    assert page.locator("#kpi-table tr[data-figure=failures] td").nth(1).inner_text() == str(cur["total"]["failures"])
    assert console.errors == []


def test_a_viewer_sees_no_ack_buttons(room: tuple[Server, dict[str, Any]],
                                      person: Callable[[str], tuple[Any, Console]]) -> None:  # fmt: skip
    server, people = room
    _ingest(server, [{"twin": FILLER, "signal": "temperature", "value": 15.0}], people["Cy"]["token"])
    vic, _ = person("Vic")
    ada, _ = person("Ada")
    for page in (vic, ada):
        page.locator(f'#alarm-list tr[data-alarm="{HI}"]').wait_for(timeout=20_000)
    assert vic.locator("#alarm-list button").count() == 0
    assert ada.locator(f'#alarm-list tr[data-alarm="{HI}"] button.ack').count() == 1
    assert ada.locator(f'#alarm-list tr[data-alarm="{HI}"] button.shelve').count() == 1

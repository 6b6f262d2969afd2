"""``twinverse report shift``: the demo line's last complete shift as HTML and PDF, with the grid factor printed."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from twinverse.cli import main
from twinverse.config import Settings
from twinverse.core.clock import to_us
from twinverse.ingest.synthetic import SyntheticPlant
from twinverse.platform import Platform, example_path

S = 1_000_000


def test_shift_report_html_and_pdf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    for k in list(os.environ):
        if k.startswith("TWINVERSE_"):
            monkeypatch.delenv(k)
    monkeypatch.chdir(tmp_path)
    settings = Settings(data_dir=tmp_path / "data", plant=example_path("bottling.yaml"), store="duckdb")
    platform = Platform(settings)
    cal = platform.plant.shifts
    assert cal is not None
    shift = cal.previous(cal.latest(datetime.now(UTC)))  # the last complete shift
    synthetic = SyntheticPlant(platform.plant, rate=1.0, speedup=30.0, seed=5)
    t, end = to_us(shift.start) - 60 * S, to_us(shift.end)
    while t < end:
        platform.engine.ingest(synthetic.step(now_us=t))
        t += 30 * S
    expected = platform.kpis.shift_report("bottling/line1", f"{shift.day.isoformat()}/{shift.shift}")
    platform.stop()
    which = f"{shift.day.isoformat()}/{shift.shift}"
    args = ["report", "shift", "--line", "line1", "--shift", which, "--plant", str(example_path("bottling.yaml")),
            "--store", "duckdb", "--data-dir", str(tmp_path / "data")]  # fmt: skip
    with pytest.raises(SystemExit) as done:
        main([*args, "--out", str(tmp_path / "r.html")])
    assert done.value.code in (0, None)
    out = capsys.readouterr().out
    assert "grid factor used: east 2023, 0.55 kg CO2/kWh" in out and "market-based 0.4125 kg CO2e/kWh" in out
    oee = expected["total"]["kpis"]["oee"]
    assert 0 < oee < 1 and f"OEE {100 * oee:.1f} %" in out
    page = (tmp_path / "r.html").read_text()
    assert page.count('src="data:image/png;base64,') == 3 and "<b>east 2023</b>" in page
    k = expected["total"]["co2e_kg_per_good_unit"] * 1000
    assert re.search(rf"{k:,.3f} kg CO2e", page)
    with pytest.raises(SystemExit):
        main([*args, "--out", str(tmp_path / "r.pdf")])
    pdf = (tmp_path / "r.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and pdf.count(b"/Type /Page") >= 4  # the text page and three plots

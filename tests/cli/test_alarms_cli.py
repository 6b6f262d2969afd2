"""``twinverse alarms report``: the alarm KPIs of hand-made stored events, as a table and as JSON."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from twinverse.cli import main
from twinverse.core.clock import now_us
from twinverse.ops import AlarmEvent, Journal

S = 1_000_000
PLANT = """
plant: p
types:
  m:
    signals:
      x: {unit: m}
twins:
  - id: line1
    type: line
    children: [{id: m, type: m, count: 2}]
"""


@pytest.fixture
def plant(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for k in list(os.environ):
        if k.startswith("TWINVERSE_"):
            monkeypatch.delenv(k)
    monkeypatch.chdir(tmp_path)
    f = tmp_path / "p.yaml"
    f.write_text(PLANT)
    (tmp_path / "data").mkdir()
    j = Journal(tmp_path / "data" / "alarms.sqlite", plant="p")
    t = now_us() - 3600 * S
    j.append([AlarmEvent(t + i * 10 * S, "p/line1/m1:hi", "p/line1/m1", "hi", "raise", "unacknowledged", "normal",
                         "high", 1.0) for i in range(3)]
             + [AlarmEvent(t + 5 * S, "p/line1/m2:hi", "p/line1/m2", "hi", "raise", "unacknowledged", "normal",
                           "high", 1.0)])  # fmt: skip
    j.close()
    return f


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = 0
    try:
        main(list(argv))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_report_as_json_and_table(plant: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "alarms", "report", "--plant", str(plant), "--from", "-2h", "--format", "json")
    assert code == 0, err
    k = json.loads(out)
    assert (k["area"], k["alarms"], k["per_hour"], k["peak_10min_sliding"]) == ("p", 4, 2.0, 4)
    assert k["chattering"] == [{"alarm": "p/line1/m1:hi", "raises": 3, "max_per_minute": 3}]
    assert [(a["area"], a["alarms"]) for a in k["areas"]] == [("p/line1", 4)]
    code, out, err = run(capsys, "alarms", "report", "--plant", str(plant), "--area", "p/line1/m2")
    assert code == 0, err
    assert "Alarm KPIs of p/line1/m2" in out and "per hour" in out and "p/line1/m2:hi" in out


def test_report_errors(plant: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "alarms", "report", "--plant", str(plant), "--area", "nope")
    assert code == 1 and "nope" in err
    code, _, err = run(capsys, "alarms", "report", "--plant", str(plant), "--from", "now", "--to", "-1h")
    assert code == 1 and "must be before" in err
    code, _, err = run(capsys, "alarms", "report", "--plant", str(plant), "--data-dir", str(tmp_path / "empty"))
    assert code == 1 and "no alarm events" in err

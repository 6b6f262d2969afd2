"""The Time Series internal segment: the last N values of each twin, read from a real DuckDB store."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from basyx.aas import model
from fastapi.testclient import TestClient

from tests.interop.conftest import checked, errors
from twinverse.api import create_app
from twinverse.config import Settings
from twinverse.interop.aas import AasFormat, build_environment, dumps_environment, last_records, read_environment
from twinverse.platform import example_path

F = "bottling/line1/filler"
T0 = 1_795_593_600_000  # 2026-11-25T08:00:00Z, in epoch ms
ROOT = Path(__file__).resolve().parents[2]


def _filled(tmp_path: Path) -> Settings:
    settings = Settings(data_dir=tmp_path / "data", plant=example_path(), auth="open", seal_history=False)
    points = [{"twin": F, "signal": "temperature", "ts": T0 + i * 1000, "value": 4.0 + i} for i in range(6)]
    points += [{"twin": F, "signal": "state", "ts": T0 + 5000, "value": "running"},
               {"twin": F, "signal": "speed", "ts": T0 + 3000, "value": 590.5}]
    with TestClient(create_app(settings)) as c:
        r = c.post("/api/ingest", json=points)
        assert r.status_code == 200 and r.json()["accepted"] == 8, r.text
        plant = c.app.state.platform.plant  # type: ignore[attr-defined]
        got = last_records(c.app.state.platform.store, plant, [F, "bottling/line1"], 3)  # type: ignore[attr-defined]
    assert got == {F: [
        ("2026-11-25T08:00:03Z", {"temperature": 7.0, "speed": 590.5}),
        ("2026-11-25T08:00:04Z", {"temperature": 8.0}),
        ("2026-11-25T08:00:05Z", {"temperature": 9.0, "state": "running"}),
    ]}
    return settings


def test_last_records_become_an_internal_segment(tmp_path: Path) -> None:
    from twinverse.model import load_plant

    _filled(tmp_path)
    rows = {F: [("2026-11-25T08:00:05Z", {"temperature": 9.0, "state": "running"})]}
    env = build_environment(load_plant(example_path()), records=rows)
    ts = env.get_identifiable(f"urn:twinverse:bottling:sm:TimeSeries:{F}")
    assert isinstance(ts, model.Submodel)
    segments = ts.get_referable("Segments")
    assert isinstance(segments, model.SubmodelElementCollection)
    last = segments.get_referable("LastValues")
    assert isinstance(last, model.SubmodelElementCollection)
    count = last.get_referable("RecordCount")
    assert isinstance(count, model.Property) and count.value == 1
    records = last.get_referable("Records")
    assert isinstance(records, model.SubmodelElementCollection)
    record = records.get_referable("Record1")
    assert isinstance(record, model.SubmodelElementCollection)
    values = {e.id_short: e.value for e in record.value if isinstance(e, model.Property)}
    assert values == {"Time": "2026-11-25T08:00:05Z", "temperature": 9.0, "state": "running"}
    for fmt in AasFormat:
        result = checked(dumps_environment(env, fmt), fmt)
        assert result.ok(), errors(result)


def test_export_aas_last_reads_the_store(tmp_path: Path) -> None:
    _filled(tmp_path)
    out = tmp_path / "filler.json"
    r = subprocess.run(
        [sys.executable, "-m", "twinverse", "export-aas", "--plant", str(example_path()), "--twin", F,
         "--last", "2", "--data-dir", str(tmp_path / "data"), "--out", str(out)],
        capture_output=True, text=True, timeout=120, check=False, cwd=tmp_path,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "TWINVERSE_AUTH": "open",
             "TWINVERSE_CONFIG": str(tmp_path / "none.toml")},
    )
    assert r.returncode == 0, r.stderr
    ts = read_environment(out).get_identifiable(f"urn:twinverse:bottling:sm:TimeSeries:{F}")
    assert isinstance(ts, model.Submodel)
    segments = ts.get_referable("Segments")
    assert isinstance(segments, model.SubmodelElementCollection)
    last = segments.get_referable("LastValues")
    assert isinstance(last, model.SubmodelElementCollection)
    start = last.get_referable("StartTime")
    assert isinstance(start, model.Property) and start.value == "2026-11-25T08:00:04Z"

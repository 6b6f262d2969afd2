"""``twinverse sim`` commands through typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from twinverse.errors import ModelLoadError
from twinverse.sim.results import SCHEMA

from twinverse.cli.sim import app  # isort: skip

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "bottling.yaml"
runner = CliRunner()

LINE = """\
simulation:
  name: three machines
  run: {parts: 5000, reps: 3, seed: 1}
  sources: {supply: {saturated: true, to: m1}}
  buffers: {b1: {capacity: 1}, b2: {capacity: 1}}
  stations:
    m1: {process: {dist: exponential, mean: 1}, to: b1, power: {busy: 4, idle: 1}}
    m2: {from: b1, process: {dist: exponential, mean: 1.2}, to: b2}
    m3: {from: b2, process: {dist: exponential, mean: 1}, to: out}
  sinks: [out]
"""


@pytest.fixture
def line_file(tmp_path: Path) -> Path:
    f = tmp_path / "line.yaml"
    f.write_text(LINE)
    return f


def test_run_prints_the_figures(line_file: Path) -> None:
    r = runner.invoke(app, ["run", str(line_file)], terminal_width=160)
    assert r.exit_code == 0, r.output
    for text in ("three machines: 3 replication(s), 5,000 parts", "throughput", "WIP", "lead time",
                 "CO2e (kg, 0.5366 kg/kWh)", "bottleneck (active-period method): m2"):
        assert text in r.output


def test_run_json_follows_the_schema(line_file: Path) -> None:
    r = runner.invoke(app, ["run", str(line_file), "--json", "--parts", "2000", "--reps", "2", "--seed", "4"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    assert doc["schema"] == SCHEMA and doc["replications"] == 2
    assert set(doc["throughput"]) == {"mean", "ci95", "n"}
    assert [s["id"] for s in doc["stations"]] == ["m1", "m2", "m3"]
    assert doc["bottleneck"]["station"] == "m2" and len(doc["runs"]) == 2
    assert doc["runs"][0]["exits"] == 2000
    assert doc["stations"][0]["energy_kwh"]["mean"] > 0


def test_run_until_overrides_the_file(line_file: Path) -> None:
    r = runner.invoke(app, ["run", str(line_file), "--json", "--until", "500", "--warmup", "50", "--reps", "2"])
    doc = json.loads(r.output)
    assert doc["observed"]["mean"] == pytest.approx(450) and doc["warmup"] == 50


def test_until_and_parts_together_are_refused(line_file: Path) -> None:
    r = runner.invoke(app, ["run", str(line_file), "--until", "5", "--parts", "5"])
    assert r.exit_code != 0 and "give --until or --parts, not both" in str(r.exception)


def test_bad_model_reports_file_and_line(tmp_path: Path) -> None:
    f = tmp_path / "bad.yaml"
    f.write_text(LINE.replace("mean: 1.2", "mean: -1.2"))
    r = runner.invoke(app, ["run", str(f)])
    assert r.exit_code == 1 and isinstance(r.exception, ModelLoadError)
    assert f"{f}:8: simulation.stations.m2.process.mean: must be a finite number > 0, got -1.2" in str(r.exception)


def test_sweep_writes_table_csv_parquet_html(line_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "o"
    r = runner.invoke(app, ["sweep", str(line_file), "--param", "station.m2.process_mean=0.9,1.0,1.1",
                            "--param", "buffer.b2.capacity=2,5", "--parts", "1000", "--reps", "2", "--workers", "0",
                            "--csv", f"{out}.csv", "--parquet", f"{out}.parquet", "--html", f"{out}.html", "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    assert doc["schema"] == "twinverse.sim.sweep/1" and len(doc["rows"]) == 6
    assert {"station.m2.process_mean", "buffer.b2.capacity", "throughput", "throughput_ci95"} <= set(doc["rows"][0])
    for ext in ("csv", "parquet", "html"):
        assert Path(f"{out}.{ext}").stat().st_size > 0
    r = runner.invoke(app, ["sweep", str(line_file), "--param", "buffer.b2.capacity=1,3", "--parts", "500",
                            "--reps", "2", "--workers", "0"], terminal_width=160)
    assert r.exit_code == 0 and "2 scenarios" in r.output


def test_sweep_bad_param(line_file: Path) -> None:
    r = runner.invoke(app, ["sweep", str(line_file), "--param", "buffer.b7.capacity=1"])
    assert r.exit_code == 1 and "no buffer 'b7'" in str(r.exception)


def test_optimise_buffers(line_file: Path) -> None:
    r = runner.invoke(app, ["optimise-buffers", str(line_file), "--total", "6", "--parts", "5000", "--reps", "3",
                            "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    assert sum(doc["best"].values()) == 6 and doc["even"] == {"b1": 3, "b2": 3}
    assert doc["best_throughput"]["mean"] >= doc["even_throughput"]["mean"]
    r = runner.invoke(app, ["optimise-buffers", str(line_file), "--total", "4", "--parts", "2000"],
                      terminal_width=160)
    assert r.exit_code == 0 and "gain over the even allocation" in r.output


def test_the_example_plant_runs() -> None:
    r = runner.invoke(app, ["run", str(EXAMPLE), "--until", "1800", "--warmup", "60", "--reps", "2", "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    assert doc["time_unit"] == "s" and doc["throughput"]["mean"] > 5  # bottles per second
    assert doc["energy_kwh"]["mean"] > 0 and doc["bottleneck"]["station"] is not None


def test_help_lists_the_commands() -> None:
    r = runner.invoke(app, ["--help"])
    assert r.exit_code == 0
    for cmd in ("run", "sweep", "optimise-buffers"):
        assert cmd in r.output

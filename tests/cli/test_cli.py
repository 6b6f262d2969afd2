"""The command line: validate (ok, and every bad file with file:line, no traceback), replay, export."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from twinverse import __version__
from twinverse.cli import main
from twinverse.platform import example_path

DATA = Path(__file__).parents[1] / "data"
PLANTS = DATA / "plants"
FILLER = "bottling/line1/filler"


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No TWINVERSE_* variable or twinverse.toml of the machine; data goes to tmp_path."""
    for k in list(os.environ):
        if k.startswith("TWINVERSE_"):
            monkeypatch.delenv(k)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TWINVERSE_DATA_DIR", str(tmp_path / "data"))
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """``twinverse ARGV`` in-process: (exit code, stdout, stderr)."""
    code = 0
    try:
        main(list(argv))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--version")
    assert (code, out) == (0, f"twinverse {__version__}\n")


def test_validate_ok(capsys: pytest.CaptureFixture[str]) -> None:
    path = example_path()
    code, out, err = run(capsys, "validate", str(path))
    assert code == 0 and err == ""
    assert out == f"ok {path}: plant 'bottling', 19 twins, 16 types, 71 signals, 33 relationships\n"
    code, out, _ = run(capsys, "validate", str(PLANTS / "line10.yaml"))
    assert code == 0 and "plant 'pack', 22 twins, 8 types, 50 signals, 39 relationships" in out


@pytest.mark.parametrize(
    ("name", "where", "what"),
    [
        ("malformed.yaml", "5", "YAML syntax error: expected ',' or '}'"),
        ("unknown_type.yaml", "6: twins[0].children[0].type", "unknown type 'filer'"),
        ("duplicate_id.yaml", "4: twins[1]", "duplicate twin id 'p/m2' (first defined at line 3)"),
        (
            "missing_relationship.yaml",
            "9: twins[0].children[0].relationships[0].target",
            "relationship to a missing twin: 'utilities/air'",
        ),
        ("bad_unit.yaml", "5: types.pump.signals.flow.unit", "unknown unit 'litres_per_fortnight'"),
        ("bad_state.yaml", "6: types.machine.power.sleeping", "state 'sleeping' is not in the type's states"),
        ("unknown_field.yaml", "5: twins[0].colour", "unknown field 'colour'"),
        ("extends_cycle.yaml", "3: types.a.extends", "type inheritance cycle: a -> c -> b -> a"),
        ("duplicate_key.yaml", "5: twins[0].type", "duplicate key 'type'"),
        ("wrong_type.yaml", "3: twins[0].count", "Input should be a valid integer"),
    ],
)
def test_validate_bad_files(capsys: pytest.CaptureFixture[str], name: str, where: str, what: str) -> None:
    code, out, err = run(capsys, "validate", str(PLANTS / name))
    assert code == 1 and out == ""
    lines = err.splitlines()
    assert lines[0].startswith(f"error: {PLANTS / name}:{where}: {what}")
    assert lines[-1] == "1 problem(s) found"
    assert "Traceback" not in err


def test_validate_lists_every_problem(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "validate", str(PLANTS / "many_problems.yaml"))
    lines = err.splitlines()
    assert code == 1
    assert lines[-1] == "10 problem(s) found"
    prefix = f"error: {PLANTS / 'many_problems.yaml'}:"
    assert all(line.startswith(prefix) for line in lines[:-1])
    lines_named = [line.removeprefix(prefix).split(":")[0] for line in lines[:-1]]
    assert lines_named == ["4", "9", "10", "11", "12", "17", "19", "20", "21", "22"]


def test_validate_missing_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "validate", str(tmp_path / "nope.yaml"))
    assert code == 1
    assert err.startswith(f"error: {tmp_path / 'nope.yaml'}: cannot read file: No such file or directory")


def test_validate_as_a_process_has_no_traceback(tmp_path: Path) -> None:
    """The installed command path: a real process, its exit code and its whole stderr."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TWINVERSE_")}
    bad = subprocess.run([sys.executable, "-m", "twinverse", "validate", str(PLANTS / "many_problems.yaml")],
                         capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)  # fmt: skip
    assert bad.returncode == 1
    assert bad.stdout == ""
    assert "Traceback" not in bad.stderr
    assert bad.stderr.count("error: ") == 10
    ok = subprocess.run([sys.executable, "-m", "twinverse", "validate", str(example_path())],
                        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)  # fmt: skip
    assert ok.returncode == 0 and ok.stdout.startswith("ok ")


def test_serve_refuses_a_bad_plant_before_starting(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "serve", "--plant", str(PLANTS / "bad_unit.yaml"), "--port", "1")
    assert code == 1 and "serving" not in out
    assert err.splitlines()[0] == (
        f"error: {PLANTS / 'bad_unit.yaml'}:5: types.pump.signals.flow.unit: unknown unit 'litres_per_fortnight'"
    )
    assert "Traceback" not in err


def test_replay_then_export(capsys: pytest.CaptureFixture[str], tmp_path: Path, nab_csv: Path) -> None:
    plant = str(example_path())
    code, out, err = run(capsys, "replay", str(nab_csv), "--twin", FILLER, "--signal", "temperature", "--unit", "degF",
                         "--plant", plant)  # fmt: skip
    assert code == 0, err
    assert "replayed 2000 rows: 2000 accepted, 0 quarantined" in out
    assert (tmp_path / "data" / "twinverse.duckdb").is_file()  # TWINVERSE_DATA_DIR was used
    parquet = tmp_path / "out" / "history.parquet"
    parquet.parent.mkdir()
    code, out, err = run(capsys, "export", "--out", str(parquet), "--plant", plant, "--twin", FILLER)
    assert code == 0, err
    assert f"wrote 2000 rows to {parquet}" in out
    t = pq.read_table(parquet)
    assert t.column_names == ["ts", "twin", "signal", "value", "quality"]
    assert t.num_rows == 2000
    assert set(t.column("signal").to_pylist()) == {"temperature"}
    assert t.column("value")[0].as_py() == pytest.approx((73.96732207 - 32) * 5 / 9, rel=1e-12)
    assert t.column("value")[1999].as_py() == pytest.approx((60.91248286 - 32) * 5 / 9, rel=1e-12)
    assert pc.min(t.column("ts")).as_py().isoformat() == "2013-12-02T21:15:00+00:00"
    # CSV, limited in time
    csv = tmp_path / "out" / "day.csv"
    code, out, _ = run(capsys, "export", "-o", str(csv), "-p", plant, "--start", "2013-12-03T00:00:00Z",
                       "--end", "2013-12-04T00:00:00Z")  # fmt: skip
    assert code == 0 and "wrote 288 rows" in out  # a day of 5-minute samples
    assert len(csv.read_text().splitlines()) == 289


def test_replay_out_of_range_rows_are_quarantined(capsys: pytest.CaptureFixture[str], nab_csv: Path) -> None:
    code, out, _ = run(capsys, "replay", str(nab_csv), "--twin", FILLER, "--signal", "temperature",
                       "--plant", str(example_path()))  # fmt: skip
    assert code == 0
    assert "replayed 2000 rows: 1871 accepted, 129 quarantined" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["replay", "missing.csv", "--twin", FILLER, "--signal", "temperature"], "missing.csv: no such file"),
        (["replay", "{nab}", "--twin", "bottling/nope", "--signal", "temperature"], "no twin 'bottling/nope'"),
        (["replay", "{nab}", "--twin", FILLER, "--signal", "nope"], f"twin '{FILLER}' has no signal 'nope'"),
        (
            ["replay", "{nab}", "--twin", FILLER, "--signal", "temperature", "--ts-column", "time"],
            "no column 'time' (columns: timestamp, value)",
        ),
        (["export", "--out", "history.xlsx"], "history.xlsx: use a .parquet or .csv file name"),
    ],
)
def test_bad_arguments(capsys: pytest.CaptureFixture[str], args: list[str], message: str, nab_csv: Path) -> None:
    args = [a.replace("{nab}", str(nab_csv)) for a in args]
    code, _, err = run(capsys, *args, "--plant", str(example_path()))
    assert code == 1
    assert message in err and err.startswith("error: ")
    assert "Traceback" not in err


def test_no_plant_given(capsys: pytest.CaptureFixture[str], nab_csv: Path) -> None:
    code, _, err = run(capsys, "replay", str(nab_csv), "--twin", FILLER, "--signal", "temperature")
    assert code == 1
    assert "no plant given: pass --plant FILE or set TWINVERSE_PLANT" in err


def test_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "validate")
    assert code == 2
    assert "Missing argument" in err


def test_error_locations_and_brackets_print_verbatim(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Rich must not read ``:100:`` as an emoji code or ``[low, high]`` / ``[bold]`` as markup."""
    padding = "".join(f"# filler line {i}\n" for i in range(1, 93))  # lines 1..92
    text = padding + (
        "plant: p\n"  # 93
        "name: '[bold]x[/bold]'\n"  # 94
        "types:\n"  # 95
        "  m:\n"  # 96
        "    signals:\n"  # 97
        "      speed: {unit: m/s}\n"  # 98
        "      t: {unit: degC,\n"  # 99
        "          range: [5, 1]}\n"  # 100
        "twins:\n"
        "  - {id: a, type: m}\n"
        "  - {id: b, type: '[bold]x[/bold]'}\n"
    )
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    code, _, err = run(capsys, "validate", str(bad))
    assert code == 1
    assert f"{bad}:100: types.m.signals.t.range:" in err
    assert "range must be [low, high] with low <= high" in err
    assert "💯" not in err
    assert "'[bold]x[/bold]'" in err

    good = tmp_path / "good.yaml"
    good.write_text(text.replace("range: [5, 1]", "range: [1, 5]").replace("'[bold]x[/bold]'", "m"))
    code, out, _ = run(capsys, "validate", str(good))
    assert code == 0, out
    assert out.startswith(f"ok {good}: plant 'p',")


# -- messages are printed verbatim, never read as Rich markup or emoji codes -------------------------
def plant_with_bad_field_on(line: int) -> str:
    """A plant YAML whose unknown field ``colour`` is on ``line`` (1-based): filler twins before it."""
    head = ["plant: p", "twins:"]
    fillers = [f"  - {{id: m{i}, type: cell}}" for i in range(line - len(head) - 3)]
    lines = [*head, *fillers, "  - id: bad", "    type: cell", "    colour: red"]
    assert lines[line - 1] == "    colour: red"
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("line", [100, 1234])
def test_validate_keeps_line_numbers_that_look_like_emoji_codes(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, line: int
) -> None:
    path = tmp_path / "plant.yaml"
    path.write_text(plant_with_bad_field_on(line))
    code, _, err = run(capsys, "validate", str(path))
    assert code == 1
    assert err.splitlines()[0] == f"error: {path}:{line}: twins[{line - 5}].colour: unknown field 'colour'"
    assert "💯" not in err and "🔢" not in err


def test_validate_prints_brackets_verbatim(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "plant.yaml"
    path.write_text(
        "plant: p\ntypes:\n  pump:\n    signals:\n      flow: {range: [10, 0]}\n"
        'twins:\n  - {id: pump1, type: "[bold]x[/bold]"}\n'
    )
    code, _, err = run(capsys, "validate", str(path))
    assert code == 1
    assert err.splitlines() == [
        f"error: {path}:5: types.pump.signals.flow.range: range must be [low, high] with low <= high, "
        "got [10.0, 0.0]",
        f"error: {path}:7: twins[0].type: unknown type '[bold]x[/bold]' (known types: "
        "area, cell, group, line, pump, site)",
        "2 problem(s) found",
    ]


def test_ok_line_prints_a_file_name_with_brackets(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "[red]plant[x].yaml"
    path.write_text(example_path().read_text())
    code, out, _ = run(capsys, "validate", str(path))
    assert code == 0 and out.startswith(f"ok {path}: plant 'bottling'")


def test_plugins_lists_builtins_with_their_origin(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "plugins")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "twinverse.sources"
    assert "  mqtt         twinverse.ingest.mqtt:mqtt_source  (twinverse)" in lines
    assert "  duckdb       twinverse.store.duckdb:open_duckdb  (twinverse)" in lines
    assert lines.index("twinverse.stores") > lines.index("twinverse.sources")


def test_validate_a_plant_file_over_the_size_limit(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from twinverse.model import yamlsource

    monkeypatch.setattr(yamlsource, "MAX_FILE_BYTES", 100)
    big = tmp_path / "big.yaml"
    big.write_text(example_path().read_text(encoding="utf-8"), encoding="utf-8")
    code, out, err = run(capsys, "validate", str(big))
    assert code == 1 and out == ""
    assert err == (f"error: {big}: file is {big.stat().st_size} bytes, above the limit of 100 bytes "
                   "for a plant file\n1 problem(s) found\n")

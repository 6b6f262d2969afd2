"""``twinverse export-dtdl`` / ``import-dtdl`` through the real CLI entry point."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.interop.conftest import dtdl_types
from twinverse.cli import main
from twinverse.model import load_plant


def run(args: list[str]) -> int:
    try:
        main(args)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def test_export_then_import_gives_the_same_plant(bottling_path: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "plant.ndjson"
    assert run(["export-dtdl", "--plant", str(bottling_path), "--out", str(out)]) == 0
    assert "15 models, 19 twins, 33 relationships" in capsys.readouterr().out
    back = tmp_path / "back.yaml"
    assert run(["import-dtdl", str(out), "--out", str(back)]) == 0
    a, b = load_plant(bottling_path), load_plant(back)
    assert (dtdl_types(a), a.twins) == (b.types, b.twins)


def test_export_as_files(bottling_path: Path, tmp_path: Path) -> None:
    assert run(["export-dtdl", "--plant", str(bottling_path), "--out", str(tmp_path / "m")]) == 0
    assert len(list((tmp_path / "m").glob("*.json"))) == 15
    assert run(["import-dtdl", str(tmp_path / "m"), "--out", str(tmp_path / "t.yaml"), "--plant-id", "b"]) == 0
    assert load_plant(tmp_path / "t.yaml").types == dtdl_types(load_plant(bottling_path))


def test_bad_dtdl_is_one_located_line_and_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "cycle.json"
    f.write_text('[{"@context": "dtmi:dtdl:context;3", "@id": "dtmi:ex:A;1", "@type": "Interface",'
                 ' "extends": "dtmi:ex:B;1"}, {"@context": "dtmi:dtdl:context;3", "@id": "dtmi:ex:B;1",'
                 ' "@type": "Interface", "extends": "dtmi:ex:A;1"}]')
    assert run(["import-dtdl", str(f), "--out", str(tmp_path / "x.yaml")]) == 1
    err = capsys.readouterr().err
    assert f"{f}: $[0]: dtmi:ex:A;1: extends forms a cycle" in err
    assert "Traceback" not in err
    assert not (tmp_path / "x.yaml").exists()

"""Docs stay true: generated references match the code; README opens with the two commands."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from twinverse.config import Settings

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def generate():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("docs_generate", ROOT / "docs" / "generate.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_cli_reference_is_current(generate) -> None:  # type: ignore[no-untyped-def]
    assert (ROOT / "docs" / "cli.md").read_text() == generate.cli_markdown(), "run: python docs/generate.py"


def test_configuration_reference_is_current(generate) -> None:  # type: ignore[no-untyped-def]
    assert (ROOT / "docs" / "configuration.md").read_text() == generate.configuration_markdown()


def test_every_setting_is_documented() -> None:
    text = (ROOT / "docs" / "configuration.md").read_text()
    missing = [name for name in Settings.model_fields if f"`TWINVERSE_{name.upper()}`" not in text]
    assert missing == []


def test_readme_opens_with_the_two_commands() -> None:
    lines = [ln for ln in (ROOT / "README.md").read_text().splitlines() if ln.strip()]
    assert lines[1] == "```"
    assert lines[2].startswith("make demo")
    assert lines[3].startswith("make test")

"""Docs stay true: generated references match the code; README opens with the two commands."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from twinverse.config import Settings
from twinverse.platform import example_path

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


def test_api_reference_is_current(generate) -> None:  # type: ignore[no-untyped-def]
    assert (ROOT / "docs" / "api.md").read_text() == generate.api_markdown(), "run: python docs/generate.py"


def test_every_route_is_documented_and_every_documented_route_exists(tmp_path: Path) -> None:
    """As datasette's docs tests do for views: the app's route table and docs/api.md agree both ways."""
    import re

    from twinverse.api import create_app, route_table

    app = create_app(Settings(data_dir=tmp_path, plant=example_path()))
    routes = set()
    for r in route_table(app):
        if r.path in {"/", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json", "/static"}:
            continue
        path = re.sub(r"\{(\w+):\w+\}", r"{\1}", r.path)
        routes |= {("WS", path)} if r.websocket else {(m, path) for m in r.methods}
    app.state.platform.stop()
    text = (ROOT / "docs" / "api.md").read_text()
    documented = set(re.findall(r"^\| (GET|POST|PUT|PATCH|DELETE|WS) \| `([^`]+)` \| `[^`]*` \| \S", text, re.M))
    assert sorted(routes - documented) == [], "routes missing from docs/api.md"
    assert sorted(documented - routes) == [], "docs/api.md lists routes the app does not have"
    assert len(routes) >= 42


def test_readme_points_to_the_api_reference() -> None:
    readme = (ROOT / "README.md").read_text()
    api = readme.split("## API", 1)[1].split("\n## ", 1)[0]
    assert "docs/api.md" in api and "| route |" not in api


def test_import_drawing_is_current_and_points_down(generate) -> None:  # type: ignore[no-untyped-def]
    text = (ROOT / "docs" / "architecture.md").read_text()
    assert text == generate.architecture_markdown(), "run: python docs/generate.py"
    edges = generate.import_edges()
    assert ("store", "live") not in edges and ("live", "trust") not in edges  # the old cycle and upward arrow
    floor = {p: i for i, row in enumerate(generate.FLOORS) for p in row}
    assert [e for e in edges if floor[e[0]] >= floor[e[1]]] == []
    assert "-. UPWARD .->" not in text


def test_every_metric_is_documented_and_every_documented_metric_exists(tmp_path: Path) -> None:
    """docs/operations.md lists exactly the metric families /metrics exports."""
    import re

    from twinverse.api.metrics import PlatformCollector
    from twinverse.platform import Platform

    platform = Platform(Settings(data_dir=tmp_path, plant=example_path(), store=":memory:"))
    exported = set()
    for family in PlatformCollector(platform).collect():
        suffix = {"counter": "_total", "info": "_info"}.get(family.type, "")
        exported.add(family.name + suffix)
    platform.stop()
    text = (ROOT / "docs" / "operations.md").read_text()
    block = text.split("<!-- metrics:start -->")[1].split("<!-- metrics:end")[0]
    documented = set(re.findall(r"^\| `(twinverse_\w+)` \|", block, re.M))
    assert sorted(exported - documented) == [], "metrics missing from docs/operations.md"
    assert sorted(documented - exported) == [], "docs/operations.md lists metrics /metrics does not export"


def test_readme_points_to_the_operations_guide() -> None:
    readme = (ROOT / "README.md").read_text()
    ops = readme.split("## Operations", 1)[1].split("\n## ", 1)[0]
    assert "docs/operations.md" in ops


def test_query_reference_is_current(generate) -> None:  # type: ignore[no-untyped-def]
    """docs/query.md lists every virtual table, column and allow-listed function, as the code has them."""
    assert (ROOT / "docs" / "query.md").read_text() == generate.query_markdown(), "run: python docs/generate.py"


def test_client_guide_covers_every_client_method() -> None:
    import inspect

    from twinverse.client import AsyncClient, Client

    text = (ROOT / "docs" / "client.md").read_text()
    for cls in (Client, AsyncClient):
        public = [n for n, f in inspect.getmembers(cls, inspect.isfunction) if not n.startswith("_")]
        missing = [n for n in public if f"`{n}(" not in text and f".{n}(" not in text]
        assert missing == [], f"docs/client.md does not show {cls.__name__}.{missing}"

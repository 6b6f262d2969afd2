"""Generate docs/cli.md (from --help), the settings and route tables, and the import drawing.

The settings table goes into docs/configuration.md, the route table into docs/api.md, and
the package import graph (read with grimp, import-linter's engine) into docs/architecture.md.

Run ``python docs/generate.py`` after changing commands or settings; tests/test_docs.py
fails when the committed files differ from what this script produces.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

DOCS = Path(__file__).resolve().parent


def cli_markdown() -> str:
    import typer.core

    typer.core.HAS_RICH = False  # plain click help: stable text for a markdown file
    from twinverse.cli import app

    root = typer.main.get_command(app)
    out = ["# CLI reference", "", "Generated from `--help` by `docs/generate.py`; do not edit by hand.", ""]

    def walk(cmd: Any, path: list[str]) -> None:
        # typer vendors its own click: use the command's own context class, duck-type groups.
        ctx = cmd.context_class(cmd, info_name=" ".join(path), terminal_width=100, max_content_width=100)
        out.extend([f"## `{' '.join(path)}`", "", "```", cmd.get_help(ctx).rstrip(), "```", ""])
        if hasattr(cmd, "list_commands"):
            for name in sorted(cmd.list_commands(ctx)):
                sub = cmd.get_command(ctx, name)
                if sub is not None and not sub.hidden:
                    walk(sub, [*path, name])

    import os

    os.environ["TERM"] = "dumb"
    os.environ["NO_COLOR"] = "1"
    os.environ["COLUMNS"] = "100"
    walk(root, ["twinverse"])
    text = "\n".join(out)
    return re.sub(r"[ \t]+\n", "\n", text)


def settings_table() -> str:
    from twinverse.config import Settings

    rows = ["| setting | environment variable | default | meaning |", "|---|---|---|---|"]
    for name, field in Settings.model_fields.items():
        default = field.get_default(call_default_factory=True)
        shown = "unset" if default is None else "none" if default == [] else f"`{default}`"
        rows.append(f"| `{name}` | `TWINVERSE_{name.upper()}` | {shown} | {field.description or ''} |")
    return "\n".join(rows)


def replace_block(doc: str, name: str, body: str) -> str:
    """``doc`` (a file in docs/) with the text between ``<!-- name:start -->`` and ``<!-- name:end -->`` replaced."""
    return replace_text((DOCS / doc).read_text(), name, body)


def replace_text(text: str, name: str, body: str) -> str:
    """``text`` with the block ``name`` (between its start and end comments) replaced by ``body``."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}\n{body}\n{end}{tail}"


def configuration_markdown() -> str:
    return replace_block("configuration.md", "settings", settings_table())


#: Routes that are not the API proper: the web page, its files and FastAPI's own docs.
NOT_API = frozenset({"/", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json", "/static"})


def api_routes() -> list[tuple[str, str, str, str]]:
    """``(method, path, permission, summary)`` of every API route, from the app's route table."""
    import tempfile

    from fastapi.routing import APIRoute, iter_route_contexts

    from twinverse.api import create_app, route_table
    from twinverse.api.room import RoomSession
    from twinverse.api.ws import LiveSession
    from twinverse.config import Settings
    from twinverse.platform import example_path

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(Settings(data_dir=Path(tmp), plant=example_path(), auth="open"))
        summaries = {}
        for rc in iter_route_contexts(app.routes):
            route = rc.original_route
            if isinstance(route, APIRoute):
                doc = (route.description or "").strip().splitlines()
                for method in route.methods:
                    summaries[method, route.path] = route.summary or (doc[0] if doc else "")
        rows = []
        for r in route_table(app):
            if r.path in NOT_API:
                continue
            path = re.sub(r"\{(\w+):\w+\}", r"{\1}", r.path)
            if r.websocket:
                if path.startswith("/ws/collab"):
                    rows.append(("WS", path, f"{RoomSession.permission}; writes: annotation:write",
                                 "The plant's shared scene: presence and annotations (see docs/collaboration.md)"))
                else:
                    rows.append(("WS", path, str(LiveSession.permission), "Live values of twin subtrees (see below)"))
                continue
            for method in r.methods:
                # Only the probes are public (tests/api/test_route_permissions.py keeps it so).
                rows.append((method, path, ", ".join(r.permissions) or "public", summaries[method, r.path]))
        app.state.platform.stop()
    return rows


def api_markdown() -> str:
    rows = ["| method | path | permission | summary |", "|---|---|---|---|"]
    rows += [f"| {m} | `{p}` | `{perm}` | {summary} |" for m, p, perm, summary in api_routes()]
    return replace_block("api.md", "routes", "\n".join(rows))


#: The floors of docs/architecture.md, top first (as in pyproject's import contract).
FLOORS = [
    ["cli"], ["api", "demo", "client"], ["park"], ["platform", "worker"], ["ingest", "sim", "scene", "interop", "query", "ops", "collab"], ["live"], ["trust"], ["store"],
    ["model"], ["core"], ["config", "units", "plugins"], ["errors"],
]


def import_edges() -> list[tuple[str, str]]:
    """``(importer, imported)`` between twinverse's top-level packages and modules, sorted."""
    import grimp

    graph = grimp.build_graph("twinverse", cache_dir=None)
    top = {m.split(".")[1] for m in graph.modules if m.count(".") >= 1} - {"__main__"}
    edges = set()
    for a in top:
        for b in top - {a}:
            if graph.direct_import_exists(importer=f"twinverse.{a}", imported=f"twinverse.{b}", as_packages=True):
                edges.add((a, b))
    return sorted(edges)


def imports_mermaid() -> str:
    """The package import graph as a Mermaid flowchart, floors as rows, every arrow pointing down."""
    floor_of = {p: i for i, row in enumerate(FLOORS) for p in row}
    lines = ["```mermaid", "flowchart TD"]
    for i, row in enumerate(FLOORS):
        lines.append(f"  subgraph floor{len(FLOORS) - i - 1}[\" \"]")
        lines.append("    direction LR")
        lines.extend(f"    {p}" for p in row)
        lines.append("  end")
    for a, b in import_edges():
        if b == "errors" and a != "core":
            continue  # everything raises the one exception tree: drawn once, from core
        arrow = "-->" if floor_of[a] < floor_of[b] else "-. UPWARD .->"
        lines.append(f"  {a} {arrow} {b}")
    lines.append("```")
    return "\n".join(lines)


def architecture_markdown() -> str:
    return replace_block("architecture.md", "imports", imports_mermaid())


def query_tables() -> str:
    """The virtual tables of ``twinverse.query`` with their columns and permissions."""
    from twinverse.query import TABLES

    out: list[str] = []
    for t in TABLES.values():
        out += [f"### `{t.name}` (needs `{t.permission.value}`)", "", t.summary, "",
                "| column | type | meaning |", "|---|---|---|"]  # fmt: skip
        out += [f"| `{c}` | {ty} | {meaning} |" for c, ty, meaning in t.columns]
        out.append("")
    return "\n".join(out).rstrip()


def query_markdown() -> str:
    from twinverse.query import ALLOWED_FUNCTIONS

    text = replace_block("query.md", "query-tables", query_tables())
    return replace_text(text, "query-functions", ", ".join(f"`{f}`" for f in sorted(ALLOWED_FUNCTIONS)))


def main() -> None:
    (DOCS / "cli.md").write_text(cli_markdown())
    (DOCS / "configuration.md").write_text(configuration_markdown())
    (DOCS / "api.md").write_text(api_markdown())
    (DOCS / "architecture.md").write_text(architecture_markdown())
    (DOCS / "query.md").write_text(query_markdown())
    print("wrote docs/cli.md, docs/configuration.md, docs/api.md, docs/architecture.md and docs/query.md", file=sys.stderr)


if __name__ == "__main__":
    main()

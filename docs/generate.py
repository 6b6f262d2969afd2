"""Generate docs/cli.md from the CLI's --help and the settings table of docs/configuration.md.

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
        default = field.default
        shown = "unset" if default is None else f"`{default}`"
        rows.append(f"| `{name}` | `TWINVERSE_{name.upper()}` | {shown} | {field.description or ''} |")
    return "\n".join(rows)


def configuration_markdown() -> str:
    text = (DOCS / "configuration.md").read_text()
    start, end = "<!-- settings:start -->", "<!-- settings:end -->"
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}\n{settings_table()}\n{end}{tail}"


def main() -> None:
    (DOCS / "cli.md").write_text(cli_markdown())
    (DOCS / "configuration.md").write_text(configuration_markdown())
    print("wrote docs/cli.md and docs/configuration.md", file=sys.stderr)


if __name__ == "__main__":
    main()

"""The ``twinverse`` command line: thin shells over the library.

Errors print as one line (``file:line: field: message``) and exit with code 1; ``--debug``
shows the traceback.
"""

from __future__ import annotations

import sys
from typing import Any

import typer

from .. import __version__
from ..errors import ModelLoadError, TwinverseError
from .core import register

__all__ = ["app", "main"]

app = typer.Typer(
    name="twinverse",
    help="twinverse: live digital twins of plants — model, data, history, API.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

_state: dict[str, Any] = {"debug": False}


def _version(value: bool) -> None:
    if value:
        typer.echo(f"twinverse {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks on errors."),
) -> None:
    _state["debug"] = debug


register(app)


def _mount_optional(app: typer.Typer) -> None:
    """Sub-commands of areas that ship in their own modules (simulation, trust, scene)."""
    import importlib

    def load(module: str) -> Any:
        name = f"twinverse.cli.{module}"
        try:
            return importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            return None

    if (sim := load("sim")) is not None:
        app.add_typer(sim.app, name="sim")
    if (trust := load("trust")) is not None:
        app.add_typer(trust.asset_app, name="asset")
        app.add_typer(trust.log_app, name="log")
        app.add_typer(trust.token_app, name="token")
        app.add_typer(trust.identity_app, name="identity")
        app.command("verify")(trust.verify)
    if (history := load("history")) is not None:
        app.add_typer(history.app, name="history")
    if (scene := load("scene")) is not None:
        app.command("export-scene")(scene.export_scene)


_mount_optional(app)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``twinverse`` command.

    Click (standalone mode) handles usage errors itself (message, exit code 2); twinverse's
    own errors become one line per problem and exit code 1.
    """
    try:
        app(args=argv, standalone_mode=True)
    except TwinverseError as exc:
        if _state["debug"]:
            raise
        from rich.console import Console

        err = Console(stderr=True, highlight=False, soft_wrap=True)
        if isinstance(exc, ModelLoadError):
            for p in exc.details:
                err.print(f"[red]error:[/red] {p}", markup=True)
            err.print(f"{len(exc.details)} problem(s) found")
        else:
            err.print(f"[red]error:[/red] {exc.message}", markup=True)
        sys.exit(1)

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
    """Sub-commands of areas that ship in their own modules (simulation, trust)."""
    import importlib

    for module, attr, name in (("sim", "app", "sim"),):
        try:
            mod = importlib.import_module(f"twinverse.cli.{module}")
        except ModuleNotFoundError as exc:
            if exc.name != f"twinverse.cli.{module}":
                raise
            continue
        app.add_typer(getattr(mod, attr), name=name)


_mount_optional(app)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``twinverse`` command."""
    try:
        app(args=argv, standalone_mode=False)
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
    except SystemExit:
        raise
    except Exception as exc:  # click's own usage errors and aborts
        import click

        if isinstance(exc, click.exceptions.Exit):
            sys.exit(exc.exit_code)
        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        if isinstance(exc, click.exceptions.Abort):
            sys.exit(130)
        raise

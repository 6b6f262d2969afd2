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
from . import alarms, core, dtdl, history, interop, output, plants, query, report, scene, sim, sources, trust, worker

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


core.register(app)


app.add_typer(sim.app, name="sim")
app.add_typer(plants.app, name="plants")
app.add_typer(trust.asset_app, name="asset")
app.add_typer(trust.log_app, name="log")
app.add_typer(trust.token_app, name="token")
app.add_typer(trust.identity_app, name="identity")
app.command("verify")(trust.verify)
app.add_typer(history.app, name="history")
app.add_typer(alarms.app, name="alarms")
app.add_typer(report.app, name="report")
scene.register(app)
interop.register(app)
query.register(app)
dtdl.register(app)
sources.register(app)
worker.register(app)
app.add_typer(sources.opcua_app, name="opcua")


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
        if isinstance(exc, ModelLoadError):
            for p in exc.details:
                output.print_error(p)
            output.err_console.print(f"{len(exc.details)} problem(s) found", markup=False)
        else:
            output.print_error(exc.message)
        sys.exit(1)

"""``twinverse sources``: the field connectors a plant declares, or their health on a running server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from ..config import load_settings
from ..errors import InputError
from ..ingest.spec import describe_spec, load_source_specs
from ..model import load_plant
from .output import console

__all__ = ["opcua_app", "register"]

#: Health fields shown as columns, in order (the rest are listed after them).
_COLUMNS = ("connected", "signals", "mapped", "twins", "bad_signals", "last_data", "reconnects", "errors", "backlog",
            "points")  # fmt: skip


def _health(server: str, token: str | None) -> dict[str, dict[str, Any]]:
    import httpx2 as httpx

    headers = {"authorization": f"Bearer {token}"} if token else {}
    try:
        r = httpx.get(server.rstrip("/") + "/healthz", headers=headers, timeout=10)
    except httpx.HTTPError as exc:
        raise InputError(f"cannot reach {server}: {exc}") from exc
    if r.status_code >= 400:
        raise InputError(f"{server}/healthz answered {r.status_code}: {r.text[:200]}")
    health: dict[str, dict[str, Any]] = r.json().get("source_health", {})
    return health


def register(app: typer.Typer) -> None:
    """Add ``sources`` to ``app``."""

    @app.command()
    def sources(
        plant: Path = typer.Option(None, "--plant", "-p", help="Plant YAML file (or TWINVERSE_PLANT)."),
        server: str = typer.Option(None, help="Show the health of a running server's sources (http://host:port)."),
        token: str = typer.Option(None, envvar="TWINVERSE_TOKEN", help="Bearer token for --server (health role)."),
    ) -> None:
        """List the plant's field connectors (validated), or with --server each source's live health."""
        if server:
            for name, h in sorted(_health(server, token).items()):
                state = "[green]up[/green]" if h.get("connected") else "[red]down[/red]"
                cols = "  ".join(f"{k}={h[k]}" for k in _COLUMNS if k in h and k != "connected")
                console.print(f"{state} [bold]{name}[/bold]  {cols}", soft_wrap=True)
                if h.get("last_error"):
                    console.print(f"     last error: {h['last_error']}", markup=False)
            return
        settings = load_settings(plant=plant)
        if settings.plant is None:
            raise InputError("no plant given: pass --plant FILE or set TWINVERSE_PLANT")
        model = load_plant(settings.plant)
        specs = load_source_specs(model)
        if not specs:
            console.print(f"{settings.plant}: no field connectors (no 'sources:' section)", markup=False)
        for spec in specs:
            console.print(describe_spec(spec, model), markup=False)


#: ``twinverse opcua …``
opcua_app = typer.Typer(help="OPC UA helpers: browse an address space into a sources: section; import machines.",
                        no_args_is_help=True)  # fmt: skip


@opcua_app.command("browse")
def opcua_browse(
    url: str = typer.Argument(..., help="Server endpoint, opc.tcp://host:port[/path]."),
    depth: int = typer.Option(5, "--depth", min=1, help="Object levels below Objects to walk."),
    name: str = typer.Option("opcua", help="Name of the source in the printed section."),
    timeout: float = typer.Option(5.0, help="Seconds per request."),
    uri: bool = typer.Option(False, "--uri", help="Name namespaces by URI (nsu=…;), stable if the server renumbers."),
    by: str = typer.Option("nodeid", help="Map each variable by 'nodeid' or by browse 'path'."),
) -> None:
    """Print a candidate sources: section (and twin skeletons) mapping every variable by NodeId or browse path."""
    from ..errors import ConnectorError
    from ..ingest.opcua import browse, candidate_yaml

    if by not in ("nodeid", "path"):
        raise InputError(f"--by must be 'nodeid' or 'path', got {by!r}")
    try:
        entries = browse(url, depth, timeout)
    except (OSError, TimeoutError) as exc:
        raise ConnectorError(f"cannot browse {url}: {type(exc).__name__}: {exc}") from exc
    except Exception as exc:  # asyncua's own errors (bad endpoint, refused session): one line, not a traceback
        raise ConnectorError(f"cannot browse {url}: {type(exc).__name__}: {exc}") from exc
    typer.echo(candidate_yaml(url, entries, name, uri=uri, by=by), nl=False)


@opcua_app.command("import")
def opcua_import(
    url: str = typer.Argument(..., help="Server endpoint, opc.tcp://host:port[/path]."),
    pattern: str = typer.Option(
        ..., "--pattern", help="Browse path whose last element is a glob, e.g. '0:Objects/3:Machines/4:*'."
    ),
    type_name: str = typer.Option(..., "--type", help="The twin type every matching object becomes."),
    parent: str = typer.Option(None, help="Put the twins under a group twin of this id."),
    depth: int = typer.Option(3, "--depth", min=1, help="Object levels below each machine to look for variables."),
    name: str = typer.Option("opcua", help="Name of the source in the printed section."),
    timeout: float = typer.Option(5.0, help="Seconds per request."),
) -> None:
    """Turn every object the pattern matches into a twin (identification as properties); print the YAML."""
    from ..errors import ConnectorError
    from ..ingest.opcua_import import discover, import_yaml
    from ..ingest.opcua_map import split_path

    elements = split_path(pattern)
    if not elements or not all(":" in e and e.split(":", 1)[0].isdigit() for e in elements):
        raise InputError(f"--pattern must be namespace:BrowseName elements like '0:Objects/3:Machines/4:*', "
                         f"got {pattern!r}")  # fmt: skip
    try:
        found = discover(url, elements, depth, timeout)
    except Exception as exc:  # asyncua's own errors (no such path, refused session): one line, not a traceback
        raise ConnectorError(f"cannot import from {url}: {type(exc).__name__}: {exc}") from exc
    if not found:
        raise InputError(f"no object under {'/'.join(elements[:-1])} matches {elements[-1]!r}")
    typer.echo(import_yaml(url, elements, found, type_name=type_name, parent=parent, source=name), nl=False)

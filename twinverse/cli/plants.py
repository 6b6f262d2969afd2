"""``twinverse plants``: list, add, update (a new model version) and remove the plants of a running server."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from ..client import Client
from .output import console, escape

app = typer.Typer(help="The plants of a running server: list, add, update and remove them, without a restart.",
                  no_args_is_help=True)  # fmt: skip

_URL = typer.Option("http://127.0.0.1:8000", "--url", envvar="TWINVERSE_URL", help="The server.")
_TOKEN = typer.Option(None, "--token", help="Bearer token (default: $TWINVERSE_TOKEN); adding needs a tenant admin's.")


def _client(url: str, token: str | None) -> Client:
    return Client(url, token or os.environ.get("TWINVERSE_TOKEN"))


@app.command("list")
def list_plants(url: str = _URL, token: str = _TOKEN) -> None:
    """The plants your tenant owns on the server, with where each is served."""
    with _client(url, token) as tv:
        items = tv.plants()
    for p in items:
        where = f"{url.rstrip('/')}{p['path']}"
        console.print(f"[bold]{escape(p['id'])}[/bold]  {escape(p['name'])}  tenant {escape(p['tenant'])}  "
                      f"{p['twins']} twins, {p['signals']} signals  {where}  ({p['origin']})")  # fmt: skip
    if not items:
        console.print("no plant of your tenant is served there")


@app.command("add")
def add_plant(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="Plant YAML file."),
    tenant: str = typer.Option(None, help="Owning tenant (default: the token's)."),
    url: str = _URL,
    token: str = _TOKEN,
) -> None:
    """Add the plant of FILE to the running server; served at once under /plants/ID/."""
    with _client(url, token) as tv:
        p = tv.add_plant(file.read_text(encoding="utf-8"), tenant=tenant, file=file.name)
    console.print(f"[green]added[/green] {escape(p['id'])} ({p['twins']} twins) for tenant {escape(p['tenant'])}: "
                  f"{url.rstrip('/')}{p['path']}")  # fmt: skip


@app.command("update")
def update_plant(
    plant_id: str = typer.Argument(..., help="Id of a plant the server serves."),
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="The plant's new YAML."),
    message: str = typer.Option("", "--message", "-m", help="What changed and why (kept with the version)."),
    url: str = _URL,
    token: str = _TOKEN,
) -> None:
    """Save FILE as the next model version of plant ID and serve it at once (history stays its signals')."""
    with _client(f"{url.rstrip('/')}/plants/{plant_id}", token) as tv:
        v = tv.save_version(file.read_text(encoding="utf-8"), message=message)
    console.print(f"[green]plant {escape(plant_id)} runs version {v['number']}[/green] ({v['summary']['twins']} twins)")


@app.command("remove")
def remove_plant(plant_id: str = typer.Argument(..., help="Id of a plant added over the API."),
                 url: str = _URL, token: str = _TOKEN) -> None:  # fmt: skip
    """Stop serving a plant added over the API; the server keeps its data in data_dir/removed/."""
    with _client(url, token) as tv:
        tv.remove_plant(plant_id)
    console.print(f"removed {escape(plant_id)}")

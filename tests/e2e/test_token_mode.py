"""The viewer with token authentication, as `twinverse serve` runs by default.

The token is handed over once in the URL fragment (``/#token=…``, never sent to the
server in a request line); the page must use it for every fetch and for ``/ws``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import free_port
from tests.e2e.conftest import Console
from twinverse.platform import example_path

CAPPER = "bottling/line1/capper"


@pytest.fixture
def token_server(chromium_ready: None, tmp_path: Path) -> Iterator[tuple[str, str]]:
    port = free_port()
    env = {**os.environ, "TWINVERSE_AUTH": "token"}
    log = (tmp_path / "server.log").open("ab")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "twinverse",
            "serve",
            "--plant",
            str(example_path("bottling.yaml")),
            "--data-dir",
            str(tmp_path),
            "--port",
            str(port),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    token_file = tmp_path / "admin.token"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if token_file.exists():
                try:
                    req = urllib.request.Request(
                        url + "/api/plant", headers={"authorization": "Bearer " + token_file.read_text().strip()}
                    )
                    with urllib.request.urlopen(req, timeout=5):
                        break
                except (urllib.error.URLError, ConnectionError):
                    pass
            time.sleep(0.1)
        else:
            raise RuntimeError((tmp_path / "server.log").read_text()[-2000:])
        yield url, token_file.read_text().strip()
    finally:
        proc.terminate()
        proc.wait(20)
        log.close()


def _status(url: str, token: str | None) -> int:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as r:
            return int(r.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def _set_state(url: str, token: str, state: str) -> int:
    """Ingest the capper's state over HTTP with the token; the number of rows stored."""
    req = urllib.request.Request(
        url + "/api/ingest",
        data=json.dumps([{"twin": CAPPER, "signal": "state", "value": state}]).encode(),
        headers={"content-type": "application/json", "authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(req, timeout=30) as r:
        stored: int = json.loads(r.read())["stored"]
    return stored


def test_viewer_works_with_a_token_and_the_api_refuses_without(
    token_server: tuple[str, str], open_page: Callable[[str], tuple[Any, Console]]
) -> None:
    url, token = token_server
    assert _status(url + "/api/plant", None) == 401
    assert _status(url + "/api/plant", "tvk_0_not-a-token") == 401
    assert _status(url + "/api/plant", token) == 200

    page, console = open_page(f"{url}/#token={token}")
    pickables = page.evaluate("() => window.__twinverse.pickables()")
    assert CAPPER in pickables
    assert _set_state(url, token, "blocked") == 1
    # the websocket (authorised with the token) delivers the change to the page
    page.wait_for_function(
        "(t) => window.__twinverse.stateOf(t) === 'blocked'", arg=CAPPER, timeout=20_000, polling="raf"
    )
    assert "#token" not in page.url  # the page drops the token from the address bar
    assert console.errors == []


def test_live_table_works_with_the_token(token_server: tuple[str, str], browser: Any) -> None:
    """The plain table page sends the token on its fetch and its websocket (it used to loop on 401)."""
    url, token = token_server
    ctx = browser.new_context()
    try:
        page = ctx.new_page()
        console = Console()
        console.attach(page)
        page.goto(f"{url}/static/table.html#token={token}")
        page.wait_for_function("() => document.getElementById('status').textContent === 'live'", timeout=30_000)
        assert page.locator("#plant-name").inner_text() == "Bottling plant (demo)"
        assert _set_state(url, token, "setup") == 1
        row = page.locator("#live tbody tr", has_text=CAPPER)
        row.locator(".st .state.setup").wait_for(timeout=20_000)
        assert row.locator(".st").inner_text() == "setup"
        assert "#token" not in page.url
        assert console.errors == []
    finally:
        ctx.close()

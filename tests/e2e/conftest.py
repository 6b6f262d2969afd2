"""Browser tests: a real twinverse server process and Debian's chromium driven by Playwright.

Skips (or fails under ``TWINVERSE_REQUIRE_SERVICES=1``) when chromium, Playwright or the
viewer bundle (``web/build.sh``) is missing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import free_port, need

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"
BUNDLE = ROOT / "twinverse" / "api" / "static" / "viewer" / "viewer.js"
CHROMIUM = os.environ.get("TWINVERSE_CHROMIUM", "/usr/bin/chromium")
#: The flags DEVELOPERS.md gives for Debian's chromium in containers.
#: Set before the page's scripts run: the viewer then loads its test-only hook chunk.
TEST_MODE = "window.__TWINVERSE_TEST__ = true;"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


ALL_STATES = "[running, idle, starved, blocked, down, setup, off]"


def plant_yaml(lines: int, per_line: int, *, states: str = ALL_STATES) -> str:
    """A plant of ``lines`` lines of ``per_line`` machines, each line one flow."""
    out = [
        "plant: big",
        "name: Generated plant",
        "types:",
        "  machine:",
        f"    signals: {{state: {{kind: state, states: {states}}}, speed: {{unit: bottle/min, range: [0, 1200]}}}}",
        "    shape: box",
        "    size: [1.5, 1.5, 1.5]",
        "twins:",
    ]
    for k in range(1, lines + 1):
        ids = ", ".join(f"m{i}" for i in range(1, per_line + 1))
        out += [f"  - id: l{k}", "    type: line", f"    flow: [{ids}]" if per_line > 1 else "",
                "    children:", f"      - {{id: m, type: machine, count: {per_line}}}"]
    return "\n".join(x for x in out if x) + "\n"


@dataclass
class Server:
    """A ``python -m twinverse …`` process on a fixed port that a test may stop and restart."""

    args: list[str]
    workdir: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    log: Any = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.log = (self.workdir / "server.log").open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "twinverse", *self.args, "--port", str(self.port)],
            cwd=self.workdir, stdout=self.log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                with urllib.request.urlopen(f"{self.url}/api/scene", timeout=5) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server did not start:\n{(self.workdir / 'server.log').read_text()[-3000:]}")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(20)
            self.proc = None
        if self.log is not None:
            self.log.close()
            self.log = None

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(self.url + path, timeout=30) as r:
            return json.loads(r.read())

    def post_arrow(self, data: bytes) -> dict[str, Any]:
        """POST an Arrow IPC stream of (ts, sid, value, quality) to /api/ingest."""
        req = urllib.request.Request(
            f"{self.url}/api/ingest", data=data, headers={"content-type": "application/vnd.apache.arrow.stream"}
        )
        with urllib.request.urlopen(req, timeout=120) as r:
            body: dict[str, Any] = json.loads(r.read())
        assert body["rejected"] == 0, body
        return body

    def ingest(self, points: list[dict[str, Any]]) -> dict[str, Any]:
        req = urllib.request.Request(
            f"{self.url}/api/ingest", data=json.dumps(points).encode(), headers={"content-type": "application/json"}
        )
        with urllib.request.urlopen(req, timeout=30) as r:
            body: dict[str, Any] = json.loads(r.read())
        assert body["rejected"] == 0, body
        return body


@pytest.fixture(scope="session")
def chromium_ready() -> None:
    need(Path(CHROMIUM).exists(), f"chromium not found at {CHROMIUM} (apt-get install chromium)")
    need(BUNDLE.exists(), f"viewer bundle missing at {BUNDLE.relative_to(ROOT)}: run web/build.sh (make web)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        need(False, "playwright is not installed (pip install playwright)")


@pytest.fixture(scope="session")
def browser(chromium_ready: None) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        # launch() gives every run a fresh temporary user-data-dir.
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        yield b
        b.close()


@dataclass
class Console:
    """Console errors and uncaught exceptions of a page."""

    errors: list[str] = field(default_factory=list)

    def attach(self, page: Any) -> None:
        page.on("console", lambda m: self.errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))


@pytest.fixture
def open_page(browser: Any) -> Iterator[Callable[[str], tuple[Any, Console]]]:
    """Open a URL in a fresh browser context (1400x800), waiting for the first full frame."""
    contexts = []

    def go(url: str) -> tuple[Any, Console]:
        ctx = browser.new_context(viewport={"width": 1400, "height": 800})
        ctx.add_init_script(TEST_MODE)  # loads the viewer's test hook (window.__twinverse)
        contexts.append(ctx)
        page = ctx.new_page()
        console = Console()
        console.attach(page)
        page.goto(url)
        page.wait_for_function("() => window.__twinverse && window.__twinverse.ready", timeout=60_000)
        return page, console

    yield go
    for c in contexts:
        c.close()


@pytest.fixture
def serve(chromium_ready: None) -> Iterator[Callable[..., Server]]:
    """Start servers for a test; each is stopped at the end."""
    servers: list[Server] = []
    dirs: list[tempfile.TemporaryDirectory[str]] = []

    def start(*args: str, plant_text: str | None = None) -> Server:
        d = tempfile.TemporaryDirectory(prefix="twinverse-e2e-")
        dirs.append(d)
        work = Path(d.name)
        argv = list(args)
        if plant_text is not None:
            (work / "plant.yaml").write_text(plant_text)
            argv += ["--plant", str(work / "plant.yaml")]
        s = Server(argv, work)
        s.start()
        servers.append(s)
        return s

    yield start
    for s in servers:
        s.stop()
    for d in dirs:
        d.cleanup()


def save_artifact(name: str, data: bytes) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    path.write_bytes(data)
    return path


def copy_artifact(src: Path, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return Path(shutil.copyfile(src, ARTIFACTS / name))

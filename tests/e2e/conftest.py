"""Browser tests: a real twinverse server process and Debian's chromium driven by Playwright.

Skips (or fails under ``TWINVERSE_REQUIRE_SERVICES=1``) when chromium, Playwright or the
viewer bundle (``web/build.sh``) is missing.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import need
from tests.server import Server
from twinverse.platform import example_path
from twinverse.trust import Role, TrustService

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


#: The people of the shared-scene tests and their roles.
PEOPLE = {"Ada": Role.OPERATOR, "Bo": Role.OPERATOR, "Vic": Role.VIEWER, "Cy": Role.ENGINEER, "Di": Role.VIEWER}

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


@pytest.fixture
def room(
    chromium_ready: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Server, dict[str, Any]]]:
    """A token-mode server and, per person, their token and did."""
    data = tmp_path / "data"
    trust = TrustService(data)
    try:
        admin = trust.local_admin()
        people = {}
        for name, role in PEOPLE.items():
            ident, _ = trust.access.create_identity(admin, "default", name, role=role)
            _, token = trust.access.create_token(admin, ident.did, "default", name=name)
            people[name] = {"token": token, "did": ident.did, "role": role.value}
    finally:
        trust.close()
    monkeypatch.setenv("TWINVERSE_AUTH", "token")
    server = Server(["serve", "--plant", str(example_path("bottling.yaml")), "--data-dir", str(data)], tmp_path)
    server.start()
    try:
        yield server, people
    finally:
        server.stop()


@pytest.fixture
def person(browser: Any, room: tuple[Server, dict[str, Any]]) -> Iterator[Callable[[str], tuple[Any, Console]]]:
    """Open the viewer as a person in a fresh browser context, joined to the room."""
    server, people = room
    contexts = []

    def go(name: str) -> tuple[Any, Console]:
        ctx = browser.new_context(viewport={"width": 1200, "height": 760})
        ctx.add_init_script(TEST_MODE)
        contexts.append(ctx)
        page = ctx.new_page()
        console = Console()
        console.attach(page)
        page.goto(f"{server.url}/#token={people[name]['token']}")
        page.wait_for_function("() => window.__twinverse?.ready && window.__twinverse.collab.joined", timeout=60_000)
        return page, console

    yield go
    for c in contexts:
        c.close()

"""Shared fixtures: the example plant, stores, and real services (PostgreSQL, mosquitto).

A test that needs a service skips with the reason when the service is absent, unless
``TWINVERSE_REQUIRE_SERVICES=1`` (set by CI), which turns the skip into a failure.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest

from twinverse.model import Plant, load_plant
from twinverse.platform import example_path

REQUIRE_SERVICES = os.environ.get("TWINVERSE_REQUIRE_SERVICES") == "1"
PG_URL = os.environ.get("TWINVERSE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
DATA = Path(__file__).parent / "data"


def need(ok: bool, reason: str) -> None:
    """Skip (or, with TWINVERSE_REQUIRE_SERVICES=1, fail) when a service is missing."""
    if ok:
        return
    if REQUIRE_SERVICES:
        pytest.fail(f"required service missing: {reason}")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.05)
    return False


@pytest.fixture(scope="session", autouse=True)
def _isolated_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Keep tests out of ./data and ./twinverse.toml; API tests run in open (demo) mode.

    Authentication and authorisation have their own tests (tests/api/test_auth.py,
    tests/trust/), which build their apps with ``auth="token"`` explicitly.
    """
    saved = {k: os.environ.get(k) for k in ("TWINVERSE_DATA_DIR", "TWINVERSE_AUTH", "TWINVERSE_CONFIG")}
    os.environ["TWINVERSE_DATA_DIR"] = str(tmp_path_factory.mktemp("data"))
    os.environ["TWINVERSE_AUTH"] = "open"
    os.environ["TWINVERSE_CONFIG"] = str(tmp_path_factory.mktemp("cfg") / "none.toml")
    yield
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture(scope="session")
def bottling_path() -> Path:
    return example_path("bottling.yaml")


@pytest.fixture(scope="session")
def plant(bottling_path: Path) -> Plant:
    return load_plant(bottling_path)


# -- PostgreSQL --------------------------------------------------------------------------
@pytest.fixture(scope="session")
def pg_server() -> str:
    """URL of the PostgreSQL server (skips or fails when unreachable)."""
    try:
        import psycopg
    except ImportError:
        need(False, "psycopg is not installed (pip install 'twinverse[postgres]')")
        raise
    try:
        with psycopg.connect(PG_URL, connect_timeout=3) as con:
            con.execute("SELECT 1")
    except psycopg.Error as exc:
        need(False, f"PostgreSQL not reachable at {PG_URL}: {exc}")
    return PG_URL


@pytest.fixture
def pg_url(pg_server: str) -> Iterator[str]:
    """A fresh, empty database on the server for one test; dropped afterwards."""
    import psycopg

    name = f"tv_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server, autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}"')
    base = pg_server.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    with psycopg.connect(pg_server, autocommit=True) as con:
        con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# -- mosquitto ---------------------------------------------------------------------------
@dataclass
class Broker:
    """A private mosquitto (no per-client queue limit, persistent) the test may restart."""

    port: int
    workdir: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> None:
        conf = self.workdir / "mosquitto.conf"
        conf.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\n"
            "max_queued_messages 0\nmax_inflight_messages 0\n"
            f"persistence true\npersistence_location {self.workdir}/\n"
            "message_size_limit 0\n"
        )
        self.proc = subprocess.Popen(
            ["mosquitto", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        if not wait_port(self.port):
            raise RuntimeError("mosquitto did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None


@pytest.fixture
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    """A private mosquitto on a free port, for tests that count or restart."""
    need(shutil.which("mosquitto") is not None, "mosquitto is not installed (apt-get install mosquitto)")
    b = Broker(free_port(), tmp_path_factory.mktemp("mosquitto"))
    b.start()
    yield b
    b.stop()


@pytest.fixture
def shared_broker_url() -> str:
    """The machine's mosquitto on 127.0.0.1:1883 (as the issue asks tests to use)."""
    need(wait_port(1883, 1.0), "no MQTT broker on 127.0.0.1:1883")
    return "mqtt://127.0.0.1:1883"


@pytest.fixture
def write_file(tmp_path: Path) -> Callable[[str, str], Path]:
    def write(name: str, text: str) -> Path:
        p = tmp_path / name
        p.write_text(text)
        return p

    return write


# -- reference data in ../shared/data ------------------------------------------------------
#: The project's shared reference data sets: ``../shared/data`` beside the checkout (see its
#: README.md), read where they are and never copied into the repository;
#: ``TWINVERSE_SHARED_DATA`` points elsewhere (e.g. from a git worktree one level deeper).
SHARED_DATA = Path(
    os.environ.get("TWINVERSE_SHARED_DATA") or Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
).resolve()
#: The NAB file the replay tests play: an industrial machine's temperature before known failures.
NAB_FILE = "nab/realKnownCause/machine_temperature_system_failure.csv"
NAB_ROWS = 2000


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data``: skips when it is absent, fails instead under ``TWINVERSE_REQUIRE_SERVICES=1``."""
    need(
        SHARED_DATA.is_dir(),
        f"the shared reference data {SHARED_DATA} is absent (tests read it where it is, beside the checkout)",
    )
    return SHARED_DATA


@pytest.fixture(scope="session")
def nab_csv(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 2,000 rows of NAB's machine-temperature series, as a CSV file to replay.

    Written to a temporary file from the shared original (header kept), so tests can count
    on exactly 2,000 rows (2013-12-02 21:15 onwards, one every 5 minutes).
    """
    source = shared_data / NAB_FILE
    need(source.is_file(), f"{source} is missing from the shared reference data")
    with source.open() as f:
        head = [next(f) for _ in range(NAB_ROWS + 1)]
    out = tmp_path_factory.mktemp("nab") / "machine_temperature_head2000.csv"
    out.write_text("".join(head))
    return out


_T = TypeVar("_T")


def run_coroutine(coro: Coroutine[object, object, _T]) -> _T:
    """``asyncio.run`` on a thread of its own: the test process may be running Playwright's event loop
    (the browser tests' session fixture), and ``asyncio.run`` refuses to start inside a running loop."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()

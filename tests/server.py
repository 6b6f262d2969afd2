"""A real ``python -m twinverse …`` server process for tests that stop, kill and restart it.

Used by the browser tests (tests/e2e) and the HTTP crash test (tests/ingest). The process
runs this checkout's package (``PYTHONPATH`` is set to it), in the test's working folder,
with its output appended to ``server.log`` there.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Server:
    """A ``python -m twinverse …`` process on a fixed port that a test may stop, kill and restart."""

    args: list[str]
    workdir: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start the process; returns once ``/livez`` answers 200."""
        self.log = (self.workdir / "server.log").open("ab")
        path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
        # Each server its own data dir (unless its arguments name one): the session's shared one
        # would carry one test's saved model versions, tokens and history into the next.
        env = {**os.environ, "PYTHONPATH": path, "TWINVERSE_DATA_DIR": str(self.workdir / "data")}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "twinverse", *self.args, "--port", str(self.port)],
            cwd=self.workdir, stdout=self.log, stderr=subprocess.STDOUT, env=env,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                with urllib.request.urlopen(f"{self.url}/livez", timeout=5) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server did not start:\n{self.log_text()[-3000:]}")

    def stop(self) -> None:
        """SIGTERM: a clean shutdown."""
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(20)
            self.proc = None
        self._close_log()

    def kill(self) -> None:
        """SIGKILL: no flush, no goodbye."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(20)
            self.proc = None
        self._close_log()

    def _close_log(self) -> None:
        if self.log is not None:
            self.log.close()
            self.log = None

    def log_text(self) -> str:
        return (self.workdir / "server.log").read_text(errors="replace")

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

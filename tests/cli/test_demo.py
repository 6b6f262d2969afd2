"""`twinverse demo` as a process: it says where its data comes from, and the twin is live."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import free_port


def _run_demo(tmp_path: Path, *args: str) -> tuple[str, bool]:
    """Start the demo, wait until the filler has a live state; return its output and whether it had."""
    port = free_port()
    log = tmp_path / "demo.log"
    env = {k: v for k, v in os.environ.items() if k != "TWINVERSE_AUTH"}  # the demo's own default: tokens
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "twinverse",
                "demo",
                "--port",
                str(port),
                "--data-dir",
                str(tmp_path / "d"),
                "--rate",
                "5",
                *args,
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
        try:
            token_file = tmp_path / "d" / "admin.token"
            live = False
            for _ in range(600):
                if proc.poll() is not None:
                    break
                if token_file.exists():
                    req = urllib.request.Request(
                        f"http://127.0.0.1:{port}/api/twins/bottling/line1/filler/live",
                        headers={"authorization": f"Bearer {token_file.read_text().strip()}"},
                    )
                    try:
                        with urllib.request.urlopen(req, timeout=5) as r:
                            values = {v["signal"]: v["value"] for v in json.loads(r.read())}
                        if values["state"] is not None:
                            live = True
                            break
                    except OSError:
                        pass
                time.sleep(0.1)
        finally:
            proc.terminate()
            proc.wait(20)
    return log.read_text(), live


def test_demo_without_a_broker_feeds_in_process(tmp_path: Path) -> None:
    output, live = _run_demo(tmp_path, "--broker", f"mqtt://127.0.0.1:{free_port()}")
    assert "synthetic sensors feed the engine in-process (no broker reachable at" in output
    assert "/#token=tvk_" in output
    assert live, output


def test_demo_with_a_broker_goes_through_mqtt(tmp_path: Path, broker: object) -> None:
    url = broker.url  # type: ignore[attr-defined]
    output, live = _run_demo(tmp_path, "--broker", url)
    assert f"synthetic sensors publish over MQTT to {url}" in output
    assert live, output


@pytest.fixture(autouse=True)
def _no_stray_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TWINVERSE_BROKER", raising=False)

"""Schemathesis, an independent fuzzer, against a real ``twinverse serve`` (token auth).

Seeded and bounded (examples, coverage and fuzzing phases; a time budget per run), once
with the admin token and once without. The checks that must find nothing: no server error,
every status documented, a correct ``Allow`` on 405, unsupported methods refused, content
types as documented. Schemathesis lives in its own virtualenv (``make peers`` builds
``.venv-peers``): its pins are not ours.

Left out, and why: the stateful phase (its random links would revoke the run's own token);
``DELETE /api/tokens/{token_id}`` with the token (the coverage phase revokes the admin's own
token with it, after which every other operation only sees 401).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import need
from tests.server import ROOT, Server
from twinverse.platform import example_path

SCHEMATHESIS = Path(os.environ.get("TWINVERSE_SCHEMATHESIS", ROOT / ".venv-peers" / "bin" / "schemathesis"))
CHECKS = "not_a_server_error,status_code_conformance,unsupported_method,allow_header_conformance," \
         "content_type_conformance"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Server:
    need(SCHEMATHESIS.exists(), f"schemathesis is not installed at {SCHEMATHESIS} (run `make peers`)")
    work = tmp_path_factory.mktemp("schemathesis")
    old = os.environ.get("TWINVERSE_AUTH")
    os.environ["TWINVERSE_AUTH"] = "token"
    srv = Server(["serve", "--plant", str(example_path()), "--data-dir", str(work / "data")], work)
    try:
        srv.start()
    finally:
        if old is None:
            os.environ.pop("TWINVERSE_AUTH", None)
        else:
            os.environ["TWINVERSE_AUTH"] = old
    yield srv  # type: ignore[misc]
    srv.stop()


def _run(server: Server, *extra: str) -> subprocess.CompletedProcess[str]:
    cmd = [
        str(SCHEMATHESIS), "run", f"{server.url}/openapi.json", "--seed", "1", "-n", "5", "--max-time", "60",
        "--checks", CHECKS, "--phases", "examples,coverage,fuzzing",
        "--suppress-health-check", "filter_too_much", "--no-color", *extra,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)


@pytest.mark.parametrize("with_token", [True, False], ids=["admin-token", "no-token"])
def test_the_fuzzer_finds_nothing(server: Server, with_token: bool) -> None:
    extra: list[str] = []
    if with_token:
        token = (server.workdir / "data" / "admin.token").read_text().strip()
        extra = ["-H", f"Authorization: Bearer {token}", "--exclude-path", "/api/tokens/{token_id}",
                 "--exclude-method", "DELETE"]
    result = _run(server, *extra)
    out = result.stdout + result.stderr
    assert "Failures:" not in out, out[-6000:]
    assert result.returncode == 0, out[-6000:]
    assert "passed" in out

"""The official AAS checker (aas-test-engines ``check_server``) against a real ``twinverse serve``.

The server runs this checkout on a free loopback port in open (demo) mode: the checker's
HTTP client sends no credentials. Every public read profile of Part 2 must pass every
positive and every negative case.
"""

from __future__ import annotations

import importlib.util
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import need
from tests.server import Server
from twinverse.interop.aas import b64encode_id
from twinverse.platform import example_path

SSP = "https://admin-shell.io/aas/API/3/0/"
PROFILES = {
    "AssetAdministrationShellRepositoryServiceSpecification/SSP-002": "",
    "SubmodelRepositoryServiceSpecification/SSP-002": "",
    "AssetAdministrationShellServiceSpecification/SSP-002": "shell",
    "SubmodelServiceSpecification/SSP-002": "submodel",
}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    need(importlib.util.find_spec("aas_test_engines") is not None,
         "aas-test-engines is not installed (pip install -e '.[dev]')")
    work: Path = tmp_path_factory.mktemp("aas-conformance")
    srv = Server(["serve", "--plant", str(example_path()), "--auth", "open", "--data-dir", str(work / "data")], work)
    srv.start()
    yield srv
    srv.stop()


def _root(server: Server, kind: str) -> str:
    api = f"{server.url}/aas/v3.0"
    if not kind:
        return api
    shell = server.get("/aas/v3.0/shells?limit=1")["result"][0]
    if kind == "shell":
        return f"{api}/shell-services/{b64encode_id(shell['id'])}"
    return f"{api}/submodel-services/{b64encode_id(shell['submodels'][0]['keys'][0]['value'])}"


def _failures(result: object, path: str = "") -> list[str]:
    subs = getattr(result, "sub_results", [])
    here = f"{path} > {getattr(result, 'message', '')}"[-300:]
    if not subs:
        return [here]
    return [f for s in subs if not s.ok() for f in _failures(s, here)]


@pytest.mark.parametrize("profile", list(PROFILES))
def test_check_server_passes_every_case(server: Server, profile: str) -> None:
    from aas_test_engines import api, config, http

    client = http.HttpClient(host=_root(server, PROFILES[profile]))
    result, mat = api.execute_tests(client, config.CheckApiConfig(suite=SSP + profile))
    positive, negative = mat.valid_accepted + mat.valid_rejected, mat.invalid_rejected + mat.invalid_accepted
    assert (mat.valid_accepted, mat.invalid_rejected) == (positive, negative), _failures(result)[:5]
    assert result.ok()
    # The cases ran: each profile has dozens of positive and negative ones (figures of 1.0.3).
    assert positive >= 59 and negative >= 17


def test_bad_requests_leave_the_server_running(server: Server) -> None:
    for path in ("/aas/v3.0/shells/%FF%FE", "/aas/v3.0/submodels/x/submodel-elements/%5B%5D/$value",
                 "/aas/v3.0/serialization?aasIds=!!", "/aas/v3.0/shells?limit=99999999999999999999"):
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(server.url + path, timeout=30)
        assert info.value.code == 400, path
        assert "messages" in json.loads(info.value.read())
    assert server.get("/livez")["status"] == "ok"

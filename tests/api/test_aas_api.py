"""The AAS API (Part 2, v3.0) in process: known answers, live values, paging, errors, permissions, the log."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from twinverse.api import create_app
from twinverse.config import Settings
from twinverse.interop.aas import b64encode_id
from twinverse.platform import Platform, example_path
from twinverse.trust import Role

A = "/aas/v3.0"
F = "bottling/line1/filler"
SHELL = b64encode_id(f"urn:twinverse:bottling:aas:{F}")
OPS = b64encode_id(f"urn:twinverse:bottling:sm:OperationalData:{F}")
TECH = b64encode_id(f"urn:twinverse:bottling:sm:TechnicalData:{F}")


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, dict[str, str]]]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("aas"), plant=example_path(), auth="token")
    platform = Platform(settings)
    admin = platform.trust.local_admin("default")
    tokens = {}
    for name, role in (("vera", Role.VIEWER), ("erin", Role.ENGINEER), ("otto", Role.OPERATOR)):
        ident, _ = platform.trust.access.create_identity(admin, "default", name, role=role)
        tokens[role.value] = platform.trust.access.create_token(admin, ident.did, "default")[1]
    with TestClient(create_app(platform=platform)) as client:
        yield client, tokens


def get(app: tuple[TestClient, dict[str, str]], path: str, role: str = "viewer", **params: object) -> object:
    client, tokens = app
    r = client.get(A + path, params=params, headers={"Authorization": f"Bearer {tokens[role]}"})
    assert r.status_code == 200, r.text
    return r.json()


def test_shells_paged_with_a_cursor(app: tuple[TestClient, dict[str, str]]) -> None:
    everything = get(app, "/shells")
    assert isinstance(everything, dict) and len(everything["result"]) == 19
    assert everything["paging_metadata"] == {}
    seen, cursor = [], None
    while True:
        page = get(app, "/shells", limit=5, **({"cursor": cursor} if cursor else {}))
        assert isinstance(page, dict)
        seen += [s["id"] for s in page["result"]]
        cursor = page["paging_metadata"].get("cursor")
        if cursor is None:
            break
    assert seen == [s["id"] for s in everything["result"]]
    by_short = get(app, "/shells", idShort="bottling_line1_filler")
    assert isinstance(by_short, dict) and [s["id"] for s in by_short["result"]] == [f"urn:twinverse:bottling:aas:{F}"]


def test_shell_parts(app: tuple[TestClient, dict[str, str]]) -> None:
    info = get(app, f"/shells/{SHELL}/asset-information")
    assert info == {"assetKind": "Instance", "globalAssetId": f"urn:twinverse:bottling:asset:{F}",
                    "assetType": "filler"}
    ref = get(app, f"/shells/{SHELL}/$reference")
    assert ref == {"type": "ModelReference",
                   "keys": [{"type": "AssetAdministrationShell", "value": f"urn:twinverse:bottling:aas:{F}"}]}
    refs = get(app, f"/shells/{SHELL}/submodel-refs")
    assert isinstance(refs, dict) and len(refs["result"]) == 5
    same = get(app, f"/shells/{SHELL}/submodels/{TECH}/submodel-elements/TechnicalProperties.valves/$value")
    assert same == {"valves": 60}
    svc = get(app, f"/shell-services/{SHELL}/aas/submodels/{TECH}/$value")
    assert isinstance(svc, dict) and svc["TechnicalProperties"]["valves"] == 60


def test_submodel_views(app: tuple[TestClient, dict[str, str]]) -> None:
    value = get(app, f"/submodels/{TECH}/$value")
    assert isinstance(value, dict)
    assert value["TechnicalProperties"]["PowerPerState"]["running"] == 22.0
    assert value["GeneralInformation"]["ManufacturerProductDesignation"] == [{"en": "Filler"}]
    meta = get(app, f"/submodels/{TECH}/$metadata")
    assert isinstance(meta, dict) and "submodelElements" not in meta and meta["idShort"] == "TechnicalData"
    paths = get(app, f"/submodels/{TECH}/$path")
    assert isinstance(paths, list) and "TechnicalProperties.PowerPerState.running" in paths
    core = get(app, f"/submodels/{TECH}/$path", level="core")
    assert core == ["GeneralInformation", "TechnicalProperties"]
    ref = get(app, f"/submodels/{TECH}/submodel-elements/TechnicalProperties.valves/$reference")
    assert ref == {"type": "ModelReference", "keys": [
        {"type": "Submodel", "value": f"urn:twinverse:bottling:sm:TechnicalData:{F}"},
        {"type": "SubmodelElementCollection", "value": "TechnicalProperties"},
        {"type": "Property", "value": "valves"}]}
    sub = get(app, f"/submodel-services/{TECH}/submodel/submodel-elements/TechnicalProperties/$path")
    assert isinstance(sub, list) and sub[0] == "TechnicalProperties" and "TechnicalProperties.valves" in sub
    described = get(app, "/description")
    assert isinstance(described, dict) and len(described["profiles"]) == 4
    env = get(app, "/serialization", aasIds=SHELL, includeConceptDescriptions="true")
    assert isinstance(env, dict) and [s["id"] for s in env["assetAdministrationShells"]] == [
        f"urn:twinverse:bottling:aas:{F}"]
    assert len(env["submodels"]) == 5 and env["conceptDescriptions"]


@pytest.mark.parametrize(("accept", "fmt"), [("application/xml", "xml"),
                                             ("application/asset-administration-shell-package+xml", "aasx")])
def test_serialization_as_xml_and_aasx(app: tuple[TestClient, dict[str, str]], accept: str, fmt: str) -> None:
    from tests.interop.conftest import checked, errors
    from twinverse.interop.aas import AasFormat, loads_environment

    client, tokens = app
    r = client.get(f"{A}/serialization", params={"aasIds": SHELL},
                   headers={"Authorization": f"Bearer {tokens['viewer']}", "Accept": accept})
    assert r.status_code == 200 and r.headers["content-type"].startswith(accept)
    result = checked(r.content, AasFormat(fmt))
    assert result.ok(), errors(result)
    store = loads_environment(r.content, AasFormat(fmt))
    assert len([o for o in store if type(o).__name__ == "Submodel"]) == 5


def test_a_bound_property_serves_the_live_value(app: tuple[TestClient, dict[str, str]]) -> None:
    client, tokens = app
    now = int(time.time() * 1000)
    r = client.post("/api/ingest", json=[{"twin": F, "signal": "temperature", "ts": now, "value": 4.25},
                                         {"twin": F, "signal": "state", "ts": now, "value": "running"}],
                    headers={"Authorization": f"Bearer {tokens['operator']}"})
    assert r.status_code == 200 and r.json()["accepted"] == 2, r.text
    assert get(app, f"/submodels/{OPS}/submodel-elements/temperature/$value") == {"temperature": 4.25}
    assert get(app, f"/submodels/{OPS}/submodel-elements/state/$value") == {"state": "running"}
    element = get(app, f"/submodels/{OPS}/submodel-elements/temperature")
    assert isinstance(element, dict) and element["value"] == "4.25" and element["valueType"] == "xs:double"


def _error(r: object, status: int) -> str:
    assert r.status_code == status, r.text  # type: ignore[attr-defined]
    (msg,) = r.json()["messages"]  # type: ignore[attr-defined]
    assert msg["code"] == str(status) and msg["messageType"] == "Error"
    return str(msg["text"])


def test_errors_are_aas_results(app: tuple[TestClient, dict[str, str]]) -> None:
    client, tokens = app
    h = {"Authorization": f"Bearer {tokens['viewer']}"}
    assert "is not a base64url-encoded identifier" in _error(client.get(f"{A}/shells/not-base64!", headers=h), 400)
    missing = b64encode_id("urn:nope")
    assert _error(client.get(f"{A}/shells/{missing}", headers=h), 404) == "no shell with id 'urn:nope'"
    assert "limit must be between" in _error(client.get(f"{A}/shells?limit=0", headers=h), 400)
    assert "cursor" in _error(client.get(f"{A}/shells?cursor=abc", headers=h), 400)
    assert "level must be" in _error(client.get(f"{A}/submodels/{TECH}?level=shallow", headers=h), 400)
    path = f"{A}/submodels/{TECH}/submodel-elements/TechnicalProperties.valves/$path"
    assert "has no $path" in _error(client.get(path, headers=h), 400)
    assert "malformed" in _error(client.get(f"{A}/submodels/{TECH}/submodel-elements/a..b", headers=h), 400)
    assert "no element" in _error(client.get(f"{A}/submodels/{TECH}/submodel-elements/nope", headers=h), 404)
    # Authentication stays the platform's: problem+json.
    r = client.get(f"{A}/shells")
    assert r.status_code == 401 and r.headers["content-type"] == "application/problem+json"


def test_setting_a_value_needs_aas_write_and_is_logged(app: tuple[TestClient, dict[str, str]]) -> None:
    client, tokens = app
    url = f"{A}/submodels/{TECH}/submodel-elements/TechnicalProperties.valves/$value"
    viewer = {"Authorization": f"Bearer {tokens['viewer']}", "content-type": "application/json"}
    engineer = {"Authorization": f"Bearer {tokens['engineer']}", "content-type": "application/json"}
    r = client.patch(url, content=b"72", headers=viewer)
    assert r.status_code == 403 and r.json()["detail"] == "permission 'aas:write' required"
    assert client.patch(url, content=b"72", headers=engineer).status_code == 204
    size = client.get("/api/log", headers=viewer).json()["size"]
    entry = client.get(f"/api/log/entries/{size - 1}", headers=viewer).json()["entry"]
    assert entry["action"] == "aas.set_value"
    assert entry["target"] == f"submodel:urn:twinverse:bottling:sm:TechnicalData:{F}#TechnicalProperties.valves"
    assert entry["details"] == {"value": 72}
    assert get(app, f"/submodels/{TECH}/submodel-elements/TechnicalProperties.valves/$value") == {"valves": 72}
    assert "is not a valid xs:long" in _error(client.patch(url, content=b'"many"', headers=engineer), 400)
    bound = f"{A}/submodels/{OPS}/submodel-elements/temperature/$value"
    assert "bound to a live signal" in _error(client.patch(bound, content=b"3.0", headers=engineer), 409)
    assert client.get("/api/log", headers=viewer).json()["size"] == size  # refused writes change nothing

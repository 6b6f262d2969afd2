"""The HTTP API against a real DuckDB file: plant and graph routes, ingest, history, export, errors."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx2 as httpx
import numpy as np
import orjson
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from twinverse.api import create_app
from twinverse.config import Settings
from twinverse.core import make_batch
from twinverse.ingest import ARROW_STREAM
from twinverse.platform import Platform, example_path

L = "bottling/line1"
F = f"{L}/filler"
PROBLEM = "application/problem+json"
# A fixed, recent, 10 s aligned start so buckets of known data have known values.
T0_MS = (int(time.time()) - 3600) // 60 * 60 * 1000


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat().replace("+00:00", "Z")


def ipc(table: pa.Table | pa.RecordBatch) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as w:
        w.write(table)
    return bytes(sink.getvalue().to_pybytes())


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path / "data", plant=example_path(), max_body_bytes=64 * 1024)
    with TestClient(create_app(settings)) as c:
        yield c


def post(c: TestClient, body: Any, *, partial: bool = False, ctype: str = "application/json") -> httpx.Response:
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    params = {"partial": "true"} if partial else {}
    return c.post("/api/ingest", content=content, headers={"content-type": ctype}, params=params)


def history(c: TestClient, signal: str, twin: str = F, **params: Any) -> dict[str, Any]:
    r = c.get(f"/api/twins/{twin}/history", params={"signal": signal, "start": iso(T0_MS - 60_000), **params})
    assert r.status_code == 200, r.text
    series: dict[str, Any] = r.json()["series"][0]
    return series


def stored(c: TestClient) -> int:
    """Rows in the store (counted there: /healthz no longer scans the history)."""
    return int(c.app.state.platform.store.count())  # type: ignore[attr-defined]


def point(signal: str, value: Any, ts: Any = None, twin: str = F, **extra: Any) -> dict[str, Any]:
    return {"twin": twin, "signal": signal, "ts": T0_MS if ts is None else ts, "value": value, **extra}


# -- system, plant, graph -----------------------------------------------------------------------
def test_healthz(client: TestClient) -> None:
    body = client.get("/healthz").json()
    assert body["status"] == "ok"
    assert body["plant"] == "bottling"
    assert body["store"] == "DuckDBStore"
    assert body["problems"] == [] and body["rejected_by_reason"] == {}
    assert body["ingest"] == {"received": 0, "accepted": 0, "rejected": 0, "stored": 0, "sequence": 0}


def test_plant_summary(client: TestClient) -> None:
    body = client.get("/api/plant").json()
    assert (body["id"], body["twins"], body["signals"], body["relationships"]) == ("bottling", 19, 71, 33)
    assert body["roots"] == ["bottling"]
    assert body["types_detail"]["filler"]["extends"] == "machine"
    assert body["types_detail"]["filler"]["power"]["running"] == 22.0


def test_list_twins(client: TestClient) -> None:
    body = client.get("/api/twins").json()
    assert body["total"] == 19 and len(body["items"]) == 19
    assert body["items"][0] == {"id": "bottling", "type": "site", "name": "Bottling plant (demo)", "parent": None}
    ids = lambda **q: [i["id"] for i in client.get("/api/twins", params=q).json()["items"]]  # noqa: E731
    machines = [
        f"{L}/{m}" for m in ("depal", "rinser", "filler", "capper", "labeller", "inspector", "packer", "palletiser")
    ]
    assert ids(type="machine") == machines
    assert ids(type="machine", within=L, limit=2, offset=1) == machines[1:3]
    assert client.get("/api/twins", params={"type": "machine", "limit": 2}).json()["total"] == 8
    assert ids(q="PACKER") == [f"{L}/packer"]  # id or name, any case
    assert ids(within="bottling/utilities") == ["bottling/utilities", "bottling/utilities/air"]
    assert len(ids(machines="true")) == 15  # 8 machines and 7 conveyors report a state


def test_twin_and_live(client: TestClient) -> None:
    body = client.get(f"/api/twins/{F}").json()
    assert body["id"] == F and body["type"] == "filler" and body["parent"] == L
    assert body["signals"]["state"]["states"][0] == "running"
    assert [v["signal"] for v in body["live"]] == ["state", "speed", "good_count", "reject_count", "power",
                                                   "temperature", "pressure", "fill_level"]  # fmt: skip
    assert all(v["value"] is None and v["ts"] is None for v in body["live"])
    assert post(client, [point("state", "down"), point("temperature", 5.25)]).status_code == 200
    live = {v["signal"]: v for v in client.get(f"/api/twins/{F}/live").json()}
    assert live["state"]["value"] == "down"
    assert live["temperature"] == {"twin": F, "signal": "temperature", "value": 5.25, "ts": iso(T0_MS),
                                   "quality": 0, "unit": "degC"}  # fmt: skip


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("children", []),
        ("ancestors", [L, "bottling"]),
        ("subtree", [F]),
        ("upstream", [f"{L}/c2", f"{L}/rinser", f"{L}/c1", f"{L}/depal"]),
        ("downstream?relation=supplied_by", ["bottling/utilities/air"]),
    ],
)
def test_graph_routes(client: TestClient, query: str, expected: list[str]) -> None:
    r = client.get(f"/api/twins/{F}/graph/{query}")
    assert r.status_code == 200 and r.json() == expected
    assert client.get(f"/api/twins/{L}/graph/children").json()[:2] == [f"{L}/depal", f"{L}/rinser"]
    assert client.get(f"/api/twins/{L}/palletiser/graph/downstream").json() == []


@pytest.mark.parametrize(
    ("url", "status", "detail"),
    [
        ("/api/twins/bottling/nope", 404, "no twin 'bottling/nope' in plant 'bottling'"),
        ("/api/twins/bottling/nope/live", 404, "no twin 'bottling/nope' in plant 'bottling'"),
        ("/api/twins/bottling/nope/graph/children", 404, "no twin 'bottling/nope' in plant 'bottling'"),
        ("/api/twins/bottling/nope/history", 404, "no twin 'bottling/nope' in plant 'bottling'"),
        (f"/api/twins/{F}/history?signal=nope", 404, f"twin '{F}' has no signal 'nope'"),
        ("/api/twins?within=nope", 404, "no twin 'nope' in plant 'bottling'"),
        ("/api/export?twin=nope", 404, "no twin 'nope' in plant 'bottling'"),
        ("/api/twins?type=machien", 404, "no type 'machien' in plant 'bottling'"),
        (f"/api/twins/{F}/graph/sideways", 422, "path.query: Input should be"),
        (f"/api/twins/{F}/history?agg=median", 422, "query.agg: Input should be"),
        (f"/api/twins/{F}/history?start=garbage", 422, "start: cannot read time 'garbage'"),
        (f"/api/twins/{F}/history?start=-1h&end=-2h", 422, "must be before end"),
        (f"/api/twins/{F}/history?interval=0s", 422, "interval: duration must be positive"),
        (f"/api/twins/{F}/history?interval=0.0001ms", 422, "interval: duration must be at least 1 µs"),
        (f"/api/twins/{F}/history?start=-1000000000000d", 422, "start: duration '1000000000000d' is too long"),
        (f"/api/twins/{F}/history?start=-3000000d", 422, "start: '-3000000d' reaches before year 1"),
        ("/api/quarantine?limit=0", 422, "query.limit: Input should be greater than or equal to 1"),
        ("/api/export?format=xml", 422, "query.format: Input should be 'parquet' or 'csv'"),
        ("/api/nothing-here", 404, "Not Found"),
    ],
)
def test_errors_are_problem_json(client: TestClient, url: str, status: int, detail: str) -> None:
    r = client.get(url)
    assert r.status_code == status
    assert r.headers["content-type"] == PROBLEM
    body = r.json()
    assert body["status"] == status and body["type"] == "about:blank"
    assert detail in body["detail"]


# -- ingest: bad input -------------------------------------------------------------------------
NAN_ARROW = ipc(pa.table({"twin": [F], "signal": ["temperature"], "ts": pa.array([T0_MS + 5], pa.int64()),
                          "value": [float("nan")]}))  # fmt: skip

BAD_BODIES: list[tuple[str, bytes, str, str, str | None]] = [
    # (case, body, content type, reason in the detail, twin/signal named in errors[0].path)
    ("malformed JSON", b'[{"twin": "x", ', "application/json", "malformed JSON", None),
    ("value is an object", orjson.dumps([point("temperature", {"a": 1}, T0_MS + 5)]), "application/json",
     "unparsable value of type dict", f"{F}/temperature"),
    ("ts garbage", orjson.dumps([point("temperature", 1.0, "yesterday-ish")]), "application/json",
     "unparsable timestamp 'yesterday-ish'", f"{F}/temperature"),
    ("unknown twin", orjson.dumps([point("temperature", 1.0, T0_MS + 5, twin="bottling/nope")]), "application/json",
     "unknown twin 'bottling/nope'", "bottling/nope/temperature"),
    ("unknown signal", orjson.dumps([point("colour", 1.0, T0_MS + 5)]), "application/json",
     f"twin '{F}' has no signal 'colour'", f"{F}/colour"),
    ("JSON 1e999", b'[{"twin": "%s", "signal": "temperature", "ts": %d, "value": 1e999}]' % (F.encode(), T0_MS + 5),
     "application/json", "malformed JSON", None),
    ("string NaN", orjson.dumps([point("temperature", "NaN", T0_MS + 5)]), "application/json",
     "value is not a number (NaN)", f"{F}/temperature"),
    ("string inf", orjson.dumps([point("temperature", "inf", T0_MS + 5)]), "application/json",
     "value is infinite", f"{F}/temperature"),
    ("Arrow NaN", NAN_ARROW, ARROW_STREAM, "value is not a number (NaN)", f"{F}/temperature"),
    ("before 2000", orjson.dumps([point("temperature", 1.0, "1999-12-31T23:59:59Z")]), "application/json",
     "timestamp before 2000-01-01", f"{F}/temperature"),
    ("far future", orjson.dumps([point("temperature", 1.0, "2999-01-01T00:00:00Z")]), "application/json",
     "timestamp too far in the future", f"{F}/temperature"),
    ("out of range", orjson.dumps([point("temperature", 1000.0, T0_MS + 5)]), "application/json",
     "value out of range: 1000.0 not in [-10, 90]", f"{F}/temperature"),
    ("state not in enumeration", orjson.dumps([point("state", "flying", T0_MS + 5)]), "application/json",
     "state 'flying' not in the enumeration", f"{F}/state"),
    ("state code out of range", orjson.dumps([point("state", 9, T0_MS + 5)]), "application/json",
     "state code not in the enumeration", f"{F}/state"),
    ("fractional count", orjson.dumps([point("good_count", 1.5, T0_MS + 5)]), "application/json",
     "value is not an integer", f"{F}/good_count"),
    ("unknown unit", orjson.dumps([point("temperature", 1.0, T0_MS + 5, unit="furlong")]), "application/json",
     "unit 'furlong' cannot be converted to 'degC'", f"{F}/temperature"),
    ("quality 7", orjson.dumps([point("temperature", 1.0, T0_MS + 5, quality=7)]), "application/json",
     "quality must be 0 (good), 1 (uncertain) or 2 (bad)", None),
    ("not a list", b'"hello"', "application/json", "body must be a JSON list of points", None),
    ("wrong content type", b"temperature=1", "text/plain", "unsupported content type 'text/plain'", None),
    ("Arrow garbage", b"\x00\x01garbage", ARROW_STREAM, "body is not an Arrow IPC stream", None),
]  # fmt: skip


@pytest.mark.parametrize(("case", "body", "ctype", "reason", "path"), BAD_BODIES, ids=[b[0] for b in BAD_BODIES])
def test_bad_ingest_is_refused_and_nothing_is_lost(
    client: TestClient, case: str, body: bytes, ctype: str, reason: str, path: str | None
) -> None:
    good = [point("temperature", 4.0 + i, T0_MS + i * 1000) for i in range(5)]
    assert post(client, good).json() == {"received": 5, "accepted": 5, "rejected": 0, "stored": 5, "errors": []}
    before = history(client, "temperature")
    r = post(client, body, ctype=ctype)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == PROBLEM
    problem = r.json()
    assert reason in problem["detail"]
    if path is not None:
        assert problem["errors"][0]["path"] == path
        assert reason in problem["errors"][0]["message"]
    assert history(client, "temperature") == before
    assert stored(client) == 5
    # the server keeps serving and accepts the next good batch
    assert post(client, [point("temperature", 9.0, T0_MS + 10_000)]).json()["stored"] == 1
    assert history(client, "temperature")["value"] == [4.0, 5.0, 6.0, 7.0, 8.0, 9.0]


def test_mixed_batch_is_atomic_by_default(client: TestClient) -> None:
    r = post(client, [point("temperature", 1.0), point("temperature", "NaN", T0_MS + 1)])
    assert r.status_code == 422
    assert r.json()["detail"].startswith("1 of 2 points rejected, nothing stored: value is not a number (NaN)")
    assert stored(client) == 0
    # the rejected point is quarantined even so
    q = client.get("/api/quarantine").json()
    assert q["total"] == 1 and q["items"][0]["reason"] == "value is not a number (NaN)"


def test_partial_stores_valid_and_quarantines_the_rest(client: TestClient) -> None:
    body = [
        point("temperature", 4.5, T0_MS),
        point("temperature", 1e6, T0_MS + 1000),
        point("state", "running", T0_MS),
        point("temperature", 1.0, T0_MS, twin="bottling/nope"),
        point("pressure", 2.0, "garbage"),
        point("pressure", 2.5, T0_MS),
    ]
    r = post(client, body, partial=True)
    assert r.status_code == 200
    out = r.json()
    assert (out["received"], out["accepted"], out["rejected"], out["stored"]) == (6, 3, 3, 3)
    assert [e["reason"] for e in out["errors"]] == [
        "unknown twin 'bottling/nope'",
        "unparsable timestamp 'garbage'",
        "value out of range: 1000000.0 not in [-10, 90]",
    ]
    assert history(client, "temperature")["value"] == [4.5]
    assert history(client, "pressure")["value"] == [2.5]
    assert history(client, "state")["value"] == [0.0]
    q = client.get("/api/quarantine").json()
    assert q["total"] == 3
    assert sorted(i["reason"] for i in q["items"]) == [
        "unknown twin 'bottling/nope'",
        "unparsable timestamp 'garbage'",
        "value out of range: 1000000.0 not in [-10, 90]",
    ]
    item = next(i for i in q["items"] if i["twin"] == "bottling/nope")
    assert (item["signal"], item["value"], item["source"], item["ts"]) == ("temperature", "1.0", "http", iso(T0_MS))
    assert client.get("/api/quarantine", params={"limit": 1, "offset": 2}).json()["total"] == 3
    assert len(client.get("/api/quarantine", params={"limit": 1, "offset": 2}).json()["items"]) == 1
    health = client.get("/healthz").json()
    assert health["ingest"] == {"received": 6, "accepted": 3, "rejected": 3, "stored": 3, "sequence": 1}
    assert health["rejected_by_reason"] == {"source": 2, "out_of_range": 1}


def test_body_above_the_limit_is_413(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, plant=example_path(), max_body_bytes=1024)
    with TestClient(create_app(settings)) as c:
        assert post(c, [point("temperature", 1.0)]).status_code == 200
        big = [point("temperature", 1.0, T0_MS + i) for i in range(50)]
        r = post(c, big)
        assert r.status_code == 413
        assert r.headers["content-type"] == PROBLEM
        assert r.json()["detail"] == f"body of {len(orjson.dumps(big))} bytes exceeds the limit of 1024 bytes"
        # without Content-Length (chunked), the limit holds while reading
        chunks = (b" " * 512 for _ in range(4))
        r = c.post("/api/ingest", content=chunks, headers={"content-type": "application/json"})
        assert r.status_code == 413 and r.json()["detail"] == "body exceeds the limit of 1024 bytes"
        assert stored(c) == 1
        assert post(c, [point("temperature", 2.0, T0_MS + 1)]).status_code == 200


# -- ingest: good input ------------------------------------------------------------------------
def test_duplicate_points_are_stored_once(client: TestClient) -> None:
    body = [point("temperature", 1.0), point("temperature", 2.0, T0_MS + 1000)]
    assert post(client, body).json()["stored"] == 2
    again = post(client, body).json()
    assert (again["accepted"], again["stored"]) == (2, 0)
    assert stored(client) == 2


def test_columnar_json(client: TestClient) -> None:
    body = {"twin": F, "signal": "speed", "ts": [T0_MS, T0_MS + 1000, T0_MS + 2000], "value": [598.0, 601.5, 600]}
    assert post(client, body).json()["stored"] == 3
    s = history(client, "speed")
    assert s["value"] == [598.0, 601.5, 600.0]
    assert s["ts"] == [T0_MS, T0_MS + 1000, T0_MS + 2000]
    assert s["unit"] == "bottle/min" and s["kind"] == "float"


def test_unit_conversion(client: TestClient) -> None:
    body = [
        point("temperature", 50.0, T0_MS, unit="degF"),
        point("temperature", 280.15, T0_MS + 1000, unit="K"),
        point("pressure", 14.5, T0_MS, unit="psi"),
        point("speed", 10.0, T0_MS, unit="bottle/s"),
    ]
    assert post(client, body).json()["accepted"] == 4
    np.testing.assert_allclose(history(client, "temperature")["value"], [10.0, 7.0], rtol=1e-12)
    np.testing.assert_allclose(history(client, "pressure")["value"], [14.5 * 0.06894757293168361], rtol=1e-12)
    np.testing.assert_allclose(history(client, "speed")["value"], [600.0], rtol=1e-12)


def test_arrow_named_layout(client: TestClient) -> None:
    table = pa.table({
        "twin": pa.array([F, F, f"{L}/c1"]).dictionary_encode(),
        "signal": ["temperature", "state", "level"],
        "ts": pa.array([T0_MS, T0_MS, T0_MS], pa.int64()),
        "value": ["5.5", "idle", "120"],
    })  # fmt: skip
    r = post(client, ipc(table), ctype=ARROW_STREAM)
    assert r.json() == {"received": 3, "accepted": 3, "rejected": 0, "stored": 3, "errors": []}
    assert history(client, "temperature")["value"] == [5.5]
    assert history(client, "state")["value"] == [1.0]
    assert history(client, "level", twin=f"{L}/c1")["value"] == [120.0]


def test_arrow_engine_layout(client: TestClient, tmp_path: Path) -> None:
    plant = Platform(Settings(data_dir=tmp_path / "x", plant=example_path())).plant
    sid = plant.signals.sid(F, "fill_level")
    ts = (T0_MS + np.arange(100) * 1000) * 1000
    batch = make_batch(ts, np.full(100, sid), np.linspace(490, 510, 100))
    r = post(client, ipc(batch), ctype=ARROW_STREAM)
    assert r.json()["stored"] == 100
    s = history(client, "fill_level")
    assert s["ts"] == (ts // 1000).tolist()
    np.testing.assert_allclose(s["value"], np.linspace(490, 510, 100))


# -- history -----------------------------------------------------------------------------------
@pytest.fixture
def minute(client: TestClient) -> TestClient:
    """60 points, one per second, values 0..59, from T0 (a whole minute)."""
    body = {"twin": F, "signal": "speed", "ts": [T0_MS + i * 1000 for i in range(60)], "value": list(range(60))}
    assert post(client, body).json()["stored"] == 60
    return client


def test_history_raw(minute: TestClient) -> None:
    s = history(minute, "speed")
    assert s["ts"] == [T0_MS + i * 1000 for i in range(60)]
    assert s["value"] == [float(i) for i in range(60)]
    assert s["n"] is None
    s = history(minute, "speed", start=iso(T0_MS + 10_000), end=iso(T0_MS + 20_000))  # end excluded
    assert s["value"] == [float(i) for i in range(10, 20)]
    assert history(minute, "speed", limit=5)["value"] == [0.0, 1.0, 2.0, 3.0, 4.0]


@pytest.mark.parametrize(
    ("agg", "expected"),
    [
        ("avg", [4.5, 14.5, 24.5, 34.5, 44.5, 54.5]),
        ("min", [0.0, 10.0, 20.0, 30.0, 40.0, 50.0]),
        ("max", [9.0, 19.0, 29.0, 39.0, 49.0, 59.0]),
        ("first", [0.0, 10.0, 20.0, 30.0, 40.0, 50.0]),
        ("last", [9.0, 19.0, 29.0, 39.0, 49.0, 59.0]),
        ("count", [10.0] * 6),
    ],
)
def test_history_downsampled(minute: TestClient, agg: str, expected: list[float]) -> None:
    s = history(minute, "speed", interval="10s", agg=agg)
    assert s["ts"] == [T0_MS + i * 10_000 for i in range(6)]
    assert s["value"] == expected
    assert s["n"] == [10] * 6


def test_history_interval_forms(minute: TestClient) -> None:
    assert history(minute, "speed", interval="PT30S")["value"] == [14.5, 44.5]
    assert history(minute, "speed", interval="1m")["value"] == [29.5]
    assert history(minute, "speed", interval="30000ms", agg="max")["value"] == [29.0, 59.0]


def test_history_relative_times_and_auto(minute: TestClient) -> None:
    # T0 is about an hour ago: -2h..now holds all of it, -1s..now none of it
    r = minute.get(f"/api/twins/{F}/history", params={"signal": "speed", "start": "-2h", "end": "now"})
    assert len(r.json()["series"][0]["value"]) == 60
    r = minute.get(f"/api/twins/{F}/history", params={"signal": "speed", "start": "-1s"})
    assert r.json()["series"][0]["value"] == []
    r = minute.get(
        f"/api/twins/{F}/history",
        params={"signal": "speed", "start": iso(T0_MS), "end": iso(T0_MS + 600_000), "interval": "auto"},
    )
    body = r.json()
    assert body["interval_s"] == 1.0  # 600 s span / 600 buckets
    assert body["series"][0]["n"] == [1] * 60
    # default: all signals of the twin, last hour
    r = minute.get(f"/api/twins/{F}/history", params={"start": "-2h"})
    series = {s["signal"]: s for s in r.json()["series"]}
    assert list(series) == ["state", "speed", "good_count", "reject_count", "power", "temperature", "pressure",
                            "fill_level"]  # fmt: skip
    assert series["state"]["states"][:2] == ["running", "idle"]
    assert len(series["speed"]["value"]) == 60


def test_history_far_times_are_not_errors(minute: TestClient) -> None:
    r = minute.get(f"/api/twins/{F}/history", params={"signal": "speed", "start": "0001-01-01", "end": "9999-12-31"})
    assert r.status_code == 200 and len(r.json()["series"][0]["value"]) == 60


# -- export ------------------------------------------------------------------------------------
def test_export_parquet_and_csv_round_trip(minute: TestClient) -> None:
    assert post(minute, [point("level", 100.0, twin=f"{L}/c1")]).status_code == 200
    r = minute.get("/api/export", params={"format": "parquet"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/vnd.apache.parquet"
    assert "bottling-history.parquet" in r.headers["content-disposition"]
    t = pq.read_table(io.BytesIO(r.content))
    assert t.column_names == ["ts", "twin", "signal", "value", "quality"]
    assert t.num_rows == 61
    speed = t.filter(pa.compute.equal(t.column("signal"), "speed"))
    assert speed.column("value").to_pylist() == [float(i) for i in range(60)]
    assert [int(x.timestamp() * 1000) for x in speed.column("ts").to_pylist()] == [T0_MS + i * 1000 for i in range(60)]
    assert set(speed.column("twin").to_pylist()) == {F}
    # CSV of one subtree and a time window
    r = minute.get("/api/export", params={"format": "csv", "twin": F, "start": iso(T0_MS), "end": iso(T0_MS + 3000)})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    csv = pacsv.read_csv(io.BytesIO(r.content))
    assert csv.column("value").to_pylist() == [0.0, 1.0, 2.0]
    assert set(csv.column("twin").to_pylist()) == {F}
    r = minute.get("/api/export", params={"format": "csv", "twin": f"{L}/c1"})
    assert pacsv.read_csv(io.BytesIO(r.content)).column("value").to_pylist() == [100.0]


def test_index_page(client: TestClient) -> None:
    r = client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")

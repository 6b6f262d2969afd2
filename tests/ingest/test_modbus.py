"""Modbus TCP source against a real pymodbus server with a known register image."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import need
from tests.ingest.field import engines, start_source, wait_until
from tests.ingest.modbus_server import EXPECTED, FaultProxy, ModbusServer
from twinverse.core.quality import Quality
from twinverse.errors import ModelLoadError
from twinverse.ingest.modbus import ModbusSource
from twinverse.ingest.modbus_map import MAX_BITS, MAX_REGISTERS, Point, plan
from twinverse.ingest.spec import load_source_specs
from twinverse.live.engine import Engine
from twinverse.model import Plant, loads_plant


def plant_yaml(port: int, *, extra: str = "", timeout: float = 0.3) -> str:
    signals = "\n".join(
        f"      {sig}: {{kind: bool}}" if table in ("coil", "discrete") or "bit" in ex else f"      {sig}: {{}}"
        for sig, table, *_rest, ex in EXPECTED
    )
    points = "\n".join(
        f"          - {{signal: {sig}, table: {table}, address: {addr}, "
        + (f"type: {typ}, " if table not in ("coil", "discrete") else "")
        + f"byte_order: {bo}, word_order: {wo}"
        + "".join(f", {k}: {v}" for k, v in ex.items()) + "}"
        for sig, table, addr, typ, bo, wo, _value, ex in EXPECTED
    )
    return f"""plant: p
types:
  meter:
    signals:
{signals}
  counter:
    signals:
      answer: {{unit: kg}}
twins:
  - {{id: m1, type: meter}}
  - {{id: m2, type: counter}}
sources:
  plc:
    kind: modbus
    url: modbus://127.0.0.1:{port}
    timeout: {timeout}
    retries: 0
    reconnect: [0.05, 0.2]
    poll: 0.05
    maps:
      - twin: m1
        points:
{points}
      - twin: m2
        unit_id: 2
        poll: 0.1
        points:
          - {{signal: answer, table: holding, address: 0, unit: g}}
{extra}"""


@pytest.fixture
def server() -> Iterator[ModbusServer]:
    s = ModbusServer().start()
    yield s
    s.stop()


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Callable[[Plant], Engine]]:
    yield from engines(tmp_path)


def run(plant: Plant, engine: Engine) -> ModbusSource:
    return start_source(plant, engine, ModbusSource)


def values(engine: Engine, twin: str = "p/m1") -> dict[str, float]:
    idx = engine.plant.signals
    return {str(idx.name[s]): float(engine.value[s]) for s in idx.of_twin(twin)}


def test_register_image_is_decoded_exactly(server: ModbusServer, engine: Callable[[Plant], Engine]) -> None:
    plant = loads_plant(plant_yaml(server.port))
    e = engine(plant)
    source = run(plant, e)
    try:
        wait_until(lambda: not np.isnan(e.value).any(), "every signal to have a value")
        got = values(e)
        for sig, *_rest, expected, _ex in EXPECTED:
            assert got[sig] == pytest.approx(expected, rel=0, abs=1e-9), sig
        assert values(e, "p/m2") == {"answer": 0.042}  # 42 g in the signal's kg
        assert not e.quality.any()
        # Twenty points, four reads: holding 0..23, holding 200, input 0..2, coils, discrete inputs — and unit 2.
        assert sorted((b.unit_id, b.table, b.start, b.count) for b in source.blocks) == [
            (1, "coil", 0, 10), (1, "discrete", 0, 6), (1, "holding", 0, 24), (1, "holding", 200, 1),
            (1, "input", 0, 3), (2, "holding", 0, 1)]
        h = source.health()
        assert h["connected"] is True and h["errors"] == 0 and h["kind"] == "modbus" and h["name"] == "plc"
        assert h["last_data"] != "" and h["exceptions"] == 0
        # A changed register shows up at the next poll.
        server.set_holding(1, 1, [4321])
        wait_until(lambda: values(e)["u16"] == 4321, "the new value of u16")
    finally:
        source.stop()


def test_exception_response_is_bad_quality_with_its_code(server: ModbusServer,
                                                         engine: Callable[[Plant], Engine]) -> None:
    # Address 2999 of unit 2 exists, 3000 does not: the second map's read gets exception 2.
    extra = """      - twin: m3
        unit_id: 2
        points:
          - {signal: answer, table: holding, address: 3000}
"""
    text = plant_yaml(server.port, extra=extra).replace(
        "  - {id: m2, type: counter}", "  - {id: m2, type: counter}\n  - {id: m3, type: counter}")
    plant = loads_plant(text)
    e = engine(plant)
    source = run(plant, e)
    try:
        wait_until(lambda: source.exceptions[2] >= 2, "exception 2 answers")
        h = source.health()
        assert h["exception_codes"].startswith("2:") and "exception 2 (illegal data address)" in h["last_error"]
        assert h["connected"] is True  # an exception is an answer: the connection stays
        m3 = plant.signals.sid("p/m3", "answer")
        assert np.isnan(e.value[m3])  # never read: nothing to repeat as BAD
        # The neighbouring map of the same unit is read and stored all the same (stored asynchronously).
        wait_until(lambda: values(e, "p/m2") == {"answer": 0.042}, "the good map's value")
        assert not e.quality[plant.signals.sid("p/m2", "answer")]
    finally:
        source.stop()


def test_exception_after_good_values_marks_them_bad(server: ModbusServer, engine: Callable[[Plant], Engine]) -> None:
    plant = loads_plant(plant_yaml(server.port))
    e = engine(plant)
    source = run(plant, e)
    try:
        sid = plant.signals.sid("p/m2", "answer")
        wait_until(lambda: e.value[sid] == 0.042, "the first value")
        # The device now rejects the block (a server whose image shrank: exception 2).
        source.groups = plan([p for p in source.config.points if p.unit_id == 1] +
                             [Point(sid, 2, "holding", 3000, "uint16", None, False, False, 1.0, 0.0, 0.1)])
        wait_until(lambda: e.quality[sid] == Quality.BAD, "BAD quality after the exception")
        assert e.value[sid] == 0.042  # the last value, marked BAD
    finally:
        source.stop()


@pytest.mark.parametrize("fault", ["blackhole", "close", "server_stops"])
def test_far_side_goes_away_then_recovers(fault: str, server: ModbusServer,
                                          engine: Callable[[Plant], Engine]) -> None:
    proxy = FaultProxy(server.port)
    plant = loads_plant(plant_yaml(proxy.port))
    e = engine(plant)
    source = run(plant, e)
    sids = np.arange(len(plant.signals))
    try:
        wait_until(lambda: not np.isnan(e.value).any(), "the first values")
        assert not e.quality.any()
        if fault == "server_stops":
            server.stop()
            proxy.set("close")
        else:
            proxy.set(fault)
        wait_until(lambda: bool((e.quality[sids] == Quality.BAD).all()), f"BAD quality after {fault}")
        assert source.health()["connected"] is False
        assert values(e)["f32"] == 21.5  # the last value is kept, only its quality changed
        if fault == "server_stops":
            server.start()
        proxy.set("pass")
        wait_until(lambda: bool((e.quality[sids] == Quality.GOOD).all()), "GOOD quality after recovery")
        h = source.health()
        assert h["connected"] is True and h["reconnects"] >= 1 and h["errors"] >= 1
        assert values(e)["f64"] == pytest.approx(3.141592653589793, abs=0)
    finally:
        source.stop()
        proxy.close()


def test_bounded_buffer_slows_reads(server: ModbusServer, engine: Callable[[Plant], Engine]) -> None:
    plant = loads_plant(plant_yaml(server.port).replace("    poll: 0.05\n", "    poll: 0.001\n    buffer: 10\n"))
    e = engine(plant)
    gate = __import__("threading").Event()
    real = e.ingest

    def slow(*a: object, **k: object) -> object:
        gate.wait(30)
        return real(*a, **k)  # type: ignore[arg-type]

    e.ingest = slow  # type: ignore[method-assign]  # a store that does not answer (yet)
    source = run(plant, e)
    try:
        wait_until(lambda: source.stalls > 0, "the poller to wait for room")
        assert source.health()["backlog"] <= 10 + 21  # bounded: the buffer plus one poll's points
        gate.set()
        wait_until(lambda: not np.isnan(e.value).any(), "the values once the store answers")
    finally:
        gate.set()
        source.stop()


def test_plan_respects_protocol_limits() -> None:
    regs = [Point(i, 1, "holding", i * 2, "float32", None, False, False, 1.0, 0.0, 1.0) for i in range(200)]
    bits = [Point(1000 + i, 1, "coil", i, "bool", None, False, False, 1.0, 0.0, 1.0) for i in range(4500)]
    blocks = [b for g in plan(regs + bits) for b in g.blocks]
    assert all(b.count <= (MAX_BITS if b.table == "coil" else MAX_REGISTERS) for b in blocks)
    assert [b.count for b in blocks if b.table == "holding"] == [124, 124, 124, 28]  # a float32 is never split
    assert [b.count for b in blocks if b.table == "coil"] == [2000, 2000, 500]
    # A gap wider than max_gap splits; max_gap=0 splits at every hole.
    gap = [Point(i, 1, "input", a, "uint16", None, False, False, 1.0, 0.0, 1.0) for i, a in enumerate([0, 10, 30])]
    assert [(b.start, b.count) for g in plan(gap, max_gap=10) for b in g.blocks] == [(0, 11), (30, 1)]
    assert [(b.start, b.count) for g in plan(gap, max_gap=0) for b in g.blocks] == [(0, 1), (10, 1), (30, 1)]


BAD_MAPS = [
    ("type: kelvin", "sources.plc.maps[0].points[0].type: type must be one of bool, int16"),
    ("table: holdings", "sources.plc.maps[0].points[0].table: table must be one of coil, discrete, input, holding"),
    ("address: 65535, type: float32", "sources.plc.maps[0].points[0].address: a float32 at 65535 runs past"),
    ("address: -1", "sources.plc.maps[0].points[0].address: address must be within 0..65535, got -1"),
    ("bit: 3, type: float32", "sources.plc.maps[0].points[0].bit: bit needs a 16-bit register"),
    ("scale: x", "sources.plc.maps[0].points[0].scale: scale must be a finite number, got a string ('x')"),
    ("unit: parsec", "sources.plc.maps[0].points[0].unit: unit 'parsec' given, but the signal has no unit"),
    ("colour: red", "sources.plc.maps[0].points[0].colour: unknown field 'colour'"),
]


@pytest.mark.parametrize(("extra", "message"), BAD_MAPS)
def test_bad_mapping_is_a_located_error(extra: str, message: str) -> None:
    text = f"""plant: p
types: {{m: {{signals: {{t: {{}}}}}}}}
twins: [{{id: m1, type: m}}]
sources:
  plc:
    kind: modbus
    url: modbus://127.0.0.1:5020
    maps:
      - twin: m1
        points:
          - {{signal: t, table: holding, address: 0, {extra}}}
"""
    text = text.replace("address: 0, address", "address").replace(", table: holding, address: 0, table: holdings",
                                                                  ", address: 0, table: holdings")
    with pytest.raises(ModelLoadError) as err:
        load_source_specs(loads_plant(text, "plant.yaml"))
    assert any(str(p).startswith("plant.yaml:11: ") and message in str(p) for p in err.value.details), \
        [str(p) for p in err.value.details]


def test_every_mapping_problem_is_reported_at_once(tmp_path: Path) -> None:
    (tmp_path / "field.yaml").write_text("""sources:
  plc:
    kind: modbus
    url: http://nowhere
    maps:
      - twin: nosuch
        points: [{signal: t, table: holding, address: 0}]
      - twin: m1
        points:
          - {signal: nosuch, table: holding, address: 0}
          - {signal: t, table: coil, address: 1}
          - {signal: t, table: coil, address: 2}
  other: {kind: profinet, url: x}
""")
    (tmp_path / "plant.yaml").write_text("plant: p\ntypes: {m: {signals: {t: {}}}}\ntwins: [{id: m1, type: m}]\n"
                                         "sources: field.yaml\n")
    from twinverse.model import load_plant

    with pytest.raises(ModelLoadError) as err:
        load_source_specs(load_plant(tmp_path / "plant.yaml"))
    got = [str(p).replace(str(tmp_path) + "/", "") for p in err.value.details]
    assert got == [
        "field.yaml:4: sources.plc.url: url must be modbus://host[:port], got 'http://nowhere'",
        "field.yaml:6: sources.plc.maps[0].twin: unknown twin 'nosuch'",
        "field.yaml:10: sources.plc.maps[1].points[0].signal: twin 'p/m1' (type m) has no signal 'nosuch' "
        "(signals: t)",
        "field.yaml:12: sources.plc.maps[1].points[2].signal: signal p/m1.t is already fed by "
        "sources.plc.maps[1].points[1] (field.yaml:11)",
        "field.yaml:13: sources.other.kind: kind must name a field connector (modbus, opcua, sparkplug), "
        "got 'profinet'",
    ]


def test_mbpoll_reads_the_same_registers(server: ModbusServer, engine: Callable[[Plant], Engine]) -> None:
    """An independent peer (Debian's mbpoll) reads the image; twinverse must agree with it."""
    mbpoll = shutil.which("mbpoll")
    need(mbpoll is not None, "mbpoll is not installed (apt-get install mbpoll)")
    assert mbpoll is not None

    def poll(*args: str) -> list[str]:
        out = subprocess.run([mbpoll, "-m", "tcp", "-p", str(server.port), "-a", "1", "-1", "-0", *args,
                              "127.0.0.1"], capture_output=True, text=True, timeout=30, check=True).stdout
        return [line.split(":", 1)[1].split()[0] for line in out.splitlines() if line.startswith("[")]

    plant = loads_plant(plant_yaml(server.port))
    e = engine(plant)
    source = run(plant, e)
    try:
        wait_until(lambda: not np.isnan(e.value).any(), "every signal to have a value")
        got = values(e)
    finally:
        source.stop()
    # mbpoll: -t 4 holding registers (shown unsigned), -t 4:int / 4:float 32-bit values in mbpoll's
    # default word order, which is little (CDAB); -B asks for big (ABCD). -t 0 coils.
    assert poll("-t", "4", "-r", "0", "-c", "2") == [str(int(got["i16"]) + 2**16), "54321"]
    assert [float(x) for x in poll("-t", "4:int", "-B", "-r", "2", "-c", "1")] == [got["i32"]]
    assert [int(x) for x in poll("-t", "4:int", "-r", "4", "-c", "1")] == [int(got["u32_cdab"]) - 2**32]
    assert [float(x) for x in poll("-t", "4:float", "-B", "-r", "6", "-c", "1")] == [got["f32"]]
    assert [float(x) for x in poll("-t", "3:float", "-r", "0", "-c", "1")] == [got["in_f32_cdab"]]
    assert [int(x) for x in poll("-t", "0", "-r", "0", "-c", "10")] == [1, 0, 1, 1, 0, 0, 0, 0, 0, 1]
    assert [got["coil0"], got["coil1"], got["coil9"]] == [1, 0, 1]


def test_platform_reports_source_health_and_metrics(server: ModbusServer, tmp_path: Path) -> None:
    from twinverse.api.metrics import exposition, registry_for
    from twinverse.config import Settings
    from twinverse.platform import Platform

    (tmp_path / "plant.yaml").write_text(plant_yaml(server.port))
    platform = Platform(Settings(plant=tmp_path / "plant.yaml", data_dir=tmp_path / "d", store=":memory:"))
    platform.start()
    try:
        wait_until(lambda: not np.isnan(platform.engine.value).any(), "values through the platform")
        health = dict(platform.source_health())
        assert health["modbus:plc"]["connected"] is True and health["modbus:plc"]["signals"] == 21
        assert platform.readiness() == []
        body, _ = exposition(registry_for(platform), None)
        text = body.decode()
        assert 'twinverse_source_connected{source="modbus:plc"} 1.0' in text
        assert 'twinverse_source_backlog_points{source="modbus:plc"}' in text
        assert 'twinverse_source_errors_total{source="modbus:plc"} 0.0' in text
        server.stop()
        wait_until(lambda: platform.readiness() != [], "readiness to notice the lost device")
        assert [p.location.path for p in platform.readiness()] == ["source:modbus:plc"]
    finally:
        platform.stop()


def test_cli_validate_and_sources_report_mapping_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from twinverse.cli import main

    def run(*argv: str) -> int:
        try:
            main(list(argv))
        except SystemExit as exc:
            return int(exc.code or 0)
        return 0

    good = tmp_path / "plant.yaml"
    good.write_text(plant_yaml(5020))
    assert run("validate", str(good)) == 0
    assert "1 field connectors" in capsys.readouterr().out
    assert run("sources", "--plant", str(good)) == 0
    out = capsys.readouterr().out
    assert out.startswith("plc              modbus   modbus://127.0.0.1:5020  (21 mapped, ")
    bad = tmp_path / "bad.yaml"
    bad.write_text(plant_yaml(5020).replace("type: float64", "type: double"))
    for argv in (["validate", str(bad)], ["sources", "--plant", str(bad)]):
        assert run(*argv) == 1
        err = capsys.readouterr().err
        assert f"{bad}:" in err and ".type: type must be one of" in err and "Traceback" not in err


def test_cli_sources_server_unreachable_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    from tests.conftest import free_port
    from twinverse.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["sources", "--server", f"http://127.0.0.1:{free_port()}"])
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("error: cannot reach http://127.0.0.1:") and "Traceback" not in err


def test_served_plant_reports_its_modbus_source(server: ModbusServer, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    """The newcomer's path: a plant file with sources:, `twinverse serve`, `twinverse sources --server`."""
    from tests.server import Server
    from twinverse.cli import main

    (tmp_path / "plant.yaml").write_text(plant_yaml(server.port))
    served = Server(["serve", "--plant", str(tmp_path / "plant.yaml"), "--data-dir", str(tmp_path / "d"),
                     "--auth", "open"], tmp_path)
    served.start()

    def sources() -> str:
        try:
            main(["sources", "--server", served.url])
        except SystemExit as exc:
            assert not exc.code
        return capsys.readouterr().out

    try:
        wait_until(lambda: "bad_signals=0" in sources() and served.get("/readyz")["status"] == "ok", "a healthy source")
        out = sources()
        assert out.startswith("up modbus:plc  signals=21  bad_signals=0  last_data=")
        server.stop()
        wait_until(lambda: sources().startswith("down modbus:plc  signals=21  bad_signals=21"), "a down source")
        assert "last error: " in sources()
    finally:
        served.stop()

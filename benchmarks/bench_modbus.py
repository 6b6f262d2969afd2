"""Modbus TCP polling throughput: twinverse's source end to end against a bare pymodbus client.

One pymodbus server (in its own process) holds ``--units`` devices with 2,000 holding
registers each. The plant maps ``--maps`` register maps per device, each of 100 float32
(200 registers) and 50 uint16 values, so twinverse plans its own coalesced reads (at most
125 registers each).

- baseline: a bare synchronous pymodbus client reading the very blocks twinverse planned,
  in a loop, counting registers (no decoding, no storing);
- twinverse: :class:`ModbusSource` polling as fast as it can (interval 1 ms) into an
  :class:`Engine` with a DuckDB file store; registers/s read, and points/s stored.

Each runs for ``--seconds``, one after the other, against the same server (after a warm-up);
the bare client runs again at the end, so drift of the machine shows in the table.
Run: ``python benchmarks/bench_modbus.py`` (``--quick`` for a smoke run).
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pymodbus.client import ModbusTcpClient

from benchmarks._common import free_port, table
from twinverse.ingest.modbus import ModbusSource
from twinverse.ingest.spec import build_field_sources
from twinverse.live.engine import Engine
from twinverse.model import loads_plant
from twinverse.store.duckdb import DuckDBStore

REGS = 2000


def serve(port: int, units: int) -> None:
    from pymodbus.server import ModbusTcpServer
    from pymodbus.simulator import DataType, SimData, SimDevice

    devices = [SimDevice(id=u, simdata=(
        [SimData(0, values=[False] * 16, datatype=DataType.BITS)],
        [SimData(0, values=[False] * 16, datatype=DataType.BITS)],
        [SimData(0, values=[(i * 7 + u) % 30000 for i in range(REGS)], datatype=DataType.REGISTERS)],
        [SimData(0, values=[0] * 16, datatype=DataType.REGISTERS)],
    )) for u in range(1, units + 1)]  # fmt: skip

    async def main() -> None:
        await ModbusTcpServer(devices, address=("127.0.0.1", port)).serve_forever()

    asyncio.run(main())


def plant_yaml(port: int, units: int, maps: int) -> str:
    sigs = "\n".join([f"      f{i}: {{}}" for i in range(100)] + [f"      u{i}: {{}}" for i in range(50)])
    twins, blocks = [], []
    for u in range(1, units + 1):
        for m in range(maps):
            twins.append(f"  - {{id: d{u}m{m}, type: meter}}")
            base = m * 300
            pts = [f"          - {{signal: f{i}, table: holding, address: {base + 2 * i}, type: float32}}"
                   for i in range(100)]
            pts += [f"          - {{signal: u{i}, table: holding, address: {base + 200 + i}}}" for i in range(50)]
            blocks.append(f"      - twin: d{u}m{m}\n        unit_id: {u}\n        points:\n" + "\n".join(pts))
    return (f"plant: bench\ntypes:\n  meter:\n    signals:\n{sigs}\ntwins:\n" + "\n".join(twins)
            + f"\nsources:\n  plc:\n    kind: modbus\n    url: modbus://127.0.0.1:{port}\n    poll: 0.001\n"
            "    timeout: 5\n    buffer: 1000000\n    maps:\n" + "\n".join(blocks) + "\n")  # fmt: skip


def bare(port: int, blocks: list[tuple[int, int, int]], seconds: float) -> tuple[float, float]:
    client = ModbusTcpClient("127.0.0.1", port=port, timeout=5)
    client.connect()
    regs = requests = 0
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        for unit, start, count in blocks:
            r = client.read_holding_registers(start, count=count, device_id=unit)
            assert not r.isError()
            regs += len(r.registers)
            requests += 1
    dt = time.perf_counter() - t0
    client.close()
    return regs / dt, requests / dt


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--units", type=int, default=10)
    ap.add_argument("--maps", type=int, default=4, help="register maps per device")
    ap.add_argument("--seconds", type=float, default=5.0, help="measuring time of each client")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.serve:
        serve(a.serve, a.units)
        return 0
    if a.quick:
        a.units, a.maps, a.seconds = 2, 2, 2.0
    port = free_port()
    proc = subprocess.Popen([sys.executable, __file__, "--serve", str(port), "--units", str(a.units)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        plant = loads_plant(plant_yaml(port, a.units, a.maps))
        [source] = build_field_sources(plant)
        assert isinstance(source, ModbusSource)
        blocks = [(b.unit_id, b.start, b.count) for b in source.blocks]
        deadline = time.monotonic() + 30
        while True:  # wait for the server process to listen
            c = ModbusTcpClient("127.0.0.1", port=port, timeout=1)
            if c.connect():
                c.close()
                break
            if time.monotonic() > deadline:
                sys.exit("the Modbus server did not start")
            time.sleep(0.1)
        bare(port, blocks, min(1.0, a.seconds))  # warm the server process up
        base_regs, base_req = bare(port, blocks, a.seconds)
        with tempfile.TemporaryDirectory() as tmp:
            engine = Engine(plant, DuckDBStore(Path(tmp) / "b.duckdb"))
            source.start(engine)
            while not source.connected:
                time.sleep(0.01)
            r0, q0, t0 = source.registers, source.requests, time.perf_counter()
            time.sleep(a.seconds)
            regs, reqs, dt = source.registers - r0, source.requests - q0, time.perf_counter() - t0
            source.stop()  # stores what is buffered
            stored = source.stored
            engine.close()
            engine.store.close()
        after_regs, after_req = bare(port, blocks, a.seconds)  # the baseline again, after (drift check)
        print(f"{a.units} devices x {a.maps} maps = {len(plant.signals):,} signals in {len(blocks)} reads "
              f"of <= 125 registers, {a.seconds:g} s per client, one server process")  # fmt: skip
        print(table([
            ("bare pymodbus client (read only), before", f"{base_regs:,.0f}", f"{base_req:,.0f}", "-", "100%"),
            ("bare pymodbus client (read only), after", f"{after_regs:,.0f}", f"{after_req:,.0f}", "-",
             f"{after_regs / base_regs:.0%}"),
            ("twinverse modbus source (decode+store)", f"{regs / dt:,.0f}", f"{reqs / dt:,.0f}",
             f"{stored:,}", f"{regs / dt / base_regs:.0%}"),
        ], ("client", "registers/s", "requests/s", "points stored", "vs bare")))  # fmt: skip
    finally:
        proc.terminate()
        proc.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""compile_network: the layout of a known network, the random streams, and growing the pool."""

from __future__ import annotations

import numpy as np

from twinverse.sim import kernel as K
from twinverse.sim.compiled import compile_network, grow_pool, new_state, stream_rng

from .conftest import line, model


def test_a_serial_line_compiles_to_the_expected_tables() -> None:
    c = compile_network(line([1.0, 2.0, 3.0], [2, 5]))
    assert c.station_ids == ("m1", "m2", "m3") and c.buffer_ids == ("b1", "b2", "m1.in")
    assert c.sink_ids == ("out",) and c.source_ids == ("supply",)
    m = c.model
    assert m["st_nsrv"].tolist() == [1, 1, 1] and m["st_srv0"].tolist() == [0, 1, 2]
    # m1 reads m1.in (buffer 2), m2 reads b1 (0), m3 reads b2 (1), one part each
    assert m["in_buf"].tolist() == [2, 0, 1] and m["in_qty"].tolist() == [1, 1, 1]
    # routes (stations, then the source): to b1, b2, the sink (-(0 + 1)), and the source to m1.in
    assert m["rt_dest"].tolist() == [0, 1, -1, 2]
    assert m["buf_cap"].tolist() == [2, 5, 0]  # a saturated source hands over directly
    assert m["buf_supply"].tolist() == [-1, -1, 0]  # the saturated source keeps m1.in supplied
    assert m["st_free_acc"].tolist() == [K.STARVED] * 3  # waiting for parts is starvation here
    assert c.counts["NS"] == 3 and c.counts["NB"] == 3 and c.counts["NAG"] == 4
    assert [s.key for s in c.streams] == [("process", "m1"), ("process", "m2"), ("process", "m3")]


def test_a_station_fed_by_arrivals_waits_idle() -> None:
    c = compile_network(model("""
sources: {a: {interarrival: {dist: exponential, mean: 2}, to: s}}
stations: {s: {process: 1, to: out}}
sinks: [out]
"""))
    assert c.model["st_free_acc"].tolist() == [K.IDLE]
    assert [s.key for s in c.streams] == [("process", "s"), ("arrivals", "a")]


def test_stream_generators_depend_only_on_seed_replication_and_key() -> None:
    a = stream_rng(3, 1, ("process", "m1")).random(4)
    assert np.array_equal(a, stream_rng(3, 1, ("process", "m1")).random(4))
    assert not np.array_equal(a, stream_rng(3, 2, ("process", "m1")).random(4))
    assert not np.array_equal(a, stream_rng(3, 1, ("process", "m2")).random(4))


def test_growing_the_pool_keeps_the_state_and_extends_the_free_stack() -> None:
    c = compile_network(line([1.0, 1.0], [3]))
    ia, fa, lay = new_state(c, block=64, pool=8, ap_cap=16, t_end=10.0, target=0)
    ia[K.FREE_N] = 5  # three parts taken: 7, 6, 5 popped from the top of the stack
    lay.i(ia, "part_prod")[:3] = [0, 0, 0]
    lay.f(fa, "part_birth")[:3] = [0.5, 1.5, 2.5]
    ia2, fa2, lay2 = grow_pool(ia, fa, lay, 16)
    assert ia2[K.POOL] == 16 and ia2[K.FREE_N] == 13
    assert lay2.f(fa2, "part_birth")[:3].tolist() == [0.5, 1.5, 2.5]
    assert (lay2.f(fa2, "part_birth")[8:] == -1.0).all() and (lay2.i(ia2, "part_next")[8:] == -1).all()
    stack = lay2.i(ia2, "free_stack")[:13].tolist()
    assert stack == [7, 6, 5, 4, 3, 15, 14, 13, 12, 11, 10, 9, 8]
    for name in K.I_FIELDS:
        if name not in ("part_prod", "part_next", "free_stack"):
            assert np.array_equal(lay2.i(ia2, name), lay.i(ia, name)), name
    assert ia2[K.PART_BIRTH] == lay2.offsets["part_birth"] and ia2[K.FREE_STACK] == lay2.offsets["free_stack"]

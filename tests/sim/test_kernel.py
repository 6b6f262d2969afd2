"""The kernel's field tables: one declaration per table, constants that agree with it."""

from __future__ import annotations

import numpy as np
import pytest

from twinverse.core.states import MachineState
from twinverse.sim import kernel as K
from twinverse.sim.compiled import compile_network, new_state
from twinverse.sim.states import STATE_NAMES, STATION_STATES

from .conftest import line, model

TABLES = {"I_SCALARS": K.I_SCALARS, "F_SCALARS": K.F_SCALARS, "I_FIELDS": K.I_FIELDS, "F_FIELDS": K.F_FIELDS}


@pytest.mark.parametrize("table", TABLES)
def test_names_are_unique_and_each_has_its_constant(table: str) -> None:
    names = TABLES[table]
    assert len(set(names)) == len(names), table
    for name in names:
        assert isinstance(getattr(K, name.upper()), int), name


def test_scalar_constants_are_their_positions() -> None:
    for table in (K.I_SCALARS, K.F_SCALARS):
        assert [getattr(K, n) for n in table] == list(range(len(table)))


def test_field_slots_follow_the_integer_scalars_contiguously() -> None:
    slots = [getattr(K, n.upper()) for n in K.I_FIELDS + K.F_FIELDS]
    assert slots == list(range(len(K.I_SCALARS), len(K.I_SCALARS) + len(K.I_FIELDS) + len(K.F_FIELDS)))
    assert K.HEADER == len(K.I_SCALARS) + len(K.I_FIELDS) + len(K.F_FIELDS) == slots[-1] + 1
    assert len(K.F_SCALARS) == K.FHEADER
    # no name is both an integer and a float field, nor a field and a scalar
    assert not set(K.I_FIELDS) & set(K.F_FIELDS)
    assert not {n.upper() for n in K.I_FIELDS + K.F_FIELDS} & set(K.I_SCALARS + K.F_SCALARS)


def test_the_pool_fields_come_last_in_both_arrays() -> None:
    """grow_pool copies everything before the pool and rebuilds the pool: it must be at the ends."""
    assert K.I_FIELDS[-3:] == ("part_prod", "part_next", "free_stack")
    assert K.F_FIELDS[-1] == "part_birth"


def test_accounting_states_map_to_the_core_vocabulary() -> None:
    assert K.NSTATES == len(K.ACC_STATES) == len(STATION_STATES) == 7
    assert set(STATION_STATES) == set(MachineState)
    for i, state in enumerate(STATION_STATES):
        assert getattr(K, state.name) == i and STATE_NAMES[i] == state.value
    assert STATION_STATES[K.RUNNING] is MachineState.RUNNING


ASSEMBLY = """
sources:
  a: {interarrival: {dist: exponential, mean: 2}, to: qa, mix: {x: 0.5, y: 0.5}}
  b: {saturated: true, to: qb}
products: [x, y]
calendars: {day: {period: 10, off: [[8, 10]]}}
buffers: {qa: {capacity: 4}, qb: {capacity: 2}, q2: {capacity: 3}}
stations:
  join: {inputs: {qa: 1, qb: 2}, process: 1, to: q2, calendar: day}
  m: {from: q2, process: {x: 1, y: 2}, servers: 2, scrap: 0.1, setup: {x: {y: 1}},
      failures: [{mtbf: 50, mttr: 2}], route: {probabilities: {out: 0.7, q2: 0.3}}}
sinks: [out]
"""


@pytest.mark.parametrize("net", [line([1.0, 1.0], [3]), model(ASSEMBLY)], ids=["line", "assembly"])
def test_every_field_compiled_fills_exists_in_its_array(net: object) -> None:
    c = compile_network(net)  # type: ignore[arg-type]
    assert set(c.model) <= set(K.I_FIELDS) | set(K.F_FIELDS)
    for name, arr in c.model.items():
        kind = np.int64 if name in K.I_FIELDS else np.float64
        assert arr.dtype == kind, name
    assert set(c.counts) <= set(K.I_SCALARS)
    ia, fa, lay = new_state(c, block=64, pool=32, ap_cap=16, t_end=10.0, target=0)
    # every field has a slot holding its offset, and the fields tile the arrays without gaps
    pos_i, pos_f = K.HEADER, K.FHEADER
    for name in K.I_FIELDS:
        assert ia[getattr(K, name.upper())] == lay.offsets[name] == pos_i, name
        pos_i += lay.sizes[name]
    for name in K.F_FIELDS:
        assert ia[getattr(K, name.upper())] == lay.offsets[name] == pos_f, name
        pos_f += lay.sizes[name]
    assert (pos_i, pos_f) == (len(ia), len(fa))
    for key, val in c.counts.items():
        assert ia[getattr(K, key)] == val, key
    for name, arr in c.model.items():
        got = lay.i(ia, name) if name in K.I_FIELDS else lay.f(fa, name)
        assert np.array_equal(got, arr), name

"""The ISA-18.2 lifecycle: every state of the diagram reached by the documented events."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from twinverse.errors import ConflictError
from twinverse.ops import AlarmCondition, AlarmState, Event

S = AlarmState


def run(*events: Event) -> list[AlarmState]:
    a = AlarmCondition()
    return [a.apply(e).state for e in events]


def test_the_four_annunciation_states() -> None:
    # raise → unack; clear before ack → returned-to-normal unack; ack → normal
    assert run(Event.RAISE, Event.CLEAR, Event.ACK) == [S.UNACKNOWLEDGED, S.RTN_UNACKNOWLEDGED, S.NORMAL]
    # raise → ack → acknowledged; clear → normal (no second ack)
    assert run(Event.RAISE, Event.ACK, Event.CLEAR) == [S.UNACKNOWLEDGED, S.ACKNOWLEDGED, S.NORMAL]
    # returned unacked, then raised again: unacknowledged again
    assert run(Event.RAISE, Event.CLEAR, Event.RAISE) == [S.UNACKNOWLEDGED, S.RTN_UNACKNOWLEDGED, S.UNACKNOWLEDGED]
    # an acked active alarm raised again (no clear between) stays acknowledged
    assert run(Event.RAISE, Event.ACK, Event.RAISE)[-1] is S.ACKNOWLEDGED


def test_shelving_hides_and_unshelving_reannunciates_an_active_condition() -> None:
    assert run(Event.RAISE, Event.SHELVE, Event.UNSHELVE) == [S.UNACKNOWLEDGED, S.SHELVED, S.UNACKNOWLEDGED]
    # cleared while shelved: back to normal, nothing to acknowledge
    assert run(Event.RAISE, Event.SHELVE, Event.CLEAR, Event.SHELVE_EXPIRED)[-1] is S.NORMAL
    # raised while shelved, still active at the end of the shelve: unacknowledged
    assert run(Event.SHELVE, Event.RAISE, Event.SHELVE_EXPIRED) == [S.SHELVED, S.SHELVED, S.UNACKNOWLEDGED]


def test_one_shot_shelve_ends_when_the_condition_clears() -> None:
    a = AlarmCondition().apply(Event.RAISE).apply(Event.SHELVE, one_shot=True)
    assert a.state is S.SHELVED
    assert a.apply(Event.CLEAR).state is S.NORMAL
    assert a.apply(Event.RAISE).state is S.UNACKNOWLEDGED  # the next occurrence is annunciated


def test_suppressed_by_design_and_out_of_service() -> None:
    assert run(Event.SUPPRESS, Event.RAISE, Event.UNSUPPRESS) == [S.SUPPRESSED, S.SUPPRESSED, S.UNACKNOWLEDGED]
    assert run(Event.RAISE, Event.SUPPRESS, Event.CLEAR, Event.UNSUPPRESS)[-1] is S.NORMAL
    assert run(Event.RAISE, Event.OUT_OF_SERVICE, Event.IN_SERVICE) == [
        S.UNACKNOWLEDGED, S.OUT_OF_SERVICE, S.UNACKNOWLEDGED]  # fmt: skip
    # out of service wins over shelved and suppressed; taking it out ends a shelve
    assert run(Event.SHELVE, Event.SUPPRESS, Event.OUT_OF_SERVICE)[-1] is S.OUT_OF_SERVICE
    assert run(Event.SHELVE, Event.OUT_OF_SERVICE, Event.IN_SERVICE)[-1] is S.NORMAL
    # shelved wins over suppressed; unshelved while suppressed: suppressed
    assert run(Event.SUPPRESS, Event.SHELVE, Event.UNSHELVE) == [S.SUPPRESSED, S.SHELVED, S.SUPPRESSED]


@pytest.mark.parametrize(
    ("events", "bad"),
    [
        ((), Event.ACK),
        ((Event.RAISE, Event.ACK), Event.ACK),
        ((), Event.UNSHELVE),
        ((Event.OUT_OF_SERVICE,), Event.SHELVE),
        ((Event.OUT_OF_SERVICE,), Event.OUT_OF_SERVICE),
        ((), Event.IN_SERVICE),
    ],
)
def test_actions_that_make_no_sense_are_conflicts_and_change_nothing(events: tuple[Event, ...], bad: Event) -> None:
    a = AlarmCondition()
    for e in events:
        a.apply(e)
    before = (a.state, a.active, a.acked)
    with pytest.raises(ConflictError):
        a.apply(bad)
    assert (a.state, a.active, a.acked) == before


_ANY = st.sampled_from([Event.RAISE, Event.CLEAR, Event.ACK, Event.SHELVE, Event.UNSHELVE, Event.SUPPRESS,
                        Event.UNSUPPRESS, Event.OUT_OF_SERVICE, Event.IN_SERVICE])  # fmt: skip


@given(st.lists(_ANY, max_size=40))
def test_invariants(events: list[Event]) -> None:
    """Hidden states never wait for an ack; the annunciation state always matches the condition."""
    a = AlarmCondition()
    for e in events:
        with contextlib.suppress(ConflictError):
            a.apply(e)
        if a.hidden:
            assert a.acked
        elif a.active:
            assert a.state in (S.UNACKNOWLEDGED, S.ACKNOWLEDGED)
        else:
            assert a.state in (S.NORMAL, S.RTN_UNACKNOWLEDGED)

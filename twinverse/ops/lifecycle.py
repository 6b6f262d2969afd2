"""The ISA-18.2 / IEC 62682 alarm lifecycle as a small state machine.

An alarm's state follows from five facts: is its condition ``active``, has the operator
``acked`` its last annunciation, is it ``shelved`` (by an operator, for a limited time),
``suppressed`` by design (the model says so, e.g. while the line is ``off``) or ``out of
service`` (taken out by maintenance). Precedence, highest first: out of service, shelved,
suppressed by design; otherwise the four annunciation states of ISA-18.2's diagram:

==================  ==========  ======  ===============================================
state               condition   acked   reached by
==================  ==========  ======  ===============================================
normal              inactive    yes     acknowledging a returned alarm, or clearing an acked one
unacknowledged      active      no      the condition becoming active
acknowledged        active      yes     acknowledging an active alarm
rtn_unacknowledged  inactive    no      the condition clearing before anyone acknowledged
==================  ==========  ======  ===============================================

A shelved, suppressed or out-of-service alarm is not annunciated: its condition is still
tracked, but it needs no acknowledgement; when it comes back into service, an alarm whose
condition is active is annunciated afresh (unacknowledged), one whose condition is inactive
returns to normal.

>>> a = AlarmCondition()
>>> [a.apply(e).state.value for e in (Event.RAISE, Event.ACK, Event.CLEAR)]
['unacknowledged', 'acknowledged', 'normal']
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ..errors import ConflictError

__all__ = ["HIDDEN", "AlarmCondition", "AlarmState", "Event"]


class AlarmState(StrEnum):
    """The states of ISA-18.2's alarm state diagram."""

    NORMAL = "normal"
    UNACKNOWLEDGED = "unacknowledged"
    ACKNOWLEDGED = "acknowledged"
    RTN_UNACKNOWLEDGED = "rtn_unacknowledged"
    SHELVED = "shelved"
    SUPPRESSED = "suppressed"
    OUT_OF_SERVICE = "out_of_service"


#: States that are not annunciated (no acknowledgement needed, not in the operator's list).
HIDDEN = frozenset({AlarmState.SHELVED, AlarmState.SUPPRESSED, AlarmState.OUT_OF_SERVICE})


class Event(StrEnum):
    """What can happen to an alarm: condition changes, design suppression, operator actions."""

    RAISE = "raise"
    CLEAR = "clear"
    ACK = "ack"
    SHELVE = "shelve"
    UNSHELVE = "unshelve"
    SHELVE_EXPIRED = "shelve_expired"
    SUPPRESS = "suppress"
    UNSUPPRESS = "unsuppress"
    OUT_OF_SERVICE = "out_of_service"
    IN_SERVICE = "in_service"
    COMMENT = "comment"


@dataclass
class AlarmCondition:
    """The five facts of one alarm; :meth:`apply` moves it through the lifecycle.

    Operator actions that make no sense in the current state (acknowledging an alarm that
    needs none, unshelving one that is not shelved) raise :class:`ConflictError` (HTTP 409)
    and change nothing; condition and suppression events always apply.
    """

    active: bool = False
    acked: bool = True
    shelved: bool = False
    one_shot: bool = False  # shelved until the condition next clears
    suppressed: bool = False
    out_of_service: bool = False

    @property
    def state(self) -> AlarmState:
        if self.out_of_service:
            return AlarmState.OUT_OF_SERVICE
        if self.shelved:
            return AlarmState.SHELVED
        if self.suppressed:
            return AlarmState.SUPPRESSED
        if self.active:
            return AlarmState.ACKNOWLEDGED if self.acked else AlarmState.UNACKNOWLEDGED
        return AlarmState.NORMAL if self.acked else AlarmState.RTN_UNACKNOWLEDGED

    @property
    def hidden(self) -> bool:
        return self.out_of_service or self.shelved or self.suppressed

    def apply(self, event: Event, *, one_shot: bool = False) -> AlarmCondition:
        """Apply ``event`` in place and return self (for chaining in tests)."""
        was_hidden = self.hidden
        if event is Event.RAISE:
            if not self.active and not was_hidden:
                self.acked = False
            self.active = True
        elif event is Event.CLEAR:
            self.active = False
            if self.shelved and self.one_shot:
                self.shelved = self.one_shot = False
        elif event is Event.ACK:
            if self.state not in (AlarmState.UNACKNOWLEDGED, AlarmState.RTN_UNACKNOWLEDGED):
                raise ConflictError(f"an alarm in state {self.state.value!r} needs no acknowledgement")
            self.acked = True
        elif event is Event.SHELVE:
            if self.out_of_service:
                raise ConflictError("an alarm out of service cannot be shelved")
            self.shelved, self.one_shot = True, one_shot
        elif event in (Event.UNSHELVE, Event.SHELVE_EXPIRED):
            if not self.shelved:
                raise ConflictError(f"the alarm is not shelved (state {self.state.value!r})")
            self.shelved = self.one_shot = False
        elif event is Event.SUPPRESS:
            self.suppressed = True
        elif event is Event.UNSUPPRESS:
            self.suppressed = False
        elif event is Event.OUT_OF_SERVICE:
            if self.out_of_service:
                raise ConflictError("the alarm is already out of service")
            self.out_of_service = True
            self.shelved = self.one_shot = False
        elif event is Event.IN_SERVICE:
            if not self.out_of_service:
                raise ConflictError("the alarm is in service")
            self.out_of_service = False
        if self.hidden:
            self.acked = True
        elif was_hidden:
            self.acked = not self.active  # back in the operator's view: annunciate an active condition
        return self

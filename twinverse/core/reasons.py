"""Why an observation was rejected: one enumeration, stored as ``uint8`` codes in NumPy masks."""

from __future__ import annotations

from enum import IntEnum

__all__ = ["RejectReason"]


class RejectReason(IntEnum):
    """Reason codes computed per row by the engine (0 means accepted).

    The engine works on whole columns: it fills a ``uint8`` array with these codes and
    only turns the rejected rows into text (:attr:`text`).

    >>> RejectReason.OUT_OF_RANGE.text
    'value out of range'
    """

    OK = 0
    UNKNOWN_SIGNAL = 1
    MISSING_VALUE = 2
    NAN = 3
    INFINITE = 4
    MISSING_TIMESTAMP = 5
    TOO_OLD = 6
    TOO_NEW = 7
    OUT_OF_RANGE = 8
    NOT_INTEGER = 9
    NOT_A_STATE = 10
    NOT_BOOLEAN = 11
    UNIT_MISMATCH = 12

    @property
    def text(self) -> str:
        """The human-readable reason stored in quarantine."""
        return _TEXT[self]


_TEXT = {
    RejectReason.OK: "",
    RejectReason.UNKNOWN_SIGNAL: "unknown signal id",
    RejectReason.MISSING_VALUE: "missing value",
    RejectReason.NAN: "value is not a number (NaN)",
    RejectReason.INFINITE: "value is infinite",
    RejectReason.MISSING_TIMESTAMP: "missing timestamp",
    RejectReason.TOO_OLD: "timestamp before 2000-01-01",
    RejectReason.TOO_NEW: "timestamp too far in the future",
    RejectReason.OUT_OF_RANGE: "value out of range",
    RejectReason.NOT_INTEGER: "value is not an integer",
    RejectReason.NOT_A_STATE: "state code not in the enumeration",
    RejectReason.NOT_BOOLEAN: "value is not a boolean (0 or 1)",
    RejectReason.UNIT_MISMATCH: "unit cannot be converted",
}

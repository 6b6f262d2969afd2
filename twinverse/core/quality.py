"""Quality of an observation: the coarse OPC UA classes every source maps onto."""

from __future__ import annotations

from enum import IntEnum

__all__ = ["Quality"]


class Quality(IntEnum):
    """Quality of an observation (coarse OPC UA StatusCode classes), stored as ``uint8``.

    >>> Quality(2).name
    'BAD'
    """

    GOOD = 0
    UNCERTAIN = 1
    BAD = 2

"""The Python client of a twinverse server: ``Client`` (sync) and ``AsyncClient``.

It talks HTTP (and the ``/ws`` websocket for live deltas) and imports nothing of the
server side: only the one exception tree (:mod:`twinverse.errors`), so errors are the
same classes in-process and over the wire. See docs/client.md.
"""

from __future__ import annotations

from ._async import AsyncClient
from ._calls import ARROW_STREAM, RETRY_STATUSES
from ._results import Result
from ._sync import Client

__all__ = ["ARROW_STREAM", "RETRY_STATUSES", "AsyncClient", "Client", "Result"]

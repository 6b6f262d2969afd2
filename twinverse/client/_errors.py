"""Map the server's problem+json answers to twinverse's one exception tree.

The client raises the same classes the server raised (``NotFoundError`` for a 404,
``QueryError`` for a refused query with its ``reason`` and position, ``TooManyRequests``
with ``retry_after``), so code that catches them works the same in-process and over HTTP.
"""

from __future__ import annotations

from typing import Any

from ..errors import (
    AuthenticationError,
    ConflictError,
    ConnectorError,
    InputError,
    Location,
    NotFoundError,
    NotReadyError,
    PayloadTooLarge,
    PermissionDenied,
    Problem,
    QueryError,
    StoreError,
    TooManyRequests,
    TwinverseError,
)

__all__ = ["error_from_response"]

_BY_STATUS: dict[int, type[TwinverseError]] = {
    403: PermissionDenied,
    404: NotFoundError,
    409: ConflictError,
    413: PayloadTooLarge,
    422: InputError,
    502: ConnectorError,
    503: StoreError,
}


def error_from_response(status: int, body: Any, headers: Any) -> TwinverseError:
    """The exception for an error answer: its class by status (and body), message and details from the body."""
    doc = body if isinstance(body, dict) else {}
    detail = str(doc.get("detail") or doc.get("title") or f"HTTP {status}")
    problems = [
        Problem(str(e.get("message", "")), Location(e.get("file"), e.get("line"), e.get("path")))
        for e in doc.get("errors") or ()
        if isinstance(e, dict)
    ]
    if status == 401:
        return AuthenticationError(detail)
    if status == 429:
        try:
            retry = int(headers.get("retry-after", "1"))
        except ValueError:
            retry = 1
        return TooManyRequests(detail, retry_after=retry)
    if status == 422 and "reason" in doc:
        pos = doc.get("position") or {}
        message = problems[0].message if problems else detail
        return QueryError(message, reason=str(doc["reason"]), line=pos.get("line"), column=pos.get("column"))
    if status == 503 and doc.get("title") == "Not ready":
        return NotReadyError(detail, details=problems)
    cls = _BY_STATUS.get(status, TwinverseError)
    return cls(detail, details=problems)

"""Request bodies: one size limit for every route, whatever reads the body.

:class:`BodyLimit` is an ASGI middleware rather than a per-route helper so that no route
can forget it: FastAPI's own JSON parsing (``/api/sim/runs``, ``/api/tokens`` …), the raw
readers of ``/api/ingest`` and the streamed asset upload all read through it.

- A declared ``Content-Length`` above the limit is refused with 413 before one byte is read.
- A body without a length (chunked) or one that lies about it is counted while it streams;
  the read that passes the limit raises :class:`PayloadTooLarge` (413) inside the route.
- A ``Content-Length`` that is not a non-negative integer is a 400.

Routes that want the bytes call :func:`read_body`; routes that stream (asset uploads) iterate
``request.stream()`` and are limited all the same.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import InputError, PayloadTooLarge

__all__ = ["BodyLimit", "read_body"]

_PROBLEM = b"application/problem+json"


class BodyLimit:
    """Refuse request bodies above ``limit`` bytes (413 problem+json)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and (declared < 0 or declared > self.limit):
            if declared < 0:
                await _refuse(send, 400, "Invalid input", "Content-Length must be a non-negative integer")
            else:
                await _refuse(
                    send, 413, "Payload too large", f"body of {declared} bytes exceeds the limit of {self.limit} bytes"
                )
            return
        seen = 0
        limit = self.limit
        over = False  # the body passed the limit: whatever the app answers becomes a 413
        started = False

        async def counted() -> Message:
            nonlocal seen, over
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit and not started:
                    over = True
                    raise PayloadTooLarge(f"body exceeds the limit of {limit} bytes")
            return message

        async def guarded(message: Message) -> None:
            nonlocal started
            if over:
                return  # FastAPI may turn the error into its own 400 "error parsing the body"
            started = True
            await send(message)

        try:
            await self.app(scope, counted, guarded)
        except PayloadTooLarge:
            if not over:
                raise
        if over:
            await _refuse(send, 413, "Payload too large", f"body exceeds the limit of {limit} bytes")


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return -1
    return None


async def _refuse(send: Send, status: int, title: str, detail: str) -> None:
    body = orjson.dumps({"type": "about:blank", "title": title, "status": status, "detail": detail})
    headers: list[tuple[bytes, bytes]] = [(b"content-type", _PROBLEM), (b"content-length", str(len(body)).encode())]
    if status == 413:
        headers.append((b"connection", b"close"))  # the unread body is not worth draining
    start: dict[str, Any] = {"type": "http.response.start", "status": status, "headers": headers}
    await send(start)
    await send({"type": "http.response.body", "body": body})


async def read_body(request: Request) -> bytes:
    """The whole request body (already limited by :class:`BodyLimit`)."""
    try:
        return await request.body()
    except PayloadTooLarge:
        raise
    except Exception as exc:  # a client that disconnects mid-body
        raise InputError(f"could not read the request body: {exc}") from exc

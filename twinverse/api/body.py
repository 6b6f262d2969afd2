"""Request bodies: one reader, with the configured size limit, for every POST and PUT route.

A limit that one route checks and another forgets is no limit, so no route reads its body
itself and none lets FastAPI parse it unbounded: raw bodies arrive through
:func:`request_body` (``body: RawBody``), JSON documents through :class:`JsonBody`
(``body: Annotated[TokenIn, Depends(JsonBody(TokenIn))]``), which is built on it.

Two checks, because a client may or may not say how much it sends: a declared
``Content-Length`` above ``settings.max_body_bytes`` is refused with 413 before a byte is
read; a body without one (chunked) is counted while it streams in and refused as soon as
it passes the limit. The bytes are kept on ``request.state`` so that later readers (the
audit log hashing the body) see the same bytes without reading the stream twice.

A route answering 413 documents it with ``problem_responses(413)``; :func:`body_models`
tells the OpenAPI document which JSON schema a route's body follows.
"""

from __future__ import annotations

import email.message
from collections.abc import Iterator
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError
from starlette.requests import HTTPConnection

from ..config import Settings
from ..errors import InputError, PayloadTooLarge

__all__ = ["DEFAULT_LIMIT", "JsonBody", "RawBody", "body_limit", "body_models", "read_body", "request_body"]

#: The limit when the app's platform carries no settings (stand-in platforms in tests).
DEFAULT_LIMIT: int = Settings.model_fields["max_body_bytes"].default

M = TypeVar("M", bound=BaseModel)


def body_limit(conn: HTTPConnection) -> int:
    """The largest body this app accepts: ``platform.settings.max_body_bytes``."""
    settings = getattr(getattr(conn.app.state, "platform", None), "settings", None)
    limit = getattr(settings, "max_body_bytes", None)
    return limit if isinstance(limit, int) else DEFAULT_LIMIT


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refusing (413) anything above ``limit`` bytes, declared or streamed."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise InputError(f"invalid Content-Length {declared!r}") from None
        if size > limit:
            raise PayloadTooLarge(f"body of {size} bytes exceeds the limit of {limit} bytes")
    chunks: list[bytes] = []
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise PayloadTooLarge(f"body exceeds the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def request_body(request: Request) -> bytes:
    """The FastAPI dependency: the body within the app's limit, read once per request."""
    cached = getattr(request.state, "body", None)
    if isinstance(cached, bytes):
        return cached
    body = await read_body(request, body_limit(request))
    request.state.body = body
    return body


#: A route parameter holding the raw body: ``async def ingest(body: RawBody) -> …``.
RawBody = Annotated[bytes, Depends(request_body)]


class JsonBody(Generic[M]):
    """A dependency giving a route its JSON body validated as ``model`` (422 like FastAPI's own).

    >>> from pydantic import BaseModel
    >>> class RoleIn(BaseModel):
    ...     role: str | None = None
    >>> JsonBody(RoleIn).model.__name__
    'RoleIn'
    """

    def __init__(self, model: type[M]) -> None:
        self.model = model

    async def __call__(self, request: Request, raw: RawBody) -> M:
        content_type = request.headers.get("content-type")
        if content_type:
            message = email.message.Message()
            message["content-type"] = content_type
            subtype = message.get_content_subtype()
            if message.get_content_maintype() != "application" or not (subtype == "json" or subtype.endswith("+json")):
                raise _invalid([{"type": "model_attributes_type", "loc": (), "msg": "send application/json",
                                 "input": None}])  # fmt: skip
        if not raw:
            raise _invalid([{"type": "missing", "loc": (), "msg": "Field required", "input": None}])
        try:
            return self.model.model_validate_json(raw)
        except ValidationError as exc:
            raise _invalid(exc.errors(include_url=False)) from None


def _invalid(errors: Any) -> RequestValidationError:
    """The error FastAPI raises for a bad body: locations start at ``body``."""
    return RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in errors])


def body_models(route: APIRoute) -> Iterator[type[BaseModel]]:
    """The models of the :class:`JsonBody` dependencies of ``route`` (for its OpenAPI request body)."""
    stack = list(route.dependant.dependencies)
    while stack:
        dep = stack.pop()
        if isinstance(dep.call, JsonBody):
            yield dep.call.model
        stack.extend(dep.dependencies)

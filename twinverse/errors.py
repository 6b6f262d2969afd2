"""One exception tree for twinverse.

Every error that twinverse raises on purpose derives from :class:`TwinverseError`.
Each class carries the HTTP status the API answers with and enough context
(file:line, field path, twin id) for a one-line message::

    TwinverseError                    500  root; never raised directly
    ├── ConfigError                   500  bad settings / twinverse.toml, unknown store URL, broken plugin
    ├── ModelError                    422  plant model invalid (plant YAML, simulation section)
    │   ├── ModelLoadError            422  several located problems in one file
    │   └── DeadlockError             422  a simulated line deadlocks (names the cycle)
    ├── NotFoundError                 404  unknown twin, signal, type, asset, token, log entry
    ├── InputError                    422  a request body, query, payload or file is malformed
    │   ├── PayloadTooLarge           413  body above max_body_bytes
    │   ├── QueryError                422  SQL refused or failed: ``reason`` names why, with line and column
    │   ├── RunConfigError            422  simulation run options are invalid
    │   │   └── EventLimitError       422  a simulation run passed its event budget
    │   └── ProofError                422  a Merkle proof, signature or checkpoint does not verify
    ├── AuthenticationError           401  no, malformed, unknown, expired or revoked credentials
    ├── PermissionDenied              403  authenticated, but not allowed (role, tenant, classification)
    ├── ConflictError                 409  the object exists already / contradicts the state
    ├── TooManyRequests               429  a queue is full; try again after ``retry_after`` seconds
    ├── IntegrityError                500  stored data no longer matches its hash (tampering, rot)
    ├── StoreError                    503  the store failed (disk, database)
    ├── NotReadyError                 503  the platform cannot serve yet (store, sources, start-up)
    └── ConnectorError                502  a source cannot reach its far side (MQTT broker)
        └── CommandRefused            502  a device refused (or did not confirm) a write

The API turns them into ``application/problem+json`` responses; the CLI turns them
into a one-line message and exit code 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

__all__ = [
    "AuthenticationError",
    "CommandRefused",
    "ConfigError",
    "ConflictError",
    "ConnectorError",
    "DeadlockError",
    "EventLimitError",
    "InputError",
    "IntegrityError",
    "Location",
    "ModelError",
    "ModelLoadError",
    "NotFoundError",
    "NotReadyError",
    "PayloadTooLarge",
    "PermissionDenied",
    "Problem",
    "ProofError",
    "QueryError",
    "RunConfigError",
    "StoreError",
    "TooManyRequests",
    "TwinverseError",
]


@dataclass(frozen=True)
class Location:
    """Where a problem is: a file and line, and a field path inside the document."""

    file: str | None = None
    line: int | None = None
    path: str | None = None

    def __str__(self) -> str:
        parts: list[str] = []
        if self.file is not None:
            parts.append(f"{self.file}:{self.line}" if self.line is not None else self.file)
        elif self.line is not None:
            parts.append(f"line {self.line}")
        if self.path:
            parts.append(self.path)
        return ": ".join(parts)


@dataclass(frozen=True)
class Problem:
    """One located problem: ``file:line: field.path: message``."""

    message: str
    location: Location = field(default_factory=Location)

    def __str__(self) -> str:
        where = str(self.location)
        return f"{where}: {self.message}" if where else self.message

    def to_dict(self) -> dict[str, Any]:
        return {
            "message": self.message,
            "file": self.location.file,
            "line": self.location.line,
            "path": self.location.path,
        }


class TwinverseError(Exception):
    """Root of every error twinverse raises on purpose."""

    status: ClassVar[int] = 500
    title: ClassVar[str] = "Internal error"

    def __init__(self, message: str, *, details: Sequence[Problem] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.details = list(details)

    def to_problem(self) -> dict[str, Any]:
        """The body of an RFC 9457 problem+json response."""
        body: dict[str, Any] = {
            "type": "about:blank",
            "title": self.title,
            "status": self.status,
            "detail": self.message,
        }
        if self.details:
            body["errors"] = [p.to_dict() for p in self.details]
        return body


class ConfigError(TwinverseError):
    """Settings or ``twinverse.toml`` are invalid."""

    title = "Configuration error"


class ModelError(TwinverseError):
    """The plant model is invalid."""

    status = 422
    title = "Invalid plant model"


class ModelLoadError(ModelError):
    """A model file has one or more located problems; ``details`` lists them all."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        first = str(problems[0]) if problems else "invalid model"
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(first + more, details=problems)

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.details) or self.message


class NotFoundError(TwinverseError):
    """A named object (twin, signal, asset) does not exist."""

    status = 404
    title = "Not found"


class InputError(TwinverseError):
    """A request body, query or payload is malformed."""

    status = 422
    title = "Invalid input"


class PayloadTooLarge(InputError):
    """A body is larger than the configured limit."""

    status = 413
    title = "Payload too large"


class StoreError(TwinverseError):
    """The store could not complete an operation."""

    status = 503
    title = "Store unavailable"


class NotReadyError(TwinverseError):
    """The platform is up but cannot serve: ``details`` names each part that is not ready."""

    status = 503
    title = "Not ready"


class ConnectorError(TwinverseError):
    """A connector could not reach or read its source."""

    status = 502
    title = "Connector error"


class CommandRefused(ConnectorError):
    """A device refused a write (a Bad StatusCode, a Modbus exception) or did not confirm it in time."""

    title = "Command refused"


class ProofError(InputError):
    """A Merkle proof, signature or checkpoint does not verify."""

    title = "Verification failed"


class AuthenticationError(TwinverseError):
    """The request carries no valid credentials.

    The message never says *why* a token failed (probing reveals nothing); the reason is
    kept in ``reason`` for the server log.
    """

    status = 401
    title = "Unauthorized"

    def __init__(self, message: str = "a valid bearer token is required", *, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason


class PermissionDenied(TwinverseError):
    """The caller is known but may not do this."""

    status = 403
    title = "Forbidden"


class ConflictError(TwinverseError):
    """The request contradicts the current state (duplicate name, already revoked)."""

    status = 409
    title = "Conflict"


class TooManyRequests(TwinverseError):
    """A bounded queue is full; the API answers 429 with ``Retry-After: retry_after``."""

    status = 429
    title = "Too many requests"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class IntegrityError(TwinverseError):
    """Stored bytes no longer match the hash recorded for them."""

    status = 500
    title = "Integrity check failed"


class DeadlockError(ModelError):
    """The model deadlocked: every element of ``cycle`` waits for the next one, forever."""

    title = "Simulation deadlock"

    def __init__(self, time: float, cycle: Sequence[str]) -> None:
        self.time = time
        self.cycle = tuple(cycle)
        loop = " → ".join((*self.cycle, self.cycle[0])) if self.cycle else "?"
        super().__init__(
            f"deadlock at t={time:.6g}: {loop} (each buffer in the cycle is full and each station "
            "holds a part it cannot pass on); add capacity to the loop or limit the parts in it"
        )


class RunConfigError(InputError):
    """Simulation run options are invalid (e.g. neither a stop time nor a part count)."""


class EventLimitError(RunConfigError):
    """A simulation run processed more than ``limit`` events and was stopped (``events`` so far)."""

    def __init__(self, limit: int, events: int) -> None:
        self.limit = limit
        self.events = events
        super().__init__(
            f"the run was stopped after {events} events, above its limit of {limit} events; "
            "shorten the horizon (until), or ask for fewer parts or replications"
        )


class QueryError(InputError):
    """A SQL query was refused before it ran, or stopped while it ran.

    ``reason`` names why, in words a client can switch on: ``syntax``, ``statement``
    (not one SELECT), ``table`` (not a virtual table), ``function`` (off the allow-list),
    ``too_long``, ``timeout``, ``too_many_rows``, ``failed`` (the database refused it);
    ``line`` and ``column`` (1-based) point at the offending text when known.
    """

    title = "Invalid query"

    def __init__(
        self, message: str, *, reason: str, line: int | None = None, column: int | None = None
    ) -> None:
        where = f"line {line}, column {column}: " if line is not None and column is not None else ""
        super().__init__(where + message, details=[Problem(message, Location("sql", line, reason))])
        self.reason = reason
        self.line = line
        self.column = column

    def to_problem(self) -> dict[str, Any]:
        body = super().to_problem()
        body["reason"] = self.reason
        if self.line is not None:
            body["position"] = {"line": self.line, "column": self.column}
        return body

"""Errors of the trust layer, inside the one twinverse exception tree::

    TwinverseError
    ├── InputError (422)
    │   └── ProofError            422  a Merkle proof or checkpoint does not verify
    ├── AuthenticationError       401  no, malformed, unknown, expired or revoked credentials
    ├── PermissionDenied          403  authenticated, but not allowed (role, tenant, classification)
    ├── ConflictError             409  the object exists already / the request contradicts the state
    └── IntegrityError            500  stored data no longer matches its hash (tampering, disk rot)

Messages of :class:`AuthenticationError` never say *why* a token failed to the client (the
reason goes to the server log instead), so probing reveals nothing.
"""

from __future__ import annotations

from ..errors import InputError, TwinverseError

__all__ = ["AuthenticationError", "ConflictError", "IntegrityError", "PermissionDenied", "ProofError"]


class ProofError(InputError):
    """A Merkle proof, signature or checkpoint does not verify."""

    title = "Verification failed"


class AuthenticationError(TwinverseError):
    """The request carries no valid credentials."""

    status = 401
    title = "Unauthorized"

    def __init__(self, message: str = "a valid bearer token is required", *, reason: str = "") -> None:
        super().__init__(message)
        # Kept for the server log only; never sent to the client.
        self.reason = reason


class PermissionDenied(TwinverseError):
    """The caller is known but may not do this."""

    status = 403
    title = "Forbidden"


class ConflictError(TwinverseError):
    """The request contradicts the current state (duplicate name, already revoked)."""

    status = 409
    title = "Conflict"


class IntegrityError(TwinverseError):
    """Stored bytes no longer match the hash recorded for them."""

    status = 500
    title = "Integrity check failed"

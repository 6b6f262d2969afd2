"""Errors of the trust layer; they live in the one tree of :mod:`twinverse.errors`."""

from __future__ import annotations

from ..errors import AuthenticationError, ConflictError, IntegrityError, PermissionDenied, ProofError

__all__ = ["AuthenticationError", "ConflictError", "IntegrityError", "PermissionDenied", "ProofError"]

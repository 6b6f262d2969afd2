"""Interoperability with the industry's standards: the Asset Administration Shell (``interop.aas``)."""

from __future__ import annotations

__all__: list[str] = []

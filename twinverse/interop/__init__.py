"""Interoperability with the industry's standards: the plant in the languages of other platforms.

``twinverse.interop.aas`` exports, imports and serves the Asset Administration Shell;
``twinverse.interop.dtdl`` reads and writes DTDL v2/v3 (Azure Digital Twins and the
Digital Twins Consortium's language), with a validator that names problems as the
reference parser does.
"""

from __future__ import annotations

__all__: list[str] = []

"""SPDX licence expressions: validated and normalised with ``license-expression``.

>>> normalize_license("mit or apache-2.0")
'MIT OR Apache-2.0'
>>> normalize_license("LicenseRef-acme-internal")
'LicenseRef-acme-internal'
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from ..errors import InputError

__all__ = ["normalize_license"]

_REF = re.compile(r"^(DocumentRef-[A-Za-z0-9.-]+:)?LicenseRef-[A-Za-z0-9.-]+$")


@lru_cache(maxsize=1)
def _licensing() -> Any:
    from license_expression import get_spdx_licensing  # type: ignore[import-untyped]

    return get_spdx_licensing()


def normalize_license(expression: str, field: str = "license") -> str:
    """The normalised form of an SPDX licence expression; :class:`InputError` names what is wrong.

    Identifiers from the SPDX licence list and ``LicenseRef-…`` references (for proprietary
    or custom terms) are accepted, joined with ``AND``, ``OR``, ``WITH`` and parentheses.
    """
    expr = expression.strip()
    if not expr:
        raise InputError(f"{field}: an SPDX licence expression is required (e.g. 'CC-BY-4.0' or 'LicenseRef-acme')")
    lic = _licensing()
    try:
        info = lic.validate(expr)
    except Exception as exc:  # the library trips over some malformed input with AttributeError
        raise InputError(f"{field}: {expr!r} is not a valid SPDX licence expression") from exc
    if not info.errors:
        return str(info.normalized_expression)
    syntax = [e for e in info.errors if not e.startswith("Unknown license key")]
    if syntax:
        raise InputError(f"{field}: {expr!r} is not a valid SPDX licence expression: {'; '.join(syntax)}")
    unknown = [s for s in info.invalid_symbols if s]
    if unknown and all(_REF.match(s) for s in unknown) and len(unknown) == len(info.invalid_symbols):
        try:
            return str(lic.parse(expr, simple=False))
        except Exception as exc:
            raise InputError(f"{field}: {expr!r} is not a valid SPDX licence expression") from exc
    bad = [s for s in unknown if not _REF.match(s)]
    if bad:
        hint = " (NOASSERTION/NONE are not licences; use 'LicenseRef-<name>' for custom terms)"
        raise InputError(f"{field}: unknown SPDX licence identifier(s) {', '.join(map(repr, bad))} in {expr!r}{hint}")
    raise InputError(f"{field}: {expr!r} is not a valid SPDX licence expression: {'; '.join(info.errors)}")

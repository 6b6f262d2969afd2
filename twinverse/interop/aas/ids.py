"""Identifiers, idShorts and semantic ids of the AAS environment twinverse writes.

Every identifier twinverse generates starts with the plant's *base* (``urn:twinverse:<plant>``
unless the plant YAML's ``aas.base`` says otherwise), so that an import can tell what it
generated (and regenerates from the model) from what another tool wrote (and is kept).
"""

from __future__ import annotations

import base64
import binascii
import re

from ...errors import InputError

__all__ = [
    "PLANT_EXTENSION",
    "SEM_ARCHE_TYPE",
    "SEM_ENTITY_ENTRY",
    "SEM_ENTITY_NODE",
    "SEM_HAS_PART",
    "SEM_HIERARCHY",
    "SEM_NAMEPLATE",
    "SEM_OPERATIONAL",
    "SEM_RELATIONSHIPS",
    "SEM_TECHNICAL",
    "SEM_TIME_SERIES",
    "SIGNAL_QUALIFIER",
    "TWIN_EXTENSION",
    "Ids",
    "b64decode_id",
    "b64encode_id",
    "id_short",
]

#: IDTA 02006-2-0 Digital Nameplate.
SEM_NAMEPLATE = "https://admin-shell.io/idta/nameplate/2/0/Nameplate"
#: IDTA 02003-1-2 Technical Data.
SEM_TECHNICAL = "https://admin-shell.io/ZVEI/TechnicalData/Submodel/1/2"
#: IDTA 02008-1-1 Time Series Data.
SEM_TIME_SERIES = "https://admin-shell.io/idta/TimeSeries/1/1"
#: IDTA 02011-1-0 Hierarchical Structures enabling Bills of Material.
SEM_HIERARCHY = "https://admin-shell.io/idta/HierarchicalStructures/1/0/Submodel"
SEM_ARCHE_TYPE = "https://admin-shell.io/idta/HierarchicalStructures/ArcheType/1/0"
SEM_ENTITY_ENTRY = "https://admin-shell.io/idta/HierarchicalStructures/EntryNode/1/0"
SEM_ENTITY_NODE = "https://admin-shell.io/idta/HierarchicalStructures/Node/1/0"
SEM_HAS_PART = "https://admin-shell.io/idta/HierarchicalStructures/HasPart/1/0"
#: twinverse's own: the live signals of a twin, and its named edges other than ``contains``.
SEM_OPERATIONAL = "urn:twinverse:semantic:OperationalData:1:0"
SEM_RELATIONSHIPS = "urn:twinverse:semantic:Relationships:1:0"

#: Qualifier type on a Property that is bound to a signal (value: the signal's name).
SIGNAL_QUALIFIER = "twinverse:signal"
#: Shell extension holding the twin id; the root shell's holds the plant document (JSON).
TWIN_EXTENSION = "twinverse:twin"
PLANT_EXTENSION = "twinverse:plant"

_NOT_ID_SHORT = re.compile(r"[^A-Za-z0-9_]")


def id_short(text: str) -> str:
    """An AAS idShort made from ``text``: letters, digits and ``_``, starting with a letter.

    >>> id_short("bottling/line1/c-2")
    'bottling_line1_c_2'
    >>> id_short("3d")
    'T_3d'
    """
    out = _NOT_ID_SHORT.sub("_", text) or "T"
    return out if out[0].isalpha() else "T_" + out


def b64encode_id(identifier: str) -> str:
    """An identifier as it appears in AAS API paths: base64url without padding.

    >>> b64encode_id("urn:x")
    'dXJuOng'
    """
    return base64.urlsafe_b64encode(identifier.encode()).decode().rstrip("=")


def b64decode_id(text: str) -> str:
    """The identifier encoded in an API path segment; :class:`InputError` if it is not base64url.

    >>> b64decode_id("dXJuOng")
    'urn:x'
    """
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        if b64encode_id(raw.decode()) != text.rstrip("="):
            raise ValueError("not canonical")
        return raw.decode()
    except (binascii.Error, ValueError) as exc:  # UnicodeDecodeError is a ValueError
        raise InputError(f"{text!r} is not a base64url-encoded identifier") from exc


class Ids:
    """The identifiers of one plant's environment, all below ``base``."""

    def __init__(self, base: str) -> None:
        self.base = base

    def shell(self, twin: str) -> str:
        return f"{self.base}:aas:{twin}"

    def asset(self, twin: str) -> str:
        return f"{self.base}:asset:{twin}"

    def submodel(self, kind: str, twin: str) -> str:
        return f"{self.base}:sm:{kind}:{twin}"

    def concept(self, *parts: str) -> str:
        return f"{self.base}:cd:" + ":".join(parts)

    def generated_submodel(self, identifier: str) -> bool:
        return identifier.startswith(f"{self.base}:sm:")

    def generated_concept(self, identifier: str) -> bool:
        return identifier.startswith(f"{self.base}:cd:")

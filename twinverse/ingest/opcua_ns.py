"""OPC UA namespaces by URI: ``nsu=<namespace URI>;`` in browse paths and NodeIds.

A namespace *index* is the server's numbering of its namespace table, and a server may
renumber it (a restart that loads its companion specifications in another order, another
server of the same make); the namespace *URI* stays. So a mapping may name a browse-path
element ``nsu=urn:acme:line;Filler`` instead of ``2:Filler``, and a NodeId
``nsu=urn:acme:line;s=Filler.Speed`` instead of ``ns=2;s=Filler.Speed``. When the source
connects it reads the server's namespace table (``NamespaceArray``) and turns each into
the index form asyncua works with; a URI the server does not have is a mapping error in the
source's health, naming the URI and the server's namespaces.

A URI may hold ``/`` (``http://opcfoundation.org/UA/DI/``), so :func:`split_path` keeps
everything from ``nsu=`` to the ``;`` in one element:

>>> split_path("0:Objects/nsu=http://acme.com/UA/Line/;Line1/2:Speed")
('0:Objects', 'nsu=http://acme.com/UA/Line/;Line1', '2:Speed')
>>> ns = ["http://opcfoundation.org/UA/", "urn:server", "http://acme.com/UA/Line/"]
>>> to_index("nsu=http://acme.com/UA/Line/;Line1", ns), to_uri("2:Line1", ns), to_uri("0:Objects", ns)
('2:Line1', 'nsu=http://acme.com/UA/Line/;Line1', '0:Objects')
>>> nodeid_to_index("nsu=http://acme.com/UA/Line/;s=Filler.Speed", ns), nodeid_to_uri("ns=2;i=7", ns)
('ns=2;s=Filler.Speed', 'nsu=http://acme.com/UA/Line/;i=7')
"""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = ["UnknownNamespace", "nodeid_to_index", "nodeid_to_uri", "split_path", "to_index", "to_uri"]

_PART = re.compile(r"nsu=[^;]*;[^/]*|[^/]+")
_NSU = re.compile(r"^nsu=([^;]+);(.+)$", re.DOTALL)
_NS = re.compile(r"^ns=(\d+);(.+)$", re.DOTALL)


class UnknownNamespace(LookupError):
    """A namespace URI the server's namespace table does not hold."""

    def __init__(self, uri: str, namespaces: Sequence[str]) -> None:
        have = ", ".join(f"{i}: {u}" for i, u in enumerate(namespaces))
        super().__init__(f"namespace {uri!r} is not on the server (its namespaces: {have})")
        self.uri = uri


def split_path(text: str) -> tuple[str, ...]:
    """``"0:Objects/2:Line1"`` → ``("0:Objects", "2:Line1")``; a leading ``/`` is allowed, ``nsu=…;`` kept whole."""
    return tuple(_PART.findall(text.strip("/")))


def _index(uri: str, namespaces: Sequence[str]) -> int:
    try:
        return list(namespaces).index(uri)
    except ValueError:
        raise UnknownNamespace(uri, namespaces) from None


def to_index(element: str, namespaces: Sequence[str]) -> str:
    """A browse-path element in the ``index:Name`` form (``nsu=URI;Name`` looked up in ``namespaces``)."""
    m = _NSU.match(element)
    return f"{_index(m[1], namespaces)}:{m[2]}" if m else element


def to_uri(element: str, namespaces: Sequence[str]) -> str:
    """A browse-path element ``index:Name`` as ``nsu=URI;Name`` (namespace 0, the standard's, stays ``0:``)."""
    ns, sep, name = element.partition(":")
    if not sep or not ns.isdigit() or int(ns) == 0 or int(ns) >= len(namespaces):
        return element
    return f"nsu={namespaces[int(ns)]};{name}"


def nodeid_to_index(nodeid: str, namespaces: Sequence[str]) -> str:
    """A NodeId string in the ``ns=index;…`` form (``nsu=URI;…`` looked up in ``namespaces``)."""
    m = _NSU.match(nodeid)
    return f"ns={_index(m[1], namespaces)};{m[2]}" if m else nodeid


def nodeid_to_uri(nodeid: str, namespaces: Sequence[str]) -> str:
    """A NodeId string ``ns=index;…`` as ``nsu=URI;…`` (namespace 0 stays as it is)."""
    m = _NS.match(nodeid)
    if m is None or int(m[1]) == 0 or int(m[1]) >= len(namespaces):
        return nodeid
    return f"nsu={namespaces[int(m[1])]};{m[2]}"

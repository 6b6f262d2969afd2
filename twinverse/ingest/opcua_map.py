"""OPC UA mappings: parsing the ``sources:`` entry (no asyncua needed to validate a plant).

An entry (docs/sources.md)::

    line_opc:
      kind: opcua
      url: opc.tcp://10.0.0.8:4840
      publishing: 100        # ms between notification messages of a subscription
      sampling: 50           # ms: how often the server samples each item (0: as fast as it can)
      queue: 10              # values the server queues per item between publishes
      deadband: 0.0          # absolute deadband (0: every change)
      max_items: 5000        # monitored items per subscription (the rest go to further ones)
      username: operator     # optional; password: … (anonymous without)
      nodes:
        - {twin: line1/filler, signal: speed, node: "ns=2;s=Filler.Speed"}
        - {twin: line1/filler, signal: temperature, path: "0:Objects/2:Line1/2:Filler/2:Temperature",
           unit: degF, deadband: 0.5}
      patterns:
        - path: "0:Objects/2:Line1/2:*"   # the last element is a glob over browse names
          twin: "line1/{name}"            # the twin each matching object feeds ({name}: its browse name)
          signals: {speed: "2:Speed", running: "2:Running"}   # signal: browse path below the object

Security (``security:``, docs/sources.md): ``policy: Basic256Sha256`` with ``mode: Sign`` or
``SignAndEncrypt`` (the default then), the client's ``certificate`` and ``private_key`` files
(generated into ``pki`` when not given), and ``trust``: files or directories of server
certificates to accept (without it, any server certificate is accepted and health says so).

A node is named by NodeId (``ns=2;s=…``, ``ns=2;i=…``, ``nsu=…;s=…``) or by a browse path
of ``namespace:BrowseName`` elements from the root, where the namespace is an index (``2:Speed``)
or a URI (``nsu=urn:acme:line;Speed``, looked up in the server's namespace table on connecting;
see :mod:`.opcua_ns`). Patterns resolve when the source
connects (they need the server's address space): an object matching a twin that is not in
the plant, or lacking a signal's path, is counted in health (``unmatched``), not an error.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..model.yamlsource import PathKey
from .opcua_ns import split_path
from .spec import Common, SpecReader

__all__ = ["NodeMap", "OpcuaConfig", "OpcuaParser", "Pattern", "Security", "split_path"]

_NODEID = re.compile(r"^(?:(?:ns=\d+|nsu=[^;]+);)?(?:i=\d+|s=.+|g=[0-9a-fA-F-]{36}|b=.+)$")
_ELEMENT = re.compile(r"^(?:\d+:[^/]+|nsu=[^;]+;.+)$")
_SOURCE_FIELDS = frozenset({"publishing", "sampling", "queue", "deadband", "max_items", "username", "password",
                            "nodes", "patterns", "watchdog", "security"})  # fmt: skip
_SECURITY_FIELDS = frozenset({"policy", "mode", "certificate", "private_key", "private_key_password", "trust", "pki",
                              "application_uri"})  # fmt: skip
POLICIES = ("None", "Basic256Sha256")
MODES = ("Sign", "SignAndEncrypt")
_NODE_FIELDS = frozenset({"twin", "signal", "node", "path", "unit", "scale", "offset", "deadband", "sampling",
                          "queue", "writable"})  # fmt: skip
_PATTERN_FIELDS = frozenset({"path", "twin", "signals", "sampling", "queue", "deadband", "writable"})


@dataclass(frozen=True)
class NodeMap:
    """One variable and the signal it feeds: by NodeId or by browse path."""

    sid: int
    node: str | None  # a NodeId string
    path: tuple[str, ...] | None  # browse path elements "ns:Name" from the root
    scale: float
    offset: float
    sampling: float  # ms
    queue: int
    deadband: float
    writable: bool = False  # commands may write the node's Value (docs/sources.md)


@dataclass(frozen=True)
class Pattern:
    """Objects whose browse path matches ``path`` (glob in the last element) feed the twin ``twin``."""

    path: tuple[str, ...]
    twin: str  # a template with {name}
    signals: tuple[tuple[str, tuple[str, ...]], ...]  # (signal, relative browse path)
    sampling: float
    queue: int
    deadband: float
    writable: frozenset[str] = frozenset()  # signals commands may write


@dataclass(frozen=True)
class Security:
    """How the client secures its channel: a policy and mode, its certificate, the servers it trusts."""

    policy: str = "None"  # one of POLICIES
    mode: str = "None"  # "Sign" or "SignAndEncrypt" with a policy, "None" without
    certificate: Path | None = None  # the client's certificate (DER or PEM); None: generated into pki
    private_key: Path | None = None
    private_key_password: str | None = None
    trust: tuple[Path, ...] = ()  # trusted server certificates: files or directories; () accepts any
    pki: Path = Path("pki")  # where a generated certificate and key are kept
    application_uri: str = field(default_factory=lambda: f"urn:{socket.gethostname()}:twinverse:opcua")

    @property
    def secure(self) -> bool:
        return self.policy != "None"


@dataclass(frozen=True)
class OpcuaConfig:
    """A validated OPC UA source."""

    url: str
    timeout: float
    publishing: float  # ms
    max_items: int
    watchdog: float  # s between liveness probes
    username: str | None
    password: str | None
    nodes: tuple[NodeMap, ...]
    patterns: tuple[Pattern, ...]
    security: Security = Security()


class OpcuaParser:
    """Parses ``opcua`` entries of ``sources:`` into :class:`OpcuaConfig`."""

    fields = _SOURCE_FIELDS

    def parse(self, r: SpecReader, entry: Mapping[str, Any], path: PathKey, common: Common) -> OpcuaConfig:
        if common.url:
            parts = urlsplit(common.url)
            if parts.scheme != "opc.tcp" or not parts.hostname:
                r.fail((*path, "url"), f"url must be opc.tcp://host[:port][/path], got {common.url!r}")
        d = {
            "sampling": r.number(entry, "sampling", path, 0.0, lo=0, hi=3_600_000),
            "queue": float(r.integer(entry, "queue", path, 1, lo=0, hi=100_000)),
            "deadband": r.number(entry, "deadband", path, 0.0, lo=0),
        }
        publishing = r.number(entry, "publishing", path, 100.0, lo=1, hi=3_600_000)
        max_items = r.integer(entry, "max_items", path, 5000, lo=1, hi=1_000_000)
        watchdog = r.number(entry, "watchdog", path, 1.0, lo=0.01, hi=3600)
        username = r.string(entry, "username", path)
        password = r.string(entry, "password", path)
        if password is not None and username is None:
            r.fail((*path, "password"), "password without username")
        nodes = [n for i, raw in enumerate(r.sequence(entry.get("nodes"), (*path, "nodes"), "nodes"))
                 if (n := self._node(r, raw, (*path, "nodes", i), d)) is not None]  # fmt: skip
        patterns = [p for i, raw in enumerate(r.sequence(entry.get("patterns"), (*path, "patterns"), "patterns"))
                    if (p := self._pattern(r, raw, (*path, "patterns", i), d)) is not None]  # fmt: skip
        if "nodes" not in entry and "patterns" not in entry:
            r.fail(path, "an opcua source needs 'nodes' or 'patterns' (what feeds which signal)")
        security = self._security(r, entry.get("security"), (*path, "security"), common.name)
        return OpcuaConfig(common.url, common.timeout, publishing, max_items, watchdog, username, password,
                           tuple(nodes), tuple(patterns), security)  # fmt: skip

    def _security(self, r: SpecReader, raw: Any, path: PathKey, name: str) -> Security:
        s = r.mapping(raw, path, "security")
        if not s:
            return Security()
        r.unknown(s, _SECURITY_FIELDS, path)
        base = Path(r.doc.file).parent if r.doc.file and not r.doc.file.startswith("<") else Path.cwd()
        policy = r.choice(s, "policy", path, POLICIES, "None")
        mode = r.choice(s, "mode", path, MODES, "SignAndEncrypt") if "mode" in s or policy != "None" else "None"
        if policy == "None" and "mode" in s:
            r.fail((*path, "mode"), f"mode {s['mode']!r} needs a policy (policy: Basic256Sha256)")

        def file(key: str, must_exist: bool = True) -> Path | None:
            text = r.string(s, key, path)
            if text is None:
                return None
            p = (base / text).resolve()
            if must_exist and not p.exists():
                r.fail((*path, key), f"{key} {str(p)!r} does not exist")
            return p

        certificate, private_key = file("certificate"), file("private_key")
        if (certificate is None) != (private_key is None):
            missing = "private_key" if certificate is not None else "certificate"
            r.fail(path, f"give both 'certificate' and 'private_key', or neither (generated into 'pki'); {missing} "
                         "is missing")  # fmt: skip
        trust: list[Path] = []
        for i, t in enumerate(r.sequence(s.get("trust"), (*path, "trust"), "trust")):
            if not isinstance(t, str) or not t:
                r.fail((*path, "trust", i), f"trust lists certificate files or directories, got {t!r}")
                continue
            p = (base / t).resolve()
            if not p.exists():
                r.fail((*path, "trust", i), f"trusted certificate or directory {str(p)!r} does not exist")
            trust.append(p)
        if policy == "None" and (certificate is not None or trust):
            r.fail((*path, "policy"), "certificates and trust need a policy (policy: Basic256Sha256)")
        pki = file("pki", must_exist=False) or (base / "pki" / name).resolve()
        uri = r.string(s, "application_uri", path) or Security().application_uri
        return Security(policy, mode, certificate, private_key, r.string(s, "private_key_password", path),
                        tuple(trust), pki, uri)  # fmt: skip

    def _browse_path(self, r: SpecReader, value: Any, path: PathKey) -> tuple[str, ...] | None:
        if not isinstance(value, str) or not split_path(value):
            r.fail(path, f"a browse path must be a string like '0:Objects/2:Line1', got {value!r}")
            return None
        elements = split_path(value)
        bad = [e for e in elements if not _ELEMENT.match(e)]
        if bad:
            r.fail(path, f"browse path element {bad[0]!r} must be namespace:BrowseName, like '2:Speed', or "
                         "nsu=<namespace URI>;BrowseName")  # fmt: skip
            return None
        return elements

    def _node(self, r: SpecReader, raw: Any, path: PathKey, d: dict[str, float]) -> NodeMap | None:
        n = r.mapping(raw, path, "a node")
        if not n:
            return None
        r.unknown(n, _NODE_FIELDS, path)
        before = len(r.problems)
        twin = r.twin(n.get("twin"), (*path, "twin"))
        sid = r.signal(twin, n.get("signal"), (*path, "signal")) if twin is not None else None
        node = r.string(n, "node", path)
        if node is not None and not _NODEID.match(node):
            r.fail((*path, "node"), f"node must be a NodeId like 'ns=2;s=Filler.Speed' or 'ns=2;i=1001', got {node!r}")
        bpath = self._browse_path(r, n["path"], (*path, "path")) if "path" in n else None
        if ("node" in n) == ("path" in n):
            r.fail(path, "give exactly one of 'node' (a NodeId) and 'path' (a browse path)")
        scale = r.number(n, "scale", path, 1.0)
        offset = r.number(n, "offset", path, 0.0)
        if sid is not None:
            u_scale, u_offset = r.unit_conversion(sid, n.get("unit"), (*path, "unit"))
            scale, offset = scale * u_scale, offset * u_scale + u_offset
        sampling = r.number(n, "sampling", path, d["sampling"], lo=0, hi=3_600_000)
        queue = r.integer(n, "queue", path, int(d["queue"]), lo=0, hi=100_000)
        deadband = r.number(n, "deadband", path, d["deadband"], lo=0)
        writable = r.writable(sid, n, path)
        if sid is None or len(r.problems) > before:
            return None
        return NodeMap(sid, node, bpath, scale, offset, sampling, queue, deadband, writable)

    def _pattern(self, r: SpecReader, raw: Any, path: PathKey, d: dict[str, float]) -> Pattern | None:
        p = r.mapping(raw, path, "a pattern")
        if not p:
            return None
        r.unknown(p, _PATTERN_FIELDS, path)
        before = len(r.problems)
        bpath = self._browse_path(r, p.get("path"), (*path, "path"))
        twin = r.string(p, "twin", path)
        if twin is None and "twin" not in p:
            r.fail(path, "missing required field 'twin' (a template such as 'line1/{name}')")
        elif twin is not None and "{name}" not in twin:
            r.fail((*path, "twin"), f"twin must contain '{{name}}' (the matched object's browse name), got {twin!r}")
        signals = r.mapping(p.get("signals"), (*path, "signals"), "signals")
        if not signals:
            r.fail((*path, "signals") if "signals" in p else path, "a pattern needs 'signals': {signal: browse path}")
        rel: list[tuple[str, tuple[str, ...]]] = []
        for name, sub in signals.items():
            elements = self._browse_path(r, sub, (*path, "signals", name))
            if elements is not None:
                rel.append((str(name), elements))
        sampling = r.number(p, "sampling", path, d["sampling"], lo=0, hi=3_600_000)
        queue = r.integer(p, "queue", path, int(d["queue"]), lo=0, hi=100_000)
        deadband = r.number(p, "deadband", path, d["deadband"], lo=0)
        writable = r.sequence(p.get("writable"), (*path, "writable"), "writable")
        for k, w in enumerate(writable):
            if w not in signals:
                have = ", ".join(map(str, signals))
                r.fail((*path, "writable", k), f"writable names signals of the pattern ({have}), got {w!r}")
        if bpath is None or twin is None or len(r.problems) > before:
            return None
        return Pattern(bpath, twin, tuple(rel), sampling, queue, deadband, frozenset(map(str, writable)))

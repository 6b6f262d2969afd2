"""OPC UA source (asyncua): initial read, subscriptions, StatusCodes to quality, reconnect.

One thread per source runs an asyncio loop with an asyncua client. On every connection it
resolves the mapping (NodeIds, browse paths, patterns), reads every node once (the initial
values), and creates subscriptions of at most ``max_items`` monitored items each, with the
configured sampling interval, queue size and absolute deadband. Notifications are handled
a whole ``DataChangeNotification`` at a time (:class:`_Subscription`): client handles map to
sids through a dict, values, StatusCodes and source timestamps go into columns, and one
:meth:`~twinverse.ingest.field.FieldSource.emit` per message — no object per item beyond
what asyncua decodes.

Quality: a Good StatusCode is GOOD, Uncertain is UNCERTAIN, Bad is BAD (with the last value
when the server sends none). A value's time is its SourceTimestamp, else its
ServerTimestamp, else the time it arrived. Faults: a liveness probe (the server's
``ServerStatus/State`` read every ``watchdog`` seconds, within ``timeout``) or asyncua's own
connection-lost callback ends the session; every signal turns BAD, and the client
reconnects with back-off, resolves, reads and subscribes again.

Writes (:meth:`OpcuaSource.write`, a :class:`~twinverse.ingest.base.Writable`) run on the
source's loop: the value, scale and offset inverted, is written to the node's Value
attribute as the node's own DataType (read once per node); a Bad result is a
:class:`~twinverse.errors.CommandRefused` naming the StatusCode. The node is then read and
that read-back becomes the live value (the subscription reports it too).
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import logging
import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ..core.clock import now_us as _now_us
from ..core.quality import Quality
from ..errors import InputError
from ..model import Plant
from .base import Health
from .field import FieldSource
from .opcua_map import NodeMap, OpcuaConfig, OpcuaParser
from .opcua_ns import UnknownNamespace, nodeid_to_index, nodeid_to_uri, to_index, to_uri
from .opcua_security import secure
from .spec import KindBase, SourceSpec

__all__ = ["OPCUA", "BrowseEntry", "OpcuaSource", "browse", "candidate_yaml"]

log = logging.getLogger("twinverse.ingest.opcua")


@dataclass(frozen=True)
class _Item:
    sid: int
    node: Any  # asyncua Node
    sampling: float
    queue: int
    deadband: float


def _quality(code: int) -> int:
    severity = code >> 30
    return Quality.GOOD if severity == 0 else Quality.UNCERTAIN if severity == 1 else Quality.BAD


_INT_RANGES = {"SByte": (-(2**7), 2**7 - 1), "Byte": (0, 2**8 - 1), "Int16": (-(2**15), 2**15 - 1),
               "UInt16": (0, 2**16 - 1), "Int32": (-(2**31), 2**31 - 1), "UInt32": (0, 2**32 - 1),
               "Int64": (-(2**63), 2**63 - 1), "UInt64": (0, 2**64 - 1)}  # fmt: skip


def _as_type(raw: float, vtype: str, node: str) -> bool | int | float:
    """``raw`` as a Python value of the OPC UA built-in type ``vtype``; InputError if it does not fit."""
    if vtype == "Boolean":
        return bool(round(raw))
    if vtype in _INT_RANGES:
        lo, hi = _INT_RANGES[vtype]
        r = round(raw)
        if not lo <= r <= hi:
            raise InputError(f"{raw:g} does not fit {node}'s {vtype} ({lo}..{hi})")
        return r
    if vtype in ("Float", "Double"):
        return float(raw)
    raise InputError(f"{node} holds a {vtype}; commands write numbers and booleans only")


def _number(value: Any) -> float:
    if isinstance(value, bool | int | float):
        return float(value)
    return math.nan


class OpcuaSource(FieldSource):
    """Subscribe to one OPC UA server's nodes and feed an engine."""

    kind = "opcua"

    def __init__(
        self, name: str, plant: Plant, config: OpcuaConfig, *,
        buffer: int = 100_000, reconnect: tuple[float, float] = (0.5, 30.0),
    ) -> None:  # fmt: skip
        # Signals of patterns are only known after browsing: every signal of a twin a pattern may match
        # is not knowable here, so the sids are those of explicit nodes plus those found at connect.
        sids = np.array([n.sid for n in config.nodes], dtype=np.int32)
        super().__init__(name, config.url, plant, sids, buffer=buffer, reconnect=reconnect)
        self.config = config
        n = len(plant.signals)
        self._scale = np.ones(n)
        self._offset = np.zeros(n)
        for m in config.nodes:
            self._scale[m.sid], self._offset[m.sid] = m.scale, m.offset
        self.monitored = 0
        self.subscriptions = 0
        self.notifications = 0
        self.unmatched = 0
        self.failed_items = 0
        self._lost: asyncio.Event | None = None
        self.writable_sids = frozenset(m.sid for m in config.nodes if m.writable)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: Any = None
        self._nodes: dict[int, Any] = {}  # sid → asyncua Node of the current session
        self._vtypes: dict[int, Any] = {}  # sid → the node's VariantType (for writes)

    @classmethod
    def from_spec(cls, spec: SourceSpec, plant: Plant) -> OpcuaSource:
        return cls(spec.common.name, plant, spec.config, buffer=spec.common.buffer, reconnect=spec.common.reconnect)

    def _extra_health(self) -> Health:
        return {"monitored": self.monitored, "subscriptions": self.subscriptions, "notifications": self.notifications,
                "unmatched": self.unmatched, "failed_items": self.failed_items,
                "security": f"{sec.policy}/{sec.mode}" if (sec := self.config.security).secure else "None",
                "server_trusted": "trust list" if sec.trust else "any" if sec.secure else "n/a"}  # fmt: skip

    # -- protocol thread ------------------------------------------------------------------------
    def _run(self) -> None:
        asyncio.run(self._main())
        self.connected = False

    async def _main(self) -> None:
        from asyncua.client.client import Client

        backoff = self.backoff()
        self._loop = asyncio.get_running_loop()
        while not self.stopping:
            client = Client(self.config.url, timeout=self.config.timeout, watchdog_intervall=self.config.watchdog)
            if self.config.username:
                client.set_user(self.config.username)
                client.set_password(self.config.password or "")
            self._lost = asyncio.Event()

            async def lost(exc: Exception) -> None:
                assert self._lost is not None
                self._lost.set()

            client.connection_lost_callback = lost
            try:
                await asyncio.wait_for(self._secure_and_connect(client), self.config.timeout * 2)
            except Exception as exc:  # refused, timed out, bad endpoint: all mean "try again later"
                self._disconnected_now(f"cannot connect to {self.config.url}: {type(exc).__name__}: {exc}")
                await self._close(client)
                await self._sleep(backoff.delay())
                continue
            try:
                items = await self._resolve(client)
                await self._initial_read(client, items)
                await self._subscribe(client, items)
                self._client = client
                self._connected_now()
                backoff.reset()
                await self._watch(client)
            except Exception as exc:  # the session broke (or a request failed): reconnect
                if not self.stopping:
                    self._disconnected_now(f"{type(exc).__name__}: {exc}")
            finally:
                self._client = None
                await self._close(client)
            if not self.stopping:
                await self._sleep(backoff.delay())

    async def _secure_and_connect(self, client: Any) -> None:
        if self.config.security.secure:
            await secure(client, self.config.security)
        await client.connect()

    async def _sleep(self, seconds: float) -> None:
        step = 0.05
        while seconds > 0 and not self.stopping:
            await asyncio.sleep(min(step, seconds))
            seconds -= step

    async def _close(self, client: Any) -> None:
        try:
            await asyncio.wait_for(client.disconnect(), 2.0)
        except Exception:  # the far side is gone: nothing to say goodbye to
            log.debug("disconnect failed", exc_info=True)

    async def _watch(self, client: Any) -> None:
        """Until stopped or the session breaks: probe the server's state every ``watchdog`` s."""
        probe = client.get_node("i=2259")  # Server/ServerStatus/State
        assert self._lost is not None
        loop = asyncio.get_running_loop()
        next_probe = loop.time() + self.config.watchdog
        while not self.stopping:
            # Short waits, so that stop() is quick whatever the probe interval.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._lost.wait(), min(0.1, self.config.watchdog))
            if self._lost.is_set():
                raise ConnectionError("asyncua reported the connection lost")
            if self.stopping:
                return
            if loop.time() >= next_probe:
                await asyncio.wait_for(probe.read_value(), self.config.timeout)
                next_probe = loop.time() + self.config.watchdog

    async def _resolve(self, client: Any) -> list[_Item]:
        """Nodes for every mapping: NodeIds directly, browse paths and patterns by asking the server."""
        items: list[_Item] = []
        seen: set[int] = set()
        writable = set(self.writable_sids)
        namespaces = await client.get_namespace_array()  # for nsu=<URI>; names: the index of each URI now

        def indexed(path: tuple[str, ...]) -> tuple[str, ...] | None:
            try:
                return tuple(to_index(e, namespaces) for e in path)
            except UnknownNamespace as exc:
                self._error("mapping", f"browse path {'/'.join(path)}: {exc}")
                return None

        for m in self.config.nodes:
            try:
                nodeid = None if m.node is None else nodeid_to_index(m.node, namespaces)
            except UnknownNamespace as exc:
                self._error("mapping", f"node {m.node}: {exc}")
                continue
            bpath = indexed(m.path or ())
            if bpath is None:
                continue
            node = client.get_node(nodeid) if nodeid is not None else await self._child(client, bpath)
            if node is None:
                self._error("mapping", f"browse path {'/'.join(m.path or ())} does not exist on the server")
                continue
            items.append(_Item(m.sid, node, m.sampling, m.queue, m.deadband))
            seen.add(m.sid)
        idx = self.plant.signals
        unmatched = 0
        for p in self.config.patterns:
            ppath = indexed(p.path)
            rels = [(signal, indexed(rel)) for signal, rel in p.signals]
            if ppath is None or any(rel is None for _, rel in rels):
                continue
            parent = await self._child(client, ppath[:-1])
            if parent is None:
                self._error("mapping", f"pattern parent {'/'.join(p.path[:-1])} does not exist on the server")
                continue
            ns, _, glob = ppath[-1].partition(":")
            for child in await parent.get_children():
                bname = await child.read_browse_name()
                if str(bname.NamespaceIndex) != ns or not fnmatch.fnmatchcase(bname.Name, glob):
                    continue
                twin = p.twin.replace("{name}", bname.Name)
                twin = twin if twin in self.plant.twins else f"{self.plant.id}/{twin}"
                for signal, rel in rels:
                    sid = idx.get(twin, signal)
                    node = await self._child(child, rel or ()) if sid is not None else None
                    if sid is None or node is None or sid in seen:
                        unmatched += 1
                        continue
                    seen.add(sid)
                    items.append(_Item(sid, node, p.sampling, p.queue, p.deadband))
                    if signal in p.writable or idx.signal[sid].writable:
                        writable.add(sid)
        self.unmatched = unmatched
        self.writable_sids = frozenset(writable)
        self._nodes = {it.sid: it.node for it in items}
        self._vtypes = {}
        if unmatched:
            self._error("mapping", f"{unmatched} pattern matches name no twin signal of the plant or no node")
        self.sids = np.unique(np.array([i.sid for i in items], dtype=np.int32))
        return items

    async def _child(self, start: Any, path: tuple[str, ...]) -> Any:
        from asyncua.ua.uaerrors import UaStatusCodeError

        node = start.nodes.root if hasattr(start, "nodes") else start
        if path and path[0] == "0:Root":
            path = path[1:]
        if not path:
            return node
        try:
            return await node.get_child(list(path))
        except UaStatusCodeError:
            return None

    async def _initial_read(self, client: Any, items: list[_Item]) -> None:
        for i in range(0, len(items), 1000):
            chunk = items[i:i + 1000]
            values = await client.read_attributes([it.node for it in chunk])
            self._deliver([it.sid for it in chunk], values)

    async def _subscribe(self, client: Any, items: list[_Item]) -> None:
        from asyncua import ua
        from asyncua.ua.attribute_ids import AttributeIds

        self.monitored = self.subscriptions = self.failed_items = 0
        for i in range(0, len(items), self.config.max_items):
            chunk = items[i:i + self.config.max_items]
            params = ua.CreateSubscriptionParameters()
            params.RequestedPublishingInterval = self.config.publishing
            params.RequestedLifetimeCount = 10_000
            params.RequestedMaxKeepAliveCount = client.get_keepalive_count(self.config.publishing)
            params.MaxNotificationsPerPublish = 0  # no limit
            params.PublishingEnabled = True
            sub = _Subscription(client.uaclient.session, params, self)
            await sub.init()
            self.subscriptions += 1
            requests = []
            for it in chunk:
                mfilter = None
                if it.deadband > 0:
                    mfilter = ua.DataChangeFilter()
                    mfilter.Trigger = ua.DataChangeTrigger.StatusValue
                    mfilter.DeadbandType = ua.DeadbandType.Absolute
                    mfilter.DeadbandValue = it.deadband
                req = sub._make_monitored_item_request(it.node, AttributeIds.Value, mfilter, it.queue,
                                                       ua.MonitoringMode.Reporting, it.sampling)  # fmt: skip
                sub.handles[req.RequestedParameters.ClientHandle] = it.sid
                requests.append(req)
            for j in range(0, len(requests), 1000):
                results = await sub.create_monitored_items(requests[j:j + 1000])
                bad = [r for r in results if isinstance(r, ua.StatusCode)]
                self.failed_items += len(bad)
                self.monitored += len(results) - len(bad)
            if self.failed_items:
                self._error("subscribe", f"{self.failed_items} monitored items refused by the server")

    def _deliver(self, sids: list[int], datavalues: list[Any]) -> None:
        """Columns from DataValues: value (scaled), quality from the StatusCode, source time."""
        n = len(sids)
        if n == 0:
            return
        now = _now_us()
        ts = np.empty(n, dtype=np.int64)
        value = np.empty(n)
        quality = np.empty(n, dtype=np.uint8)
        for k, dv in enumerate(datavalues):
            v = dv.Value
            value[k] = _number(v.Value) if v is not None else math.nan
            status = dv.StatusCode
            quality[k] = _quality(status.value) if status is not None else Quality.GOOD
            t = dv.SourceTimestamp or dv.ServerTimestamp
            ts[k] = int(t.timestamp() * 1e6) if t is not None else now
        sid: npt.NDArray[np.int32] = np.asarray(sids, dtype=np.int32)
        value = value * self._scale[sid] + self._offset[sid]
        missing = np.isnan(value) & (quality != Quality.GOOD)
        if missing.any():  # a Bad value comes without one: repeat the last
            value[missing] = self.last_values(sid[missing])
        self.notifications += n
        self.emit(ts, sid, value, quality)

    # -- writes -------------------------------------------------------------------------------------
    def write(self, sid: int, value: float, *, timeout: float = 5.0) -> None:
        """Write ``value`` (the signal's unit) to the node feeding ``sid``; block until the server answered."""
        self._check_write(sid)
        loop = self._loop
        if loop is None or sid not in self._nodes:
            raise self._write_failed(f"{self.url}: the node of this signal is not resolved yet; not written")
        future = asyncio.run_coroutine_threadsafe(self._write(sid, value), loop)
        try:
            future.result(timeout)
        except TimeoutError:
            future.cancel()
            raise self._write_failed(f"{self.url}: no answer to the write within {timeout:g} s") from None

    async def _write(self, sid: int, value: float) -> None:
        from asyncua import ua
        from asyncua.ua.attribute_ids import AttributeIds
        from asyncua.ua.uaerrors import UaStatusCodeError

        node, client = self._nodes[sid], self._client
        if client is None:
            raise self._write_failed(f"{self.url} is not connected; not written")
        raw = (value - self._offset[sid]) / self._scale[sid]
        try:
            vtype = self._vtypes.get(sid)
            if vtype is None:
                vtype = self._vtypes[sid] = await node.read_data_type_as_variant_type()
            variant = ua.Variant(_as_type(raw, vtype.name, node.nodeid.to_string()), vtype)
            await node.write_attribute(AttributeIds.Value, ua.DataValue(variant))
        except UaStatusCodeError as exc:
            name = ua.StatusCode(exc.code).name
            raise self._write_failed(f"{self.url}: the server refused the write of {node.nodeid.to_string()}: "
                                     f"{name}") from exc  # fmt: skip
        except (OSError, ConnectionError, TimeoutError) as exc:
            raise self._write_failed(f"{self.url}: write of {node.nodeid.to_string()} failed: {exc!r}") from exc
        self.writes += 1
        with contextlib.suppress(Exception):  # the subscription reports the value anyway
            self._deliver([sid], await client.read_attributes([node]))

    def describe(self) -> str:
        c = self.config
        return f"opcua {self.name} {self.url} ({len(c.nodes)} nodes, {len(c.patterns)} patterns)"


def _subscription_class() -> type:
    from asyncua.common.subscription import Subscription

    class Sub(Subscription):
        """A subscription handing each DataChangeNotification whole to its source."""

        def __init__(self, session: Any, params: Any, source: OpcuaSource) -> None:
            super().__init__(session, params, handler=None, queue_maxsize=1)
            self.source = source
            self.handles: dict[int, int] = {}

        async def publish_callback(self, publish_result: Any) -> None:
            from asyncua import ua

            self.last_publish_at = asyncio.get_running_loop().time()
            data = publish_result.NotificationMessage.NotificationData
            if data is None:
                return
            self.last_sequence_number = int(publish_result.NotificationMessage.SequenceNumber)
            for notif in data:
                if isinstance(notif, ua.DataChangeNotification):
                    handles = self.handles
                    items = [it for it in notif.MonitoredItems if it.ClientHandle in handles]
                    self.source._deliver([handles[it.ClientHandle] for it in items], [it.Value for it in items])
                elif isinstance(notif, ua.StatusChangeNotification):
                    self.source._error("status", f"subscription status {notif.Status}")

    return Sub


class _LazySubscription:
    """Builds the asyncua subclass on first use (validating a plant must not import asyncua)."""

    cls: type | None = None

    def __call__(self, session: Any, params: Any, source: OpcuaSource) -> Any:
        if self.cls is None:
            self.cls = _subscription_class()
        return self.cls(session, params, source)


_Subscription = _LazySubscription()


# -- browsing -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class BrowseEntry:
    """A variable found by :func:`browse`: its object's browse path, its element (``2:Speed``), NodeId, type;
    and the same three with namespaces by URI (``nsu=urn:…;Speed``, ``nsu=urn:…;s=…``)."""

    parent: tuple[str, ...]
    name: str
    nodeid: str
    datatype: str
    uri_parent: tuple[str, ...] = ()
    uri_name: str = ""
    uri_nodeid: str = ""


async def _browse(url: str, depth: int, timeout: float) -> list[BrowseEntry]:
    from asyncua import ua
    from asyncua.client.client import Client

    out: list[BrowseEntry] = []
    async with Client(url, timeout=timeout) as client:
        objects = client.nodes.objects
        ns = await client.get_namespace_array()

        async def walk(node: Any, path: tuple[str, ...], level: int) -> None:
            for child in await node.get_children():
                cls = await child.read_node_class()
                bname = await child.read_browse_name()
                element = f"{bname.NamespaceIndex}:{bname.Name}"
                if bname.NamespaceIndex == 0:
                    continue  # the server's own objects (Server, Aliases, …)
                if cls == ua.NodeClass.Variable:
                    dt = await child.read_data_type_as_variant_type()
                    nodeid = child.nodeid.to_string()
                    out.append(BrowseEntry(path, element, nodeid, dt.name, tuple(to_uri(e, ns) for e in path),
                                           to_uri(element, ns), nodeid_to_uri(nodeid, ns)))  # fmt: skip
                elif cls == ua.NodeClass.Object and level < depth:
                    await walk(child, (*path, element), level + 1)

        await walk(objects, ("0:Objects",), 1)
    return out


def browse(url: str, depth: int = 5, timeout: float = 5.0) -> list[BrowseEntry]:
    """Every variable under ``Objects`` down to ``depth`` object levels (namespace 0 skipped).

    Callable from anywhere: where an event loop already runs in this thread (a notebook,
    Playwright's sync API) the browse runs on a thread of its own.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_browse(url, depth, timeout))
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="opcua-browse") as pool:
        return pool.submit(asyncio.run, _browse(url, depth, timeout)).result()


def candidate_yaml(url: str, entries: list[BrowseEntry], name: str = "opcua", *, uri: bool = False,
                   by: str = "nodeid") -> str:  # fmt: skip
    """A ``sources:`` section (and twin skeletons, as comments) mapping each variable by NodeId (or, with
    ``by="path"``, by browse path); with ``uri`` its namespaces are named by URI (``nsu=…;``), not index."""
    lines = ["sources:", f"  {name}:", "    kind: opcua", f"    url: {url}", "    nodes:"]
    twins: dict[str, list[tuple[str, str]]] = {}
    for e in entries:
        twin = "/".join(p.split(":", 1)[1] for p in e.parent[1:]) or "objects"
        signal = e.name.split(":", 1)[1]
        twins.setdefault(twin, []).append((signal, e.datatype))
        path = "/".join((*e.uri_parent, e.uri_name) if uri and e.uri_name else (*e.parent, e.name))
        nodeid = e.uri_nodeid if uri and e.uri_nodeid else e.nodeid
        where, comment = ("path", f"node {nodeid}") if by == "path" else ("node", f"path {path}")
        lines.append(f"      - {{twin: {twin}, signal: {signal}, {where}: {_quote(path if by == 'path' else nodeid)}}}"
                     f"  # {e.datatype}, {comment}")  # fmt: skip
    lines += ["", "# twin skeletons (merge into 'twins:' and 'types:'):"]
    for twin, sigs in twins.items():
        kinds = ", ".join(f"{s}: {{kind: {'bool' if dt == 'Boolean' else 'float'}}}" for s, dt in sigs)
        lines.append(f"#   {twin}: {{{kinds}}}")
    return "\n".join(lines) + "\n"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class _OpcuaKind(OpcuaParser, KindBase):
    """The ``opcua`` kind of ``sources:``: node maps in, :class:`OpcuaSource` out."""

    name = "opcua"

    def build(self, spec: SourceSpec, plant: Plant) -> OpcuaSource:
        return OpcuaSource.from_spec(spec, plant)


#: The ``opcua`` entry of the source registry (twinverse.plugins.DEFAULT_SOURCES).
OPCUA = _OpcuaKind()

_ = NodeMap  # re-exported type of config.nodes

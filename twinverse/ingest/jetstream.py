"""NATS JetStream source: a durable pull consumer shared by any number of workers.

Subjects carry the MQTT topic with ``.`` for ``/``: ``twinverse.<twin>.<signal>``, where the
twin id keeps its own ``/`` (``twinverse.bottling/line1/filler.temperature``); payloads are
the MQTT JSON payloads (:mod:`.mqtt_payload`), decoded the same way, many messages a batch.

Every worker binds to one durable consumer (``nats_durable``): JetStream hands each message
to one fetch of one worker. A worker acknowledges a fetched message only after the batch
holding it is durable in the store (:meth:`Engine.ingest` returned); one that dies before
leaves its messages unacknowledged, and JetStream redelivers them to any worker after
``ack_wait`` seconds. The store's (sid, ts) key makes a redelivery of a stored point harmless.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from functools import partial
from typing import Any

from ..config import Settings
from ..errors import ConfigError, ConnectorError, StoreError
from ..live.engine import Engine
from ..model import Plant
from .base import Health
from .mqtt_payload import SOURCE, PayloadDecoder, Pending, TopicPattern, convert, preview

try:
    import nats
    from nats.errors import Error as NatsError
    from nats.errors import TimeoutError as NatsTimeout
    from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
    from nats.js.errors import NotFoundError
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ConnectorError("the JetStream source needs nats-py: pip install 'twinverse[nats]'") from exc

__all__ = ["JetStreamConnector", "jetstream_source", "subject_filter"]

log = logging.getLogger("twinverse.ingest.jetstream")


def subject_filter(pattern: TopicPattern) -> str:
    """The JetStream subject filter of an MQTT topic pattern.

    >>> subject_filter(TopicPattern("twinverse/{twin}/{signal}"))
    'twinverse.>'
    """
    return pattern.subscription.replace("/", ".").replace("#", ">")


class JetStreamConnector:
    """Fetch from a durable JetStream pull consumer into an :class:`Engine`; ack after durable."""

    def __init__(
        self,
        url: str = "nats://127.0.0.1:4222",
        topic: str = "twinverse/{twin}/{signal}",
        *,
        stream: str = "twinverse",
        durable: str = "twinverse-workers",
        batch: int = 1000,
        max_points: int = 50_000,
        fetch_timeout: float = 0.25,
        ack_wait: float = 30.0,
        max_ack_pending: int = 20_000,
        max_message_bytes: int = 1_048_576,
        connect_timeout: float = 10.0,
    ) -> None:
        if batch < 1 or max_points < 1 or ack_wait <= 0 or fetch_timeout <= 0:
            raise ConfigError("batch, max_points, ack_wait and fetch_timeout must be positive")
        self.url = url
        self.pattern = TopicPattern(topic)
        self.subject = subject_filter(self.pattern)
        self.stream, self.durable = stream, durable
        self.batch, self.max_points = batch, max_points
        self.fetch_timeout, self.ack_wait, self.max_ack_pending = fetch_timeout, ack_wait, max_ack_pending
        self.connect_timeout = connect_timeout
        self._decoder = PayloadDecoder(self.pattern, max_message_bytes)
        self._engine: Engine | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = threading.Event()
        self._ready = threading.Event()
        self._error: str | None = None
        self._connected = False
        self._nc: Any = None
        self.messages = self.points = self.acked = self.flushes = self.quarantined = 0
        self.reasons: Counter[str] = Counter()

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> JetStreamConnector:
        if not settings.nats_url:
            raise ConfigError("no NATS server configured (set nats_url / TWINVERSE_NATS_URL)")
        return cls(settings.nats_url, settings.mqtt_topic, stream=settings.nats_stream, durable=settings.nats_durable,
                   ack_wait=settings.nats_ack_wait,
                   max_message_bytes=settings.mqtt_max_message_bytes, **options)  # fmt: skip

    def describe(self) -> str:
        return f"NATS JetStream {self.url} stream {self.stream} subjects {self.subject} (durable pull {self.durable})"

    def health(self) -> Health:
        connected = self._connected and self._nc is not None and self._nc.is_connected
        return {"kind": "jetstream", "connected": connected, "messages": self.messages, "acked": self.acked}

    def start(self, engine: Engine) -> None:
        """Connect, create the stream and consumer if missing, and begin fetching; returns once bound."""
        if self._thread is not None:
            raise ConnectorError(f"{self.describe()} is already running")
        self._engine = engine
        self._stopping.clear()
        self._ready.clear()
        self._error = None
        self._thread = threading.Thread(target=self._main, name=f"jetstream-{self.durable}", daemon=True)
        self._thread.start()
        if not self._ready.wait(self.connect_timeout + 1) or self._error:
            why = self._error or f"no connection within {self.connect_timeout:g} s"
            self.stop()
            raise ConnectorError(f"cannot consume from {self.describe()}: {why}")
        log.info("bound: %s", self.describe())

    def stop(self) -> None:
        """Stop fetching; what was fetched and stored is acknowledged, the rest is redelivered."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(self.fetch_timeout + self.connect_timeout)
            self._thread = None

    # -- the consumer loop (its own thread and event loop) -------------------------------------
    def _main(self) -> None:
        try:
            asyncio.run(self._consume())
        except Exception as exc:  # reported to start() if it happens while binding
            self._error = self._error or f"{type(exc).__name__}: {exc}"
            log.exception("JetStream consumer stopped")
        finally:
            self._connected = False
            self._ready.set()

    async def _consume(self) -> None:
        nc = await nats.connect(self.url, connect_timeout=self.connect_timeout, max_reconnect_attempts=-1,
                                allow_reconnect=True)  # fmt: skip
        self._nc = nc
        try:
            js = nc.jetstream()
            try:
                await js.stream_info(self.stream)
            except NotFoundError:
                await js.add_stream(name=self.stream, subjects=[self.subject])
            config = ConsumerConfig(
                durable_name=self.durable, ack_policy=AckPolicy.EXPLICIT, deliver_policy=DeliverPolicy.ALL,
                ack_wait=self.ack_wait, max_ack_pending=self.max_ack_pending, filter_subject=self.subject,
            )  # fmt: skip
            sub = await js.pull_subscribe(self.subject, durable=self.durable, stream=self.stream, config=config)
            self._connected = True
            self._ready.set()
            while not self._stopping.is_set():
                try:
                    msgs = await sub.fetch(self.batch, timeout=self.fetch_timeout)
                except (TimeoutError, NatsTimeout):
                    continue
                except NatsError as exc:  # disconnected: the client reconnects; unacked ones come back
                    log.warning("JetStream fetch failed (%s); retrying", exc)
                    await asyncio.sleep(min(1.0, self.fetch_timeout * 4))
                    continue
                p = Pending()
                now = time.time()
                self._take(p, msgs, now)
                got = msgs
                # More is waiting: make the batch bigger before one store transaction.
                while len(got) == self.batch and p.points < self.max_points:
                    try:
                        got = await sub.fetch(self.batch, timeout=0.01)
                    except (TimeoutError, NatsTimeout):
                        break
                    self._take(p, got, now)
                    msgs.extend(got)
                if not await asyncio.to_thread(self._store, p):
                    return  # stopping while the store fails: leave them unacknowledged
                try:
                    for m in msgs:
                        await m.ack()
                except NatsError as exc:  # stored already: a redelivery of the rest is harmless
                    log.warning("JetStream ack failed (%s); those messages will be redelivered", exc)
                    continue
                self.acked += len(msgs)
                self.flushes += 1
            await nc.flush()
        finally:
            self._connected = False
            await nc.close()

    def _take(self, p: Pending, msgs: list[Any], now: float) -> None:
        for m in msgs:
            p.take(*self._decode(m.subject, m.data, now))
        p.messages += len(msgs)

    def _decode(self, subject: str, data: bytes, now: float) -> Any:
        topic = subject.replace(".", "/")
        try:
            return self._decoder.decode(topic, data, now * 1000.0)
        except Exception as exc:  # a bug must cost one message, never the consumer
            log.exception("JetStream message on %r could not be decoded", subject)
            return None, [], [(None, None, preview(data), f"internal error: {exc!r}", "error")]

    def _store(self, p: Pending) -> bool:
        """Store one fetched batch (retrying while the store fails); False if stopped meanwhile."""
        engine = self._engine
        assert engine is not None
        batches, rejects, counts = convert(engine.plant, p)
        self.messages += p.messages
        self.points += p.points
        self.quarantined += sum(counts.values())
        self.reasons.update(counts)
        delay = 0.1
        steps: list[Callable[[], object]] = [partial(engine.ingest, b, source=SOURCE) for b in batches]
        if rejects is not None:
            steps.append(partial(engine.reject, rejects))
        while steps:
            try:
                steps[0]()
                steps.pop(0)
            except StoreError as exc:
                if self._stopping.is_set():
                    return False
                log.error("JetStream batch could not be stored (%s); retrying in %.1f s", exc, delay)
                time.sleep(delay)
                delay = min(delay * 2, 5.0)
        return True


def jetstream_source(plant: Plant, settings: Settings) -> JetStreamConnector:
    """The ``jetstream`` source plugin: MQTT-style JSON payloads from a JetStream durable consumer."""
    return JetStreamConnector.from_settings(settings)

"""Compose a running platform from settings: plant, store, engine, hub, trust, sources, simulation runner."""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from functools import partial
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .collab import Collab
from .collab.notes import notes_table
from .config import Settings
from .core.clock import iso, now_us
from .errors import Location, ModelLoadError, Problem, TwinverseError
from .ingest.base import Growing, Health, Source, make_source, source_health
from .ingest.spec import build_field_sources
from .live.engine import Engine
from .live.hub import Hub
from .model import Plant, load_plant, loads_plant
from .model.grow import Growth, grow_text
from .model.rules import AlarmPriority
from .model.versions import ModelVersion, VersionStore
from .ops import AlarmService, EmailNotifier, Journal, KpiService, RuleBook, SmtpServer, WebhookNotifier
from .ops.anomaly import AnomalyService
from .query import QueryService
from .scene import build_scene
from .scene.models import missing_models
from .sim.runner import SimRunner
from .sim.spec import network_from_plant
from .store import DuckDBStore, Store, open_store
from .store.factory import postgres_url
from .store.retention import HistoryKeeper, RetentionPolicy
from .store.rollup import RollupRefresher
from .trust import HistorySealer, Principal, TrustService

if TYPE_CHECKING:  # psycopg is an extra: these modules load only when the settings ask for them
    from .store.pglive import LiveFollower
    from .store.pgpartition import PartitionManager

__all__ = ["Platform", "check_plant_text", "example_path"]

log = logging.getLogger("twinverse")

#: Seconds a source's growth waits for others (the births of one edge arrive together): one version for all.
_GROWTH_DELAY = 0.3


def example_path(name: str = "bottling.yaml") -> Path:
    """Path of a bundled example plant (inside the wheel, or ``examples/`` in a checkout)."""
    packaged = resources.files("twinverse") / "examples" / name
    if packaged.is_file():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[1] / "examples" / name


def _follow_postgres(store: Store, engine: Engine, channel: str) -> LiveFollower:
    """Live values shared through PostgreSQL: this process's appends keep ``live_latest`` too, and a
    follower applies every process's changes to ``engine`` (``live_source = "postgres"``)."""
    from .errors import ConfigError
    from .store import PostgresStore

    if not isinstance(store, PostgresStore):
        raise ConfigError(
            "live_source = 'postgres' needs a postgresql:// store",
            details=[Problem("not a PostgreSQL store", Location(path="live_source"))],
        )
    from .store.pglive import LiveFollower, share_live

    share_live(store, channel)
    return LiveFollower(store.url, engine.follow, channel)


class Platform:
    """The services of one twinverse process, composed (not inherited)."""

    def __init__(
        self,
        settings: Settings,
        plant: Plant | None = None,
        store: Store | None = None,
        *,
        trust: TrustService | None = None,
    ) -> None:
        """Compose the services of ``plant`` (or ``settings.plant``).

        ``trust`` is shared by the plants of a :class:`~twinverse.park.Park` (one log, one
        set of identities and tokens): a platform closes it only when it made it itself.
        """
        self.settings = settings
        #: The tenant that owns this platform's plant (its routes refuse other tenants' principals).
        self.tenant = settings.tenant
        if plant is None:
            if settings.plant is None:
                from .errors import ConfigError

                raise ConfigError("no plant given: pass --plant FILE or set TWINVERSE_PLANT")
            plant = load_plant(settings.plant)
        #: Saved model versions (``POST /api/plant/versions``); the newest is what runs.
        self.versions = VersionStore(Path(settings.data_dir) / "models" / plant.id)
        plant = self._current_version(plant)
        self.plant = plant
        self._switch_lock = threading.Lock()
        self.store = store if store is not None else open_store(settings.store, settings.data_dir)
        self._retention: tuple[Plant, RetentionPolicy] | None = None
        pg_classes = self._pg_classes()  # PostgreSQL with signals kept for different times
        store_settings = settings if pg_classes is None else pg_classes[1]
        self.partitions: PartitionManager | None = None  # with pg_partition set
        if settings.pg_partition != "none":
            from .store.pgpartition import partitions_from_settings

            self.partitions = partitions_from_settings(self.store, store_settings)
        if settings.pg_rollups:  # refreshed by the RollupRefresher below, one process at a time
            from .store.pgrollup import rollups_from_settings

            rollups_from_settings(self.store, store_settings)
        self.engine = Engine(plant, self.store)
        self.follower: LiveFollower | None = None  # when live values come from PostgreSQL
        if settings.live_source == "postgres":
            self.follower = _follow_postgres(self.store, self.engine, settings.live_channel)
        self._owns_trust = trust is None
        self.trust = trust if trust is not None else TrustService(settings.data_dir, open_mode=settings.auth == "open")
        # Ingest requests carry an IngestAudit tag: logged with the group commit that stored them.
        self.engine.on_commit(self.trust.log_ingest)
        self.sealer: HistorySealer | None = None
        if settings.seal_history:
            self.sealer = HistorySealer.from_settings(self.store, self.trust, settings, plant_id=plant.id)
        self.rollups: RollupRefresher | None = None
        if settings.rollup_every > 0 and RollupRefresher.supported(self.store):
            self.rollups = RollupRefresher(self.store, settings.rollup_every)
        #: The DuckDB store's history job: old days to Parquet (cold_after_days), retention per signal.
        self.keeper: HistoryKeeper | None = None
        if settings.cold_after_days and not isinstance(self.store, DuckDBStore):
            from .errors import ConfigError

            if store is None:  # opened here: not left open behind the refusal
                self.store.close()
            raise ConfigError(
                "cold_after_days moves DuckDB history to Parquet; on PostgreSQL use pg_partition",
                details=[Problem("not a DuckDB store", Location(path="cold_after_days"))],
            )
        if isinstance(self.store, DuckDBStore):
            self.keeper = HistoryKeeper(self.store, self.retention, cold_after_s=settings.cold_after_days * 86_400,
                                        every=settings.history_every, clock=now_us)  # fmt: skip
        elif pg_classes is not None:  # the classes kept shorter than the longest: their rows deleted
            self.keeper = HistoryKeeper(pg_classes[0], self.retention, cold_after_s=0, every=settings.history_every,
                                        clock=now_us)  # fmt: skip
        self.hub = Hub(self.engine)
        self.query = QueryService(plant, self.engine, self.store, settings)  # SQL over the twin (POST /api/query)
        self.sim = SimRunner.from_settings(settings)  # simulation jobs (``/api/sim/runs``); closed with the platform
        self.collab = Collab(plant, settings.data_dir)  # shared rooms: presence and annotations (``/ws/collab``)
        self._plant_services(plant)
        self.sources: list[Source] = []
        self._started = False
        self._growths: list[tuple[str, Growth]] = []  # (actor, growth) asked for by sources, not yet saved
        self._grower: threading.Thread | None = None
        self._grow_lock = threading.Lock()
        self._closing = False
        self._regrown: list[Growth] = []  # handed to the sources of the version they made
        for source in self._build_sources(plant):
            self.add_source(source)

    def _pg_classes(self) -> tuple[Any, Settings] | None:
        """On PostgreSQL with a plant whose signals keep history for different times: the job that deletes
        the shorter classes' rows, and settings whose partition and rollup retention is the longest class's."""
        if postgres_url(self.store) is None:
            return None
        from .store.pgretention import PgRetention, longest_days, uniform

        policy = self.retention()
        if uniform(policy):
            return None
        longest = {"retention_raw_days": longest_days(policy, False),
                   "retention_rollup_days": longest_days(policy, True)}  # fmt: skip
        return PgRetention(self.store), self.settings.model_copy(update=longest)

    def retention(self) -> RetentionPolicy:
        """How long the running plant's signals keep raw rows and rollups (settings for the rest)."""
        plant, s = self.plant, self.settings
        cached = self._retention
        if cached is None or cached[0] is not plant:
            cached = (plant, RetentionPolicy.from_plant(plant, s.retention_raw_days, s.retention_rollup_days))
            self._retention = cached
        return cached[1]

    def _plant_services(self, plant: Plant) -> None:
        """The services built on one version of the plant: rules, alarms (and their notifiers), anomaly, KPIs."""
        settings = self.settings
        # Alarm rules of the plant file, evaluated on every stored batch; events in <data_dir>/alarms.sqlite.
        # Rules changed over the API (/api/rules) are kept beside the events and recompiled at once.
        journal = Journal(Path(settings.data_dir) / "alarms.sqlite", plant=plant.id)
        self.rules = RuleBook(plant, Path(settings.data_dir) / "alarms.sqlite")
        self.alarms = AlarmService(plant, self.engine, journal=journal, rules=self.rules.rules())
        self.rules.on_change = self.alarms.reload
        # Anomaly detectors of the plant file: their scores become signals that alarm rules watch.
        self.anomaly = AnomalyService(plant, self.engine)
        self.kpis = KpiService(plant, self.store)  # OEE per ISO 22400 from the stored history
        self.notifier: WebhookNotifier | None = None
        if settings.alarm_webhook:
            self.notifier = WebhookNotifier(
                self.alarms, settings.alarm_webhook, min_priority=AlarmPriority(settings.alarm_webhook_min_priority),
                max_per_minute=settings.alarm_webhook_max_per_minute, escalate_after_s=settings.alarm_escalate_after_s,
            )  # fmt: skip
        self.mailer: EmailNotifier | None = None
        if settings.alarm_smtp_host and settings.alarm_email_to:
            self.mailer = EmailNotifier(
                self.alarms, SmtpServer(settings.alarm_smtp_host, settings.alarm_smtp_port, settings.alarm_smtp_tls,
                                        settings.alarm_smtp_user,
                                        None if settings.alarm_smtp_password is None
                                        else settings.alarm_smtp_password.get_secret_value()),
                sender=settings.alarm_email_from, to=settings.alarm_email_to,
                min_priority=AlarmPriority(settings.alarm_email_min_priority),
                escalate_after_s=settings.alarm_email_escalate_after_s, escalate_to=settings.alarm_email_escalate_to,
                remind_every_s=settings.alarm_email_remind_every_s, max_per_hour=settings.alarm_email_max_per_hour,
            )  # fmt: skip
        # The query service's tables of the other services: alarms now and their journal, notes, KPIs.
        self.query.provide("alarms", self.alarms.table)
        self.query.provide("alarm_events", journal.table)
        self.query.provide("annotations", lambda: notes_table(self.collab.room(plant.id).annotations()))
        self.query.provide_kpis(self.kpis.table)

    def _build_sources(self, plant: Plant) -> list[Source]:
        """The sources of the settings and of the plant's 'sources:' section (located errors), not started."""
        out = [make_source(name, plant, self.settings) for name in self.configured_sources()]
        out.extend(build_field_sources(plant))
        return out

    # -- model versions ----------------------------------------------------------------------
    def _current_version(self, plant: Plant) -> Plant:
        """The plant to serve: the newest saved version, unless the plant file changed on disk since.

        A file edited on disk wins (it becomes a new version, numbered after the others);
        either way the sids of the newest version are kept, so history stays its signals'.
        """
        current = self.versions.current
        if current is None:
            return plant
        layout = self.versions.layout(current.number)
        disk = _file_sha256(plant.source)
        if disk is None or disk == self.versions.base_sha256:
            saved = loads_plant(self.versions.text(current.number), _file_name(plant.source))
            saved.source = plant.source
            saved.carry_sids(layout)
            return saved
        plant.carry_sids(layout)
        assert plant.source is not None
        self.versions.add(Path(plant.source).read_text(encoding="utf-8"), plant.signals.layout(), author="file",
                          author_id="", created=iso(now_us()), message="the plant file changed on disk",
                          summary=plant.summary(), base_sha256=disk)  # fmt: skip
        return plant

    def model_text(self) -> str | None:
        """The YAML text of the running model: its newest version, or the plant file; None without either."""
        current = self.versions.current
        if current is not None:
            return self.versions.text(current.number)
        source = self.plant.source
        return Path(source).read_text(encoding="utf-8") if source and Path(source).is_file() else None

    def check_model(self, text: str) -> Plant:
        """Load ``text`` as a new version of the running plant, or raise :class:`ModelLoadError`.

        The same checks as ``twinverse serve`` (:func:`check_plant_text`) plus one of its
        own: a version keeps the plant's id (history, rooms and the log are keyed by it).
        """
        name = _file_name(self.plant.source)
        plant = check_plant_text(text, name, self.plant.source)
        if plant.id != self.plant.id:
            loc = plant.located_doc.locate(("plant",)) if plant.located_doc is not None else Location(file=name)
            raise ModelLoadError([Problem(f"a new version must keep the plant id {self.plant.id!r}, "
                                          f"not {plant.id!r}", loc)])  # fmt: skip
        return plant

    def save_model(self, text: str, principal: Principal, *, message: str = "") -> ModelVersion:
        """Save ``text`` as a new model version and switch the running twin to it.

        A text that does not load raises :class:`ModelLoadError` with every located problem
        and changes nothing. Otherwise the version is stored (the first save also stores
        the running model as version 1), logged (``plant.model.version``, the text's SHA-256
        as body hash) and served at once: signals keep their sids, so their live values and
        history stay; sources, alarms, KPIs and SQL are rebuilt on the new model.
        """
        with self._switch_lock:
            plant = self.check_model(text)
            old = self.plant.signals
            retired = {pair: sig for pair, sig in zip(old.layout(), old.signal, strict=True)}
            plant.carry_sids(old.layout(), retired)
            sources = self._build_sources(plant)  # before anything changes: they may refuse the model
            created = iso(now_us())
            if self.versions.current is None:
                first = self.model_text() or ""
                self.versions.add(first, old.layout(), author="file", author_id="", created=created,
                                  message="the model as first served", summary=self.plant.summary(),
                                  base_sha256=_file_sha256(self.plant.source))  # fmt: skip
            ident = self.trust.store.get_identity(principal.id)
            author = ident.name if ident is not None else principal.id
            version = self.versions.add(text, plant.signals.layout(), author=author, author_id=principal.id,
                                        created=created, message=message, summary=plant.summary())  # fmt: skip
            self.trust.log_action(
                principal,
                "plant.model.version",
                f"plant:{plant.id}",
                body_sha256=version.sha256,
                details={"version": version.number, "message": message, **plant.summary()},
            )
            self._switch(plant, sources)
            return version

    def _switch(self, plant: Plant, sources: list[Source]) -> None:
        """Serve ``plant`` (its index carrying the running one's sids) with these new sources."""
        for c in reversed(self.sources):
            try:
                c.stop()
            except Exception:  # a failing source must not keep the old model running
                log.exception("source %s failed to stop", c.describe())
        if self.notifier is not None:
            self.notifier.close()
        if self.mailer is not None:
            self.mailer.close()
        self.alarms.close()
        self.rules.close()
        self.anomaly.close()
        self.engine.switch(plant)
        self.plant = plant
        old_query = self.query
        self.query = QueryService(plant, self.engine, self.store, self.settings)
        old_query.close()
        self._plant_services(plant)
        self.collab.switch(plant)
        self.sources = []
        for source in sources:
            regrown = getattr(source, "regrown", None)
            if self._regrown and callable(regrown):
                regrown(self._regrown)
            self.add_source(source)
        if self._started:
            self.alarms.start()
            if self.notifier is not None:
                self.notifier.start()
            if self.mailer is not None:
                self.mailer.start()

    def configured_sources(self) -> list[str]:
        """Names of the sources the settings ask for: ``sources``, plus ``mqtt`` when a broker is set."""
        names = list(dict.fromkeys(self.settings.sources))
        if self.settings.broker and "mqtt" not in names:
            names.append("mqtt")
        return names

    def add_source(self, source: Source) -> None:
        """Feed the engine from ``source`` too (started now if the platform is running).

        A :class:`~twinverse.ingest.base.Growing` source (a Sparkplug host with ``create``) may ask
        the model to grow: see :meth:`request_growth`.
        """
        if isinstance(source, Growing):
            kind, name = getattr(source, "kind", "source"), getattr(source, "name", "")
            source.on_grow = partial(self.request_growth, actor=f"source:{kind}:{name}" if name else "source")
        self.sources.append(source)
        if self._started:
            source.start(self.engine)

    # -- the model grown by sources ----------------------------------------------------------
    def request_growth(self, growth: Growth, *, actor: str = "source") -> None:
        """Queue twins and signals a source found; they are saved, together with those that come with
        them, as one new model version (:meth:`save_model`, logged with ``actor``) on a thread of
        its own. A source calls this from its own thread, which the switch to the new version stops.
        """
        with self._grow_lock:
            if self._closing:
                return
            self._growths.append((actor, growth))
            if self._grower is None:
                self._grower = threading.Thread(target=self._grow, name="model-growth", daemon=True)
                self._grower.start()

    def _grow(self) -> None:
        while True:
            time.sleep(_GROWTH_DELAY)  # the births of one edge come together: one version
            with self._grow_lock:
                asked, self._growths = self._growths, []
                if not asked or self._closing:
                    self._grower = None
                    return
            try:
                self._save_growth(asked)
            except Exception:  # logged; the next growth must still be saved
                log.exception("the model could not grow for %s", ", ".join(sorted({g.origin for _, g in asked})))

    def _save_growth(self, asked: list[tuple[str, Growth]]) -> None:
        growths = [g for _, g in asked]
        text = self.model_text()
        if text is None:
            log.error("the model cannot grow: it has no text (neither a plant file nor a saved version)")
            return
        new, problems = grow_text(text, growths)
        for problem in problems:
            log.warning("model growth: %s", problem)
        if new == text:
            return
        twins = sorted({g.twin.removeprefix(self.plant.id + "/") for g in growths})
        message = (f"{len(twins)} twin(s) grown from {', '.join(sorted({g.origin for g in growths}))}: "
                   f"{', '.join(twins[:20])}{' …' if len(twins) > 20 else ''}")  # fmt: skip
        principal = Principal(asked[0][0], self.settings.tenant, frozenset(), "source")
        self._regrown = growths
        try:
            version = self.save_model(new, principal, message=message)
        except TwinverseError as exc:
            log.error("model growth refused: %s", exc)
            self.trust.log_action(principal, "plant.model.refused", f"plant:{self.plant.id}",
                                  details={"message": message, "error": str(exc)[:2000]})  # fmt: skip
            return
        finally:
            self._regrown = []
        log.info("model version %d: %s", version.number, message)

    def record_model(self) -> int | None:
        """Log the plant model if it changed since the last start: its file's SHA-256 and summary.

        Returns the log index, or None when the model is the one already logged
        (:meth:`TrustService.record_model <twinverse.trust.TrustService.record_model>`).
        """
        return self.trust.record_model(self.plant, tenant=self.settings.tenant)

    @property
    def started(self) -> bool:
        """True between :meth:`start` and :meth:`stop`."""
        return self._started

    def source_health(self) -> list[tuple[str, Health]]:
        """``(name, health)`` of every source: ``kind:name`` when it has a name (``modbus:press``), else its
        ``kind``, numbered when several share one (``mqtt#2``)."""
        out: list[tuple[str, Health]] = []
        seen: dict[str, int] = {}
        for source in self.sources:
            health = source_health(source)
            kind = f"{health['kind']}:{health['name']}" if health.get("name") else str(health["kind"])
            seen[kind] = seen.get(kind, 0) + 1
            out.append((kind if seen[kind] == 1 else f"{kind}#{seen[kind]}", health))
        return out

    def readiness(self) -> list[Problem]:
        """What keeps the platform from serving; empty when it is ready.

        Ready means: started, the store answers a trivial query, and every source that
        reports ``connected`` is connected. Cheap enough for a load balancer to ask every
        second: one round trip to the store and no scan. The problems name the part (the
        ``path``) and say what is wrong in words safe to show unauthenticated callers; the
        underlying error goes to the log.
        """
        problems = []
        if not self.started:
            problems.append(Problem("the platform has not started (or is stopping)", Location(path="platform")))
        try:
            # LIMIT 0: a round trip through parser and planner that reads no row, on any backend.
            self.store.quarantine(limit=0)
        except Exception as exc:  # whatever the backend raises, the answer is "not ready"
            log.warning("readiness: the store does not answer: %s", exc)
            problems.append(Problem("the store does not answer", Location(path="store")))
        if self.follower is not None and not self.follower.connected.is_set():
            problems.append(Problem("live values from PostgreSQL are not followed", Location(path="live")))
        for name, health in self.source_health():
            if health.get("connected") is False:
                problems.append(Problem(f"source {name} is not connected", Location(path=f"source:{name}")))
            elif "error" in health:
                problems.append(Problem(f"source {name} cannot report its health", Location(path=f"source:{name}")))
        return problems

    def start(self) -> None:
        self.record_model()
        if self.follower is not None:
            self.follower.start()
        if self.partitions is not None:
            self.partitions.start()
        for c in self.sources:
            log.info("starting source: %s", c.describe())
            c.start(self.engine)
        if self.sealer is not None:
            self.sealer.start()
        if self.rollups is not None:
            self.rollups.start()
        if self.keeper is not None:
            self.keeper.start()
        self.sim.start()
        self.alarms.start()
        if self.notifier is not None:
            self.notifier.start()
        if self.mailer is not None:
            self.mailer.start()
        self._started = True

    def stop(self) -> None:
        with self._grow_lock:
            self._closing, grower = True, self._grower
        if grower is not None:
            grower.join(60)  # a version being saved is finished, not cut
        for c in reversed(self.sources):
            try:
                c.stop()
            except Exception:  # a failing source must not keep the store open
                log.exception("source %s failed to stop", c.describe())
        self._started = False
        self.sim.close()  # cancels running simulations instead of waiting for them
        if self.sealer is not None:
            self.sealer.stop()
        if self.rollups is not None:
            self.rollups.stop()
        if self.keeper is not None:
            self.keeper.stop()
        if self.follower is not None:
            self.follower.stop()
        if self.partitions is not None:
            self.partitions.stop()
        self.hub.close()
        self.engine.close()  # stores what is still queued (its alarms evaluated)
        self.query.close()
        if self.notifier is not None:
            self.notifier.close()
        if self.mailer is not None:
            self.mailer.close()
        self.alarms.close()
        self.rules.close()
        self.anomaly.close()
        self.store.close()
        if self._owns_trust:
            self.trust.close()


def check_plant_text(text: str, name: str, source: str | None = None) -> Plant:
    """Load a plant from ``text`` with the checks of ``twinverse serve``, or raise :class:`ModelLoadError`.

    Model, simulation section, model files (beside ``source``, the plant file the text
    stands for; none without one) and a scene the viewer can draw; the field sources are
    checked when a platform builds them.
    """
    plant = loads_plant(text, name)
    if plant.simulation_doc is not None:
        network_from_plant(plant)
    plant.source = source
    missing = missing_models(plant)  # a model file the plant's folder lacks: the text is refused
    if missing:
        doc = plant.located_doc
        raise ModelLoadError([
            Problem(f"model file {file!r} not found beside the plant file",
                    doc.locate(("types", t, "model")) if doc is not None else Location(file=name))
            for t, file in missing
        ])  # fmt: skip
    build_scene(plant)  # a layout the viewer cannot draw (bad shape or size) is refused too
    return plant


def _file_name(source: str | None) -> str:
    return Path(source).name if source else "plant.yaml"


def _file_sha256(source: str | None) -> str | None:
    if source is None or not Path(source).is_file():
        return None
    return hashlib.sha256(Path(source).read_bytes()).hexdigest()

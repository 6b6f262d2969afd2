"""Settings from ``twinverse.toml`` and ``TWINVERSE_*`` environment variables.

Precedence (highest first): explicit arguments, environment variables, the TOML file
(``$TWINVERSE_CONFIG`` or ``./twinverse.toml``), defaults.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from .errors import ConfigError, Location, Problem

__all__ = ["TENANT_PATTERN", "PlantEntry", "Settings", "load_settings"]


#: A tenant id: 1-63 of a-z, 0-9, '-', '_', starting alphanumeric (trust's tenants, plants' owners).
TENANT_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"


class PlantEntry(BaseModel):
    """One more plant of the deployment (setting ``plants``): its YAML file and the tenant that owns it."""

    model_config = ConfigDict(extra="forbid")

    file: Path = Field(description="Plant YAML file.")
    tenant: str = Field("default", pattern=TENANT_PATTERN, description="Tenant that owns the plant.")


class Settings(BaseSettings):
    """Everything a twinverse process can be configured with."""

    model_config = SettingsConfigDict(env_prefix="TWINVERSE_", extra="forbid", validate_default=True)

    data_dir: Path = Field(Path("data"), description="Where the embedded store and keys live.")
    plant: Path | None = Field(None, description="Plant YAML file to serve.")
    plants: list[PlantEntry] = Field(
        default_factory=list,
        description="More plants served by the same process, each owned by a tenant (TOML: "
        "[[plants]] file = …, tenant = …); each keeps its data in data_dir/plants/<id>/. "
        "Plants added over the API (POST /api/plants) are kept in data_dir/park.json.",
    )
    store: str = Field(
        "duckdb",
        description="'duckdb' (file in data_dir), a DuckDB file path, ':memory:', or a postgresql:// URL. "
        "A DuckDB URL may end in '?memory_limit=1GB' (the buffer pool's cap; default 256MB for a file) "
        "and '&staging=off' (small appends straight to DuckDB instead of through its staging file).",
    )
    broker: str | None = Field(
        None, description="MQTT broker URL such as mqtt://127.0.0.1:1883; set means the 'mqtt' source starts."
    )
    sources: list[str] = Field(
        default_factory=list,
        description="Sources to start by name (built-ins 'mqtt', 'synthetic', or plugins of the "
        "twinverse.sources entry-point group); 'mqtt' is implied when broker is set.",
    )
    mqtt_topic: str = Field(
        "twinverse/{twin}/{signal}",
        description="Topic pattern; {twin} may span levels, {signal} is one level. Used to subscribe and map.",
    )
    mqtt_client_id: str = Field("twinverse-ingest", description="Client id of the persistent MQTT session.")
    mqtt_max_message_bytes: int = Field(1_048_576, ge=1, description="Larger MQTT payloads are quarantined.")
    nats_url: str | None = Field(
        None, description="NATS server URL such as nats://127.0.0.1:4222, for the 'jetstream' source and workers."
    )
    nats_stream: str = Field(
        "twinverse", description="JetStream stream the 'jetstream' source reads (created if missing)."
    )
    nats_durable: str = Field(
        "twinverse-workers", description="Durable pull consumer that every worker of a deployment shares."
    )
    nats_ack_wait: float = Field(
        30.0, gt=0, description="Seconds JetStream waits for a worker's ack before redelivering to another."
    )
    worker_group: str = Field(
        "twinverse", description="MQTT shared-subscription group of the workers ($share/<group>/<topic>)."
    )
    live_source: Literal["local", "postgres"] = Field(
        "local",
        description="Where an API process's live values come from: 'local' (what it ingests itself) or "
        "'postgres' (the live_latest table and NOTIFY that workers keep; needs a postgresql:// store).",
    )
    pg_partition: Literal["none", "day", "week", "month"] = Field(
        "none",
        description="PostgreSQL history as declarative partitions of this period (UTC), created ahead; "
        "'none' keeps one plain table. Set it on a new database (a plain table holding rows is refused).",
    )
    pg_partitions_ahead: int = Field(3, ge=1, description="Partitions kept created beyond the current period.")
    retention_raw_days: float = Field(
        0.0, ge=0, description="Raw history older than this many days is dropped (PostgreSQL with pg_partition: "
        "a whole partition at a time; DuckDB: rows and cold day files, every history_every seconds) for signals "
        "whose plant names no retention of their own; 0 keeps it for ever.",
    )
    cold_after_days: float = Field(
        0.0, ge=0, description="DuckDB store: whole UTC days of raw history older than this many days are moved "
        "from the database to Parquet files in data_dir/history/day=YYYY-MM-DD/, which every query still reads; "
        "0 keeps all history in the database.",
    )
    history_every: float = Field(
        600.0, gt=0, description="Seconds between rounds of the DuckDB store's history job (the move to Parquet "
        "of cold_after_days, then retention).",
    )
    pg_rollups: bool = Field(
        False, description="PostgreSQL: keep 1-minute/1-hour rollups (refreshed every rollup_every seconds by one "
        "API process at a time; workers log late rows) and answer downsampled history from them.",
    )
    retention_rollup_days: float = Field(
        0.0, ge=0, description="Rollups older than this many days are deleted (PostgreSQL with pg_rollups; DuckDB) "
        "for signals whose plant names no retention of their own; 0 keeps them for ever. Set it longer than "
        "retention_raw_days: rollups outlive the raw rows.",
    )
    live_channel: str = Field("twinverse_live", description="PostgreSQL NOTIFY channel of live changes.")
    host: str = Field("127.0.0.1", description="Address the API binds to.")
    port: int = Field(8000, ge=0, le=65535, description="Port the API binds to.")
    max_body_bytes: int = Field(64 * 1024 * 1024, ge=1024, description="Largest accepted HTTP request body.")
    max_points: int = Field(
        10_000_000, ge=1, description="Most points one ingest request (JSON or Arrow) may carry; more is refused (413)."
    )
    max_arrow_bytes: int = Field(
        512 * 1024 * 1024,
        ge=1024,
        description="Largest decoded (decompressed) size of an Arrow ingest body, counted batch by batch "
        "while it is read; more is refused (413).",
    )
    alarm_webhook: str | None = Field(
        None, pattern=r"^https?://",
        description="POST alarm events as JSON to this URL (batched, rate-limited; see docs/alarms.md).",
    )
    alarm_webhook_min_priority: Literal["low", "medium", "high", "urgent"] = Field(
        "low", description="Only alarms of this priority or more urgent go to the webhook.",
    )
    alarm_webhook_max_per_minute: int = Field(
        30, ge=1, le=6000, description="Most webhook requests per minute; a flood rides in fewer, larger requests.",
    )
    alarm_escalate_after_s: float | None = Field(
        None, gt=0, description="Send an escalation to the webhook when an alarm stays unacknowledged this long.",
    )
    alarm_smtp_host: str | None = Field(
        None, description="SMTP server for alarm e-mails; set (with alarm_email_to) means alarms are mailed.",
    )
    alarm_smtp_port: int = Field(25, ge=1, le=65535, description="Port of the SMTP server.")
    alarm_smtp_tls: Literal["none", "starttls", "ssl"] = Field(
        "none", description="'starttls' upgrades the connection, 'ssl' is TLS from the start (port 465).",
    )
    alarm_smtp_user: str | None = Field(None, description="Login at the SMTP server (none when unset).")
    alarm_smtp_password: SecretStr | None = Field(
        None, description="Password of alarm_smtp_user (set it through TWINVERSE_ALARM_SMTP_PASSWORD).",
    )
    alarm_email_from: str = Field("twinverse@localhost", description="Sender address of alarm e-mails.")
    alarm_email_to: list[str] = Field(
        default_factory=list, description="Recipients of new alarms and reminders.",
    )
    alarm_email_min_priority: Literal["low", "medium", "high", "urgent"] = Field(
        "high", description="Only alarms of this priority or more urgent are mailed.",
    )
    alarm_email_escalate_after_s: float | None = Field(
        None, gt=0, description="Mail alarm_email_escalate_to when an alarm stays unacknowledged this long.",
    )
    alarm_email_escalate_to: list[str] = Field(
        default_factory=list, description="Recipients of escalations (default: alarm_email_to).",
    )
    alarm_email_remind_every_s: float | None = Field(
        None, gt=0, description="Remind alarm_email_to of alarms still unacknowledged, this often.",
    )
    alarm_email_max_per_hour: int = Field(
        20, ge=1, le=10_000, description="Most alarm e-mails per hour; a flood becomes one digest mail.",
    )
    ws_max_rate: float = Field(
        30.0, gt=0, le=1000,
        description="Most websocket pushes per second per client (a client may ask for fewer: op 'rate').",
    )
    ws_max_clients: int = Field(
        32, ge=1, description="Websocket connections one token may hold open at once (more are refused, 1008)."
    )
    ws_max_subscriptions: int = Field(
        256, ge=1, description="Subtrees one websocket client may follow at once."
    )
    auth: Literal["token", "open"] = Field(
        "token",
        description=(
            "'token': every request needs a bearer token (an admin token is written to "
            "data_dir/admin.token); 'open': demo mode, requests without a token act as a local admin."
        ),
    )
    tenant: str = Field("default", description="Tenant that owns the plant this process serves.")
    seal_history: bool = Field(
        True, description="Seal completed history segments into the transparency log (history:<plant> entries)."
    )
    seal_segment: float = Field(
        600.0, gt=0, description="Length in seconds of a sealed history segment (epoch-aligned)."
    )
    seal_lag: float = Field(
        300.0, ge=0, description="Seconds after a segment ends before it is sealed; later rows are flagged by verify."
    )
    rollup_every: float = Field(
        30.0, ge=0, description="Seconds between refreshes of the 1-minute/1-hour rollups that downsampled "
        "history queries read (DuckDB store); 0 turns the refresh off (queries then read raw rows).",
    )
    sim_max_concurrent: int = Field(2, ge=1, description="Simulation runs that run at the same time (a core each).")
    sim_max_queued: int = Field(
        20, ge=0, description="Simulation runs waiting to start, over all tenants; more are refused (429)."
    )
    sim_max_queued_per_tenant: int = Field(
        5, ge=0, description="Simulation runs waiting to start per tenant; more are refused (429)."
    )
    sim_max_until: float = Field(
        1e9, gt=0, description="Longest horizon (until) and warm-up of a simulation run, in model time units (422)."
    )
    sim_max_reps: int = Field(100, ge=1, description="Most replications of one simulation run (422).")
    sim_max_events: int = Field(
        1_000_000_000,
        ge=1,
        description="Most events one simulation run may process, over all its replications; "
        "a run that passes it is stopped and reported failed.",
    )
    sim_max_kept: int = Field(
        200, ge=1, description="Finished simulation runs kept in memory (oldest forgotten first)."
    )
    query_timeout: float = Field(
        30.0,
        gt=0,
        description="Seconds one SQL query (POST /api/query, twinverse query) may run; then it is stopped (422).",
    )
    query_max_rows: int = Field(
        1_000_000, ge=1, description="Most rows one SQL query may return over all its pages; more is refused (422)."
    )
    query_memory_mb: int = Field(
        512,
        ge=1,
        description="MiB one SQL query's result may hold (counted as it is read, on both stores); "
        "more is refused (422).",
    )
    query_memory_limit: str = Field(
        "128MB",
        pattern=r"^[0-9]+(\.[0-9]+)?\s*([KMGT]i?B)$",
        description="Memory one SQL query's sorts, hash tables and windows may hold on DuckDB (its "
        "operator_memory_limit, per query connection; beyond it they spill to disk) and on PostgreSQL its "
        "work_mem; DuckDB's size syntax (128MB, 1GiB). A query that needs more than it can spill is "
        "refused (422, reason memory).",
    )
    query_max_chars: int = Field(100_000, ge=16, description="Longest accepted SQL text, in characters (422).")
    query_cursors: int = Field(
        16, ge=0, description="Paged query results kept for their next pages (oldest forgotten first)."
    )
    synthetic_rate: float = Field(1.0, gt=0, description="Demo: synthetic plant samples per second per signal.")
    seed: int = Field(42, description="Demo: seed of the synthetic plant.")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = Path(os.environ.get("TWINVERSE_CONFIG", "twinverse.toml"))
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file=toml))

    @property
    def store_url(self) -> str:
        return self.store


def load_settings(**overrides: Any) -> Settings:
    """Build :class:`Settings`; invalid values raise :class:`ConfigError` naming the field."""
    clean = {k: v for k, v in overrides.items() if v is not None}
    src = os.environ.get("TWINVERSE_CONFIG", "twinverse.toml")
    try:
        return Settings(**clean)
    except ValidationError as exc:
        problems = [
            Problem(e["msg"], Location(_source_of(e["loc"], clean, src), None, ".".join(map(str, e["loc"]))))
            for e in exc.errors(include_url=False)
        ]
        raise ConfigError(f"invalid settings: {problems[0]}", details=problems) from None
    except Exception as exc:  # tomllib.TOMLDecodeError and friends from the TOML source
        raise ConfigError(f"{src}: cannot read settings: {exc}", details=[Problem(str(exc), Location(src))]) from exc


def _source_of(loc: tuple[int | str, ...], explicit: dict[str, Any], toml: str) -> str | None:
    """Where a bad value came from, in precedence order: argument, environment, TOML file."""
    name = str(loc[0]) if loc else ""
    if name in explicit:
        return None
    env = f"TWINVERSE_{name.upper()}"
    if any(k.upper() == env for k in os.environ):
        return f"${env}"
    return toml if Path(toml).exists() else None

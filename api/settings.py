"""Configuration, from the environment (12-factor); one object handed to create_app.

Each setting names the environment variable it is read from in its field's metadata,
with the parser for its kind of value (``api.environment``): the one place where a
variable is bound to a setting. README.md's configuration table lists every variable
(tests/api/test_settings.py checks both ways).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from api.environment import (
    METADATA_KEY,
    Variable,
    choice,
    minutes,
    path,
    pem_or_path,
    role_or_off,
    seconds,
    switch,
    text,
    variable,
    whole,
)
from eventstore.embedded import default_data_dir
from eventstore.files import create_once

EMBEDDED_SERVING_ROLE = "gateledger_serving"
DAY_S = 24 * 3600


def _default_serving_role(values: Mapping[str, Any]) -> str | None:
    """``gateledger_serving`` on the embedded PostgreSQL (whose superuser the server is),
    none with DATABASE_URL (the operator opts in there)."""
    return None if values.get("database_url") else EMBEDDED_SERVING_ROLE


@dataclass(frozen=True)
class Settings:
    """Everything the server needs to know about its surroundings."""

    database_url: str | None = field(default=None, metadata=variable("DATABASE_URL", text))
    data_dir: Path = field(
        default_factory=default_data_dir, metadata=variable("GATELEDGER_DATA_DIR", path)
    )
    schema: str = field(default="public", metadata=variable("GATELEDGER_SCHEMA", text))
    # HS256 secret; none configured: one generated once and kept in the data folder.
    jwt_secret: str = field(default="", metadata=variable("GATELEDGER_JWT_SECRET", text))
    jwt_public_key: str | None = field(
        default=None, metadata=variable("GATELEDGER_JWT_PUBLIC_KEY", pem_or_path)
    )
    jwt_audience: str | None = field(
        default=None, metadata=variable("GATELEDGER_JWT_AUDIENCE", text)
    )
    jwt_issuer: str | None = field(default=None, metadata=variable("GATELEDGER_JWT_ISSUER", text))
    # How long a token `gateledger token` mints is valid, unless --ttl says otherwise.
    token_ttl_seconds: int = field(
        default=8 * 3600, metadata=variable("GATELEDGER_TOKEN_TTL", whole(1, 365 * DAY_S))
    )
    # A token valid for longer is refused (401).
    token_max_ttl_s: int = field(
        default=366 * DAY_S, metadata=variable("GATELEDGER_TOKEN_MAX_TTL", whole(1, 10**9))
    )
    # A longer body is 413.
    max_body_bytes: int = field(
        default=256 * 1024,
        metadata=variable("GATELEDGER_MAX_BODY_BYTES", whole(1024, 64 * 1024 * 1024)),
    )
    # Arrays and objects nested deeper than this in a JSON body: 400 (api/raw_input.py).
    max_json_depth: int = field(
        default=32, metadata=variable("GATELEDGER_MAX_JSON_DEPTH", whole(1, 256))
    )
    # How long a read (or command) waits for ?min_position= or the access model.
    min_position_wait_s: float = field(
        default=5.0, metadata=variable("GATELEDGER_MIN_POSITION_WAIT", seconds(300))
    )
    run_projector: bool = field(default=True, metadata=variable("GATELEDGER_PROJECTOR", switch))
    run_scheduler: bool = field(default=True, metadata=variable("GATELEDGER_ESCALATION", switch))
    demo_if_empty: bool = field(
        default=False, metadata=variable("GATELEDGER_DEMO_IF_EMPTY", switch)
    )
    escalation_interval_s: float = field(
        default=60.0, metadata=variable("GATELEDGER_ESCALATION_INTERVAL", seconds(DAY_S))
    )
    # Signed checkpoints of the hash chain: the Ed25519 key (default: kept in the data
    # folder, made on first use), and how often the server signs the chain's head.
    checkpoint_key: Path | None = field(
        default=None, metadata=variable("GATELEDGER_CHECKPOINT_KEY", path)
    )
    # The restricted role the server acts as (created and granted at start-up by the
    # owner it connects as; see eventstore.roles); blank or "off": none.
    serving_role: str | None = field(
        default=None,
        metadata=variable(
            "GATELEDGER_SERVING_ROLE",
            role_or_off,
            blank_is_value=True,
            unset=_default_serving_role,
        ),
    )
    run_checkpointer: bool = field(
        default=True, metadata=variable("GATELEDGER_CHECKPOINTS", switch)
    )
    checkpoint_every_events: int = field(
        default=1000, metadata=variable("GATELEDGER_CHECKPOINT_EVERY", whole(1, 10**9))
    )
    checkpoint_interval_s: float = field(
        default=3600.0, metadata=variable("GATELEDGER_CHECKPOINT_MINUTES", minutes(1, 10**9))
    )
    # Limits (docs/operations.md#limits). Requests a person may make a minute, shared by
    # every server process through PostgreSQL (api/limits.py); 0: no limit.
    rate_commands: int = field(
        default=120,
        metadata=variable("GATELEDGER_RATE_COMMANDS", whole(0, 1_000_000, off=True)),
    )
    rate_expensive: int = field(
        default=30,
        metadata=variable("GATELEDGER_RATE_EXPENSIVE", whole(0, 1_000_000, off=True)),
    )
    # A request's line and header fields (431 beyond); seconds a connection may sit idle,
    # take to send its headers, take to send its body (api/connections.py).
    max_header_bytes: int = field(
        default=16 * 1024,
        metadata=variable("GATELEDGER_MAX_HEADER_BYTES", whole(1024, 1024 * 1024)),
    )
    max_header_fields: int = field(
        default=100, metadata=variable("GATELEDGER_MAX_HEADER_FIELDS", whole(10, 1000))
    )
    idle_timeout_s: float = field(
        default=5.0, metadata=variable("GATELEDGER_IDLE_TIMEOUT", seconds())
    )
    header_timeout_s: float = field(
        default=10.0, metadata=variable("GATELEDGER_HEADER_TIMEOUT", seconds())
    )
    body_timeout_s: float = field(
        default=30.0, metadata=variable("GATELEDGER_BODY_TIMEOUT", seconds())
    )
    # The server's database pool (docs/deploy.md): its size per process, how long a
    # request waits for a free connection, and the PostgreSQL statement_timeout and
    # lock_timeout of its sessions; past any of them a request answers 503 with
    # Retry-After, never hangs. Command-line tools (rebuild, export) are not bounded.
    db_pool_size: int = field(
        default=20, metadata=variable("GATELEDGER_DB_POOL_SIZE", whole(2, 1000))
    )
    db_acquire_timeout_s: float = field(
        default=5.0, metadata=variable("GATELEDGER_DB_ACQUIRE_TIMEOUT", seconds(600))
    )
    db_statement_timeout_s: float = field(
        default=30.0, metadata=variable("GATELEDGER_DB_STATEMENT_TIMEOUT", seconds())
    )
    db_lock_timeout_s: float = field(
        default=5.0, metadata=variable("GATELEDGER_DB_LOCK_TIMEOUT", seconds(600))
    )
    # Operations (docs/deploy.md): log lines as JSON objects or text; a bearer token
    # /metrics then asks for (unset: public); a folder where every server process of
    # this host keeps its request metrics, so that any one of them answers for all; how
    # far behind the log a read model may be for /readyz to say ready.
    log_format: str = field(
        default="text", metadata=variable("GATELEDGER_LOG_FORMAT", choice("text", "json"))
    )
    metrics_token: str | None = field(
        default=None, metadata=variable("GATELEDGER_METRICS_TOKEN", text)
    )
    metrics_dir: Path | None = field(
        default=None, metadata=variable("GATELEDGER_METRICS_DIR", path)
    )
    ready_max_lag: int = field(
        default=10_000, metadata=variable("GATELEDGER_READY_MAX_LAG", whole(0, 10**9))
    )

    # Live updates (GET /api/v1/events/stream, api/feed.py): a comment line this often
    # keeps proxies from closing a quiet stream; how often this process looks for new
    # events besides waking on NOTIFY; open streams per person in this process.
    stream_heartbeat_s: float = field(
        default=15.0, metadata=variable("GATELEDGER_STREAM_HEARTBEAT", seconds(3600))
    )
    stream_poll_s: float = field(
        default=1.0, metadata=variable("GATELEDGER_STREAM_POLL", seconds(60))
    )
    streams_per_person: int = field(
        default=5, metadata=variable("GATELEDGER_STREAMS_PER_PERSON", whole(1, 1000))
    )
    # Outbound webhooks (api/webhooks.py): whether this process dispatches (one process
    # of those switched on does at a time), how often it looks, each request's timeout,
    # the first retry's wait and the longest (doubling between), and whether receivers
    # may be on loopback, private or link-local addresses
    # (docs/security.md#live-updates-and-webhooks).
    run_webhooks: bool = field(default=True, metadata=variable("GATELEDGER_WEBHOOKS", switch))
    webhook_poll_s: float = field(
        default=1.0, metadata=variable("GATELEDGER_WEBHOOK_POLL", seconds(3600))
    )
    webhook_timeout_s: float = field(
        default=10.0, metadata=variable("GATELEDGER_WEBHOOK_TIMEOUT", seconds(300))
    )
    webhook_retry_first_s: float = field(
        default=5.0, metadata=variable("GATELEDGER_WEBHOOK_RETRY_FIRST", seconds(DAY_S))
    )
    webhook_retry_max_s: float = field(
        default=3600.0, metadata=variable("GATELEDGER_WEBHOOK_RETRY_MAX", seconds(DAY_S))
    )
    webhook_private_targets: bool = field(
        default=False, metadata=variable("GATELEDGER_WEBHOOK_PRIVATE_TARGETS", switch)
    )

    @property
    def checkpoint_key_path(self) -> Path:
        return self.checkpoint_key or self.data_dir / "checkpoint-ed25519.pem"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, /, **overrides: Any) -> Settings:
        """Every setting from its variable in ``env`` (default: the process's environment)
        unless given in ``overrides``; a bad value is a ``ValueError`` naming its variable.
        With no JWT secret, the one kept in the data folder (made on first use)."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for name, var in variables().items():
            given, value = var.read(env)
            if given:
                values[name] = value
        values.update(overrides)
        for name, var in variables().items():
            if name not in values and var.unset is not None:
                values[name] = var.unset(values)
        settings = cls(**values)
        return settings if settings.jwt_secret else _with_kept_secret(settings)


def variables() -> dict[str, Variable]:
    """Each setting's name -> the variable it is read from."""
    return {f.name: f.metadata[METADATA_KEY] for f in fields(Settings)}


def _with_kept_secret(settings: Settings) -> Settings:
    """No secret configured: share one, generated once, kept in the data folder."""
    kept = settings.data_dir / "jwt-secret"
    if not kept.exists():  # the first of several processes starting at once writes it
        create_once(kept, secrets.token_urlsafe(48).encode())
    return replace(settings, jwt_secret=kept.read_text().strip())

"""Configuration, from the environment (12-factor); one object handed to create_app."""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from eventstore.embedded import default_data_dir
from eventstore.files import create_once


@dataclass(frozen=True)
class Settings:
    """Everything the server needs to know about its surroundings."""

    database_url: str | None = None
    data_dir: Path = field(default_factory=default_data_dir)
    schema: str = "public"
    jwt_secret: str = ""
    jwt_public_key: str | None = None
    jwt_audience: str | None = None
    jwt_issuer: str | None = None
    token_ttl_seconds: int = 8 * 3600
    token_max_ttl_s: int = 366 * 24 * 3600  # a token valid for longer is refused (401)
    max_body_bytes: int = 256 * 1024
    # Arrays and objects nested deeper than this in a JSON body: 400 (api/raw_input.py).
    max_json_depth: int = 32
    min_position_wait_s: float = 5.0
    run_projector: bool = True
    run_scheduler: bool = True
    demo_if_empty: bool = False
    escalation_interval_s: float = 60.0
    # Signed checkpoints of the hash chain: the Ed25519 key (default: kept in the data
    # folder, made on first use), and how often the server signs the chain's head.
    checkpoint_key: Path | None = None
    # With DATABASE_URL naming the store's owner: the restricted role the server acts
    # as (created and granted at start-up; see eventstore.roles).
    serving_role: str | None = None
    run_checkpointer: bool = True
    checkpoint_every_events: int = 1000
    checkpoint_interval_s: float = 3600.0
    # Limits (docs/operations.md#limits). Requests a person may make a minute, shared by
    # every server process through PostgreSQL (api/limits.py); 0: no limit.
    rate_commands: int = 120
    rate_expensive: int = 30
    # A request's line and header fields (431 beyond); seconds a connection may sit idle,
    # take to send its headers, take to send its body (api/connections.py).
    max_header_bytes: int = 16 * 1024
    max_header_fields: int = 100
    idle_timeout_s: float = 5.0
    header_timeout_s: float = 10.0
    body_timeout_s: float = 30.0

    @property
    def checkpoint_key_path(self) -> Path:
        return self.checkpoint_key or self.data_dir / "checkpoint-ed25519.pem"

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        """Read ``DATABASE_URL`` and the ``GATELEDGER_*`` variables."""
        env = os.environ
        data_dir = Path(env["GATELEDGER_DATA_DIR"]) if env.get("GATELEDGER_DATA_DIR") else None
        values: dict[str, object] = {
            "database_url": env.get("DATABASE_URL") or None,
            "schema": env.get("GATELEDGER_SCHEMA", "public"),
            "jwt_secret": env.get("GATELEDGER_JWT_SECRET", ""),
            "jwt_public_key": _read_key(env.get("GATELEDGER_JWT_PUBLIC_KEY")),
            "jwt_audience": env.get("GATELEDGER_JWT_AUDIENCE") or None,
            "jwt_issuer": env.get("GATELEDGER_JWT_ISSUER") or None,
            "run_scheduler": _on_off("GATELEDGER_ESCALATION", env.get("GATELEDGER_ESCALATION")),
            "token_max_ttl_s": _positive(
                "GATELEDGER_TOKEN_MAX_TTL", env.get("GATELEDGER_TOKEN_MAX_TTL"), 366 * 24 * 3600
            ),
            "checkpoint_every_events": _positive(
                "GATELEDGER_CHECKPOINT_EVERY", env.get("GATELEDGER_CHECKPOINT_EVERY"), 1000
            ),
            "checkpoint_interval_s": 60.0
            * _positive(
                "GATELEDGER_CHECKPOINT_MINUTES", env.get("GATELEDGER_CHECKPOINT_MINUTES"), 60
            ),
            **_limits(env),
        }
        if data_dir is not None:
            values["data_dir"] = data_dir
        values["serving_role"] = _serving_role(env.get("GATELEDGER_SERVING_ROLE"), values)
        if env.get("GATELEDGER_CHECKPOINT_KEY"):
            values["checkpoint_key"] = Path(env["GATELEDGER_CHECKPOINT_KEY"]).expanduser()
        values.update(overrides)
        settings = cls(**values)  # type: ignore[arg-type]
        if not settings.jwt_secret:
            settings = _with_kept_secret(settings)
        return settings


EMBEDDED_SERVING_ROLE = "gateledger_serving"


def _serving_role(value: str | None, values: dict[str, object]) -> str | None:
    """The role to serve as: by default ``gateledger_serving`` on the embedded PostgreSQL
    (whose superuser the server is), none with DATABASE_URL; ``off`` for none."""
    if value is None:
        return None if values.get("database_url") else EMBEDDED_SERVING_ROLE
    value = value.strip()
    if value.lower() in ("", "off"):
        return None
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", value):
        raise ValueError(
            "GATELEDGER_SERVING_ROLE must be a role name (lower-case letters, digits, _) "
            f"or 'off', not {value!r}"
        )
    return value


def _positive(name: str, value: str | None, default: int) -> int:
    """A whole number of at least 1 from the environment: unset means ``default``."""
    return _number(name, value, default, 1, 10**9)


def _limits(env: Mapping[str, str]) -> dict[str, object]:
    """The rate, header and connection limits from the environment."""

    def var(name: str) -> tuple[str, str | None]:
        return f"GATELEDGER_{name}", env.get(f"GATELEDGER_{name}")

    return {
        "rate_commands": _rate(*var("RATE_COMMANDS"), 120),
        "rate_expensive": _rate(*var("RATE_EXPENSIVE"), 30),
        "max_header_bytes": _number(*var("MAX_HEADER_BYTES"), 16 * 1024, 1024, 1024 * 1024),
        "max_header_fields": _number(*var("MAX_HEADER_FIELDS"), 100, 10, 1000),
        "idle_timeout_s": _seconds(*var("IDLE_TIMEOUT"), 5.0),
        "header_timeout_s": _seconds(*var("HEADER_TIMEOUT"), 10.0),
        "body_timeout_s": _seconds(*var("BODY_TIMEOUT"), 30.0),
    }


def _rate(name: str, value: str | None, default: int) -> int:
    """Requests a minute per person: unset means ``default``, ``off`` or 0 no limit."""
    if value is not None and value.strip().lower() == "off":
        return 0
    return _number(name, value, default, 0, 1_000_000, " or 'off'")


def _number(name: str, value: str | None, default: int, low: int, high: int, alt: str = "") -> int:
    """A whole number from ``low`` to ``high`` from the environment: unset means ``default``."""
    if value is None or not value.strip():
        return default
    try:
        number = int(value)
    except ValueError:
        number = low - 1
    if not low <= number <= high:
        raise ValueError(f"{name} must be a whole number from {low} to {high}{alt}, not {value!r}")
    return number


def _seconds(name: str, value: str | None, default: float) -> float:
    """Seconds (decimals allowed), more than 0 and at most an hour: unset means ``default``."""
    if value is None or not value.strip():
        return default
    try:
        number = float(value)
    except ValueError:
        number = 0.0
    if not 0 < number <= 3600:  # also refuses nan
        raise ValueError(f"{name} must be seconds, more than 0 and at most 3600, not {value!r}")
    return number


def _on_off(name: str, value: str | None) -> bool:
    """An on/off switch from the environment: unset means on."""
    if value is None or value.strip().lower() in ("", "on"):
        return True
    if value.strip().lower() == "off":
        return False
    raise ValueError(f"{name} must be 'on' or 'off', not {value!r}")


def _read_key(value: str | None) -> str | None:
    if not value:
        return None
    if "BEGIN" in value:
        return value
    return Path(value).expanduser().read_text()


def _with_kept_secret(settings: Settings) -> Settings:
    """No secret configured: share one, generated once, kept in the data folder."""
    from dataclasses import replace

    path = settings.data_dir / "jwt-secret"
    if not path.exists():  # the first of several processes starting at once writes it
        create_once(path, secrets.token_urlsafe(48).encode())
    return replace(settings, jwt_secret=path.read_text().strip())

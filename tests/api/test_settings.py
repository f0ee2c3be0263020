"""Settings read from the environment."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import pytest

from api.environment import METADATA_KEY
from api.settings import Settings, variables


@pytest.mark.parametrize(("value", "runs"), [(None, True), ("on", True), ("OFF", False)])
def test_the_escalation_job_can_be_switched_off(
    value: str | None, runs: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GATELEDGER_JWT_SECRET", "s" * 40)
    if value is None:
        monkeypatch.delenv("GATELEDGER_ESCALATION", raising=False)
    else:
        monkeypatch.setenv("GATELEDGER_ESCALATION", value)
    assert Settings.from_env().run_scheduler is runs


def test_a_bad_switch_value_is_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATELEDGER_JWT_SECRET", "s" * 40)
    monkeypatch.setenv("GATELEDGER_ESCALATION", "maybe")
    with pytest.raises(ValueError, match="GATELEDGER_ESCALATION must be 'on' or 'off'"):
        Settings.from_env()


LIMIT_VARIABLES = ("RATE_COMMANDS", "RATE_EXPENSIVE", "MAX_HEADER_BYTES", "MAX_HEADER_FIELDS")
TIMEOUT_VARIABLES = ("IDLE_TIMEOUT", "HEADER_TIMEOUT", "BODY_TIMEOUT")


def _limits_env(monkeypatch: pytest.MonkeyPatch, **values: str) -> Settings:
    monkeypatch.setenv("GATELEDGER_JWT_SECRET", "s" * 40)
    for name in LIMIT_VARIABLES + TIMEOUT_VARIABLES:
        monkeypatch.delenv(f"GATELEDGER_{name}", raising=False)
    for name, value in values.items():
        monkeypatch.setenv(f"GATELEDGER_{name}", value)
    return Settings.from_env()


def test_limits_have_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    s = _limits_env(monkeypatch)
    assert (s.rate_commands, s.rate_expensive) == (120, 30)
    assert (s.max_header_bytes, s.max_header_fields) == (16384, 100)
    assert (s.idle_timeout_s, s.header_timeout_s, s.body_timeout_s) == (5.0, 10.0, 30.0)


def test_limits_are_read_and_rate_limits_switch_off(monkeypatch: pytest.MonkeyPatch) -> None:
    s = _limits_env(
        monkeypatch,
        RATE_COMMANDS="off",
        RATE_EXPENSIVE="0",
        MAX_HEADER_BYTES="8192",
        MAX_HEADER_FIELDS="50",
        IDLE_TIMEOUT="0.5",
        HEADER_TIMEOUT="2",
        BODY_TIMEOUT="60",
    )
    assert (s.rate_commands, s.rate_expensive) == (0, 0)
    assert (s.max_header_bytes, s.max_header_fields) == (8192, 50)
    assert (s.idle_timeout_s, s.header_timeout_s, s.body_timeout_s) == (0.5, 2.0, 60.0)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("RATE_COMMANDS", "-1", "a whole number from 0 to 1000000 or 'off'"),
        ("RATE_EXPENSIVE", "lots", "a whole number from 0 to 1000000 or 'off'"),
        ("MAX_HEADER_BYTES", "100", "a whole number from 1024 to 1048576"),
        ("MAX_HEADER_FIELDS", "1.5", "a whole number from 10 to 1000"),
        ("IDLE_TIMEOUT", "0", "seconds, more than 0 and at most 3600"),
        ("HEADER_TIMEOUT", "nan", "seconds, more than 0 and at most 3600"),
        ("BODY_TIMEOUT", "inf", "seconds, more than 0 and at most 3600"),
    ],
)
def test_a_bad_limit_is_refused_by_name(
    name: str, value: str, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ValueError, match=f"GATELEDGER_{name} must be {message}, not '{value}'"):
        _limits_env(monkeypatch, **{name: value})


# Every setting is bound to one variable, and README.md lists exactly those variables.

README = Path(__file__).resolve().parents[2] / "README.md"
ENV = {"GATELEDGER_JWT_SECRET": "s" * 40}  # no secret would write one to the data folder


def _readme_variables() -> set[str]:
    """The variables named in the first column of README.md's configuration table."""
    section = README.read_text().split("## Configuration (environment)", 1)[1]
    section = section.split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    return {name for row in rows for name in re.findall(r"`([A-Z_]+)`", row.split("|")[1])}


def test_every_setting_is_read_from_a_variable_of_its_own() -> None:
    unbound = [f.name for f in fields(Settings) if METADATA_KEY not in f.metadata]
    assert unbound == []
    names = [var.name for var in variables().values()]
    assert len(names) == len(set(names))
    assert all(re.fullmatch(r"GATELEDGER_[A-Z_]+|DATABASE_URL", n) for n in names)


def test_the_readme_lists_exactly_the_settings_variables() -> None:
    assert _readme_variables() == {var.name for var in variables().values()}


@pytest.mark.parametrize(
    ("variable", "value", "setting", "expected"),
    [
        ("DATABASE_URL", "postgresql://db/x", "database_url", "postgresql://db/x"),
        ("GATELEDGER_DATA_DIR", "~/gl", "data_dir", Path.home() / "gl"),
        ("GATELEDGER_SCHEMA", "gl", "schema", "gl"),
        ("GATELEDGER_JWT_AUDIENCE", "gateledger", "jwt_audience", "gateledger"),
        ("GATELEDGER_TOKEN_TTL", "600", "token_ttl_seconds", 600),
        ("GATELEDGER_TOKEN_MAX_TTL", "3600", "token_max_ttl_s", 3600),
        ("GATELEDGER_MAX_BODY_BYTES", "4096", "max_body_bytes", 4096),
        ("GATELEDGER_MAX_JSON_DEPTH", "8", "max_json_depth", 8),
        ("GATELEDGER_MIN_POSITION_WAIT", "0.5", "min_position_wait_s", 0.5),
        ("GATELEDGER_PROJECTOR", "off", "run_projector", False),
        ("GATELEDGER_CHECKPOINTS", "Off", "run_checkpointer", False),
        ("GATELEDGER_DEMO_IF_EMPTY", "on", "demo_if_empty", True),
        ("GATELEDGER_ESCALATION_INTERVAL", "7200", "escalation_interval_s", 7200.0),
        ("GATELEDGER_CHECKPOINT_KEY", "~/k.pem", "checkpoint_key", Path.home() / "k.pem"),
        ("GATELEDGER_CHECKPOINT_EVERY", "10", "checkpoint_every_events", 10),
        ("GATELEDGER_CHECKPOINT_MINUTES", "5", "checkpoint_interval_s", 300.0),
    ],
)
def test_a_setting_is_read_from_its_variable(
    variable: str, value: str, setting: str, expected: object
) -> None:
    assert getattr(Settings.from_env({**ENV, variable: value}), setting) == expected
    assert getattr(Settings.from_env({**ENV, variable: " "}), setting) == getattr(
        Settings.from_env(ENV), setting
    )  # blank is the default


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("GATELEDGER_TOKEN_TTL", "0", "a whole number from 1 to 31536000"),
        ("GATELEDGER_MAX_BODY_BYTES", "1k", "a whole number from 1024 to 67108864"),
        ("GATELEDGER_MAX_JSON_DEPTH", "1000", "a whole number from 1 to 256"),
        ("GATELEDGER_MIN_POSITION_WAIT", "-1", "seconds, more than 0 and at most 300"),
        ("GATELEDGER_ESCALATION_INTERVAL", "1e9", "seconds, more than 0 and at most 86400"),
        ("GATELEDGER_PROJECTOR", "no", "'on' or 'off'"),
        ("GATELEDGER_CHECKPOINT_MINUTES", "0", "a whole number from 1 to 1000000000"),
        ("GATELEDGER_SERVING_ROLE", "Bad-Name", "a role name"),
    ],
)
def test_a_bad_value_is_refused_naming_its_variable(
    variable: str, value: str, message: str
) -> None:
    with pytest.raises(ValueError, match=f"^{variable} must be {re.escape(message)}"):
        Settings.from_env({**ENV, variable: value})


@pytest.mark.parametrize(
    ("env", "overrides", "role"),
    [
        ({}, {}, "gateledger_serving"),  # the embedded PostgreSQL
        ({"DATABASE_URL": "postgresql://db/x"}, {}, None),
        ({}, {"database_url": "postgresql://db/x"}, None),
        ({"GATELEDGER_SERVING_ROLE": "off"}, {}, None),
        ({"GATELEDGER_SERVING_ROLE": ""}, {}, None),  # blank is off here, not the default
        ({"DATABASE_URL": "postgresql://db/x", "GATELEDGER_SERVING_ROLE": "app"}, {}, "app"),
        ({}, {"serving_role": None}, None),
    ],
)
def test_the_serving_role_defaults_by_where_the_database_is(
    env: dict[str, str], overrides: dict[str, object], role: str | None
) -> None:
    assert Settings.from_env({**ENV, **env}, **overrides).serving_role == role


def test_without_a_secret_one_is_kept_in_the_data_folder(tmp_path: Path) -> None:
    first = Settings.from_env({"GATELEDGER_DATA_DIR": str(tmp_path)})
    assert len(first.jwt_secret) > 40
    assert (tmp_path / "jwt-secret").read_text().strip() == first.jwt_secret
    assert Settings.from_env({}, data_dir=tmp_path).jwt_secret == first.jwt_secret


def test_a_public_key_is_read_from_a_file_or_given_as_pem(tmp_path: Path) -> None:
    pem = "-----BEGIN PUBLIC KEY-----\nx\n-----END PUBLIC KEY-----\n"
    (tmp_path / "key.pem").write_text(pem)
    for value in (pem, str(tmp_path / "key.pem")):
        env = {**ENV, "GATELEDGER_JWT_PUBLIC_KEY": value}
        assert Settings.from_env(env).jwt_public_key == pem
    with pytest.raises(ValueError, match=r"^GATELEDGER_JWT_PUBLIC_KEY: cannot read"):
        Settings.from_env({**ENV, "GATELEDGER_JWT_PUBLIC_KEY": str(tmp_path / "none.pem")})

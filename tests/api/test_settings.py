"""Settings read from the environment."""

from __future__ import annotations

import pytest

from api.settings import Settings


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

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

"""gateledger admin ...: the PMO's administrative acts from the command line (issue 12,
"Administration over HTTP and the CLI"). Each act is one event in the log with its actor
and reason; every refusal exits non-zero with one line and writes nothing."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from uuid import uuid4

import asyncpg
import pytest
from typer.testing import CliRunner

from api.cli import app


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["admin", *args])
    return result.exit_code, result.stdout, result.stderr


class Log:
    """The test schema's log, read directly."""

    def __init__(self, database_url: str, schema: str) -> None:
        self.url, self.schema = database_url, schema

    def _fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        async def go() -> list[asyncpg.Record]:
            conn = await asyncpg.connect(self.url)
            try:
                return list(await conn.fetch(sql.replace("$S", f'"{self.schema}"'), *args))
            finally:
                await conn.close()

        return asyncio.run(go())

    def head(self) -> int:
        return int(self._fetch("SELECT max(notification_id) AS n FROM $S.stored_events")[0]["n"])

    def first(self, topic: str) -> str:
        rows = self._fetch(
            "SELECT originator_id FROM $S.stored_events WHERE topic = $1 "
            "ORDER BY notification_id LIMIT 1",
            topic,
        )
        return str(rows[0]["originator_id"])

    def after(self, position: int) -> list[tuple[str, str, dict[str, Any]]]:
        rows = self._fetch(
            "SELECT topic, originator_id, state FROM $S.stored_events "
            "WHERE notification_id > $1 ORDER BY notification_id",
            position,
        )
        return [(r["topic"], str(r["originator_id"]), json.loads(r["state"])) for r in rows]


@pytest.fixture
def log(demo: int, database_url: str, schema_name: str) -> Log:
    return Log(database_url, schema_name)


def _actor(state: dict[str, Any]) -> dict[str, Any]:
    actor: dict[str, Any] = state["by"]["v"]
    return actor


def test_each_act_is_one_event_with_its_actor_and_reason(log: Log) -> None:
    portfolio = log.first("Portfolio.Created")
    project = log.first("Project.Created")
    acts = [
        (
            ("board", portfolio, "--member", "carol", "--member", "dave", "--member", "frank"),
            ("--chair", "frank", "--reason", "Reorganised"),
            "Portfolio.BoardChanged",
        ),
        (
            ("envelope", portfolio, "4500000.00", "EUR"),
            ("--reason", "Second wave"),
            "Portfolio.EnvelopeChanged",
        ),
        (
            ("role", project, "assign", "stakeholder", "stan"),
            ("--reason", "Owns rollout"),
            "Project.RoleAssigned",
        ),
        (("hold", project), ("--reason", "Funding review"), "Project.PutOnHold"),
        (("resume", project), ("--reason", "Funded"), "Project.Resumed"),
    ]
    for args, more, topic in acts:
        before = log.head()
        code, out, errors = run(*args, *more, "--as", "ada")
        assert code == 0, errors
        answer = json.loads(out)
        written = log.after(before)
        assert [(t, o) for t, o, _ in written] == [(topic, answer["id"])]
        state = written[0][2]
        assert _actor(state)["person"] == "ada"
        assert _actor(state)["correlation_id"].startswith("cli-")
        assert state["reason"] == more[-1]
        assert answer["position"] == log.head()


def test_a_pmo_rebaseline_from_the_command_line(log: Log) -> None:
    project = log.first("Project.Created")
    before = log.head()
    code, _, errors = run(
        "rebaseline", project, "--budget", "999000.00", "--currency", "EUR",
        "--start", "2027-01-01", "--end", "2028-06-30", "--scope", "Phase 2 added",
        "--reason", "Board asked for phase 2", "--as", "ada",
    )  # fmt: skip
    assert code == 0, errors
    [(topic, _, state)] = log.after(before)
    assert topic == "Project.Rebaselined"
    assert state["baseline"]["v"]["budget"]["v"]["amount"]["v"] == "999000.00"
    assert state["reason"] == "Board asked for phase 2"


def test_refusals_exit_non_zero_with_one_line_and_write_nothing(log: Log) -> None:
    portfolio = log.first("Portfolio.Created")
    project = log.first("Project.Created")
    board = ("--member", "carol", "--member", "dave", "--member", "erin", "--chair", "erin")
    refusals = [
        # the options, checked as the API checks its bodies: exit 2
        (2, ("board", "not-a-uuid", *board, "--reason", "r", "--as", "ada"), "UUID"),
        (2, ("board", portfolio, *board, "--reason", "\u200b", "--as", "ada"), "reason"),
        (2, ("board", portfolio, *board, "--as", "ada"), "--reason"),
        (2, ("board", portfolio, *board, "--reason", "r", "--as", "ad\u200ba"), "--as"),
        (2, ("envelope", portfolio, "-5", "EUR", "--reason", "r", "--as", "ada"), "amount"),
        (2, ("role", project, "crown", "pm", "x", "--reason", "r", "--as", "ada"), "action"),
        (2, ("hold", project, "--reason", "r", "--as", "ada", "--if-version", "0"), "--if-version"),
        # the domain's rules: a board too small for the quorum (the API's 422) is 2,
        # a state conflict or an unknown object 1
        (2, ("board", portfolio, "--member", "carol", "--chair", "carol", "--reason", "r",
             "--as", "ada"), "quorum"),
        (1, ("board", portfolio, "--member", "carol", "--member", "dave", "--member", "erin",
             "--chair", "carol", "--reason", "r", "--as", "ada"), "unchanged"),
        (1, ("resume", project, "--reason", "r", "--as", "ada"), "hold"),
        (1, ("hold", str(uuid4()), "--reason", "r", "--as", "ada"), "no"),
        (1, ("hold", portfolio, "--reason", "r", "--as", "ada"), "project"),
        (1, ("hold", project, "--reason", "r", "--as", "ada", "--if-version", "999"), "version"),
    ]  # fmt: skip
    before = log.head()
    for code, args, said in refusals:
        got, out, errors = run(*args)
        assert got == code, (args, got, out, errors)
        assert said.lower() in errors.lower(), (args, errors)
        assert "Traceback" not in errors + out
    assert log.head() == before


def test_a_mistyped_schema_is_refused_and_nothing_is_created(
    log: Log, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = log.first("Project.Created")
    typo = f"{log.schema}_typo"
    monkeypatch.setenv("GATELEDGER_SCHEMA", typo)
    got, out, errors = run("hold", project, "--reason", "r", "--as", "ada")
    assert got == 1, (out, errors)
    assert "no Gateledger log in schema" in errors and typo in errors
    assert not log._fetch(
        "SELECT 1 FROM information_schema.schemata WHERE schema_name = $1", typo
    )  # it used to be created, with every table, before "project not found"

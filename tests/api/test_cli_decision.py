"""gateledger decision PROJECT_ID GATE N: what the deciders saw, on the command line."""

from __future__ import annotations

import asyncio
import json
from uuid import uuid4

import asyncpg
from typer.testing import CliRunner

from api.cli import app


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def decided_project(database_url: str, schema: str) -> str:
    """A demo project with a decision, read from the log."""

    async def go() -> str:
        conn = await asyncpg.connect(database_url)
        try:
            row = await conn.fetchval(
                f'SELECT originator_id FROM "{schema}".stored_events '
                "WHERE topic LIKE '%GateDecided' ORDER BY notification_id LIMIT 1"
            )
        finally:
            await conn.close()
        return str(row)

    return asyncio.run(go())


def test_decision_prints_what_the_deciders_saw(
    demo: int, database_url: str, schema_name: str
) -> None:
    project = decided_project(database_url, schema_name)
    code, out, _ = run("decision", project, "G0", "1", "--json")
    assert code == 0, out
    body = json.loads(out)
    assert (body["project_id"], body["gate"], body["n"]) == (project, "G0", 1)
    assert 0 < body["decision"]["seen_position"] < body["decision"]["position"]
    assert body["review"]["votes"] and "on_behalf_of" in body["review"]["votes"][0]
    assert "open_conditions" in body and body["portfolio"]["budget"]["envelope"]
    # the totals come from the read models, brought to the log's end first
    assert body["portfolio"]["projects"]["total"] > 0
    code, out, _ = run("decision", project, "G0", "1")
    assert code == 0
    assert out.startswith(f"decision 1 on G0 of project {project}: ")
    assert "vote: " in out and "evidence: " in out and "portfolio " in out


def test_decision_of_a_missing_project_gate_or_decision_exits_1(
    demo: int, database_url: str, schema_name: str
) -> None:
    project = decided_project(database_url, schema_name)
    missing = str(uuid4())
    code, _, err = run("decision", missing, "G0", "1")
    assert code == 1 and f"no project {missing}" in err
    for gate, n in (("G0", "99"), ("G9", "1")):
        code, _, err = run("decision", project, gate, n)
        assert code == 1 and f"has no decision {n} on gate '{gate}'" in err


def test_decision_with_a_bad_argument_is_a_usage_error(demo: int) -> None:
    assert run("decision", "not-a-uuid", "G0", "1")[0] == 2
    assert run("decision", str(uuid4()), "G0", "0")[0] == 2

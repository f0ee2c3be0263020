"""``gateledger set-aside list|retry``: shows what a read model set aside, re-applies it
after a fix, and fails (exit 1) while it still cannot be applied."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from eventstore.database import Store
from projections.engine.events import Change
from projections.engine.set_aside import set_aside_batch
from projections.folds import HANDLERS
from projections.inbox.model import Inbox
from projections.registry import prepare_tables
from tests.projections.helpers import new_portfolio, new_project


@pytest.fixture
def env(
    tmp_path: Path, database_url: str, schema_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The command line pointed at this test's schema (``store`` drops it afterwards)."""
    monkeypatch.setenv("GATELEDGER_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("GATELEDGER_SCHEMA", schema_name)
    monkeypatch.setenv("COLUMNS", "250")  # rich tables on one line each


def poison_creation(monkeypatch: pytest.MonkeyPatch, position: int) -> None:
    real = HANDLERS["Project.Created"]

    def poisoned(batch: object, change: Change) -> None:
        if change.position == position:
            raise ValueError("poisoned creation")
        real(batch, change)  # type: ignore[arg-type]

    monkeypatch.setitem(HANDLERS, "Project.Created", poisoned)


@pytest.fixture
async def poisoned(store: Store) -> AsyncIterator[tuple[int, Callable[[], None]]]:
    """A project whose creation the inbox read model set aside: its position, and
    the fix (the real handler back; the fixture puts it back at the end anyway)."""
    await prepare_tables(store)
    await new_project(store, await new_portfolio(store))
    position = await store.events.max_notification_id() or 0
    with pytest.MonkeyPatch.context() as patch:
        poison_creation(patch, position)
        async with store.pool.acquire() as conn:
            while await set_aside_batch(conn, store, Inbox()):
                pass
        yield position, patch.undo


def test_set_aside_list_and_retry_until_the_fix(
    env: None, poisoned: tuple[int, Callable[[], None]]
) -> None:
    cli, (position, fix) = CliRunner(), poisoned
    listed = cli.invoke(app, ["set-aside", "list"])
    assert listed.exit_code == 0, listed.output
    assert "inbox" in listed.stdout and "poisoned creation" in listed.stdout
    assert f" {position} " in listed.stdout

    still = cli.invoke(app, ["set-aside", "retry", "--projection", "inbox"])
    assert still.exit_code == 1
    assert "still failing" in still.output and "1 of 1" in still.output

    fix()
    fixed = cli.invoke(app, ["set-aside", "retry", "--position", str(position)])
    assert fixed.exit_code == 0, fixed.output
    assert f"inbox position {position}: resolved" in fixed.output
    assert "no set-aside events unresolved" in cli.invoke(app, ["set-aside", "list"]).output
    every = cli.invoke(app, ["set-aside", "list", "--all"])
    assert every.exit_code == 0 and f" {position} " in every.stdout


def test_retry_of_an_unknown_projection_is_refused(env: None) -> None:
    result = CliRunner().invoke(app, ["set-aside", "retry", "--projection", "nope"])
    assert result.exit_code == 2 and "unknown projection" in result.output

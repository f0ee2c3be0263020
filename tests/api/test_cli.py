"""The command line: tokens minted with the shared secret kept in the data folder."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from typer.testing import CliRunner

from api import cli
from api.auth import decode_token
from api.cli import app
from api.settings import Settings
from domain.stored_names import STORED_NAMES
from eventstore.database import open_store
from eventstore.schema import StoreNames
from projections.engine.projector import Projector
from projections.engine.read_model import lock_key
from projections.registry import all_projections, prepare_tables


def test_token_is_alone_on_the_last_line_and_verifies_with_the_kept_secret(
    data_dir: Path,
) -> None:
    result = CliRunner().invoke(app, ["token", "alice", "--role", "pmo_admin"])
    assert result.exit_code == 0, result.output
    token = result.stdout.strip().splitlines()[-1]
    assert (data_dir / "jwt-secret").exists()
    principal = decode_token(Settings.from_env(), token)  # what `serve` would load
    assert (principal.sub, principal.roles) == ("alice", ("pmo_admin",))


def test_unknown_role_is_refused(data_dir: Path) -> None:
    result = CliRunner().invoke(app, ["token", "alice", "--role", "king"])
    assert result.exit_code == 2
    assert not result.stdout.strip()


def test_rebuild_names_an_unknown_projection(data_dir: Path) -> None:
    result = CliRunner().invoke(app, ["rebuild", "nonsense"])
    assert result.exit_code == 2


def test_rebuild_all_reports_every_step_and_the_position(demo: int) -> None:
    result = CliRunner().invoke(app, ["rebuild", "all"])
    assert result.exit_code == 0, result.output
    assert demo > 0
    assert f"now at position {demo}" in result.output
    for step in ("pass", "write_and_index", "switch"):
        assert f"{step} " in result.output


def test_export_catches_the_audit_trail_up_to_the_end_of_the_log_first(
    demo: int, data_dir: Path
) -> None:
    # ``demo`` wrote events with no projector running: the audit trail lags the log.
    out = data_dir / "audit.ndjson"
    result = CliRunner().invoke(app, ["export", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "catching up first" in result.output
    lines = out.read_bytes().splitlines()
    assert len(lines) == demo
    assert json.loads(lines[-1])["position"] == demo


def test_a_bad_setting_is_one_clear_line_not_a_traceback(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GATELEDGER_ESCALATION", "sometimes")
    result = CliRunner().invoke(app, ["token", "dave"])
    assert result.exit_code == 2
    assert "GATELEDGER_ESCALATION must be 'on' or 'off'" in result.output
    assert "Traceback" not in result.output


def test_export_gives_up_when_the_audit_trail_stops_moving_and_leaves_the_file_alone(
    demo: int, data_dir: Path, database_url: str, schema_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A worker that holds the audit projection's lock but never advances it (stuck).
    monkeypatch.setattr(cli, "STALL_S", 0.5)
    out = data_dir / "audit.ndjson"
    out.write_text("an earlier export\n")
    key = lock_key(StoreNames(schema=schema_name), "audit")
    with _advisory_lock_held(database_url, key):
        result = CliRunner().invoke(app, ["export", "-o", str(out)])
    assert result.exit_code == 1, result.output
    assert "has stayed at position 0" in result.output
    assert out.read_text() == "an earlier export\n"


@contextlib.contextmanager
def _advisory_lock_held(url: str, key: int) -> Iterator[None]:
    """Hold a session advisory lock on a connection of another thread meanwhile."""
    ready, release = threading.Event(), threading.Event()

    async def hold() -> None:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute("SELECT pg_advisory_lock($1)", key)
            ready.set()
            await asyncio.to_thread(release.wait)
        finally:
            await conn.close()

    thread = threading.Thread(target=lambda: asyncio.run(hold()))
    thread.start()
    assert ready.wait(10)
    try:
        yield
    finally:
        release.set()
        thread.join(10)


def test_export_beside_a_running_projector_that_holds_the_audit_trail(
    demo: int, data_dir: Path, database_url: str, schema_name: str
) -> None:
    out = data_dir / "audit.ndjson"
    with _projector_running(database_url, schema_name) as active:
        result = CliRunner().invoke(app, ["export", "-o", str(out)])
        assert active.is_set()  # it holds the locks: the export's own projector waits
    assert result.exit_code == 0, result.output
    assert len(out.read_bytes().splitlines()) == demo


@contextlib.contextmanager
def _projector_running(url: str, schema: str) -> Iterator[threading.Event]:
    """A server's projector, in another thread: it holds every projection's lock."""
    active, done = threading.Event(), threading.Event()

    async def run() -> None:
        store = await open_store(
            url, StoreNames(schema=schema), stored_names=STORED_NAMES, min_size=1, max_size=4
        )
        await prepare_tables(store)  # as a server does before it starts its projector
        stop = asyncio.Event()
        projector = Projector(store, all_projections(), poll_interval=0.05)
        worker = asyncio.create_task(projector.run(stop))
        try:
            while not projector.active:  # noqa: ASYNC110 (a flag, not an event)
                await asyncio.sleep(0.01)
            active.set()
            await asyncio.to_thread(done.wait)
        finally:
            stop.set()
            await worker
            await store.close()

    thread = threading.Thread(target=lambda: asyncio.run(run()))
    thread.start()
    try:
        assert active.wait(30), "the projector did not take its locks"
        yield active
    finally:
        done.set()
        thread.join(30)


def test_export_to_a_file_it_cannot_write_is_one_clear_error(demo: int, data_dir: Path) -> None:
    result = CliRunner().invoke(app, ["export", "-o", str(data_dir / "missing" / "a.ndjson")])
    assert result.exit_code == 2
    assert "cannot write" in result.output and "Traceback" not in result.output

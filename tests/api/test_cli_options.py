"""Every option of every command refuses a bad value with one clear line and exit code 2,
before it touches anything: no data folder, no secret, no database change."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from typer.testing import CliRunner

from api.cli import app
from projections.registry import all_projections
from tests.conftest import drop_store_schema

BAD = [
    (["serve", "--port", "0"], "--port"),
    (["serve", "--port", "65536"], "--port"),
    (["serve", "--port", "eighty"], "--port"),
    (["serve", "--host", "no such host!"], "--host"),
    (["token", "dave", "--ttl", "0"], "--ttl"),
    (["token", "dave", "--ttl", "-60"], "--ttl"),
    (["token", "dave", "--ttl", str(10**12)], "--ttl"),
    (["token", " "], "PERSON"),
    (["token", "dave", "--role", "king"], "unknown role"),
    (["rebuild", "--batch-size", "0"], "--batch-size"),
    (["rebuild", "--batch-size", "-5"], "--batch-size"),
    (["rebuild", "--batch-size", "10000000"], "--batch-size"),
    (["rebuild", "nonsense"], "nonsense"),
    (["export", "--format", "xml"], "--format"),
    (["demo", "--size", "3"], "--size"),
    (["project", "--fast"], "--fast"),
    (["set-aside", "retry", "--position", "0"], "--position"),
    (["set-aside", "retry", "--projection", "nonsense"], "nonsense"),
]


@pytest.mark.parametrize(("args", "named"), BAD, ids=[" ".join(a) for a, _ in BAD])
def test_a_bad_option_is_one_line_exit_2_and_touches_nothing(
    args: list[str], named: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = tmp_path / "data"
    monkeypatch.setenv("GATELEDGER_DATA_DIR", str(data_dir))
    monkeypatch.delenv("GATELEDGER_JWT_SECRET", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)  # it would be the embedded one
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.splitlines() if line.lower().startswith("error")]
    assert len(errors) == 1 and named in errors[0], result.output
    assert "Traceback" not in result.output and "╭" not in result.output
    assert not data_dir.exists()  # no embedded PostgreSQL, no secret


def test_export_to_a_folder_is_refused_before_anything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GATELEDGER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    result = CliRunner().invoke(app, ["export", "-o", str(tmp_path)])
    assert result.exit_code == 2
    assert "it is a folder" in result.output
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize("size", ["0", "-1"])
def test_rebuild_with_a_batch_size_below_one_leaves_every_read_model_as_it_was(
    size: str, tmp_path: Path, database_url: str, schema_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GATELEDGER_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("GATELEDGER_SCHEMA", schema_name)
    try:
        assert CliRunner().invoke(app, ["demo"]).exit_code == 0
        assert CliRunner().invoke(app, ["rebuild"]).exit_code == 0  # read models at the head
        before = asyncio.run(_read_models(database_url, schema_name))
        assert before["positions"] and min(before["positions"].values()) > 0
        result = CliRunner().invoke(app, ["rebuild", "audit", "--batch-size", size])
        assert result.exit_code == 2, result.output
        assert "Invalid value for '--batch-size'" in result.output
        assert asyncio.run(_read_models(database_url, schema_name)) == before
    finally:
        asyncio.run(drop_store_schema(database_url, schema_name))


async def _read_models(url: str, schema: str) -> dict[str, dict[str, int]]:
    """Row counts of every read-model table and every projection's position."""
    conn = await asyncpg.connect(url)
    try:
        counts = {}
        for projection in all_projections():
            for table in projection.tables:
                counts[table] = await conn.fetchval(f'SELECT count(*) FROM "{schema}"."{table}"')
        rows = await conn.fetch(
            f'SELECT application_name, notification_id FROM "{schema}".notification_tracking'
        )
        return {"rows": counts, "positions": {r[0]: r[1] for r in rows}}
    finally:
        await conn.close()


def test_a_rebuild_whose_pass_stops_short_is_refused_in_one_line_and_switches_nothing(
    tmp_path: Path, database_url: str, schema_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from projections.engine import rebuild as rebuild_module

    monkeypatch.setenv("GATELEDGER_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("GATELEDGER_SCHEMA", schema_name)
    try:
        assert CliRunner().invoke(app, ["demo"]).exit_code == 0
        assert CliRunner().invoke(app, ["rebuild"]).exit_code == 0
        before = asyncio.run(_read_models(database_url, schema_name))
        read = rebuild_module.select_event_rows_on

        async def stops_early(conn: Any, names: Any, after: int, limit: int, **kw: Any) -> Any:
            return [] if after > 0 else await read(conn, names, after, limit, **kw)

        monkeypatch.setattr(rebuild_module, "select_event_rows_on", stops_early)
        result = CliRunner().invoke(app, ["rebuild", "all", "--batch-size", "3"])
        assert result.exit_code == 1, result.output
        said = " ".join(result.output.split())  # the console wraps at its width
        assert "went through 3 of the" in said and "nothing was switched" in said
        assert "Traceback" not in result.output
        assert asyncio.run(_read_models(database_url, schema_name)) == before
    finally:
        asyncio.run(drop_store_schema(database_url, schema_name))

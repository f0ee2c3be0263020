"""gateledger verify, checkpoint, checkpoints, public-key and export --format ledger."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest
from typer.testing import CliRunner

from api.cli import app
from eventstore.checkpoints import load_or_create_key
from tests.eventstore.test_tamper import ROOT


@pytest.fixture(autouse=True)
def key(data_dir: Path) -> Path:
    """The checkpoint key a server makes in the data folder on its first start."""
    path = data_dir / "checkpoint-ed25519.pem"
    load_or_create_key(path)
    return path


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def tamper(database_url: str, schema: str, *statements: str) -> None:
    async def go() -> None:
        conn = await asyncpg.connect(database_url)
        try:
            async with conn.transaction():
                await conn.execute("SET LOCAL session_replication_role = replica")
                for s in statements:
                    await conn.execute(s.format(s=f'"{schema}"'))
        finally:
            await conn.close()

    asyncio.run(go())


def test_verify_a_fresh_demo_log_is_intact(demo: int) -> None:
    code, out, _ = run("verify", "--json")
    assert code == 0
    report = json.loads(out)
    assert (report["status"], report["checked"], report["head_position"]) == (
        "intact",
        demo,
        demo,
    )


def test_a_changed_event_is_reported_with_its_position_and_exit_1(
    demo: int, database_url: str, schema_name: str
) -> None:
    tamper(
        database_url,
        schema_name,
        "UPDATE {s}.stored_events SET state = state || '\\x20'::bytea WHERE notification_id = 7",
    )
    code, _, err = run("verify")
    assert code == 1
    assert "BROKEN at position 7" in err


def test_a_truncated_tail_is_found_only_with_the_checkpoint_file_kept_outside(
    demo: int, database_url: str, schema_name: str, tmp_path: Path
) -> None:
    code, out, _ = run("checkpoint")
    assert code == 0 and json.loads(out)["position"] == demo
    kept = tmp_path / "kept.json"
    assert run("checkpoints", "-o", str(kept))[0] == 0
    tamper(
        database_url,
        schema_name,
        f"DELETE FROM {{s}}.stored_events WHERE notification_id > {demo - 3}",
        f"DELETE FROM {{s}}.gl_chain WHERE position > {demo - 3}",
        "DELETE FROM {s}.gl_checkpoints",
        "SELECT {s}.gl_chain_extend(0)",  # re-chain what the deleted chain row held
    )
    assert run("verify")[0] == 0  # consistent in itself: the database alone cannot tell
    code, out, _ = run("verify", "--json", "--checkpoints", str(kept))
    report = json.loads(out)
    assert code == 1
    assert (report["problem"], report["first_bad_position"]) == ("truncated", demo - 2)


def test_the_ledger_export_and_the_standalone_verifier_agree_with_verify(
    demo: int, database_url: str, schema_name: str, tmp_path: Path
) -> None:
    run("checkpoint")
    kept = tmp_path / "kept.json"
    run("checkpoints", "-o", str(kept))
    code, key, _ = run("public-key")
    assert code == 0 and len(key.strip()) == 64
    tamper(database_url, schema_name, "DELETE FROM {s}.stored_events WHERE notification_id = 5")
    ledger = tmp_path / "ledger.ndjson"
    assert run("export", "--format", "ledger", "-o", str(ledger))[0] == 0
    ours = json.loads(run("verify", "--json", "--checkpoints", str(kept))[1])
    done = subprocess.run(
        [
            *(sys.executable, "-I", str(ROOT / "tools" / "verify_ledger.py")),
            *("--export", str(ledger), "--checkpoints", str(kept), "--public-key", key.strip()),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    theirs = json.loads(done.stdout.splitlines()[-1])
    assert done.returncode == 1
    assert (theirs["problem"], theirs["first_bad_position"]) == (ours["problem"], 5)
    assert ours["first_bad_position"] == 5


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["verify", "--start", "abc"], "--start must be"),
        (["verify", "--start", "99999"], "--start must be"),
        (["verify", "--checkpoints", "/nonexistent/cp.json"], "cannot read checkpoints"),
        (["checkpoints", "-o", "/nonexistent/dir/cp.json"], "cannot write"),
    ],
)
def test_bad_options_are_one_line_errors_with_exit_2(
    demo: int, args: list[str], message: str
) -> None:
    code, _, err = run(*args)
    assert code == 2, err
    assert message in err and "Traceback" not in err


def test_the_few_lines_in_docs_audit_md_verify_a_real_export(demo: int, tmp_path: Path) -> None:
    """The algorithm as docs/audit.md prints it recomputes the chain of a real export, and
    stops at a changed byte: the documentation matches the code."""
    import base64
    import hashlib
    import re
    import struct

    doc = (ROOT / "docs" / "audit.md").read_text()
    snippet = re.search(r"```python\n(prev = bytes\(32\).*?)```", doc, re.S)
    assert snippet is not None
    ledger = tmp_path / "ledger.ndjson"
    assert run("export", "--format", "ledger", "-o", str(ledger))[0] == 0
    rows = [json.loads(line) for line in ledger.read_text().splitlines()]
    names = {"base64": base64, "hashlib": hashlib, "struct": struct}
    exec(snippet.group(1), {**names, "rows": rows})
    assert len(rows) == demo
    rows[3]["state"] = base64.b64encode(base64.b64decode(rows[3]["state"]) + b" ").decode()
    with pytest.raises(AssertionError, match="position 4 does not match"):
        exec(snippet.group(1), {**names, "rows": rows})


@pytest.mark.parametrize("command", [["verify"], ["public-key"], ["checkpoints"]])
def test_a_check_without_the_key_is_an_error_and_makes_no_key(
    demo: int, key: Path, command: list[str]
) -> None:
    """A new key would fail every stored checkpoint: checks refuse to make one."""
    key.unlink()
    code, _, err = run(*command)
    assert code == 2 and "no checkpoint key at" in err and "Traceback" not in err
    assert not key.exists()


def test_a_checkpoint_forged_at_the_head_is_refused_not_handed_out(
    demo: int, database_url: str, schema_name: str
) -> None:
    head_hash = json.loads(run("verify", "--json")[1])["head_hash"]
    tamper(
        database_url,
        schema_name,
        f"INSERT INTO {{s}}.gl_checkpoints VALUES ({demo}, '\\x{head_hash}', now(), 'x', '\\x00')",
    )
    code, _, err = run("checkpoint")
    assert code == 1 and "not signed by this server's key" in err
    report = json.loads(run("verify", "--json")[1])
    assert (report["problem"], report["first_bad_position"]) == ("signature", demo)


@pytest.mark.parametrize("fmt", ["ledger", "ndjson", "csv"])
def test_a_write_error_in_the_middle_of_an_export_is_one_line_not_a_hang(
    demo: int, database_url: str, schema_name: str, data_dir: Path, fmt: str
) -> None:
    """Past the first 64 KiB chunk the stream holds a connection: a failed write must
    end it, or closing the store waits for it forever."""
    import os

    from api.demo import load_demo
    from domain.stored_names import STORED_NAMES
    from eventstore.database import open_store
    from eventstore.schema import StoreNames

    async def fill() -> None:
        store = await open_store(
            database_url, StoreNames(schema=schema_name), stored_names=STORED_NAMES
        )
        try:
            for _ in range(30):  # lines past the first 64 KiB chunk, from real events
                await load_demo(store)
        finally:
            await store.close()

    asyncio.run(fill())
    env = {**os.environ, "DATABASE_URL": database_url, "GATELEDGER_SCHEMA": schema_name}
    done = subprocess.run(
        [sys.executable, "-m", "api.cli", "export", "--format", fmt, "-o", "/dev/full"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert "cannot write /dev/full" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize(
    "command",
    [
        ["verify"],
        ["checkpoint"],
        ["checkpoints"],
        ["export"],
        ["export", "--format", "ledger"],
        ["rebuild", "audit"],
    ],
)
def test_a_mistyped_schema_is_exit_1_not_intact_and_is_not_created(
    demo: int,
    database_url: str,
    schema_name: str,
    monkeypatch: pytest.MonkeyPatch,
    command: list[str],
) -> None:
    typo = f"{schema_name}_typo"
    monkeypatch.setenv("GATELEDGER_SCHEMA", typo)
    code, out, err = run(*command)
    assert code == 1, (out, err)
    assert "no Gateledger log in schema" in err and "intact" not in err + out

    async def created() -> bool:
        conn = await asyncpg.connect(database_url)
        try:
            found = await conn.fetchval(
                "SELECT 1 FROM information_schema.schemata WHERE schema_name = $1", typo
            )
            if found:  # the old behaviour: leave nothing behind for the next run
                await conn.execute(f'DROP SCHEMA "{typo}" CASCADE')
            return bool(found)
        finally:
            await conn.close()

    assert not asyncio.run(created())

"""Tampering with a 10,000-event log, as someone with the database owner's rights would.

Each case edits the stored record with the append-only triggers switched off
(``session_replication_role = replica``, which only a superuser may set) and checks that
``verify_chain`` and the standalone verifier (tools/verify_ledger.py, run as its own
process on the ledger export) report the same first bad position. The last two cases,
a truncated tail and a chain recomputed after an edit, leave a log that is consistent in
itself: they are detected only against checkpoints kept outside the database, and the
tests say so by checking that the database alone reports the log intact.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from eventsourcing.persistence import StoredEvent

from eventstore.checkpoints import CheckpointKey, list_checkpoints, load_or_create_key, log_id
from eventstore.checkpoints import take_checkpoint as sign_head
from eventstore.database import Store
from eventstore.ledger import export_ledger
from eventstore.verify import VerifyReport, verify_chain

ROOT = Path(__file__).resolve().parents[2]
N = 10_000
EVERY = 1_000
P = 4_321  # the position most cases tamper with


@pytest.fixture
def key(tmp_path: Path) -> CheckpointKey:
    return load_or_create_key(tmp_path / "key.pem")


async def make_log(store: Store, key: CheckpointKey) -> list[dict[str, object]]:
    """10,000 events in chunks of 1,000, a checkpoint after each; returns the checkpoint
    file an auditor would have kept (as `gateledger checkpoints -o` writes it)."""
    for chunk in range(N // EVERY):
        batch = [
            StoredEvent(
                uuid.uuid4(), 1, "Project.VoteCast", f'{{"n":{chunk * EVERY + i}}}'.encode()
            )
            for i in range(EVERY)
        ]
        await store.events.insert_events(batch)
        await sign_head(store.pool, store.names, key)
    lid = await log_id(store.pool, store.names)
    return [cp.to_json(lid) for cp in await list_checkpoints(store.pool, store.names)]


async def tamper(store: Store, *statements: str) -> None:
    async with store.pool.acquire() as conn, conn.transaction():
        await conn.execute("SET LOCAL session_replication_role = replica")
        for s in statements:
            await conn.execute(
                s.format(
                    ev=store.names.q(store.names.events),
                    ch=store.names.q("gl_chain"),
                    extend=store.names.q("gl_chain_extend"),
                    cp=store.names.q("gl_checkpoints"),
                )
            )


async def flip_a_byte(store: Store) -> None:
    await tamper(
        store,
        "UPDATE {ev} SET state = set_byte(state, 2, get_byte(state, 2) # 1) "
        f"WHERE notification_id = {P}",
    )


async def change_a_topic(store: Store) -> None:
    await tamper(
        store, f"UPDATE {{ev}} SET topic = 'Project.GateDecided' WHERE notification_id = {P}"
    )


async def delete_a_row(store: Store) -> None:
    await tamper(store, f"DELETE FROM {{ev}} WHERE notification_id = {P}")


async def swap_two_rows(store: Store) -> None:
    await tamper(
        store,
        f"UPDATE {{ev}} SET notification_id = 999999999 WHERE notification_id = {P}",
        f"UPDATE {{ev}} SET notification_id = {P} WHERE notification_id = {P + 500}",
        f"UPDATE {{ev}} SET notification_id = {P + 500} WHERE notification_id = 999999999",
    )


async def insert_a_forged_row(store: Store) -> None:
    await tamper(
        store,
        "UPDATE {ev} SET notification_id = notification_id + 1000000 "
        f"WHERE notification_id >= {P}",
        "UPDATE {ev} SET notification_id = notification_id - 999999 "
        "WHERE notification_id > 1000000",
        f"INSERT INTO {{ev}} VALUES (gen_random_uuid(), 1, 'Project.GateDecided', '\\x7b7d', {P})",
    )


async def insert_below_the_chain(store: Store) -> None:
    """Position 0 is refused by a constraint, which the owner can drop."""
    await tamper(
        store,
        "ALTER TABLE {ev} DROP CONSTRAINT gl_position_positive",
        "INSERT INTO {ev} VALUES (gen_random_uuid(), 1, 'Project.VoteCast', '\\x7b7d', 0)",
    )


async def truncate_the_tail(store: Store) -> None:
    await tamper(
        store,
        f"DELETE FROM {{ev}} WHERE notification_id > {N - 10}",
        f"DELETE FROM {{ch}} WHERE position > {N - 10}",
        f"DELETE FROM {{cp}} WHERE position > {N - 10}",
        "SELECT {extend}(0)",  # re-chain what the deleted chain row held before the cut
    )


async def recompute_the_chain_after_an_edit(store: Store) -> None:
    await flip_a_byte(store)
    await tamper(store, "DELETE FROM {ch}", "DELETE FROM {cp}", "SELECT {extend}(0)")


Case = Callable[[Store], Awaitable[None]]
# case, problem, first bad position (None: a range, checked below), needs outside checkpoints
CASES: list[tuple[Case, str, int | None, bool]] = [
    (flip_a_byte, "content", P, False),
    (change_a_topic, "content", P, False),
    (delete_a_row, "missing", P, False),
    (swap_two_rows, "content", P, False),
    (insert_a_forged_row, "content", P, False),
    (insert_below_the_chain, "unchained", 0, False),
    (truncate_the_tail, "truncated", N - 9, True),
    (recompute_the_chain_after_an_edit, "checkpoint", None, True),
]


def standalone(
    tmp: Path, export: bytes, checkpoints: list[dict[str, object]], key: CheckpointKey
) -> dict[str, object]:
    (tmp / "ledger.ndjson").write_bytes(export)
    (tmp / "checkpoints.json").write_text(json.dumps({"checkpoints": checkpoints}))
    (tmp / "public.pem").write_text(key.public_pem())
    done = subprocess.run(
        [
            sys.executable,
            "-I",
            str(ROOT / "tools" / "verify_ledger.py"),
            "--export",
            str(tmp / "ledger.ndjson"),
            "--checkpoints",
            str(tmp / "checkpoints.json"),
            "--public-key",
            str(tmp / "public.pem"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


async def ledger_bytes(store: Store) -> bytes:
    return b"".join([chunk async for chunk in export_ledger(store.pool, store.names)])


@pytest.mark.parametrize(
    ("case", "problem", "position", "outside_only"), CASES, ids=[c[0].__name__ for c in CASES]
)
async def test_tampering_is_found_at_its_first_bad_position(
    store: Store,
    key: CheckpointKey,
    tmp_path: Path,
    case: Case,
    problem: str,
    position: int | None,
    outside_only: bool,
) -> None:
    kept = await make_log(store, key)
    intact = await verify_chain(store.pool, store.names, public_key=key.private.public_key())
    assert intact.intact and intact.checked == N and intact.checkpoints_checked == N // EVERY

    await case(store)

    alone = await verify_chain(store.pool, store.names, public_key=key.private.public_key())
    assert alone.intact is outside_only, alone.to_json()
    from eventstore.checkpoints import checkpoint_from_json

    outside = [checkpoint_from_json(cp)[1] for cp in kept]
    report: VerifyReport = await verify_chain(
        store.pool, store.names, public_key=key.private.public_key(), outside=outside
    )
    assert not report.intact and report.problem == problem, report.to_json()
    if position is not None:
        assert report.first_bad_position == position
    else:  # recomputed: the edit lies after the last matching checkpoint, before the next
        assert report.first_bad_position is not None
        assert report.first_bad_position <= P <= report.first_bad_position + EVERY - 1
    theirs = standalone(tmp_path, await ledger_bytes(store), kept, key)
    assert (theirs["status"], theirs["problem"], theirs["first_bad_position"]) == (
        "broken",
        report.problem,
        report.first_bad_position,
    )


async def test_the_standalone_verifier_accepts_an_intact_log_and_refuses_a_foreign_key(
    store: Store, key: CheckpointKey, tmp_path: Path
) -> None:
    kept = await make_log(store, key)
    export = await ledger_bytes(store)
    ok = standalone(tmp_path, export, kept, key)
    assert (ok["status"], ok["checked"], ok["checkpoints_checked"]) == ("intact", N, N // EVERY)
    other = load_or_create_key(tmp_path / "other.pem")
    forged = standalone(tmp_path, export, kept, other)
    assert (forged["status"], forged["problem"], forged["first_bad_position"]) == (
        "broken",
        "signature",
        EVERY,
    )


def test_the_standalone_verifier_imports_nothing_of_gateledger() -> None:
    import ast

    tree = ast.parse((ROOT / "tools" / "verify_ledger.py").read_text())
    imported: set[str] = set()
    for n in ast.walk(tree):
        if isinstance(n, ast.Import):
            imported |= {a.name.split(".")[0] for a in n.names}
        elif isinstance(n, ast.ImportFrom):
            imported.add((n.module or "").split(".")[0])
    assert imported <= set(sys.stdlib_module_names) | {"cryptography", "__future__"}, imported


async def test_a_checkpoint_that_matches_does_not_hide_one_kept_outside_that_does_not(
    store: Store, key: CheckpointKey
) -> None:
    """The log rewritten after 4,000 and its head re-signed: at the head the kept
    checkpoint disagrees with the new one; the rewrite is placed after 4,000."""
    kept = await make_log(store, key)
    from eventstore.checkpoints import checkpoint_from_json

    await tamper(
        store,
        f"UPDATE {{ev}} SET state = state || '\\x20' WHERE notification_id = {P}",
        "DELETE FROM {ch} WHERE position > 4000",
        "DELETE FROM {cp} WHERE position > 4000",
        "SELECT {extend}(4000)",
    )
    await sign_head(store.pool, store.names, key)  # the server signs the rewritten head
    # the auditor kept the checkpoints up to 4,000 and the one at the head
    outside = [checkpoint_from_json(cp)[1] for cp in kept if cp["position"] in (*range(4001), N)]
    report = await verify_chain(
        store.pool, store.names, public_key=key.private.public_key(), outside=outside
    )
    assert (report.problem, report.first_bad_position) == ("checkpoint", 4001)

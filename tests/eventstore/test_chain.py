"""The hash chain: extended on every append path, refusing changes, computed as specified."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import asyncpg
import pytest
from eventsourcing.persistence import StoredEvent

from eventstore.chain import GENESIS, chain_hashes, leaf_digest, link
from eventstore.checkpoints import load_or_create_key, take_checkpoint
from eventstore.database import Store, open_store
from eventstore.functions import insert_event_groups_ddl, insert_events_ddl
from eventstore.verify import verify_chain


def events(n: int, version: int = 1) -> list[StoredEvent]:
    return [
        StoredEvent(uuid.uuid4(), version, "Test.Happened", f"state {i} é".encode())
        for i in range(n)
    ]


async def chain_rows(store: Store) -> list[tuple[asyncpg.Record, bytes]]:
    rows = await store.pool.fetch(
        f"SELECT notification_id, originator_id, originator_version, topic, state "
        f"FROM {store.names.q(store.names.events)} ORDER BY notification_id"
    )
    hashes = await chain_hashes(store.pool, store.names, 0, len(rows))
    return [(r, hashes[r[0]]) for r in rows]


async def test_the_database_chains_every_append_as_the_specification_says(store: Store) -> None:
    async with store.pool.acquire() as conn, conn.transaction():
        await store.events.insert_events(events(3), conn=conn)  # one transaction
    await asyncio.gather(*(store.events.insert_events(events(2)) for _ in range(5)))  # grouped
    rows = await chain_rows(store)
    assert [r[0] for r, _ in rows] == list(range(1, 14))
    prev = GENESIS
    for r, stored in rows:
        prev = link(prev, r[0], leaf_digest(r[1].bytes, r[2], r[3].encode(), r[4]))
        assert stored == prev
    # one chain row per append transaction, not one per event
    assert await store.pool.fetchval(f"SELECT count(*) FROM {store.names.q('gl_chain')}") < 13
    report = await verify_chain(store.pool, store.names)
    assert report.intact and report.checked == 13 and report.head_hash == prev.hex()
    assert report.late == []


async def test_a_conflicting_group_leaves_no_hash_behind(store: Store) -> None:
    taken = events(1)
    await store.events.insert_events(taken)
    results = await asyncio.gather(
        store.events.insert_events(events(2)),
        store.events.insert_events([StoredEvent(taken[0].originator_id, 1, "T.X", b"again")]),
        store.events.insert_events(events(1)),
        return_exceptions=True,
    )
    assert sum(isinstance(r, Exception) for r in results) == 1
    report = await verify_chain(store.pool, store.names)
    assert report.intact and report.checked == 4


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE {t} SET {c} = {c}",
        "DELETE FROM {t}",
        "TRUNCATE {t}",
    ],
)
@pytest.mark.parametrize(
    ("table", "column"),
    [
        ("stored_events", "topic"),
        ("gl_chain", "hashes"),
        ("gl_checkpoints", "hash"),
        ("gl_log", "log_id"),
    ],
)
async def test_the_record_refuses_update_delete_and_truncate(
    store: Store, statement: str, table: str, column: str, tmp_path: Path
) -> None:
    await store.events.insert_events(events(2))
    t = store.names.q(table)
    await take_checkpoint(store.pool, store.names, load_or_create_key(tmp_path / "k.pem"))
    before = await store.pool.fetchval(f"SELECT count(*) FROM {t}")
    with pytest.raises(asyncpg.PostgresError, match="append-only"):
        await store.pool.execute(statement.format(t=t, c=column))
    assert await store.pool.fetchval(f"SELECT count(*) FROM {t}") == before


async def test_a_checkpoint_must_name_the_chains_hash_at_its_position(store: Store) -> None:
    await store.events.insert_events(events(3))
    checkpoints = store.names.q("gl_checkpoints")
    with pytest.raises(asyncpg.CheckViolationError, match="chain's hash at position 2"):
        await store.pool.execute(
            f"INSERT INTO {checkpoints} VALUES (2, '\\x00', now(), 'k', '\\x00')"
        )
    real = (await chain_hashes(store.pool, store.names, 1, 2))[2]
    await store.pool.execute(
        f"INSERT INTO {checkpoints} VALUES (2, $1, now(), 'k', '\\x00')", real
    )  # the right hash goes in (a wrong signature is then reported by verify)
    assert await store.pool.fetchval(f"SELECT count(*) FROM {checkpoints}") == 1


async def test_rows_written_around_the_chain_are_chained_late_by_the_next_append(
    store: Store,
) -> None:
    await store.events.insert_events(events(2))
    # Another writer (eventsourcing's recorder, or a hand-made INSERT) skips the chain.
    await store.pool.execute(
        f"INSERT INTO {store.names.q(store.names.events)} "
        "(notification_id, originator_id, originator_version, topic, state) "
        "VALUES (3, gen_random_uuid(), 1, 'X.Y', '\\x01')"
    )
    before = await verify_chain(store.pool, store.names)
    assert (before.intact, before.first_bad_position, before.problem) == (False, 3, "unchained")
    await store.events.insert_events(events(1))
    after = await verify_chain(store.pool, store.names)
    assert after.intact and after.checked == 4 and after.late == [(3, 3)]


async def test_a_store_from_before_the_chain_is_chained_on_upgrade_and_says_from_where(
    store: Store, database_url: str
) -> None:
    # The store as an earlier version left it: appends without a chain, no version mark.
    async with store.pool.acquire() as conn:
        await conn.execute(insert_events_ddl(store.names, chain=False))
        await conn.execute(insert_event_groups_ddl(store.names, chain=False))
    await store.events.insert_events(events(5))
    async with store.pool.acquire() as conn:
        await conn.execute(f"DELETE FROM {store.names.q('gl_settings')} WHERE key = 'store:schema'")
    assert (await verify_chain(store.pool, store.names)).problem == "unchained"

    upgraded = await open_store(
        database_url, store.names, stored_names=None, min_size=1, max_size=2
    )
    try:
        await upgraded.events.insert_events(events(2))  # chained as written, from now on
        report = await verify_chain(upgraded.pool, upgraded.names)
    finally:
        await upgraded.close()
    assert report.intact and report.checked == 7
    assert report.late == [(1, 5)]  # attested from the upgrade on, not from when written


@pytest.mark.parametrize("size", [1, 256, 257, 2000])
async def test_appends_of_every_size_chain_as_specified(store: Store, size: int) -> None:
    """Up to 256 events an append's hashes are concatenated as they are made, past that
    they are gathered at the end: both store the same chain."""
    await store.events.insert_events(events(size))
    async with store.pool.acquire() as conn, conn.transaction():
        await store.events.insert_events(events(size), conn=conn)
    rows = await chain_rows(store)
    prev = GENESIS
    for r, stored in rows:
        prev = link(prev, r[0], leaf_digest(r[1].bytes, r[2], r[3].encode(), r[4]))
        assert stored == prev
    assert len(rows) == 2 * size
    assert await store.pool.fetchval(f"SELECT count(*) FROM {store.names.q('gl_chain')}") == 2


async def test_a_gap_in_positions_starts_a_new_chain_row_and_verify_reports_it(
    store: Store,
) -> None:
    await store.events.insert_events(events(2))
    await store.pool.execute(  # a writer around the chain, leaving position 3 empty
        f"INSERT INTO {store.names.q(store.names.events)} "
        "(notification_id, originator_id, originator_version, topic, state) "
        "VALUES (4, gen_random_uuid(), 1, 'X.Y', '\\x01')"
    )
    await store.events.insert_events(events(1))  # chains 4 (late) and 5
    chain = await store.pool.fetch(
        f"SELECT first_position, position, late FROM {store.names.q('gl_chain')} ORDER BY position"
    )
    assert [tuple(r) for r in chain] == [(1, 2, False), (4, 4, True), (5, 5, False)]
    report = await verify_chain(store.pool, store.names)
    assert (report.problem, report.first_bad_position) == ("missing", 3)


async def test_verify_while_appends_go_on_never_reports_a_false_break(store: Store) -> None:
    await store.events.insert_events(events(3000))
    stop = asyncio.Event()

    async def append() -> int:
        n = 0
        while not stop.is_set():
            await store.events.insert_events(events(5))
            n += 1
        return n

    writer = asyncio.create_task(append())
    try:
        reports = [await verify_chain(store.pool, store.names, page=500) for _ in range(5)]
    finally:
        stop.set()
        appended = await writer
    assert appended > 0
    broken = [(r.problem, r.first_bad_position, r.detail) for r in reports if not r.intact]
    assert not broken, broken


async def test_appends_without_the_writers_leaves_are_chained_by_the_database(
    store: Store,
) -> None:
    store.events.make_leaves = False  # the database computes each leaf from the row
    await store.events.insert_events(events(3))
    async with store.pool.acquire() as conn, conn.transaction():
        await store.events.insert_events(events(2), conn=conn)
    report = await verify_chain(store.pool, store.names)
    assert report.intact and report.checked == 5 and report.late == []


async def test_a_wrong_leaf_from_the_writer_shows_as_changed_content(store: Store) -> None:
    """The database links the leaves it is given; verification recomputes them from the
    stored bytes, so a writer cannot make the chain vouch for what it did not store."""
    wrong = events(1)[0]
    n = store.names
    async with store.pool.acquire() as conn:
        await conn.fetch(
            f"SELECT * FROM {n.q('gl_insert_events')}($1::uuid[], $2::bigint[], $3::text[], "
            "$4::bytea[], $5::bytea[])",
            [wrong.originator_id],
            [1],
            [wrong.topic],
            [wrong.state],
            [bytes(32)],
        )
    report = await verify_chain(store.pool, store.names)
    assert (report.problem, report.first_bad_position) == ("content", 1)


async def test_a_null_leaf_from_the_writer_is_refused_and_writes_nothing(store: Store) -> None:
    batch = events(300)  # past 256: the path that gathers the hashes at the end
    n = store.names
    leaves: list[bytes | None] = [bytes(32)] * 300
    leaves[100] = None
    with pytest.raises(asyncpg.InvalidParameterValueError, match="32-byte digest"):
        await store.pool.fetch(
            f"SELECT * FROM {n.q('gl_insert_events')}($1::uuid[], $2::bigint[], $3::text[], "
            "$4::bytea[], $5::bytea[])",
            [e.originator_id for e in batch],
            [1] * 300,
            [e.topic for e in batch],
            [e.state for e in batch],
            leaves,
        )
    assert await store.events.max_notification_id() is None


async def test_a_chain_row_of_the_wrong_length_vouches_for_nothing(store: Store) -> None:
    await store.events.insert_events(events(3))
    async with store.pool.acquire() as conn, conn.transaction():
        await conn.execute("SET LOCAL session_replication_role = replica")
        await conn.execute(f"UPDATE {store.names.q('gl_chain')} SET hashes = hashes || '\\x01'")
    report = await verify_chain(store.pool, store.names)
    assert (report.problem, report.first_bad_position) == ("unchained", 1)


async def test_a_checkpoint_must_be_signed_now(store: Store) -> None:
    await store.events.insert_events(events(1))
    real = (await chain_hashes(store.pool, store.names, 0, 1))[1]
    with pytest.raises(asyncpg.CheckViolationError, match="signed now"):
        await store.pool.execute(
            f"INSERT INTO {store.names.q('gl_checkpoints')} "
            "VALUES (1, $1, '200000-01-01+00', 'x', '\\x00')",
            real,
        )

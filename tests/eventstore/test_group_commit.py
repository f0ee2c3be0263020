"""Commands through the group commit: each writer's events and idempotency record are
all or nothing on their own, within one shared transaction; a writer that conflicts
(a version taken, a key already stored) fails alone; ids stay gapless, in commit order,
and the hash chain intact."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from eventsourcing.persistence import StoredEvent

from eventstore.database import Store
from eventstore.errors import VersionConflict
from eventstore.group_commit import GroupCommitter, Keyed
from eventstore.idempotency import IdempotencyRace, IdempotencyStore
from eventstore.verify import verify_chain


def ev(oid: uuid.UUID, version: int) -> StoredEvent:
    return StoredEvent(oid, version, "tests:Happened", f"state-{oid}-{version}".encode())


def keyed(key: str) -> Keyed:
    return ("pat", key, f"hash-{key}", b'{"answer":"' + key.encode() + b'"}')


class CountingCommitter(GroupCommitter):
    """Records the writers of each batch it sends (to show they shared one)."""

    def __init__(self, committer: GroupCommitter) -> None:
        self.__dict__.update(committer.__dict__)
        self.batches: list[int] = []

    async def _write(self, batch: list) -> None:
        self.batches.append(len(batch))
        await super()._write(batch)


async def test_one_batch_a_version_conflict_and_a_stored_key_fail_alone(store: Store) -> None:
    taken, again = uuid.uuid4(), uuid.uuid4()
    await store.events.insert_events([ev(taken, 1)], keyed=keyed("used"))
    counting = CountingCommitter(store.events._group)
    store.events._group = counting
    writers = [uuid.uuid4() for _ in range(20)]
    results = await asyncio.gather(
        *(store.events.insert_events([ev(w, 1), ev(w, 2)], keyed=keyed(f"k{w}")) for w in writers),
        store.events.insert_events([ev(taken, 1)], keyed=keyed("fresh")),  # version taken
        store.events.insert_events([ev(again, 1)], keyed=keyed("used")),  # key taken
        return_exceptions=True,
    )
    assert counting.batches == [22]  # all of them in one transaction
    assert isinstance(results[-2], VersionConflict)
    assert isinstance(results[-1], IdempotencyRace)
    # the others: gapless ids in the order they were queued, two each
    ids = [i for r in results[:-2] for i in r]  # type: ignore[union-attr]
    assert ids == list(range(2, 2 + 40))
    # nothing of the failed ones: neither the record of the first nor the event of the second
    idem = IdempotencyStore(store.pool, store.names)
    assert await idem.find("pat", "fresh") is None
    assert await store.events.select_events(again) == []
    stored = await idem.find("pat", "used")
    assert stored is not None and stored.position == 1  # the first one's, unchanged
    # every other record is stored, at its own events' last position
    for w, r in zip(writers, results, strict=False):
        record = await idem.find("pat", f"k{w}")
        assert record is not None and record.position == r[-1]  # type: ignore[index]
        assert record.request_hash == f"hash-k{w}"
    chain = await verify_chain(store.pool, store.names)
    assert chain.intact, chain


async def test_a_key_sent_twice_in_one_batch_stores_one_set_of_events(store: Store) -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    first, second = await asyncio.gather(
        store.events.insert_events([ev(a, 1)], keyed=keyed("same")),
        store.events.insert_events([ev(b, 1)], keyed=keyed("same")),
        return_exceptions=True,
    )
    assert first == [1]
    assert isinstance(second, IdempotencyRace)
    assert await store.events.select_events(b) == []
    assert await store.events.max_notification_id() == 1
    assert (await verify_chain(store.pool, store.names)).intact


async def test_a_record_goes_with_the_group_commit_only(store: Store) -> None:
    async with store.pool.acquire() as conn, conn.transaction():
        with pytest.raises(ValueError, match="group commit"):
            await store.events.insert_events([ev(uuid.uuid4(), 1)], conn=conn, keyed=keyed("x"))

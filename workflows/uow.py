"""The unit of work: load aggregates, let the domain decide, save everything atomically.

``run_command`` executes one use case. It replays a stored answer for a repeated
Idempotency-Key, loads aggregates (snapshot, then newer events), saves the new events
of every touched aggregate and the idempotency record in ONE transaction, and retries
the whole use case against fresh state when a concurrent writer got there first
(unless the caller pinned a version with If-Match, which then fails with 412/409).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from uuid import UUID

import msgspec
from eventsourcing.domain import Aggregate, Snapshot

from eventstore.database import Store
from eventstore.errors import VersionConflict
from eventstore.idempotency import IdempotencyRace, IdempotencyRecord, IdempotencyStore
from eventstore.loader import load_aggregate
from workflows.errors import (
    ConcurrencyConflict,
    IdempotencyKeyReused,
    PreconditionFailed,
    UnknownAggregate,
)

log = logging.getLogger(__name__)

A = TypeVar("A", bound=Aggregate)

MAX_ATTEMPTS = 8
SNAPSHOT_EVERY = 50


class CommandResult(msgspec.Struct, frozen=True):
    """What every command answers: the aggregate, its new version and the last position."""

    id: UUID
    version: int
    position: int
    details: dict[str, Any] = {}


@dataclass(frozen=True)
class CommandOptions:
    """Per-request options: If-Match version, Idempotency-Key and its request hash."""

    principal: str = ""
    expected_version: int | None = None
    idempotency_key: str | None = None
    request_hash: str = ""


@dataclass
class UnitOfWork:
    """Tracks the aggregates one use case loads or creates."""

    store: Store
    expected_version: int | None = None
    _seen: dict[UUID, Aggregate] = field(default_factory=dict)

    async def get(self, cls: type[A], aggregate_id: UUID, *, what: str = "") -> A:
        """Load an aggregate of type ``cls``; unknown ids raise UnknownAggregate."""
        if aggregate_id in self._seen:
            found = self._seen[aggregate_id]
        else:
            found = await load_aggregate(self.store, aggregate_id)
        if not isinstance(found, cls):
            raise UnknownAggregate(f"{what or cls.__name__.lower()} {aggregate_id} not found")
        self._seen[aggregate_id] = found
        return found

    def expect(self, aggregate: Aggregate) -> None:
        """Check the caller's If-Match version against the loaded aggregate."""
        if self.expected_version is not None and aggregate.version != self.expected_version:
            raise PreconditionFailed(
                f"version {self.expected_version} is stale: the current version is "
                f"{aggregate.version}"
            )

    def add(self, aggregate: Aggregate) -> None:
        """Track a newly created aggregate."""
        self._seen[aggregate.id] = aggregate

    def pending(self) -> list[Any]:
        return [e for agg in self._seen.values() for e in agg.collect_events()]


UseCase = Callable[[UnitOfWork], Awaitable[Aggregate | tuple[Aggregate, dict[str, Any]]]]


async def run_command(store: Store, use_case: UseCase, options: CommandOptions) -> CommandResult:
    """Run a use case as one atomic, idempotent, concurrency-safe command."""
    idem = IdempotencyStore(store.pool, store.names)
    key = options.idempotency_key
    if key is not None:
        earlier = await idem.find(options.principal, key)
        if earlier is not None:
            return _replay(earlier, options)
    for _attempt in range(MAX_ATTEMPTS):
        uow = UnitOfWork(store, options.expected_version)
        outcome = await use_case(uow)
        primary, details = outcome if isinstance(outcome, tuple) else (outcome, {})
        events = uow.pending()
        stored = [store.mapper.to_stored_event(e) for e in events]
        try:
            async with store.pool.acquire() as conn, conn.transaction():
                ids = await store.events.insert_events(stored, conn=conn)
                position = ids[-1] if ids else await store.events.max_notification_id_on(conn)
                result = CommandResult(primary.id, primary.version, position, details)
                if key is not None:
                    record = IdempotencyRecord(options.request_hash, msgspec.json.encode(result))
                    await idem.insert(conn, options.principal, key, record)
        except VersionConflict:
            if options.expected_version is not None:
                raise PreconditionFailed(
                    "the resource changed while this command ran; reload and retry"
                ) from None
            continue
        except IdempotencyRace:
            earlier = await idem.find(options.principal, key or "")
            assert earlier is not None
            return _replay(earlier, options)
        await _maybe_snapshot(store, events)
        return result
    raise ConcurrencyConflict("too many concurrent changes to this resource; retry later")


def _replay(earlier: IdempotencyRecord, options: CommandOptions) -> CommandResult:
    if earlier.request_hash != options.request_hash:
        raise IdempotencyKeyReused("this Idempotency-Key was already used for a different request")
    return msgspec.json.decode(earlier.response, type=CommandResult)


async def _maybe_snapshot(store: Store, events: list[Any]) -> None:
    """Snapshot aggregates that crossed a multiple of SNAPSHOT_EVERY (best effort)."""
    crossed = {}
    for e in events:
        if e.originator_version % SNAPSHOT_EVERY == 0:
            crossed[e.originator_id] = e.originator_version
    for aggregate_id, version in crossed.items():
        try:
            aggregate = await load_aggregate(store, aggregate_id)
            if aggregate is not None and aggregate.version >= version:
                snap = store.mapper.to_stored_event(Snapshot.take(aggregate))
                await store.snapshots.insert_events([snap])
        except Exception:  # a missing snapshot only costs read time
            log.exception("could not snapshot %s", aggregate_id)

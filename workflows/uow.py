"""The unit of work: load aggregates, let the domain decide, save everything atomically.

``run_command`` executes one use case. It replays a stored answer for a repeated
Idempotency-Key, loads aggregates (this process's cached copy, else the snapshot, then
the newer events: ``eventstore.loader``), saves the new events of every touched
aggregate and the idempotency record in ONE transaction, shared with concurrent
commands by the store's group commit (each command's events and record all or nothing
on their own, a conflicting one failing alone), and retries
the whole use case against fresh state, with jittered backoff for a bounded time, when a
concurrent writer got there first (unless the caller pinned a version with If-Match,
which then fails at once with 412). A use case that changes nothing writes nothing and
answers the current version and its position.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from uuid import UUID

import asyncpg
import msgspec
from eventsourcing.domain import Aggregate, Snapshot

from domain.errors import DomainError
from eventstore.database import Store
from eventstore.errors import VersionConflict
from eventstore.idempotency import IdempotencyRace, IdempotencyRecord, IdempotencyStore
from eventstore.loader import load_aggregate, load_cached_aggregates
from workflows.errors import (
    ConcurrencyConflict,
    IdempotencyKeyReused,
    PreconditionFailed,
    UnknownAggregate,
    WorkflowError,
)

log = logging.getLogger(__name__)

A = TypeVar("A", bound=Aggregate)

SNAPSHOT_EVERY = 50
# A command that meets a concurrent change is retried on fresh state for up to
# RETRY_SECONDS, pausing a random 0..min(BACKOFF_CAP, BACKOFF_BASE * 2**attempt) seconds
# between attempts; then it is refused (409) with Retry-After: RETRY_AFTER. It always gets
# MIN_ATTEMPTS, however long the first took: on a busy server a first attempt that
# waited past the deadline (for the pool, the group commit) and then met a change
# deserves one on fresh state, which is mostly a no-op or a success.
RETRY_SECONDS = 2.0
MIN_ATTEMPTS = 2
BACKOFF_BASE = 0.005
BACKOFF_CAP = 0.1
RETRY_AFTER = 1


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
        found: Aggregate | None
        if aggregate_id in self._seen:
            found = self._seen[aggregate_id]
        else:
            found = await load_aggregate(self.store, aggregate_id)
        if not isinstance(found, cls):
            raise UnknownAggregate(f"{what or cls.__name__.lower()} {aggregate_id} not found")
        self._seen[aggregate_id] = found
        return found

    async def prefetch(self, *aggregate_ids: UUID) -> None:
        """Load aggregates ``get`` will be asked for next, in one round trip when this
        process has them all cached (else nothing here: ``get`` loads each)."""
        todo = [i for i in dict.fromkeys(aggregate_ids) if i not in self._seen]
        if len(todo) < 2:
            return
        found = await load_cached_aggregates(self.store, todo)
        for aggregate_id, aggregate in zip(todo, found or (), strict=False):
            self._seen[aggregate_id] = aggregate

    def cached(self, aggregate_id: UUID) -> Any | None:
        """This process's cached copy of an aggregate (maybe not its latest version), to
        learn the ids of what it names before loading it; not to be changed."""
        return self.store.aggregates.get(aggregate_id)

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
    backoff = _Backoff(time.monotonic() + RETRY_SECONDS)
    earlier = await _earlier_answer(idem, options)
    if earlier is not None:
        return earlier
    # Retries need not look again: a record stored meanwhile under this key fails the
    # attempt's save (IdempotencyRace, nothing written) and its answer is returned then.
    while True:
        try:
            result = await _attempt(store, idem, use_case, options)
        except VersionConflict:
            if options.expected_version is not None:
                raise PreconditionFailed(
                    "the resource changed while this command ran; reload and retry"
                ) from None
            await backoff.pause()
            continue
        backoff.done()
        return result


async def act_on(
    store: Store,
    cls: type[A],
    aggregate_id: UUID,
    act: Callable[[A], None],
    options: CommandOptions,
) -> CommandResult:
    """The common command: load the aggregate the caller names, check If-Match, let
    ``act`` call its command method, save (``run_command`` does the rest)."""

    async def use_case(uow: UnitOfWork) -> A:
        aggregate = await uow.get(cls, aggregate_id)
        uow.expect(aggregate)
        act(aggregate)
        return aggregate

    return await run_command(store, use_case, options)


async def _attempt(
    store: Store, idem: IdempotencyStore, use_case: UseCase, options: CommandOptions
) -> CommandResult:
    """Run the use case on fresh state and save its events (none: answer the current
    version and that version's position) with the idempotency record, in one transaction."""
    uow = UnitOfWork(store, options.expected_version)
    try:
        outcome = await use_case(uow)
    except (DomainError, WorkflowError):
        # The same key, sent at the same time, may have made the state that refuses it.
        earlier = await _earlier_answer(idem, options)
        if earlier is None:
            raise
        return earlier
    primary, details = outcome if isinstance(outcome, tuple) else (outcome, {})
    events = uow.pending()
    stored = [store.mapper.to_stored_event(e) for e in events]
    try:
        if not stored:
            return await _unchanged(store, idem, primary, details, options)
        keyed = None
        if options.idempotency_key is not None:
            # its position is where the events land: the group commit records it
            answer = msgspec.json.encode(CommandResult(primary.id, primary.version, 0, details))
            keyed = (options.principal, options.idempotency_key, options.request_hash, answer)
        ids = await store.events.insert_events(stored, keyed=keyed)
    except IdempotencyRace:
        earlier = await _earlier_answer(idem, options)
        assert earlier is not None
        return earlier
    await _maybe_snapshot(store, events)
    return CommandResult(primary.id, primary.version, ids[-1], details)


async def _unchanged(
    store: Store,
    idem: IdempotencyStore,
    primary: Aggregate,
    details: dict[str, Any],
    options: CommandOptions,
) -> CommandResult:
    """A command that changed nothing answers the current version where it sits (and
    records that answer for its Idempotency-Key)."""
    async with store.pool.acquire() as conn, conn.transaction():
        position = await _position_of(store, conn, primary)
        result = CommandResult(primary.id, primary.version, position, details)
        if options.idempotency_key is not None:
            record = IdempotencyRecord(options.request_hash, msgspec.json.encode(result))
            await idem.insert(conn, options.principal, options.idempotency_key, record)
    return result


async def _position_of(store: Store, conn: asyncpg.Connection, aggregate: Aggregate) -> int:
    """Where the aggregate's current version sits in the log (a command that changed
    nothing answers with it, as the command that made that version did)."""
    found = await store.events.position_of(conn, aggregate.id, aggregate.version)
    return found if found is not None else await store.events.max_notification_id_on(conn)


@dataclass
class _Backoff:
    """Retries after a concurrent change: full-jitter exponential pauses until a deadline."""

    deadline: float
    attempts: int = 1

    async def pause(self) -> None:
        """Wait before the next attempt, or raise ConcurrencyConflict once out of time."""
        delay = random.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2**self.attempts))
        if self.attempts >= MIN_ATTEMPTS and time.monotonic() + delay > self.deadline:
            log.warning("gave up after %d attempts on concurrent changes", self.attempts)
            raise ConcurrencyConflict(
                "too many concurrent changes to this resource; retry later",
                retry_after=RETRY_AFTER,
            )
        log.debug("attempt %d met a concurrent change; retrying in %.3f s", self.attempts, delay)
        self.attempts += 1
        await asyncio.sleep(delay)

    def done(self) -> None:
        if self.attempts > 1:
            log.info("command succeeded after %d attempts on concurrent changes", self.attempts)


async def _earlier_answer(idem: IdempotencyStore, options: CommandOptions) -> CommandResult | None:
    """The answer already given for this Idempotency-Key, if any."""
    if options.idempotency_key is None:
        return None
    earlier = await idem.find(options.principal, options.idempotency_key)
    return None if earlier is None else _replay(earlier, options)


def _replay(earlier: IdempotencyRecord, options: CommandOptions) -> CommandResult:
    if earlier.request_hash != options.request_hash:
        raise IdempotencyKeyReused("this Idempotency-Key was already used for a different request")
    answer = msgspec.json.decode(earlier.response, type=CommandResult)
    if earlier.position is not None:  # stored with the events, where they landed
        answer = msgspec.structs.replace(answer, position=earlier.position)
    return answer


async def _maybe_snapshot(store: Store, events: list[Any]) -> None:
    """Snapshot aggregates that crossed a multiple of SNAPSHOT_EVERY (best effort), as
    the store replays them (the cached copy and the events after it: cheap)."""
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

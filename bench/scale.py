"""History ten times larger: aggregate loads, appends and reads at 1M and at 10M events.

Two logs side by side, each in a schema of its own (both dropped at the end): the small
one (1M events; ``--quick``: 50k) and the large one (10M; ``--quick``: 500k). Both are
measured in alternation (request by request, load by load, round by round), so that
the machine's drift falls on both alike; ``*_ratio_<large>_vs_<small>`` = large / small.

* **Aggregate loads** (``eventstore.loader.load_aggregate``; "cold": this process's
  aggregate cache emptied of it first, so the load reads the latest snapshot and the
  events after it): a project with 10 events beside one with 10,000 (``--quick``:
  1,000). The small one is written through the command path (``workflows.gates.
  cast_vote``); the big one's votes are made by the domain, stored ``SNAPSHOT_EVERY``
  at a time and snapshotted by the unit of work's own step (the command path is checked
  to keep its snapshots as close: ``most_events_after_snapshot``). Beside them: the big
  one from the snapshot before the latest plus the events since (the worst case between
  two snapshots), replayed from its first event with no snapshot (the floor: a load
  without snapshots), and both loaded from the cache (only the events after the cached
  version read). ``load_ratio_<N>_vs_10`` = median cold load of the big one / of the
  small one, on the large log.
* **Appends**: single-event appends by 32 writers through the store's group commit
  (``insert_events``), and vote commands by 8 concurrent clients through the workflow
  (``cast_vote``, with an Idempotency-Key, each client on its own project): rate, p50,
  p99, in alternating rounds on the two logs.
* **Reads** through a served process per log (``gateledger serve``, as
  ``bench/queries.py`` does): the portfolio view, a project, the busiest gatekeeper's
  inbox, a project's audit page, an actor's audit page over a time range; and
  ``/health``, the HTTP floor. ``query_p99_ratio_*`` is the geometric mean of the
  queries' p99 ratios (each query's ratio is in the JSON too).

Seeding is fast: a base world (``bench.dataset.generate``: portfolios, boards, projects
walking their gates through the domain; 100k events, ``--quick`` 10k) is generated once
and written again and again as copies, each with its own ids (every UUID in the ids
and the events' state XOR-ed with a per-copy mask) and its own people and names (a
``.c<k>`` suffix), so every copy is a world of the same shape and only the log grows:
a portfolio, a person's inbox and audit trail are the same size at 1M and at 10M. Rows
go in with COPY (the events table's two indexes dropped and built again after it), with
the hash chain computed here exactly as the append functions make it (one ``gl_chain``
row per 10,000 events), then VACUUM ANALYZE; the read models come up through the
rebuild path (``projections.engine.rebuild.rebuild_many``). The large log's chain is
verified at the end (``--no-verify`` skips it). Progress goes to stderr; the last line
on stdout is one JSON object.

    .venv/bin/python -m bench.scale --quick --database-url postgresql://postgres@127.0.0.1:5432/test
    .venv/bin/python -m bench.scale --database-url postgresql://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import logging
import math
import os
import random
import re
import secrets
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import partial
from pathlib import Path
from queue import Queue
from typing import Any

import asyncpg
import httpx
from eventsourcing.persistence import StoredEvent

from api.auth import mint_token
from api.settings import Settings
from bench.dataset import (
    DatasetInfo,
    bench_parser,
    close_store,
    generate,
    log,
    print_result,
    resolve_database,
)
from bench.queries import actor_window, free_port, percentile, start_server, wait_healthy
from domain.gate_review import Evidence, Vote
from domain.money import Money
from domain.policy import Actor, Baseline, Board, Tolerances, default_template
from domain.portfolio import Portfolio
from domain.project import Project
from domain.stored_names import STORED_NAMES
from eventstore.chain import GENESIS, chain_head
from eventstore.database import Store, open_store
from eventstore.loader import load_aggregate
from eventstore.schema import StoreNames, drop_schema
from eventstore.verify import verify_chain
from projections.engine.rebuild import rebuild_many
from projections.registry import all_projections, create_tables
from workflows.gates import cast_vote
from workflows.uow import SNAPSHOT_EVERY, CommandOptions, _maybe_snapshot

ADMIN = "pmo-admin"
CURRENCY = "EUR"
GATE = "G0"
WRITERS = 32  # single-event appenders, as bench/append.py
CLIENTS = 8  # concurrent command clients
COPY_CHUNK = 10_000  # events per COPY and per gl_chain row
SERVER_POOL = 4  # database connections of each served process


def label(n: int) -> str:
    """``100k``, ``1m``, ``10m``: a log size in a key."""
    return f"{n // 1_000_000}m" if n % 1_000_000 == 0 else f"{n // 1000}k"


# --- the base world, copied ---------------------------------------------------------------

# What differs between copies: UUIDs in the state (the transcoder's tagged form) and the
# generated people's and things' names (whole JSON strings).
_TOKEN = re.compile(
    rb'"__t":"uuid","v":"([0-9a-f]{32})"'
    rb'|"((?:delegate-of-)?(?:gk|pm|sponsor|stakeholder)-\d+|(?:Portfolio|Project) \d+)"'
)
_UUID_SLOT = b'"__t":"uuid","v":"%s"'
_NAME_SLOT = b'"%s"'


@dataclass
class Template:
    """The base world's events, each with its state split around what a copy changes."""

    rows: list[tuple[uuid.UUID, int, str, bytes, bytes, tuple[bytes, ...]]]
    uuids: set[bytes] = field(default_factory=set)
    names: set[bytes] = field(default_factory=set)

    @classmethod
    def of(cls, events: list[StoredEvent]) -> Template:
        t = cls(rows=[])
        for e in events:
            parts: list[bytes] = []
            tokens: list[bytes] = []
            last = 0
            for m in _TOKEN.finditer(e.state):
                parts.append(e.state[last : m.start()].replace(b"%", b"%%"))
                if m.group(1) is not None:
                    parts.append(_UUID_SLOT)
                    tokens.append(m.group(1))
                    t.uuids.add(m.group(1))
                else:
                    parts.append(_NAME_SLOT)
                    tokens.append(m.group(2))
                    t.names.add(m.group(2))
                last = m.end()
            parts.append(e.state[last:].replace(b"%", b"%%"))
            t.rows.append(
                (
                    _plain(e.originator_id),
                    e.originator_version,
                    e.topic,
                    e.topic.encode(),
                    b"".join(parts),
                    tuple(tokens),
                )
            )
        return t

    def __len__(self) -> int:
        return len(self.rows)


def _plain(value: uuid.UUID | str) -> uuid.UUID:
    return value if type(value) is uuid.UUID else uuid.UUID(str(value))


def copy_mask(k: int) -> int:
    """The 128-bit mask copy ``k`` XORs its ids with (0: the base world itself)."""
    if k == 0:
        return 0
    return int.from_bytes(hashlib.sha256(b"gateledger-scale-copy-%d" % k).digest()[:16], "big")


def copied_id(value: uuid.UUID, k: int) -> uuid.UUID:
    return uuid.UUID(int=value.int ^ copy_mask(k))


def copy_rows(template: Template, k: int) -> Iterator[tuple[uuid.UUID, int, str, bytes, bytes]]:
    """Copy ``k`` of the base world: (id, version, topic, topic bytes, state) per event."""
    mask = copy_mask(k)
    swap: dict[bytes, bytes] = {}
    for u in template.uuids:
        swap[u] = b"%032x" % (int(u, 16) ^ mask)
    for n in template.names:
        swap[n] = n if k == 0 else n + b".c%d" % k
    get = swap.__getitem__
    ids: dict[uuid.UUID, uuid.UUID] = {}
    for originator, version, topic, topic_bytes, fmt, tokens in template.rows:
        new_id = ids.get(originator)
        if new_id is None:
            new_id = ids[originator] = uuid.UUID(int=originator.int ^ mask)
        state = fmt % tuple(map(get, tokens)) if tokens else fmt.replace(b"%%", b"%")
        yield new_id, version, topic, topic_bytes, state


_pack_q = struct.Struct(">q").pack
_pack_i = struct.Struct(">i").pack


def copy_chunks(
    template: Template, copies: range, start: int, head: bytes, chunk: int = COPY_CHUNK
) -> Iterator[tuple[list[tuple[Any, ...]], tuple[int, int, bytes, bool]]]:
    """COPY-ready event rows in chunks, positions from ``start`` + 1 on, each chunk with
    its ``gl_chain`` row (position, first position, hashes, late): the chain continued from
    ``head`` (the hash at ``start``) exactly as the append functions continue it
    (``eventstore.chain.leaf_digest`` and ``link``, inlined)."""
    sha256 = hashlib.sha256
    position, previous = start, head
    rows: list[tuple[Any, ...]] = []
    hashes: list[bytes] = []
    for k in copies:
        for new_id, version, topic, topic_bytes, state in copy_rows(template, k):
            position += 1
            leaf = sha256(
                new_id.bytes
                + _pack_q(version)
                + _pack_i(len(topic_bytes))
                + topic_bytes
                + _pack_i(len(state))
                + state
            ).digest()
            previous = sha256(previous + _pack_q(position) + leaf).digest()
            hashes.append(previous)
            rows.append((position, new_id, version, topic, state))
            if len(rows) >= chunk:
                yield rows, (position, position - len(rows) + 1, b"".join(hashes), False)
                rows, hashes = [], []
    if rows:
        yield rows, (position, position - len(rows) + 1, b"".join(hashes), False)


async def _event_indexes(conn: Any, store: Store) -> list[tuple[str, str]]:
    """(drop, create) statements of the events table's primary key and unique index."""
    ev = store.names.q(store.names.events)
    out: list[tuple[str, str]] = []
    for name, definition in await conn.fetch(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = $1::regclass AND contype = 'p'",
        ev,
    ):
        out.append(
            (
                f'ALTER TABLE {ev} DROP CONSTRAINT "{name}"',
                f'ALTER TABLE {ev} ADD CONSTRAINT "{name}" {definition}',
            )
        )
    for name, definition in await conn.fetch(
        "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x "
        "JOIN pg_class i ON i.oid = x.indexrelid WHERE x.indrelid = $1::regclass "
        "AND NOT x.indisprimary",
        ev,
    ):
        schema = store.names.schema.replace('"', '""')
        out.append((f'DROP INDEX "{schema}"."{name}"', definition))
    return out


async def bulk_load(store: Store, template: Template, copies: range) -> tuple[int, float]:
    """Append ``copies`` of the base world with COPY, chained; returns (events, seconds)."""
    names = store.names
    ev = names.q(names.events)
    t0 = time.perf_counter()
    async with store.pool.acquire() as conn:
        await conn.execute("SET maintenance_work_mem = '1GB'")
        async with conn.transaction():
            await conn.execute(f"LOCK TABLE {ev} IN EXCLUSIVE MODE")
            start = await conn.fetchval(f"SELECT coalesce(max(notification_id), 0) FROM {ev}")
            found = await chain_head(conn, names)
            head_position, head = found if found is not None else (0, GENESIS)
            if head_position != start:
                raise RuntimeError(f"the chain's head is at {head_position}, the log's at {start}")
            indexes = await _event_indexes(conn, store)
            for drop, _ in indexes:
                await conn.execute(drop)
            chunks: Queue[Any] = Queue(maxsize=4)

            def produce() -> None:
                try:
                    for item in copy_chunks(template, copies, start, head):
                        chunks.put(item)
                    chunks.put(None)
                except BaseException as exc:
                    chunks.put(exc)

            thread = threading.Thread(target=produce, name="scale-copies", daemon=True)
            thread.start()
            loaded, last = 0, time.perf_counter()
            total = len(template) * len(copies)
            while (item := await asyncio.to_thread(chunks.get)) is not None:
                if isinstance(item, BaseException):
                    raise item
                rows, chain_row = item
                await conn.copy_records_to_table(
                    names.events,
                    schema_name=names.schema,
                    columns=(
                        "notification_id",
                        "originator_id",
                        "originator_version",
                        "topic",
                        "state",
                    ),
                    records=rows,
                )
                await conn.copy_records_to_table(
                    "gl_chain",
                    schema_name=names.schema,
                    columns=("position", "first_position", "hashes", "late"),
                    records=[chain_row],
                )
                loaded += len(rows)
                if time.perf_counter() - last >= 5:
                    last = time.perf_counter()
                    rate = loaded / (last - t0)
                    log(f"copied {loaded:,}/{total:,} events, {rate:,.0f} events/s")
            thread.join()
            copied = time.perf_counter() - t0
            log(f"copied {loaded:,} events in {copied:.1f} s; building the indexes again")
            for _, create in indexes:
                await conn.execute(create)
            await conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{ev.replace(chr(39), chr(39) * 2)}', "
                "'notification_id'), $1)",
                start + loaded,
            )
        await conn.execute(f"VACUUM ANALYZE {ev}")
        await conn.execute(f"ANALYZE {names.q('gl_chain')}")
    seconds = time.perf_counter() - t0
    log(f"bulk load: {loaded:,} events in {seconds:.1f} s ({loaded / seconds:,.0f} events/s)")
    return loaded, seconds


# --- the benchmark's own aggregates ---------------------------------------------------------


@dataclass
class World:
    """The benchmark's own portfolio and projects (written before the copies)."""

    portfolio: uuid.UUID
    board: Board
    small: uuid.UUID
    big: uuid.UUID
    big_events: int
    commands: list[uuid.UUID]
    writers: list[tuple[uuid.UUID, int, list[bytes], str]]  # id, version, states, topic
    votes: int = 1_000_000  # the commands' votes so far (each rationale differs)


def _actor(person: str) -> Actor:
    return Actor(person, None, f"scale-{uuid.uuid4().hex[:12]}")


def _project(portfolio: Portfolio, n: int) -> Project:
    p = Project.create(
        uuid.uuid4(),
        portfolio.id,
        f"Scale project {n}",
        "scale-pm",
        "scale-sponsor",
        Baseline(Money(Decimal(250_000), CURRENCY), date(2027, 1, 1), date(2027, 12, 31), "Scope"),
        Tolerances(Decimal("10"), 30),
        default_template(),
        _actor(ADMIN),
        portfolio_currency=CURRENCY,
    )
    gate = p.template.gates[0]
    signoffs = frozenset(s.deliverable for s in gate.required_signoffs)
    evidence = (Evidence("G0 pack", "https://docs.example.org/g0", "sha256:abc"),)
    p.request_review(GATE, evidence, _actor("scale-pm"), signoffs)
    return p


async def _save(store: Store, *aggregates: Any) -> None:
    for aggregate in aggregates:
        events = [store.mapper.to_stored_event(e) for e in aggregate.collect_events()]
        await store.events.insert_events(events)


async def vote(store: Store, project: uuid.UUID, voter: str, i: int) -> None:
    """One vote (or changed vote) through the workflow, as the API casts it."""
    await cast_vote(
        store,
        project_id=project,
        gate=GATE,
        vote=Vote.APPROVE if i % 2 else Vote.REJECT,
        rationale=f"Vote {i} by {voter}",
        by=_actor(voter),
        options=CommandOptions(principal=voter, idempotency_key=uuid.uuid4().hex, request_hash="h"),
    )


async def make_world(store: Store, big_events: int) -> World:
    """The portfolio, the small project (written through the command path) and the big
    one, the command clients' projects and the appenders' projects."""
    members = tuple(f"scale-gk-{i}" for i in range(7))
    board = Board(members, members[0])
    pf = Portfolio.create(
        uuid.uuid4(),
        "Scale portfolio",
        ("Measure",),
        Money(Decimal(100_000_000), CURRENCY),
        board,
        default_template(),
        _actor(ADMIN),
    )
    await _save(store, pf)
    small, big = _project(pf, 0), _project(pf, 1)
    commands = [_project(pf, 2 + i) for i in range(CLIENTS)]
    await _save(store, small, big, *commands)
    writers = []
    for i in range(WRITERS):
        p = _project(pf, 100 + i)
        voter = members[i % len(members)]
        p.cast_vote(GATE, Vote.APPROVE, "First", _actor(voter), board)
        await _save(store, p)
        states: list[bytes] = []
        topic = ""
        for j in range(2):
            vote_ = Vote.REJECT if j % 2 == 0 else Vote.APPROVE
            p.cast_vote(GATE, vote_, f"Changed {j}", _actor(voter), board)
            stored = store.mapper.to_stored_event(p.collect_events()[0])
            states.append(stored.state)
            topic = stored.topic
        writers.append((p.id, p.version - 2, states, topic))
    # The small one through the command path, as the API writes it.
    for i in range(8):
        await vote(store, small.id, members[i % 7], i)
    # The big one: the same votes made by the domain, stored SNAPSHOT_EVERY at a time and
    # snapshotted by the unit of work's own step (measure_writes checks that the
    # command path itself keeps its snapshots this close).
    t0 = time.perf_counter()
    i = 0
    while big.version < big_events:
        for _ in range(
            min(SNAPSHOT_EVERY - big.version % SNAPSHOT_EVERY, big_events - big.version)
        ):
            voter = members[i % 7]
            rationale = f"Vote {i} by {voter}"
            big.cast_vote(
                GATE, Vote.APPROVE if i % 2 else Vote.REJECT, rationale, _actor(voter), board
            )
            i += 1
        events = big.collect_events()
        await store.events.insert_events([store.mapper.to_stored_event(e) for e in events])
        await _maybe_snapshot(store, list(events))
    log(f"big project: {big_events:,} events in {time.perf_counter() - t0:.1f} s")
    return World(pf.id, board, small.id, big.id, big_events, [p.id for p in commands], writers)


# --- measuring ---------------------------------------------------------------------------


def _stats(values: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(percentile(values, 0.5), 3),
        "p99_ms": round(percentile(values, 0.99), 3),
    }


async def _timed(make: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    await make()
    return (time.perf_counter() - t0) * 1000


@dataclass
class Side:
    """One log size: its own store (schema), portfolio and projects, and copies."""

    size: int
    store: Store
    world: World
    base: DatasetInfo | None = None
    copies: int = 0
    figures: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return label(self.size)

    def portfolios(self) -> list[uuid.UUID]:
        assert self.base is not None
        return [copied_id(p, k) for k in range(self.copies) for p in self.base.portfolios]

    def projects(self, rnd: random.Random, n: int) -> list[uuid.UUID]:
        assert self.base is not None
        base = self.base.projects
        return [copied_id(rnd.choice(base), rnd.randrange(self.copies)) for _ in range(n)]


def alternate(sides: list[Side], i: int) -> list[Side]:
    """Both sides, the order swapped every other time (neither always goes first)."""
    return sides if i % 2 == 0 else sides[::-1]


async def load_from(store: Store, aggregate_id: uuid.UUID, below: int | None) -> Any:
    """``load_aggregate``'s snapshot path, from the newest snapshot at or below ``below``
    (``None``: no snapshot at all, every event replayed)."""
    aggregate: Any = None
    gt = None
    if below is not None:
        snapshot = await store.snapshots.latest(aggregate_id, below)
        if snapshot is not None:
            aggregate = store.mapper.to_domain_event(snapshot).mutate(None)
            gt = snapshot.originator_version
    for stored in await store.events.select_events(aggregate_id, gt=gt):
        aggregate = store.mapper.to_domain_event(stored).mutate(aggregate)
    return aggregate


def cold(store: Store, aggregate_id: uuid.UUID) -> Callable[[], Any]:
    """A load as a process that has not cached the aggregate makes it: the real
    ``load_aggregate``, this process's aggregate cache (if any) emptied of it first."""
    cache = getattr(store, "aggregates", None)

    async def go() -> Any:
        if cache is not None:
            cache.forget(aggregate_id)
        found = await load_aggregate(store, aggregate_id)
        assert found is not None and found.id == aggregate_id
        return found

    return go


LOADS = ("small", "big", "big_between_snapshots", "big_no_snapshot", "small_cached", "big_cached")


def cached(store: Store, aggregate_id: uuid.UUID) -> Callable[[], Any]:
    """A load by a process that has the aggregate cached: ``load_aggregate`` reads only
    the events after the cached version (none here)."""

    async def go() -> Any:
        return await load_aggregate(store, aggregate_id)

    return go


async def measure_loads(sides: list[Side], reps: int) -> None:
    """Loads of each side's small and big project (cold), the big one between snapshots,
    and its replay with no snapshot (the floor), interleaved across kinds and sides."""
    ms: dict[tuple[str, str], list[float]] = {(s.name, k): [] for s in sides for k in LOADS}
    for side in sides:
        store, world = side.store, side.world
        big = await cold(store, world.big)()
        small = await cold(store, world.small)()
        if big.version != world.big_events or small.version != 10:
            raise RuntimeError(f"loaded versions {big.version} and {small.version}")
        replay = await load_from(store, world.big, None)
        if replay.version != big.version or replay.review != big.review:
            raise RuntimeError("the replay without snapshots differs from the snapshot's load")
        latest = await store.snapshots.latest(world.big)
        before = await store.snapshots.latest(world.big, world.big_events - 1)
        side.figures["loads"] = {
            "big_events": world.big_events,
            "big_latest_snapshot": latest.originator_version if latest else None,
            "big_snapshot_before": before.originator_version if before else None,
        }
        for _ in range(5):  # warm-up
            await cold(store, world.small)()
    for rep in range(reps):
        for side in alternate(sides, rep):
            store, world = side.store, side.world
            below = world.big_events - 1
            ms[side.name, "small"].append(await _timed(cold(store, world.small)))
            ms[side.name, "big"].append(await _timed(cold(store, world.big)))
            await cold(store, world.small)()  # cached again, at its version
            ms[side.name, "small_cached"].append(await _timed(cached(store, world.small)))
            await cold(store, world.big)()
            ms[side.name, "big_cached"].append(await _timed(cached(store, world.big)))
            ms[side.name, "big_between_snapshots"].append(
                await _timed(partial(load_from, store, world.big, below))
            )
            if rep % 20 == 0:
                ms[side.name, "big_no_snapshot"].append(
                    await _timed(partial(load_from, store, world.big, None))
                )
    for side in sides:
        out = side.figures["loads"]
        for kind in LOADS:
            values = ms[side.name, kind]
            out[f"load_{kind}_median_ms"] = round(statistics.median(values), 3)
            out[f"load_{kind}_p99_ms"] = round(percentile(values, 0.99), 3)
        log(
            f"{side.name} loads (median ms): 10 events {out['load_small_median_ms']}, "
            f"{side.world.big_events:,} events {out['load_big_median_ms']} (snapshot at "
            f"{out['big_latest_snapshot']}), between snapshots "
            f"{out['load_big_between_snapshots_median_ms']}, no snapshot "
            f"{out['load_big_no_snapshot_median_ms']}; cached: 10 events "
            f"{out['load_small_cached_median_ms']}, {side.world.big_events:,} events "
            f"{out['load_big_cached_median_ms']}"
        )


Writers = list[tuple[uuid.UUID, int, list[bytes], str]]


async def append_round(store: Store, writers: Writers, seconds: float) -> tuple[list[float], int]:
    """``len(writers)`` writers appending one event per call through the group commit
    until the deadline: (latencies ms, events); the writers' versions move on."""
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    versions = {w[0]: w[1] for w in writers}

    async def run(originator: uuid.UUID, states: list[bytes], topic: str) -> None:
        while True:
            version = versions[originator] + 1
            event = StoredEvent(originator, version, topic, states[version % 2])
            t0 = time.perf_counter()
            if t0 >= deadline:
                return
            await store.events.insert_events([event])
            latencies.append((time.perf_counter() - t0) * 1000)
            versions[originator] = version

    await asyncio.gather(*(run(i, s, t) for i, _, s, t in writers))
    writers[:] = [(i, versions[i], s, t) for i, _, s, t in writers]
    return latencies, len(latencies)


async def command_round(side: Side, seconds: float) -> tuple[list[float], int]:
    """``CLIENTS`` clients voting through the workflow, each on its own project, until
    the deadline: (latencies ms, commands); the first few of each are a warm-up."""
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    members = side.world.board.members
    count = 0

    async def client(c: int, project: uuid.UUID) -> None:
        nonlocal count
        i = 0
        while (t0 := time.perf_counter()) < deadline:
            n = side.world.votes = side.world.votes + 1
            await vote(side.store, project, members[(c + i) % len(members)], n)
            if i >= 3:
                latencies.append((time.perf_counter() - t0) * 1000)
            i += 1
        count += i

    await asyncio.gather(*(client(c, p) for c, p in enumerate(side.world.commands)))
    return latencies, count


ROUNDS = 8  # alternating rounds of appends, and of commands, per side


async def measure_writes(sides: list[Side], seconds: float) -> None:
    """Appends, then commands, in alternating rounds on each side."""
    for kind, one in (
        ("appends", lambda side, s: append_round(side.store, side.world.writers, s)),
        ("commands", command_round),
    ):
        lat: dict[str, list[float]] = {s.name: [] for s in sides}
        n = dict.fromkeys(lat, 0)
        secs = dict.fromkeys(lat, 0.0)
        for r in range(ROUNDS):
            for side in alternate(sides, r):
                t0 = time.perf_counter()
                got, k = await one(side, seconds / ROUNDS)
                secs[side.name] += time.perf_counter() - t0
                lat[side.name] += got
                n[side.name] += k
        for side in sides:
            side.figures[kind] = {
                "per_s": round(n[side.name] / secs[side.name], 1),
                **_stats(lat[side.name]),
            }
            log(f"{side.name} {kind}: {side.figures[kind]}")
    for side in sides:
        # the command path keeps its own snapshots: none more than SNAPSHOT_EVERY behind
        behind = []
        for project in side.world.commands:
            last = await side.store.events.select_events(project, desc=True, limit=1)
            snapshot = await side.store.snapshots.latest(project)
            behind.append(
                last[0].originator_version - (snapshot.originator_version if snapshot else 0)
            )
        side.figures["commands"]["most_events_after_snapshot"] = max(behind)


Case = Callable[[int], tuple[str, dict[str, str]]]


async def read_cases(side: Side, settings: Settings) -> dict[str, Case]:
    """What to GET on one side: ``bench/queries.py``'s cases, ``/health`` first."""
    rnd = random.Random(11)
    assert side.base is not None
    busy = side.base.busiest_gatekeeper  # copy 0 keeps the base world's names
    start, end = await actor_window(side.store, busy)
    auditor = {"Authorization": f"Bearer {mint_token(settings, 'auditor', ['auditor'])}"}
    keeper = {"Authorization": f"Bearer {mint_token(settings, busy)}"}
    window = {"actor": busy, "from": start.isoformat(), "to": end.isoformat()}
    by_actor = "/api/v1/audit/events?" + str(httpx.QueryParams(window))
    portfolios = side.portfolios()
    rnd.shuffle(portfolios)
    projects = side.projects(rnd, 1000)

    def pick(ids: list[uuid.UUID], i: int) -> uuid.UUID:
        return ids[i % len(ids)]

    return {
        "floor_health": lambda i: ("/api/v1/health", {}),
        "portfolio_view": lambda i: (f"/api/v1/portfolios/{pick(portfolios, i)}", auditor),
        "project_detail": lambda i: (f"/api/v1/projects/{pick(projects, i)}", auditor),
        "inbox": lambda i: ("/api/v1/me/inbox", keeper),
        "audit_by_project": lambda i: (
            f"/api/v1/audit/events?project_id={pick(projects, i)}",
            auditor,
        ),
        "audit_by_actor": lambda i: (by_actor, auditor),
    }


async def measure_reads(sides: list[Side], dsn: str, requests: int, warmup: int) -> None:
    """The main API reads through a served process per side (``bench/queries.py``'s
    cases), each request sent to both sides in turn."""
    secret = secrets.token_urlsafe(32)
    cases: dict[str, dict[str, Case]] = {}
    servers: dict[str, subprocess.Popen[bytes]] = {}
    clients: dict[str, httpx.AsyncClient] = {}
    ports: dict[str, int] = {}
    settings_of: dict[str, Settings] = {}
    try:
        for side in sides:
            settings = Settings(
                database_url=dsn,
                schema=side.store.names.schema,
                jwt_secret=secret,
                data_dir=Path(tempfile.mkdtemp(prefix="gateledger-scale-")),
            )
            for name, make in (await read_cases(side, settings)).items():
                cases.setdefault(name, {})[side.name] = make
            port = ports[side.name] = free_port()
            settings_of[side.name] = settings
            # sequential requests: a small pool each (the database is shared)
            os.environ["GATELEDGER_DB_POOL_SIZE"] = str(SERVER_POOL)
            servers[side.name] = start_server(settings, port)
            clients[side.name] = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60)
        for side in sides:
            try:
                await wait_healthy(clients[side.name], servers[side.name])
            except RuntimeError:  # e.g. no connection left on a shared database: once more
                log(f"{side.name}: the server did not come up; starting it again")
                servers[side.name] = start_server(settings_of[side.name], ports[side.name])
                await wait_healthy(clients[side.name], servers[side.name])
        for name, by_side in cases.items():
            got: dict[str, list[float]] = {s.name: [] for s in sides}
            for i in range(warmup + requests):
                for side in alternate(sides, i):
                    url, headers = by_side[side.name](i)
                    t0 = time.perf_counter()
                    r = await clients[side.name].get(url, headers=headers)
                    elapsed = (time.perf_counter() - t0) * 1000
                    if r.status_code != 200:
                        raise RuntimeError(f"{name}: GET {url} -> {r.status_code} {r.text[:300]}")
                    if i >= warmup:
                        got[side.name].append(elapsed)
            for side in sides:
                side.figures.setdefault("reads", {})[name] = _stats(got[side.name])
            log(
                f"{name:18s} "
                + "  ".join(
                    f"{s.name}: p50 {percentile(got[s.name], 0.5):6.2f} p99 "
                    f"{percentile(got[s.name], 0.99):6.2f} ms"
                    for s in sides
                )
            )
    finally:
        for client in clients.values():
            await client.aclose()
        for server in servers.values():
            server.terminate()
            server.wait(30)


async def rebuild(store: Store) -> float:
    """Every read model rebuilt from the log (``gateledger rebuild``'s path)."""
    last = [time.perf_counter()]

    def progress(position: int, head: int) -> None:
        if time.perf_counter() - last[0] >= 15:
            last[0] = time.perf_counter()
            log(f"rebuild: {position:,}/{head:,}")

    async with store.pool.acquire() as conn:
        await create_tables(conn, store.names)
    t0 = time.perf_counter()
    result = await rebuild_many(store, all_projections(), progress=progress)
    seconds = time.perf_counter() - t0
    log(
        f"rebuilt every read model: {result.events:,} events in {seconds:.1f} s "
        f"({result.events / seconds:,.0f} events/s)"
    )
    return seconds


# --- the run -----------------------------------------------------------------------------


@dataclass
class Sizes:
    small: int
    large: int
    base: int
    base_projects: int
    base_portfolios: int
    big_events: int
    seconds: float
    requests: int
    load_reps: int


def sizes_of(args: argparse.Namespace) -> Sizes:
    if args.quick:
        sizes = Sizes(50_000, 500_000, 10_000, 100, 1, 1_000, 4.0, 100, 100)
    else:
        sizes = Sizes(1_000_000, 10_000_000, 100_000, 1_000, 10, 10_000, 12.0, 300, 200)
    sizes.small = args.small or sizes.small
    sizes.large = args.large or sizes.large
    sizes.big_events = args.big_events or sizes.big_events
    return sizes


def _geomean(values: list[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values))


def ratios(small: dict[str, Any], large: dict[str, Any], sizes: Sizes) -> dict[str, Any]:
    """The summary keys: large / small, and the load ratios on the large log."""
    tag = f"{label(sizes.large)}_vs_{label(sizes.small)}"
    n = sizes.big_events
    loads = large["loads"]

    def r(a: float, b: float) -> float:
        return round(a / b, 2)

    out: dict[str, Any] = {
        f"load_ratio_{n}_vs_10": r(loads["load_big_median_ms"], loads["load_small_median_ms"]),
        f"load_between_snapshots_ratio_{n}_vs_10": r(
            loads["load_big_between_snapshots_median_ms"], loads["load_small_median_ms"]
        ),
        f"load_no_snapshot_ratio_{n}_vs_10": r(
            loads["load_big_no_snapshot_median_ms"], loads["load_small_median_ms"]
        ),
        f"load_ratio_{n}_vs_10_at_{label(sizes.small)}": r(
            small["loads"]["load_big_median_ms"], small["loads"]["load_small_median_ms"]
        ),
        f"load_cached_ratio_{n}_vs_10": r(
            loads["load_big_cached_median_ms"], loads["load_small_cached_median_ms"]
        ),
        f"load_small_ratio_{tag}": r(
            loads["load_small_median_ms"], small["loads"]["load_small_median_ms"]
        ),
        f"load_big_ratio_{tag}": r(
            loads["load_big_median_ms"], small["loads"]["load_big_median_ms"]
        ),
    }
    for kind in ("appends", "commands"):
        key = kind[:-1]
        out[f"{key}_p99_ratio_{tag}"] = r(large[kind]["p99_ms"], small[kind]["p99_ms"])
        out[f"{key}_p50_ratio_{tag}"] = r(large[kind]["p50_ms"], small[kind]["p50_ms"])
        out[f"{key}_rate_ratio_{tag}"] = r(large[kind]["per_s"], small[kind]["per_s"])
    per_query = {}
    for name in large["reads"]:
        q = large["reads"][name]["p99_ms"] / small["reads"][name]["p99_ms"]
        out[f"{name}_p99_ratio_{tag}"] = round(q, 2)
        if name != "floor_health":
            per_query[name] = q
    # the reads' ratios together: the geometric mean over the queries, and the worst
    medians = [large["reads"][q]["p50_ms"] / small["reads"][q]["p50_ms"] for q in per_query]
    out[f"query_p99_ratio_{tag}"] = round(_geomean(list(per_query.values())), 2)
    out[f"query_p99_worst_ratio_{tag}"] = round(max(per_query.values()), 2)
    out[f"query_p50_ratio_{tag}"] = round(_geomean(medians), 2)
    return out


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """Two logs side by side (the small and the large), seeded, rebuilt, then measured
    in alternation; the large log's chain verified; both schemas dropped."""
    logging.getLogger("httpx").setLevel(logging.WARNING)
    dsn, source = resolve_database(args.database_url)
    sizes = sizes_of(args)
    prefix = f"bench_s_{uuid.uuid4().hex[:10]}"
    t_start = time.perf_counter()
    result: dict[str, Any] = {"database": source}
    sides: list[Side] = []
    stores: list[Store] = []
    schemas: list[str] = []
    try:
        log(
            f"schemas {prefix}_*: {label(sizes.small)} and {label(sizes.large)} events, "
            f"loads at 10 vs {sizes.big_events:,} events ({source})"
        )
        for size in (sizes.small, sizes.large):
            schemas.append(f"{prefix}_{label(size)}")
            store = await open_store(
                dsn,
                StoreNames(schema=schemas[-1]),
                stored_names=STORED_NAMES,
                # what a rebuild needs, opened at once: the database is shared, and a
                # connection refused halfway through would lose the run
                min_size=len(all_projections()) + 4,
                max_size=len(all_projections()) + 4,
            )
            stores.append(store)
            sides.append(Side(size, store, await make_world(store, sizes.big_events)))
        base = DatasetInfo()
        t0 = time.perf_counter()
        events = [
            e
            for chunk in generate(
                sizes.base, sizes.base_projects, base, n_portfolios=sizes.base_portfolios
            )
            for e in chunk
        ]
        template = Template.of(events)
        del events
        log(
            f"base world: {len(template):,} events, {len(base.projects):,} projects, "
            f"{len(base.portfolios)} portfolios in {time.perf_counter() - t0:.1f} s"
        )
        for side in sides:
            side.base = base
            side.copies = round(side.size / len(template))
            loaded, seconds = await bulk_load(side.store, template, range(side.copies))
            side.figures.update(copied_events=loaded, copy_s=round(seconds, 1))
            side.figures["rebuild_s"] = round(await rebuild(side.store), 1)
            async with side.store.pool.acquire() as conn:
                ev = side.store.names.q(side.store.names.events)
                side.figures["events"] = await conn.fetchval(
                    f"SELECT max(notification_id) FROM {ev}"
                )
                side.figures["schema_mb"] = round(
                    await conn.fetchval(
                        "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c "
                        "JOIN pg_namespace n ON n.oid = c.relnamespace "
                        "WHERE n.nspname = $1 AND c.relkind IN ('r', 'm')",
                        side.store.names.schema,
                    )
                    / 2**20
                )
                log(f"{side.name}: the schema takes {side.figures['schema_mb']:,} MB")
        await measure_reads(sides, dsn, sizes.requests, args.warmup)
        await measure_loads(sides, sizes.load_reps)
        await measure_writes(sides, sizes.seconds)
        intact: bool | None = None
        if args.verify:
            t0 = time.perf_counter()
            report = await verify_chain(sides[-1].store.pool, sides[-1].store.names)
            intact = report.intact
            log(f"{sides[-1].name}: chain verified ({intact}) in {time.perf_counter() - t0:.1f} s")
            if not intact:
                raise RuntimeError(f"the chain is broken: {report}")
        for side in sides:
            result[side.name] = side.figures
        result.update(
            base_events=len(template),
            chain_intact=intact,
            snapshot_every=SNAPSHOT_EVERY,
            seconds=round(time.perf_counter() - t_start, 1),
        )
        result.update(ratios(sides[0].figures, sides[-1].figures, sizes))
    finally:
        for store in stores:
            await close_store(store, keep=False)
        if len(stores) < len(schemas):  # one made but not opened
            conn = await asyncpg.connect(dsn)
            try:
                for schema in schemas[len(stores) :]:
                    await drop_schema(conn, schema)
            finally:
                await conn.close()
    return result


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = bench_parser(__doc__ or "", "50k vs 500k events, 10 vs 1,000-event aggregates")
    p.add_argument("--warmup", type=int, default=20, help="warm-up requests per query")
    p.add_argument("--small", type=int, help="events in the small log (default 1M)")
    p.add_argument("--large", type=int, help="events in the large log (default 10M)")
    p.add_argument("--big-events", type=int, help="events of the big project (default 10,000)")
    p.add_argument(
        "--no-verify",
        dest="verify",
        action="store_false",
        help="skip verifying the large log's hash chain (10M events: a minute or more)",
    )
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its JSON summary as the last line on stdout."""
    return print_result(asyncio.run(run(parse_args(argv))))


if __name__ == "__main__":
    sys.exit(main())

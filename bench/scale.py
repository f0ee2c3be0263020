"""History ten times larger: aggregate loads, appends and reads at 1M and at 10M events.

Measures, in one run and one schema (dropped at the end):

* **Aggregate loads** (``eventstore.loader.load_aggregate``, the process's aggregate
  cache emptied before each load, so each reads the store): a project with 10 events
  beside one with 10,000 (``--quick``: 1,000), both written through the real command
  path (``workflows.gates.cast_vote``: run_command, group commit, a snapshot every
  ``SNAPSHOT_EVERY`` events). Beside them, in the same run: the big project loaded from
  the snapshot before the latest plus the events since (the worst case between two
  snapshots), and replayed from its first event with no snapshot (the floor: what a load
  would cost without snapshots). ``load_ratio_<N>_vs_10`` = median load of the big one /
  of the small one, at the larger log size.
* **Appends**: single-event appends by 32 writers through the store's group commit
  (``insert_events``), and vote commands by 8 concurrent clients through the workflow
  (``cast_vote``, with an Idempotency-Key), for a few seconds each: rate, p50, p99.
* **Reads** through a served process (``gateledger serve``, as ``bench/queries.py``
  does): the portfolio view, a project, the busiest gatekeeper's inbox, a project's
  audit page, an actor's audit page over a time range; and ``/health``, the HTTP floor.

Each is measured with the log at the small size (1M events; ``--quick``: 100k) and again
at the large one (10M; ``--quick``: 1M); ``*_ratio_<large>_vs_<small>`` = large / small.

Seeding is fast: a base world (``bench.dataset.generate``: portfolios, boards, projects
walking their gates through the domain; 100k events, ``--quick`` 20k) is generated once
and written again and again as copies, each with its own ids (every UUID in the ids
and the events' state XOR-ed with a per-copy mask) and its own people and names (a
``.c<k>`` suffix), so every copy is a world of the same shape and only the log grows:
a portfolio, a person's inbox and audit trail are the same size at 1M and at 10M. Rows
go in with COPY (the events table's two indexes dropped and built again after it), with
the hash chain computed here exactly as the append functions make it (one ``gl_chain``
row per chunk), then VACUUM ANALYZE; the read models come up through the rebuild path
(``projections.engine.rebuild.rebuild_many``). The chain of the final log is verified.
Progress goes to stderr; the last line on stdout is one JSON object.

    .venv/bin/python -m bench.scale --quick --database-url postgresql://postgres@127.0.0.1:5432/test
    .venv/bin/python -m bench.scale --database-url postgresql://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import logging
import math
import re
import secrets
import statistics
import struct
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from queue import Queue
from typing import Any

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
from bench.queries import actor_window, free_port, measure, percentile, start_server, wait_healthy
from domain.gate_review import Evidence, Vote
from domain.money import Money
from domain.policy import Actor, Baseline, Board, Tolerances, default_template
from domain.portfolio import Portfolio
from domain.project import Project
from domain.stored_names import STORED_NAMES
from eventstore.chain import GENESIS, chain_head
from eventstore.database import Store, open_store
from eventstore.loader import load_aggregate
from eventstore.schema import StoreNames
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
class Owned:
    """A project of the benchmark's own portfolio, with its G0 review open."""

    id: uuid.UUID
    version: int


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
    """The portfolio, the small and the big project (through the command path), the
    command clients' projects and the appenders' projects."""
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
    # snapshotted by the unit of work's own step (measure_commands checks that the
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


async def _timed(make: Callable[[], Any], reps: int) -> list[float]:
    out = []
    for _ in range(reps):
        t0 = time.perf_counter()
        await make()
        out.append((time.perf_counter() - t0) * 1000)
    return out


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


async def measure_loads(store: Store, world: World, reps: int) -> dict[str, Any]:
    """Cold loads (cache emptied) of the small and the big project, the big one between
    snapshots, and its replay with no snapshot (the floor)."""
    cache = getattr(store, "aggregates", None)  # this process's aggregate cache, if any

    def cold(aggregate_id: uuid.UUID) -> Callable[[], Any]:
        async def go() -> Any:
            if cache is not None:
                cache.forget(aggregate_id)
            found = await load_aggregate(store, aggregate_id)
            assert found is not None and found.id == aggregate_id
            return found

        return go

    big = await cold(world.big)()
    small = await cold(world.small)()
    if big.version != world.big_events or small.version != 10:
        raise RuntimeError(f"loaded versions {big.version} and {small.version}")
    snapshot = await store.snapshots.latest(world.big)
    before = world.big_events - 1
    between = await store.snapshots.latest(world.big, before)
    out: dict[str, Any] = {
        "big_events": world.big_events,
        "big_latest_snapshot": snapshot.originator_version if snapshot else None,
        "big_snapshot_before": between.originator_version if between else None,
    }
    # Interleaved, so that the machine's drift falls on all alike.
    small_ms: list[float] = []
    big_ms: list[float] = []
    between_ms: list[float] = []
    floor_ms: list[float] = []
    await _timed(cold(world.small), 5)  # warm-up
    for rep in range(reps):
        small_ms += await _timed(cold(world.small), 1)
        big_ms += await _timed(cold(world.big), 1)
        between_ms += await _timed(lambda: load_from(store, world.big, before), 1)
        if rep % 20 == 0:
            floor_ms += await _timed(lambda: load_from(store, world.big, None), 1)
    replay = await load_from(store, world.big, None)
    if replay.version != world.big_events or replay.review != big.review:
        raise RuntimeError("the replay without snapshots differs from the snapshot's load")
    for key, values in (
        ("small", small_ms),
        ("big", big_ms),
        ("big_between_snapshots", between_ms),
        ("big_no_snapshot", floor_ms),
    ):
        out[f"load_{key}_median_ms"] = round(statistics.median(values), 3)
        out[f"load_{key}_p99_ms"] = round(percentile(values, 0.99), 3)
    log(
        f"loads (median ms): 10 events {out['load_small_median_ms']}, "
        f"{world.big_events:,} events {out['load_big_median_ms']} (snapshot at "
        f"{out['big_latest_snapshot']}), between snapshots "
        f"{out['load_big_between_snapshots_median_ms']}, no snapshot "
        f"{out['load_big_no_snapshot_median_ms']}"
    )
    return out


async def append_round(
    store: Store, writers: list[tuple[uuid.UUID, int, list[bytes], str]], seconds: float
) -> tuple[list[float], int, float, list[tuple[uuid.UUID, int, list[bytes], str]]]:
    """``len(writers)`` writers appending one event per call through the group commit
    until the deadline: (latencies ms, events, seconds, the writers moved on)."""
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

    t0 = time.perf_counter()
    await asyncio.gather(*(run(i, s, t) for i, _, s, t in writers))
    elapsed = time.perf_counter() - t0
    return latencies, len(latencies), elapsed, [(i, versions[i], s, t) for i, _, s, t in writers]


async def measure_appends(
    store: Store, empty: Store, world: World, seconds: float
) -> dict[str, Any]:
    """Single-event appends by ``WRITERS`` writers through the group commit, into the big
    log and (the baseline, alternating rounds) into an empty store beside it."""
    fresh = [(uuid.uuid4(), 0, s, t) for _, _, s, t in world.writers]
    lat: dict[str, list[float]] = {"log": [], "empty": []}
    n = {"log": 0, "empty": 0}
    secs = {"log": 0.0, "empty": 0.0}
    for _ in range(2):
        got, k, e, world.writers = await append_round(store, world.writers, seconds / 2)
        lat["log"] += got
        n["log"] += k
        secs["log"] += e
        got, k, e, fresh = await append_round(empty, fresh, seconds / 2)
        lat["empty"] += got
        n["empty"] += k
        secs["empty"] += e
    out = {
        "events_per_s": round(n["log"] / secs["log"], 1),
        **_stats(lat["log"]),
        "empty_store": {
            "events_per_s": round(n["empty"] / secs["empty"], 1),
            **_stats(lat["empty"]),
        },
    }
    log(f"appends ({WRITERS} writers): {out}")
    return out


async def measure_commands(store: Store, world: World, seconds: float) -> dict[str, Any]:
    """Vote commands by ``CLIENTS`` clients, each on its own project, through the workflow
    (the first few of each client are a warm-up)."""
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    members = world.board.members
    count = 0

    async def client(c: int, project: uuid.UUID) -> None:
        nonlocal count
        i = 0
        while (t0 := time.perf_counter()) < deadline:
            await vote(store, project, members[(c + i) % len(members)], 1_000_000 + i)
            if i >= 3:
                latencies.append((time.perf_counter() - t0) * 1000)
            i += 1
        count += i

    t0 = time.perf_counter()
    await asyncio.gather(*(client(c, p) for c, p in enumerate(world.commands)))
    elapsed = time.perf_counter() - t0
    out: dict[str, Any] = {"commands_per_s": round(count / elapsed, 1), **_stats(latencies)}
    # the command path keeps its own snapshots: none more than SNAPSHOT_EVERY behind
    behind = []
    for project in world.commands:
        version = (await store.events.select_events(project, desc=True, limit=1))[
            0
        ].originator_version
        snapshot = await store.snapshots.latest(project)
        behind.append(version - (snapshot.originator_version if snapshot else 0))
    out["most_events_after_snapshot"] = max(behind)
    log(f"commands ({CLIENTS} clients): {out}")
    return out


@dataclass
class Copies:
    """The copies written so far, and what the read benchmarks pick from."""

    base: DatasetInfo
    count: int = 0

    def portfolios(self) -> list[uuid.UUID]:
        return [copied_id(p, k) for k in range(self.count) for p in self.base.portfolios]

    def projects(self, rnd: Any, n: int) -> list[uuid.UUID]:
        return [
            copied_id(rnd.choice(self.base.projects), rnd.randrange(self.count)) for _ in range(n)
        ]


async def measure_reads(
    store: Store, dsn: str, copies: Copies, requests: int, warmup: int
) -> dict[str, Any]:
    """The main API reads through a served process (``bench/queries.py``'s cases)."""
    import random

    rnd = random.Random(11)
    busy = copies.base.busiest_gatekeeper  # copy 0 keeps the base world's names
    start, end = await actor_window(store, busy)
    settings = Settings(
        database_url=dsn,
        schema=store.names.schema,
        jwt_secret=secrets.token_urlsafe(32),
        data_dir=Path(tempfile.mkdtemp(prefix="gateledger-scale-")),
        run_projector=True,
    )
    auditor = {"Authorization": f"Bearer {mint_token(settings, 'auditor', ['auditor'])}"}
    gatekeeper = {"Authorization": f"Bearer {mint_token(settings, busy)}"}
    prefix = "/api/v1"
    window = str(
        httpx.QueryParams({"actor": busy, "from": start.isoformat(), "to": end.isoformat()})
    )
    portfolios = copies.portfolios()
    projects = copies.projects(rnd, 1000)
    rnd.shuffle(portfolios)
    cases: dict[str, Callable[[int], tuple[str, dict[str, str]]]] = {
        "floor_health": lambda i: (f"{prefix}/health", {}),
        "portfolio_view": lambda i: (
            f"{prefix}/portfolios/{portfolios[i % len(portfolios)]}",
            auditor,
        ),
        "project_detail": lambda i: (f"{prefix}/projects/{projects[i % len(projects)]}", auditor),
        "inbox": lambda i: (f"{prefix}/me/inbox", gatekeeper),
        "audit_by_project": lambda i: (
            f"{prefix}/audit/events?project_id={projects[i % len(projects)]}",
            auditor,
        ),
        "audit_by_actor": lambda i: (f"{prefix}/audit/events?{window}", auditor),
    }
    port = free_port()
    server = start_server(settings, port)
    out: dict[str, Any] = {}
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            await wait_healthy(client, server)
            for name, make in cases.items():
                out[name] = _stats(await measure(client, name, make, warmup, requests))
    finally:
        server.terminate()
        server.wait(30)
    return out


async def rebuild(store: Store) -> float:
    """Every read model rebuilt from the log (``gateledger rebuild``'s path)."""
    last = [time.perf_counter()]

    def progress(position: int, head: int) -> None:
        if time.perf_counter() - last[0] >= 10:
            last[0] = time.perf_counter()
            log(f"rebuild: {position:,}/{head:,}")

    async with store.pool.acquire() as conn:
        await create_tables(conn, store.names)
    t0 = time.perf_counter()
    result = await rebuild_many(store, all_projections(), progress=progress)
    seconds = time.perf_counter() - t0
    log(f"rebuilt every read model: {result.events:,} events in {seconds:.1f} s")
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
        return Sizes(50_000, 500_000, 10_000, 100, 1, 1_000, 3.0, 100, 100)
    return Sizes(1_000_000, 10_000_000, 100_000, 1_000, 10, 10_000, 8.0, 300, 200)


async def at_size(
    store: Store, empty: Store, dsn: str, world: World, copies: Copies, sizes: Sizes, warmup: int
) -> dict[str, Any]:
    """Everything measured at the log's current size."""
    async with store.pool.acquire() as conn:
        events = await conn.fetchval(
            f"SELECT max(notification_id) FROM {store.names.q(store.names.events)}"
        )
    out: dict[str, Any] = {"events": events}
    out["rebuild_s"] = round(await rebuild(store), 1)
    out["reads"] = await measure_reads(store, dsn, copies, sizes.requests, warmup)
    out["loads"] = await measure_loads(store, world, sizes.load_reps)
    out["appends"] = await measure_appends(store, empty, world, sizes.seconds)
    out["commands"] = await measure_commands(store, world, sizes.seconds)
    return out


def ratios(small: dict[str, Any], large: dict[str, Any], sizes: Sizes) -> dict[str, Any]:
    """The summary keys: large / small, and the load ratios at the large size."""
    tag = f"{label(sizes.large)}_vs_{label(sizes.small)}"
    n = sizes.big_events
    loads = large["loads"]
    out: dict[str, Any] = {
        f"load_ratio_{n}_vs_10": round(
            loads["load_big_median_ms"] / loads["load_small_median_ms"], 2
        ),
        f"load_between_snapshots_ratio_{n}_vs_10": round(
            loads["load_big_between_snapshots_median_ms"] / loads["load_small_median_ms"], 2
        ),
        f"load_no_snapshot_ratio_{n}_vs_10": round(
            loads["load_big_no_snapshot_median_ms"] / loads["load_small_median_ms"], 2
        ),
        f"load_ratio_{n}_vs_10_at_{label(sizes.small)}": round(
            small["loads"]["load_big_median_ms"] / small["loads"]["load_small_median_ms"], 2
        ),
        f"load_small_ratio_{tag}": round(
            loads["load_small_median_ms"] / small["loads"]["load_small_median_ms"], 2
        ),
        f"append_p99_ratio_{tag}": round(
            large["appends"]["p99_ms"] / small["appends"]["p99_ms"], 2
        ),
        f"append_p99_vs_empty_ratio_{tag}": round(
            (large["appends"]["p99_ms"] / large["appends"]["empty_store"]["p99_ms"])
            / (small["appends"]["p99_ms"] / small["appends"]["empty_store"]["p99_ms"]),
            2,
        ),
        f"append_rate_ratio_{tag}": round(
            large["appends"]["events_per_s"] / small["appends"]["events_per_s"], 2
        ),
        f"command_p99_ratio_{tag}": round(
            large["commands"]["p99_ms"] / small["commands"]["p99_ms"], 2
        ),
        f"command_rate_ratio_{tag}": round(
            large["commands"]["commands_per_s"] / small["commands"]["commands_per_s"], 2
        ),
    }
    per_query = {}
    for name in large["reads"]:
        r = large["reads"][name]["p99_ms"] / small["reads"][name]["p99_ms"]
        out[f"{name}_p99_ratio_{tag}"] = round(r, 2)
        if name != "floor_health":
            per_query[name] = r
    # the reads' p99 ratios together: their geometric mean, and the worst of them
    geo = math.exp(sum(math.log(r) for r in per_query.values()) / len(per_query))
    out[f"query_p99_ratio_{tag}"] = round(geo, 2)
    out[f"query_p99_worst_ratio_{tag}"] = round(max(per_query.values()), 2)
    return out


async def run(args: argparse.Namespace) -> dict[str, Any]:
    logging.getLogger("httpx").setLevel(logging.WARNING)
    dsn, source = resolve_database(args.database_url)
    sizes = sizes_of(args)
    schema = f"bench_s_{uuid.uuid4().hex[:10]}"
    names = StoreNames(schema=schema)
    store = await open_store(
        dsn,
        names,
        stored_names=STORED_NAMES,
        min_size=2,
        max_size=max(WRITERS, len(all_projections()) + 4) + 4,
    )
    # the appends' baseline: an empty store beside the big log, same database
    empty = await open_store(
        dsn, StoreNames(schema=schema + "_e"), stored_names=STORED_NAMES, max_size=WRITERS
    )
    t_start = time.perf_counter()
    result: dict[str, Any] = {"database": source, "schema": schema}
    try:
        log(
            f"schema {schema}: {label(sizes.small)} then {label(sizes.large)} events, "
            f"loads at 10 vs {sizes.big_events:,} events ({source})"
        )
        world = await make_world(store, sizes.big_events)
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
        copies = Copies(base)
        figures: dict[str, dict[str, Any]] = {}
        for size in (sizes.small, sizes.large):
            wanted = max(copies.count + 1, round(size / len(template)))
            loaded, seconds = await bulk_load(store, template, range(copies.count, wanted))
            copies.count = wanted
            figures[label(size)] = {"copied_events": loaded, "copy_s": round(seconds, 1)}
            figures[label(size)].update(
                await at_size(store, empty, dsn, world, copies, sizes, args.warmup)
            )
        intact: bool | None = None
        if args.verify:
            t0 = time.perf_counter()
            report = await verify_chain(store.pool, names)
            intact = report.intact
            log(f"chain verified ({intact}) in {time.perf_counter() - t0:.1f} s")
            if not intact:
                raise RuntimeError(f"the chain is broken: {report}")
        small, large = figures[label(sizes.small)], figures[label(sizes.large)]
        result.update(figures)
        result.update(
            copies=copies.count,
            base_events=len(template),
            chain_intact=intact,
            snapshot_every=SNAPSHOT_EVERY,
            seconds=round(time.perf_counter() - t_start, 1),
        )
        result.update(ratios(small, large, sizes))
    finally:
        await close_store(empty, keep=False)
        await close_store(store, keep=False)
    return result


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = bench_parser(__doc__ or "", "50k vs 500k events, 10 vs 1,000-event aggregates")
    p.add_argument("--warmup", type=int, default=20, help="warm-up requests per query")
    p.add_argument(
        "--no-verify",
        dest="verify",
        action="store_false",
        help="skip verifying the final log's hash chain (10M events: about a minute)",
    )
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its JSON summary as the last line on stdout."""
    return print_result(asyncio.run(run(parse_args(argv))))


if __name__ == "__main__":
    sys.exit(main())

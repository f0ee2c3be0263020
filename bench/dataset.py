"""A realistic governance event log, built with the domain aggregates and bulk-inserted.

Portfolios (boards of ~7 gatekeepers drawn from a shared pool, so some people sit on
several boards) and projects that walk the default stage-gate template: review requests,
votes (some by delegates), vote changes, evidence amendments (which drop the votes),
RECYCLE / HOLD / GO / CONDITIONAL_GO decisions, conditions closed before the next gate,
stakeholders, re-baselines and holds. Every event comes from a domain command, so the
log is causally valid. Projects advance interleaved (a window of concurrently active
projects), as they would in real use, and each stops after a budget of events, so the
portfolio ends up with projects at every stage, many with an open review.

Generation runs in a worker thread and hands chunks of ``StoredEvent`` to the event
loop, which inserts each chunk (one transaction) while the next one is generated.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import queue
import random
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from eventsourcing.persistence import StoredEvent

from domain.gate_review import ConditionSpec, Decision, Evidence, Vote
from domain.money import Money
from domain.policy import Actor, Baseline, Board, Role, Tolerances, default_template
from domain.portfolio import Portfolio
from domain.project import Project, ProjectStatus
from domain.stored_names import STORED_NAMES
from eventstore.database import Store
from eventstore.mapper import new_mapper
from eventstore.names import TypeNames
from eventstore.schema import drop_schema

ADMIN = "pmo-admin"
CURRENCY = "EUR"


def log(message: str) -> None:
    """A timestamped progress line on stderr."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def bench_parser(doc: str, quick: str) -> argparse.ArgumentParser:
    """A benchmark's options: ``--quick`` (what it shortens) and ``--database-url``."""
    p = argparse.ArgumentParser(description=doc.splitlines()[0])
    p.add_argument("--quick", action="store_true", help=quick)
    p.add_argument(
        "--database-url",
        help="PostgreSQL URL (default: $DATABASE_URL, else a throwaway embedded server)",
    )
    return p


def add_dataset_options(p: argparse.ArgumentParser) -> None:
    """``--events`` and ``--projects``, for benchmarks that load ``generate``'s log."""
    p.add_argument("--events", type=int, help="events in the log (default 1,000,000)")
    p.add_argument("--projects", type=int, help="projects (default 5,000)")


def add_schema_option(p: argparse.ArgumentParser) -> None:
    """``--schema``: keep the loaded log in a named schema, reuse it next time."""
    p.add_argument(
        "--schema",
        help="load into this schema and keep it; a later run with the same name reuses it",
    )


def dataset_size(args: argparse.Namespace) -> tuple[int, int]:
    """(events, projects): as given, else 100k/1k with ``--quick``, else 1M/5k."""
    events = args.events or (100_000 if args.quick else 1_000_000)
    return events, args.projects or (1_000 if args.quick else 5_000)


def print_result(result: dict[str, Any]) -> int:
    """The benchmark's figures as one JSON object, the last line on stdout."""
    print(json.dumps(result), flush=True)
    return 0


def resolve_database(url: str | None) -> tuple[str, str]:
    """The DSN to use and how it was obtained (argument, ``DATABASE_URL`` or embedded)."""
    if url:
        return url, "argument"
    env = os.environ.get("DATABASE_URL")
    if env:
        return env, "DATABASE_URL"
    from eventstore.embedded import start_embedded

    log("starting a throwaway embedded PostgreSQL ...")
    t0 = time.perf_counter()
    dsn = start_embedded(Path(tempfile.mkdtemp(prefix="gateledger-bench-")), throwaway=True)
    log(f"embedded PostgreSQL up in {time.perf_counter() - t0:.1f} s")
    return dsn, "embedded"


@dataclass
class DatasetInfo:
    """What was generated: ids and people the query benchmark needs."""

    events: int = 0
    projects: list[uuid.UUID] = field(default_factory=list)
    portfolios: list[uuid.UUID] = field(default_factory=list)
    boards: dict[uuid.UUID, Board] = field(default_factory=dict)
    seats: Counter[str] = field(default_factory=Counter)
    event_types: Counter[str] = field(default_factory=Counter)
    started_at: datetime | None = None
    ended_at: datetime | None = None
    load_seconds: float = 0.0
    generate_seconds: float = 0.0

    @property
    def busiest_gatekeeper(self) -> str:
        return self.seats.most_common(1)[0][0]


class _Ids:
    """Cheap, deterministic-enough correlation ids."""

    def __init__(self) -> None:
        self.n = 0

    def actor(self, person: str, for_: str | None = None) -> Actor:
        self.n += 1
        return Actor(person, for_, f"req-{self.n:x}")


def _evidence(gate: str, round_: int, rnd: random.Random) -> tuple[Evidence, ...]:
    items = [
        Evidence(
            f"{gate} pack v{round_ + 1}",
            f"https://docs.example.org/{gate.lower()}/{rnd.getrandbits(32):08x}",
            f"sha256:{rnd.getrandbits(64):016x}",
        )
    ]
    if rnd.random() < 0.5:
        items.append(Evidence(f"{gate} risk register", "https://docs.example.org/risks"))
    return tuple(items)


_RATIONALES = {
    Vote.APPROVE: ("Benefits are clear", "Plan is credible", "Meets the criteria", "OK"),
    Vote.REJECT: ("Business case too thin", "Costs not justified", "Risks not covered"),
    Vote.ABSTAIN: ("Conflict of interest", "Not enough information"),
}


def project_script(
    p: Project,
    board: Board,
    rnd: random.Random,
    ids: _Ids,
    stakeholders: list[str],
    extra_rounds: float,
) -> Iterator[None]:
    """Drive one project through its gates with domain commands; yields after each."""
    pm = p.pm
    for person in rnd.sample(stakeholders, k=rnd.choice((0, 0, 1, 1, 2))):
        p.assign_role(person, Role.STAKEHOLDER, ids.actor(ADMIN))
        yield
    for gate_def in p.template.gates:
        gate = gate_def.name
        signoffs = frozenset(s.deliverable for s in gate_def.required_signoffs)
        voters = list(board.members)
        if gate_def.policy.mandatory_voters:
            voters.append(p.sponsor)
        advanced = False
        while not advanced:
            if p.status is ProjectStatus.ON_HOLD and rnd.random() < 0.5:
                p.resume("Funding confirmed", ids.actor(ADMIN))
                yield
            p.request_review(gate, _evidence(gate, 0, rnd), ids.actor(pm), signoffs)
            yield
            rounds = 1 + int(rnd.uniform(0, 2 * extra_rounds) + 0.5)
            for r in range(rounds):
                final = r == rounds - 1
                if r:
                    p.amend_evidence(gate, _evidence(gate, r, rnd), ids.actor(pm))
                    yield
                yield from _voting_round(p, gate, board, voters, rnd, ids, final)
            roll = rnd.random()
            chair = ids.actor(board.chair)
            if roll < 0.08:
                p.decide(gate, Decision.RECYCLE, "Rework the evidence", chair, board)
            elif roll < 0.10:
                p.decide(gate, Decision.HOLD, "Wait for next budget cycle", chair, board)
            elif roll < 0.105:
                p.decide(gate, Decision.KILL, "No longer strategic", chair, board)
                yield
                return
            elif roll < 0.40:
                specs = tuple(
                    ConditionSpec(
                        uuid.uuid4(),
                        f"Condition {i + 1} of {gate}",
                        rnd.choice((pm, p.sponsor)),
                        date(2027, rnd.randint(1, 12), rnd.randint(1, 28)),
                    )
                    for i in range(rnd.randint(1, 3))
                )
                p.decide(gate, Decision.CONDITIONAL_GO, "Go, with conditions", chair, board, specs)
                advanced = True
            else:
                p.decide(gate, Decision.GO, "Board approves", chair, board)
                advanced = True
            yield
        for cond in p.open_conditions:
            p.close_condition(cond.id, "Done, see evidence", ids.actor(cond.owner))
            yield
        if p.status is ProjectStatus.CLOSED:
            return
        if rnd.random() < 0.05:
            b = p.baseline
            budget = Money(b.budget.amount * Decimal("1.1"), b.budget.currency)
            new = Baseline(budget, b.start, b.end, b.scope)
            p.rebaseline(new, "Scope change", ids.actor(ADMIN))
            yield
        if rnd.random() < 0.03:
            p.put_on_hold("Resource conflict", ids.actor(ADMIN))
            yield
            p.resume("Resources back", ids.actor(ADMIN))
            yield


def _voting_round(
    p: Project,
    gate: str,
    board: Board,
    voters: list[str],
    rnd: random.Random,
    ids: _Ids,
    final: bool,
) -> Iterator[None]:
    """Votes of one round: everyone in the final round (enough approvals for a GO)."""
    order = voters[:]
    rnd.shuffle(order)
    if not final:
        order = order[: rnd.randint(1, len(order))]
    cast: dict[str, Vote] = {}
    for voter in order:
        if voter == p.sponsor and final:
            vote = Vote.APPROVE
        else:
            roll = rnd.random()
            vote = Vote.APPROVE if roll < 0.8 else Vote.REJECT if roll < 0.93 else Vote.ABSTAIN
        by = ids.actor(f"delegate-of-{voter}", voter) if rnd.random() < 0.05 else ids.actor(voter)
        p.cast_vote(gate, vote, rnd.choice(_RATIONALES[vote]), by, board)
        cast[voter] = vote
        yield
    # Vote changes: someone is persuaded (and, in the final round, enough approvals).
    changes = [v for v, x in cast.items() if x is not Vote.APPROVE]
    approvals = sum(1 for x in cast.values() if x is Vote.APPROVE)
    if final and approvals < 2:
        needed = changes[: 2 - approvals]
    else:
        needed = changes[:1] if changes and rnd.random() < 0.5 else []
    for voter in needed:
        p.cast_vote(gate, Vote.APPROVE, "Persuaded by the discussion", ids.actor(voter), board)
        yield
    if rnd.random() < 0.15:
        voter = rnd.choice(list(cast))
        if not final or voter != p.sponsor:
            vote = Vote.APPROVE if final else rnd.choice(list(Vote))
            p.cast_vote(gate, vote, "Changed my mind", ids.actor(voter), board)
            yield


def generate(
    n_events: int,
    n_projects: int,
    info: DatasetInfo,
    *,
    n_portfolios: int = 10,
    board_size: int = 7,
    window: int = 1000,
    chunk: int = 5000,
    seed: int = 1,
) -> Iterator[list[StoredEvent]]:
    """Chunks of stored events, ``n_events`` in all (the last chunk may be shorter)."""
    rnd = random.Random(seed)
    mapper = new_mapper(TypeNames(STORED_NAMES))
    ids = _Ids()
    template = default_template()
    pool = [f"gk-{i:02d}" for i in range(max(board_size, n_portfolios * board_size // 3))]
    pms = [f"pm-{i:03d}" for i in range(max(10, n_projects // 15))]
    sponsors = [f"sponsor-{i:03d}" for i in range(max(10, n_projects // 40))]
    stakeholders = [f"stakeholder-{i:03d}" for i in range(200)]
    out: list[StoredEvent] = []
    total = 0

    def emit(agg: Portfolio | Project) -> int:
        events = agg.collect_events()
        for e in events:
            stored = mapper.to_stored_event(e)
            info.event_types[stored.topic] += 1
            out.append(stored)
        return len(events)

    portfolios: list[tuple[uuid.UUID, Board]] = []
    for i in range(n_portfolios):
        members = tuple(rnd.sample(pool, board_size))
        board = Board(members, members[0])
        pf = Portfolio.create(
            uuid.uuid4(),
            f"Portfolio {i + 1:02d}",
            ("Grow revenue", "Reduce risk"),
            Money(Decimal(rnd.randrange(50, 500) * 1_000_000), CURRENCY),
            board,
            template,
            ids.actor(ADMIN),
        )
        total += emit(pf)
        portfolios.append((pf.id, board))
        info.portfolios.append(pf.id)
        info.boards[pf.id] = board
        info.seats.update(members)

    per_project = max(10.0, (n_events - total) / max(1, n_projects))
    # A gate takes ~3 + 8 * rounds events (request, votes and changes, decision,
    # conditions); size the rounds so that most projects use up their quota.
    extra_rounds = max(0.0, (1.3 * per_project / 5.5 - 3) / 8 - 1)
    active: list[tuple[Project, Iterator[None], int]] = []
    counts: dict[uuid.UUID, int] = {}

    def start_project() -> None:
        nonlocal total
        pid, board = rnd.choice(portfolios)
        start = date(2027, rnd.randint(1, 12), 1)
        budget = Money(Decimal(rnd.randrange(50, 5000) * 1000), CURRENCY)
        pm, sponsor = rnd.choice(pms), rnd.choice(sponsors)
        p = Project.create(
            uuid.uuid4(),
            pid,
            f"Project {len(info.projects) + 1:05d}",
            pm,
            sponsor,
            Baseline(budget, start, date(start.year + 1, start.month, 1), "Deliver the thing"),
            Tolerances(Decimal("10"), 30),
            template,
            ids.actor(ADMIN),
            portfolio_currency=CURRENCY,
        )
        total += emit(p)
        info.projects.append(p.id)
        quota = max(2, int(per_project * rnd.uniform(0.5, 1.5)))
        script = project_script(p, board, rnd, ids, stakeholders, extra_rounds)
        active.append((p, script, quota))
        counts[p.id] = 1

    while total < n_events:
        while len(active) < window and (len(info.projects) < n_projects or not active):
            start_project()
            if total >= n_events:
                break
        if total >= n_events:
            break
        i = rnd.randrange(len(active))
        p, script, quota = active[i]
        try:
            next(script)
            n = emit(p)
            total += n
            counts[p.id] += n
            done = counts[p.id] >= quota
        except StopIteration:
            done = True
        if done:
            active[i] = active[-1]
            active.pop()
        if len(out) >= chunk:
            yield out[:chunk]
            del out[:chunk]
    if len(out) > n_events - (total - len(out)):
        del out[n_events - (total - len(out)) :]
    while out:
        yield out[:chunk]
        del out[:chunk]


async def load_dataset(
    store: Store,
    n_events: int,
    n_projects: int,
    *,
    chunk: int = 5000,
    seed: int = 1,
    progress: Callable[[str], None] = log,
) -> DatasetInfo:
    """Generate and insert the dataset; returns what was generated, with timings."""
    info = DatasetInfo()
    chunks: queue.Queue[list[StoredEvent] | BaseException | None] = queue.Queue(maxsize=3)
    gen_time = [0.0]

    def produce() -> None:
        try:
            it = generate(n_events, n_projects, info, chunk=chunk, seed=seed)
            while True:
                t0 = time.perf_counter()
                batch = next(it, None)
                gen_time[0] += time.perf_counter() - t0
                if batch is None:
                    break
                chunks.put(batch)
            chunks.put(None)
        except BaseException as exc:
            chunks.put(exc)

    thread = threading.Thread(target=produce, name="dataset-generator", daemon=True)
    t0 = time.perf_counter()
    last = t0
    thread.start()
    loaded = 0
    while True:
        item = await asyncio.to_thread(chunks.get)
        if item is None:
            break
        if isinstance(item, BaseException):
            raise item
        await store.events.insert_events(item)
        loaded += len(item)
        now = time.perf_counter()
        if now - last >= 5 or loaded >= n_events:
            last = now
            rate = loaded / (now - t0)
            progress(f"loaded {loaded:,}/{n_events:,} events, {rate:,.0f} events/s")
    thread.join()
    info.load_seconds = time.perf_counter() - t0
    info.generate_seconds = gen_time[0]
    info.events = loaded
    async with store.pool.acquire() as conn:
        ev = store.names.q(store.names.events)
        await conn.execute(f"ANALYZE {ev}")
    progress(
        f"dataset: {loaded:,} events, {len(info.projects):,} projects, "
        f"{len(info.portfolios)} portfolios in {info.load_seconds:.1f} s "
        f"({loaded / info.load_seconds:,.0f} events/s; generator busy "
        f"{info.generate_seconds:.1f} s); mix: "
        + ", ".join(f"{k} {v / max(1, loaded):.0%}" for k, v in info.event_types.most_common(8))
    )
    return info


async def loaded_dataset(store: Store) -> DatasetInfo | None:
    """What an earlier ``--schema`` run left in the schema, or None if it holds nothing.
    Only the log's facts: ``fill_from_read_models`` adds portfolios and boards."""
    async with store.pool.acquire() as conn:
        ev = store.names.q(store.names.events)
        if not await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", ev):
            return None
        n = await conn.fetchval(f"SELECT count(*) FROM {ev}")
        if not n:
            return None
        ids = await conn.fetch(
            f"SELECT originator_id FROM {ev} WHERE originator_version = 1 "
            "AND topic IN ('Project.Created', 'domain.project:Project.Created')"
        )
    return DatasetInfo(events=n, projects=[r[0] for r in ids])


async def load_or_reuse(store: Store, events: int, projects: int, keep: bool) -> DatasetInfo:
    """Load the dataset, or with ``keep`` (``--schema``) reuse one of that size."""
    info = await loaded_dataset(store) if keep else None
    if info is None:
        return await load_dataset(store, events, projects)
    # A benchmark that writes (bench/pages.py seeds change requests and sign-offs) leaves
    # a few events more in a kept schema: up to 1% more is the same dataset.
    if not events <= info.events <= events * 1.01:
        raise SystemExit(
            f"schema {store.names.schema} holds {info.events:,} events, not {events:,}: "
            f"pass --events {info.events} to reuse it, or name another schema"
        )
    log(f"reusing the {info.events:,} events already in schema {store.names.schema}")
    return info


async def fill_from_read_models(store: Store, info: DatasetInfo) -> None:
    """Portfolios and board seats of a reused dataset, read from the portfolio view."""
    if info.portfolios:
        return
    ev = store.names.q(store.names.events)
    async with store.pool.acquire() as conn:
        # In the order they were created, as ``generate`` filled ``info``.
        rows = await conn.fetch(
            f"SELECT p.portfolio_id, p.doc FROM {store.names.q('rm_portfolios')} p "
            f"JOIN {ev} e ON e.originator_id = p.portfolio_id AND e.originator_version = 1 "
            "ORDER BY e.notification_id"
        )
    for portfolio_id, doc in rows:
        info.portfolios.append(portfolio_id)
        info.seats.update(doc["members"])


async def close_store(store: Store, keep: bool) -> None:
    """Close a benchmark's store, dropping its schema unless ``--schema`` keeps it."""
    schema = store.names.schema
    try:
        if keep:
            log(f"kept schema {schema} (--schema)")
        else:
            async with store.pool.acquire() as conn:
                await drop_schema(conn, schema)
            log(f"dropped schema {schema}")
    finally:
        await store.close()

"""A log written before stored names (module-path topics, ``tests/fixtures``) still
replays to the same states, reads as of a past position, and projects exactly as the
same log written under stored names."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import pytest

from domain.gate_review import Vote
from domain.policy import Actor
from domain.portfolio import Portfolio
from domain.project import Project
from domain.stored_names import STORED_NAMES
from eventstore.database import Store, open_store
from eventstore.loader import load_aggregate, load_aggregate_as_of
from eventstore.schema import StoreNames, drop_schema
from projections.audit.model import AuditFilter, query
from projections.portfolios.as_of import portfolio_view_as_of
from projections.projects.queries import list_projects
from projections.registry import prepare_tables
from tests.fixtures.legacy_log import aggregate_summary, load, stored
from tests.projections.helpers import drain, dump
from workflows import gates
from workflows.uow import CommandOptions

LOG = load()


def _tags(value: Any) -> Iterator[str]:
    """Every class named inside a stored state (value tags, created events' and
    snapshots' aggregate topics)."""
    if isinstance(value, dict):
        if "c" in value and "__t" in value:
            yield value["c"]
        for key in ("originator_topic", "topic"):
            if isinstance(value.get(key), str):
                yield value[key]
        for v in value.values():
            yield from _tags(v)
    elif isinstance(value, list):
        for v in value:
            yield from _tags(v)


def test_every_name_in_the_v1_log_is_an_old_topic_of_a_registered_name() -> None:
    rows = LOG["events"] + LOG["snapshots"]
    written = {r["topic"] for r in rows}
    written |= {t for r in rows for t in _tags(json.loads(stored(r).state))}
    assert written <= set(STORED_NAMES.old_topics)
    assert len(written) > 60  # the fixture holds every event and value type


async def _load_v1(store: Store) -> None:
    await prepare_tables(store)
    await store.events.insert_events([stored(r) for r in LOG["events"]])
    await store.snapshots.insert_events([stored(r) for r in LOG["snapshots"]])


async def test_every_aggregate_of_the_v1_log_replays_to_its_recorded_state(store: Store) -> None:
    await _load_v1(store)
    snapshotted = {UUID(r["originator_id"]) for r in LOG["snapshots"]}
    assert len(snapshotted) == 5  # one of each aggregate type
    for aggregate_id, expected in LOG["aggregates"].items():
        from_snapshot = await load_aggregate(store, UUID(aggregate_id))
        replayed = None
        for event in await store.events.select_events(UUID(aggregate_id)):
            replayed = store.mapper.to_domain_event(event).mutate(replayed)
        for aggregate in (from_snapshot, replayed):
            assert _as_in_v1(aggregate) == expected
        if isinstance(replayed, Portfolio):
            assert isinstance(from_snapshot, Portfolio)
            # Added since v1: who changed the board (the log's one change was the
            # admin's, who created the portfolio); a v1 snapshot knows of none. Either
            # way the configurers are the same here.
            changed = aggregate_id == BOARD_CHANGED
            assert replayed.board_changers == (("admin",) if changed else ())
            assert from_snapshot.board_changers in ((), replayed.board_changers)
            assert from_snapshot.configured_by == replayed.configured_by
            assert replayed.configured_by == replayed.created_by.people


# The portfolio whose board the v1 log changes.
BOARD_CHANGED = next(
    e["originator_id"] for e in LOG["events"] if e["topic"].endswith("Portfolio.BoardChanged")
)
# Attributes aggregates gained after the v1 log was recorded.
ADDED_SINCE_V1 = ("board_changers",)


def _as_in_v1(aggregate: Any) -> dict[str, Any]:
    found = aggregate_summary(aggregate)
    return {k: v for k, v in found.items() if k not in ADDED_SINCE_V1}


async def test_v1_aggregates_and_portfolios_read_as_of_a_past_position(store: Store) -> None:
    await _load_v1(store)
    await drain(store)
    middle = len(LOG["events"]) // 2
    for aggregate_id in LOG["aggregates"]:
        then, position = await load_aggregate_as_of(store, UUID(aggregate_id), position=middle)
        assert (then is None) == (position is None)
        assert position is None or position <= middle
    portfolio = UUID(LOG["events"][0]["originator_id"])
    view = await portfolio_view_as_of(store, portfolio, position=middle)
    assert view is not None


@pytest.fixture
async def renamed(database_url: str, schema_name: str) -> Any:
    """A second store holding the v1 log rewritten under stored names."""
    schema = f"{schema_name}_new"
    s = await open_store(
        database_url, StoreNames(schema=schema), stored_names=STORED_NAMES, max_size=4
    )
    try:
        yield s
    finally:
        async with s.pool.acquire() as conn:
            await drop_schema(conn, schema)
        await s.close()


async def test_the_v1_log_projects_exactly_as_the_same_log_under_stored_names(
    store: Store, renamed: Store
) -> None:
    await _load_v1(store)
    rewritten = [
        renamed.mapper.to_stored_event(store.mapper.to_domain_event(stored(r)))
        for r in LOG["events"]
    ]
    assert all(":" not in e.topic and b"domain." not in e.state for e in rewritten)
    await prepare_tables(renamed)
    await renamed.events.insert_events(rewritten)
    await drain(store)
    await drain(renamed)
    assert await dump(store) == await dump(renamed)
    projects, _ = await list_projects(store.pool, store.names)
    assert len(projects) == 4
    trail, _ = await query(store.pool, store.names, AuditFilter(), 1000)
    assert len(trail) == len(LOG["events"])
    assert {row["type"] for row in trail} >= {"Project.Cancelled", "Delegation.Revoked"}


async def test_a_v1_aggregate_takes_new_commands_and_its_mixed_log_projects(
    store: Store,
) -> None:
    await _load_v1(store)
    in_review = next(
        UUID(i) for i, state in LOG["aggregates"].items() if state.get("name") == "Data platform"
    )
    await gates.cast_vote(
        store,
        project_id=in_review,
        gate="G0",
        vote=Vote.APPROVE,
        rationale="Now with stored names",
        by=Actor("erin"),
        options=CommandOptions(principal="test"),
    )
    topics = [e.topic for e in await store.events.select_events(in_review)]
    assert topics[0] == "domain.project:Project.Created" and topics[-1] == "Project.VoteCast"
    project = await load_aggregate(store, in_review)
    assert isinstance(project, Project) and project.review is not None
    assert [v.voter for v in project.review.votes] == ["dave", "erin"]
    await drain(store)
    trail, _ = await query(store.pool, store.names, AuditFilter(project_id=in_review), 100)
    types = [r["type"] for r in trail]
    assert types[-1] == "Project.VoteCast" and types.count("Project.VoteCast") == 2

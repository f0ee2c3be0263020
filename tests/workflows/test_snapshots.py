"""Aggregates past SNAPSHOT_EVERY events load from a snapshot to what a full replay gives."""

from __future__ import annotations

from typing import Any

from domain.gate_review import Evidence, Vote
from eventstore.database import Store
from eventstore.loader import load_aggregate, load_aggregate_as_of
from tests.workflows.given import GATEKEEPER, GATEKEEPER_2, OPTS, PM, by, new_project
from workflows import gates
from workflows.uow import SNAPSHOT_EVERY


def state(aggregate: Any) -> dict[str, Any]:
    return {k: v for k, v in vars(aggregate).items() if k != "_pending_events"}


async def test_an_aggregate_with_more_than_50_events_loads_from_its_snapshot_as_replayed(
    store: Store,
) -> None:
    project = await new_project(store)
    await gates.request_review(
        store,
        project_id=project.id,
        gate="G0",
        evidence=[Evidence("Mandate", "https://docs/mandate", "sha256:aa")],
        by=by(PM),
        options=OPTS,
    )
    for i in range(SNAPSHOT_EVERY + 10):  # votes changed back and forth: one event each
        await gates.cast_vote(
            store,
            project_id=project.id,
            gate="G0",
            vote=Vote.APPROVE if i % 2 else Vote.REJECT,
            rationale=f"round {i}",
            by=by(GATEKEEPER if i % 3 else GATEKEEPER_2),
            options=OPTS,
        )
    events = await store.events.select_events(project.id)
    assert len(events) > SNAPSHOT_EVERY + 5
    snapshot = await store.snapshots.latest(project.id)
    assert snapshot is not None and snapshot.originator_version == SNAPSHOT_EVERY

    from_snapshot = await load_aggregate(store, project.id)
    replayed, _ = await load_aggregate_as_of(store, project.id)  # every event, no snapshot
    assert from_snapshot is not None and replayed is not None
    assert from_snapshot.version == replayed.version == len(events)
    assert state(from_snapshot) == state(replayed)
    # and the snapshot is really used: its state alone is the aggregate at version 50
    at_50 = store.mapper.to_domain_event(snapshot).mutate(None)
    replayed_50, _ = await load_aggregate_as_of(
        store, project.id, position=await _position_of(store, project.id, SNAPSHOT_EVERY)
    )
    assert state(at_50) == state(replayed_50)


async def _position_of(store: Store, aggregate_id: Any, version: int) -> int:
    notes = await store.events.select_originator_notifications(aggregate_id)
    return next(n.id for n in notes if n.originator_version == version)

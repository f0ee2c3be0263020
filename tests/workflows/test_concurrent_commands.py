"""Commands that really race: many use cases started at once with asyncio.gather on one
aggregate (litestar's test client would serve them one at a time)."""

from __future__ import annotations

import asyncio
import time
from uuid import UUID

import pytest

from domain.gate_review import Decision, Evidence, Vote
from domain.policy import Actor, Board, default_template
from domain.project import Project
from eventstore.database import Store
from tests.workflows.given import (
    BOARD,
    GATEKEEPER,
    GATEKEEPER_2,
    OPTS,
    PM,
    by,
    eur,
    events_of,
    new_project,
    project_of,
)
from workflows import gates, portfolios, uow
from workflows.errors import ConcurrencyConflict, PreconditionFailed
from workflows.uow import CommandOptions, CommandResult, UnitOfWork, UseCase, run_command

EVIDENCE = [Evidence("Mandate", "https://docs/mandate", "sha256:aa")]
TWELVE = Board(tuple(f"member{i:02}" for i in range(12)), "member00")


async def reviewed_project(store: Store, board: Board = BOARD) -> UUID:
    project = await new_project(store, board)
    await gates.request_review(
        store, project_id=project.id, gate="G0", evidence=EVIDENCE, by=by(PM), options=OPTS
    )
    return project.id


async def vote(
    store: Store,
    project_id: UUID,
    actor: Actor,
    choice: Vote = Vote.APPROVE,
    options: CommandOptions = OPTS,
) -> CommandResult:
    return await gates.cast_vote(
        store,
        project_id=project_id,
        gate="G0",
        vote=choice,
        rationale="ok",
        by=actor,
        options=options,
    )


async def test_twelve_board_members_voting_at_once_are_all_recorded(store: Store) -> None:
    project_id = await reviewed_project(store, TWELVE)
    answers = await asyncio.gather(*(vote(store, project_id, by(m)) for m in TWELVE.members))
    assert len({a.version for a in answers}) == 12
    assert len(await events_of(store, project_id, ".VoteCast")) == 12
    # the quorum logic sees every vote: the decision rests on all twelve
    await gates.decide_gate(
        store,
        project_id=project_id,
        gate="G0",
        decision=Decision.GO,
        rationale="go",
        by=by(TWELVE.chair),
        options=OPTS,
    )
    (decided,) = (await project_of(store, project_id)).decisions
    assert sorted(v.voter for v in decided.votes) == sorted(TWELVE.members)


async def test_fifty_identical_votes_at_once_write_one_event_and_answer_alike(
    store: Store,
) -> None:
    project_id = await reviewed_project(store)
    answers = await asyncio.gather(*(vote(store, project_id, by(GATEKEEPER)) for _ in range(50)))
    assert len(await events_of(store, project_id, ".VoteCast")) == 1
    assert await events_of(store, project_id, ".VoteChanged") == []
    assert all(a == answers[0] for a in answers), answers
    assert answers[0].version == (await project_of(store, project_id)).version


async def test_a_repeated_vote_answers_as_the_first_and_a_changed_one_is_recorded(
    store: Store,
) -> None:
    project_id = await reviewed_project(store)
    first = await vote(store, project_id, by(GATEKEEPER))
    again = await vote(store, project_id, by(GATEKEEPER))
    assert again == first
    changed = await vote(store, project_id, by(GATEKEEPER), Vote.REJECT)
    assert changed.version == first.version + 1
    assert len(await events_of(store, project_id, ".VoteChanged")) == 1


async def test_one_idempotency_key_sent_at_once_writes_once_and_answers_alike(
    store: Store,
) -> None:
    project = await new_project(store)
    keyed = CommandOptions(principal=PM, idempotency_key="k", request_hash="h")
    answers = await asyncio.gather(
        *(
            gates.request_review(
                store,
                project_id=project.id,
                gate="G0",
                evidence=EVIDENCE,
                by=by(PM),
                options=keyed,
            )
            for _ in range(8)
        )
    )
    assert all(a == answers[0] for a in answers), answers
    assert len(await events_of(store, project.id, ".ReviewRequested")) == 1


async def test_one_idempotency_key_on_a_creation_sent_at_once_creates_one_aggregate(
    store: Store,
) -> None:
    """Each attempt makes a new id, so no version conflict stops the second: the key's
    record, stored in the same transaction, does (the idempotency race)."""
    keyed = CommandOptions(principal="admin", idempotency_key="k", request_hash="h")
    answers = await asyncio.gather(
        *(
            portfolios.create_portfolio(
                store,
                name="P",
                objectives=("o",),
                envelope=eur("1000"),
                board=BOARD,
                template=default_template(),
                by=by("admin"),
                options=keyed,
            )
            for _ in range(8)
        )
    )
    assert all(a == answers[0] for a in answers), answers
    assert await store.events.max_notification_id() == answers[0].position


def _interleaved_vote(store: Store, project_id: UUID, counter: list[int], expect: bool) -> UseCase:
    """A use case that another writer beats on every attempt: between its load and its
    save, GATEKEEPER changes their vote."""

    async def use_case(work: UnitOfWork) -> Project:
        counter.append(1)
        project = await work.get(Project, project_id)
        if expect:
            work.expect(project)
        flip = Vote.APPROVE if len(counter) % 2 else Vote.REJECT
        await vote(store, project_id, by(GATEKEEPER), flip)
        project.cast_vote("G0", Vote.APPROVE, "mine", by(GATEKEEPER_2), BOARD)
        return project

    return use_case


async def test_a_command_beaten_every_time_is_refused_after_a_bounded_wait(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(uow, "RETRY_SECONDS", 0.3)
    project_id = await reviewed_project(store)
    attempts: list[int] = []
    started = time.monotonic()
    with pytest.raises(ConcurrencyConflict) as refused:
        await run_command(store, _interleaved_vote(store, project_id, attempts, False), OPTS)
    assert time.monotonic() - started < 1.5
    assert len(attempts) > 2
    assert refused.value.retry_after >= 1
    voters = {e.by.person for e in await events_of(store, project_id, ".VoteCast")}
    assert voters == {GATEKEEPER}


async def test_with_if_match_a_concurrent_change_fails_at_once(store: Store) -> None:
    project_id = await reviewed_project(store)
    current = (await project_of(store, project_id)).version
    pinned = CommandOptions(principal=GATEKEEPER_2, expected_version=current)
    attempts: list[int] = []
    with pytest.raises(PreconditionFailed):
        await run_command(store, _interleaved_vote(store, project_id, attempts, True), pinned)
    assert len(attempts) == 1


async def test_a_command_slow_to_meet_a_change_still_gets_a_fresh_attempt(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A first attempt that took past the deadline (a busy server) and then met a
    concurrent change is tried again on fresh state, not refused at once; one beaten
    every time is still refused."""
    monkeypatch.setattr(uow, "RETRY_SECONDS", 0.0)
    project_id = await reviewed_project(store)
    attempts: list[int] = []

    async def beaten_once(work: UnitOfWork) -> Project:
        attempts.append(1)
        project = await work.get(Project, project_id)
        if len(attempts) == 1:  # another writer wins between this load and its save
            await vote(store, project_id, by(GATEKEEPER), Vote.APPROVE)
        project.cast_vote("G0", Vote.APPROVE, "mine", by(GATEKEEPER_2), BOARD)
        return project

    await run_command(store, beaten_once, OPTS)
    assert len(attempts) == 2
    voters = {e.by.person for e in await events_of(store, project_id, ".VoteCast")}
    assert voters == {GATEKEEPER, GATEKEEPER_2}
    every: list[int] = []
    other = await reviewed_project(store)
    with pytest.raises(ConcurrencyConflict):
        await run_command(store, _interleaved_vote(store, other, every, False), OPTS)
    assert len(every) == uow.MIN_ATTEMPTS

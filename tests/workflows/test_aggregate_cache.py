"""The process's aggregate cache: a load starts from the cached copy and reads only the
newer events, so it sees every other process's writes; what a caller does to the copy
it got never reaches the cache."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from api.bootstrap import opened_store
from api.settings import Settings
from domain.errors import DomainError
from domain.gate_review import Evidence, Vote
from domain.policy import Board
from eventstore.database import Store
from eventstore.loader import load_aggregate
from tests.workflows.given import (
    CHAIR,
    GATEKEEPER,
    GATEKEEPER_2,
    OPTS,
    PM,
    by,
    new_project,
    project_of,
)
from workflows import administration, gates


@pytest.fixture
async def other(database_url: str, schema_name: str, store: Store) -> AsyncIterator[Store]:
    """A second store on the same schema: another server process, as far as caches go."""
    settings = Settings(database_url=database_url, schema=schema_name)
    async with opened_store(settings, prepare_read_models=False, min_size=1, max_size=4) as s:
        yield s


async def vote(store: Store, project_id: Any, who: str, vote: Vote, why: str) -> int:
    result = await gates.cast_vote(
        store,
        project_id=project_id,
        gate="G0",
        vote=vote,
        rationale=why,
        by=by(who),
        options=OPTS,
    )
    return result.version


async def test_a_cached_aggregate_sees_what_another_process_wrote(
    store: Store, other: Store
) -> None:
    project = await new_project(store)
    evidence = [Evidence("Mandate", "https://docs/mandate", "sha256:aa")]
    await gates.request_review(
        store, project_id=project.id, gate="G0", evidence=evidence, by=by(PM), options=OPTS
    )
    await vote(store, project.id, GATEKEEPER, Vote.APPROVE, "first")  # cached here
    assert project.id in store.aggregates._entries
    # the other process changes the vote, then this one loads: it sees the change
    version = await vote(other, project.id, GATEKEEPER, Vote.REJECT, "changed elsewhere")
    loaded = await project_of(store, project.id)
    assert loaded.version == version
    assert loaded.review is not None
    assert loaded.review.vote_of(GATEKEEPER).vote is Vote.REJECT  # type: ignore[union-attr]
    # and a command here starts from that state: the same vote again records nothing
    assert await vote(store, project.id, GATEKEEPER, Vote.REJECT, "changed elsewhere") == version
    # a hit reads the newer events only: no snapshot asked for
    store.events.select_latest = _refuse  # type: ignore[method-assign, assignment]
    await vote(other, project.id, GATEKEEPER_2, Vote.APPROVE, "second voter")
    again = await project_of(store, project.id)
    assert again.version == version + 1


async def _refuse(*args: object) -> None:
    raise AssertionError("a cached aggregate was loaded from its snapshot")


async def test_what_a_caller_does_to_its_copy_never_reaches_the_cache(store: Store) -> None:
    project = await new_project(store)
    copy = await project_of(store, project.id)
    evidence = (Evidence("Mandate", "https://docs/mandate", "sha256:aa"),)
    copy.request_review("G0", evidence, by(PM))  # changed in memory, never saved
    assert copy.review is not None
    fresh = await project_of(store, project.id)
    assert fresh.version == project.version and fresh.review is None
    assert fresh.collect_events() == []
    # a refused command leaves the cache as it was
    with pytest.raises(DomainError):
        await gates.cast_vote(
            store,
            project_id=project.id,
            gate="G0",
            vote=Vote.APPROVE,
            rationale="no review is open",
            by=by(GATEKEEPER),
            options=OPTS,
        )
    after = await load_aggregate(store, project.id)
    assert after is not None and after.version == project.version and after.review is None


async def test_a_vote_reads_its_cached_project_and_portfolio_in_one_statement_and_sees_a_new_board(
    store: Store, other: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both cached here: their newer events come in one statement (one round trip, not
    two), and still include what another process wrote (a board without the voter)."""
    project = await new_project(store)
    evidence = [Evidence("Mandate", "https://docs/mandate", "sha256:aa")]
    await gates.request_review(
        store, project_id=project.id, gate="G0", evidence=evidence, by=by(PM), options=OPTS
    )
    await vote(store, project.id, GATEKEEPER, Vote.APPROVE, "first")  # both cached here
    assert {project.id, project.portfolio_id} <= set(store.aggregates._entries)
    calls: list[str] = []
    for name in ("select_events", "select_events_after_each", "select_latest"):
        real = getattr(store.events, name)

        def counted(*args: Any, _real: Any = real, _name: str = name, **kwargs: Any) -> Any:
            calls.append(_name)
            return _real(*args, **kwargs)

        monkeypatch.setattr(store.events, name, counted)
    await vote(store, project.id, GATEKEEPER_2, Vote.APPROVE, "second")
    assert calls == ["select_events_after_each"]

    await administration.change_board(
        other,
        portfolio_id=project.portfolio_id,
        board=Board((CHAIR, GATEKEEPER), CHAIR),
        reason="GK2 left",
        by=by("pmo"),
        options=OPTS,
    )
    calls.clear()
    with pytest.raises(DomainError):
        await vote(store, project.id, GATEKEEPER_2, Vote.REJECT, "no longer on the board")
    assert calls == ["select_events_after_each"]
    portfolio = await load_aggregate(store, project.portfolio_id)
    assert portfolio is not None
    assert GATEKEEPER_2 not in portfolio.board.members

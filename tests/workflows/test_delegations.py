"""Delegation through the workflows: a delegate acts for the delegator only while an
active delegation covers the project, both people are recorded, and separation of duties
holds against both."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import uuid4

import pytest

from domain.change_request import CRStatus
from domain.delegation import DelegationBook, delegation_book_id
from domain.errors import InvalidValue, NotAllowed, NotFound
from domain.gate_review import Evidence, Vote
from eventstore.database import Store
from eventstore.loader import load_aggregate
from tests.workflows.given import (
    CHAIR,
    GATEKEEPER,
    GATEKEEPER_2,
    NOW,
    OPTS,
    PM,
    SPONSOR,
    by,
    cr_of,
    decide_cr,
    delegate,
    events_of,
    new_project,
    project_of,
    submitted_cr,
    vote_cr,
)
from workflows import delegations, gates


async def test_a_delegated_vote_records_both_people(store: Store) -> None:
    # Given dave delegated to gina for this project, and a CR escalated to the board
    project = await new_project(store)
    await delegate(store, GATEKEEPER, "gina", project_id=project.id)
    cr_id = await submitted_cr(store, project.id, "300")
    # When gina votes for dave
    await vote_cr(store, cr_id, by("gina", GATEKEEPER))
    # Then the stored event names gina as the person and dave as whose authority
    (event,) = await events_of(store, cr_id, "VoteCast")
    assert (event.by.person, event.by.on_behalf_of) == ("gina", GATEKEEPER)
    (vote,) = (await cr_of(store, cr_id)).votes
    assert (vote.voter, vote.cast_by) == (GATEKEEPER, "gina")


async def test_a_delegated_vote_counts_toward_the_decision(store: Store) -> None:
    project = await new_project(store)
    await delegate(store, SPONSOR, "sue")
    cr_id = await submitted_cr(store, project.id, "300")
    await vote_cr(store, cr_id, by(GATEKEEPER))
    await vote_cr(store, cr_id, by("sue", SPONSOR))
    await decide_cr(store, cr_id, by(CHAIR))
    assert (await cr_of(store, cr_id)).status is CRStatus.APPROVED


async def test_acting_for_someone_without_a_delegation_is_refused(store: Store) -> None:
    project = await new_project(store)
    cr_id = await submitted_cr(store, project.id, "300")
    with pytest.raises(NotAllowed, match="no active delegation"):
        await vote_cr(store, cr_id, by("gina", GATEKEEPER))
    assert await events_of(store, cr_id, "VoteCast") == []


async def test_an_expired_delegation_grants_nothing(store: Store) -> None:
    project = await new_project(store)
    await delegate(store, GATEKEEPER, "gina", days=7)
    cr_id = await submitted_cr(store, project.id, "300")
    with pytest.raises(NotAllowed, match="no active delegation"):
        await vote_cr(store, cr_id, by("gina", GATEKEEPER), now=NOW + timedelta(days=7))


async def test_a_revoked_delegation_grants_nothing(store: Store) -> None:
    project = await new_project(store)
    delegation_id = await delegate(store, GATEKEEPER, "gina")
    await delegations.revoke_delegation(
        store, delegation_id=delegation_id, reason="back early", by=by(GATEKEEPER), options=OPTS
    )
    cr_id = await submitted_cr(store, project.id, "300")
    with pytest.raises(NotAllowed, match="no active delegation"):
        await vote_cr(store, cr_id, by("gina", GATEKEEPER))


async def test_a_delegation_scoped_to_another_project_grants_nothing_here(store: Store) -> None:
    project, other = await new_project(store), await new_project(store)
    await delegate(store, GATEKEEPER, "gina", project_id=other.id)
    cr_id = await submitted_cr(store, project.id, "300")
    with pytest.raises(NotAllowed, match="no active delegation"):
        await vote_cr(store, cr_id, by("gina", GATEKEEPER))


@pytest.mark.parametrize("scope", ["project_id", "portfolio_id"])
async def test_a_delegation_scoped_to_nothing_that_exists_is_refused(
    store: Store, scope: str
) -> None:
    with pytest.raises(InvalidValue, match=f"{scope}: no .* exists"):
        scoped: dict[str, Any] = {scope: uuid4()}
        await delegate(store, GATEKEEPER, "gina", **scoped)
    assert await load_aggregate(store, delegation_book_id(GATEKEEPER)) is None


async def test_a_delegation_scoped_to_a_project_outside_its_portfolio_is_refused(
    store: Store,
) -> None:
    project, other = await new_project(store), await new_project(store)
    with pytest.raises(InvalidValue, match=r"portfolio_id: .* could never match"):
        await delegate(
            store, GATEKEEPER, "gina", project_id=project.id, portfolio_id=other.portfolio_id
        )
    await delegate(
        store, GATEKEEPER, "gina", project_id=project.id, portfolio_id=project.portfolio_id
    )


async def test_the_submitters_delegate_cannot_vote_or_decide_for_them(store: Store) -> None:
    # Given the PM (submitter) delegated to erin, a gatekeeper
    project = await new_project(store)
    await delegate(store, PM, GATEKEEPER_2)
    cr_id = await submitted_cr(store, project.id, "300")
    # When erin acts for the PM, then separation of duties refuses it
    with pytest.raises(NotAllowed):
        await vote_cr(store, cr_id, by(GATEKEEPER_2, PM))
    with pytest.raises(NotAllowed):
        await decide_cr(store, cr_id, by(GATEKEEPER_2, PM))
    assert await events_of(store, cr_id, "VoteCast") == []


async def test_the_submitter_cannot_decide_as_the_sponsors_delegate(store: Store) -> None:
    # Given the sponsor delegated to the PM, who submitted a CR within tolerance
    project = await new_project(store)
    await delegate(store, SPONSOR, PM)
    cr_id = await submitted_cr(store, project.id, "50")
    # When the PM decides it for the sponsor, then it is refused
    with pytest.raises(NotAllowed, match="submitter"):
        await decide_cr(store, cr_id, by(PM, SPONSOR))
    assert (await cr_of(store, cr_id)).status is CRStatus.SUBMITTED
    assert (await project_of(store, project.id)).applied_changes == ()


async def test_a_gate_vote_by_a_delegate_needs_an_active_delegation(store: Store) -> None:
    project = await new_project(store)
    evidence = [Evidence("Mandate", "https://docs/mandate", "sha256:aa")]
    await gates.request_review(
        store, project_id=project.id, gate="G0", evidence=evidence, by=by(PM), options=OPTS
    )

    async def vote_for_dave(at_days: int) -> None:
        await gates.cast_vote(
            store,
            project_id=project.id,
            gate="G0",
            vote=Vote.APPROVE,
            rationale="ok",
            by=by("gina", GATEKEEPER),
            now=NOW + timedelta(days=at_days),
            options=OPTS,
        )

    with pytest.raises(NotAllowed):
        await vote_for_dave(0)
    await delegate(store, GATEKEEPER, "gina", days=7)
    with pytest.raises(NotAllowed):
        await vote_for_dave(8)
    await vote_for_dave(1)
    review = (await project_of(store, project.id)).review
    assert review is not None
    (vote,) = review.votes
    assert (vote.voter, vote.cast_by) == (GATEKEEPER, "gina")


async def test_a_delegation_always_ends_within_the_maximum(store: Store) -> None:
    with pytest.raises(InvalidValue, match="at most 90 days"):
        await delegate(store, SPONSOR, "sue", days=120)
    assert await load_aggregate(store, delegation_book_id(SPONSOR)) is None


async def test_the_first_delegation_creates_the_book_and_the_result_names_it(
    store: Store,
) -> None:
    result = await delegations.delegate_authority(
        store,
        delegate="sue",
        starts=NOW,
        ends=NOW + timedelta(days=3),
        by=by(SPONSOR),
        now=NOW,
        options=OPTS,
    )
    book = await load_aggregate(store, delegation_book_id(SPONSOR))
    assert isinstance(book, DelegationBook)
    assert (result.id, result.version) == (book.id, book.version)
    assert [str(d.id) for d in book.delegations] == [result.details["delegation_id"]]


async def test_a_delegate_cannot_pass_the_authority_on(store: Store) -> None:
    await delegate(store, SPONSOR, "sue")
    with pytest.raises(NotAllowed):
        await delegations.delegate_authority(
            store,
            delegate="zed",
            starts=NOW,
            ends=NOW + timedelta(days=3),
            by=by("sue", SPONSOR),
            now=NOW,
            options=OPTS,
        )


async def test_revoking_an_unknown_delegation_is_not_found(store: Store) -> None:
    with pytest.raises(NotFound):
        await delegations.revoke_delegation(
            store, delegation_id=uuid4(), reason="r", by=by(SPONSOR), options=OPTS
        )
    await delegate(store, SPONSOR, "sue")
    with pytest.raises(NotFound):
        await delegations.revoke_delegation(
            store, delegation_id=uuid4(), reason="r", by=by(SPONSOR), options=OPTS
        )

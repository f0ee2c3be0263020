"""Sign-offs through the workflows: the project mirrors every request in the same unit of
work, a new version supersedes the open request, and gates wait for their sign-offs."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import pytest

from domain.errors import InvalidValue, NotAllowed, RuleViolation
from domain.gate_review import Evidence
from domain.signoff import SignOffStatus
from eventstore.database import Store
from tests.workflows.given import (
    NOW,
    OPTS,
    PM,
    SPONSOR,
    by,
    new_project,
    pass_gate,
    project_of,
    request_signoff,
    signoff_of,
)
from workflows import gates, signoffs

# the hash the helper signs "v1" off with: evidence for a signed deliverable must carry it
EVIDENCE = [Evidence("Business case", "https://docs/bc", "sha256:v1")]


async def sign(store: Store, signoff_id: UUID, person: str) -> None:
    await signoffs.sign_signoff(
        store, signoff_id=signoff_id, comment="fine", by=by(person), options=OPTS
    )


async def request_g1(store: Store, project_id: UUID) -> None:
    await gates.request_review(
        store, project_id=project_id, gate="G1", evidence=EVIDENCE, by=by(PM), options=OPTS
    )


async def test_a_request_is_due_after_the_templates_delay_and_recorded_on_the_project(
    store: Store,
) -> None:
    project = await new_project(store)
    signoff_id = await request_signoff(store, project.id, "Business case", "v1", [SPONSOR])
    signoff = await signoff_of(store, signoff_id)
    assert signoff.due == NOW.date() + timedelta(days=project.template.signoff_due_days)
    assert (await project_of(store, project.id)).open_signoff_for("Business case") == signoff_id


async def test_a_new_version_supersedes_the_open_request(store: Store) -> None:
    # Given an open sign-off of version 1
    project = await new_project(store)
    first = await request_signoff(store, project.id, "Business case", "v1", [SPONSOR, "stan"])
    await sign(store, first, "stan")
    # When version 2 is put up for sign-off
    second = await request_signoff(store, project.id, "Business case", "v2", [SPONSOR])
    # Then the first request is superseded, on its own aggregate and on the project
    old = await signoff_of(store, first)
    assert (old.status, old.superseded_by) == (SignOffStatus.SUPERSEDED, second)
    recorded = {s.id: s.status for s in (await project_of(store, project.id)).signoffs}
    assert recorded == {first: SignOffStatus.SUPERSEDED, second: SignOffStatus.OPEN}
    # And the superseded version can no longer be signed
    with pytest.raises(RuleViolation):
        await sign(store, first, SPONSOR)


async def test_only_the_pm_requests_and_never_signs_their_own_deliverable(store: Store) -> None:
    project = await new_project(store)
    with pytest.raises(NotAllowed):
        await signoffs.request_signoff(
            store,
            project_id=project.id,
            deliverable="Business case",
            version="v1",
            content_hash="sha256:x",
            signatories=[SPONSOR],
            by=by(SPONSOR),
            now=NOW,
            options=OPTS,
        )
    with pytest.raises(NotAllowed):
        await request_signoff(store, project.id, "Business case", "v1", [PM])
    assert (await project_of(store, project.id)).signoffs == ()


async def test_the_last_signature_completes_the_request_on_the_project(store: Store) -> None:
    project = await new_project(store)
    signoff_id = await request_signoff(store, project.id, "Business case", "v1", [SPONSOR, "stan"])
    await sign(store, signoff_id, SPONSOR)
    (summary,) = (await project_of(store, project.id)).signoffs
    assert summary.status is SignOffStatus.OPEN
    await sign(store, signoff_id, "stan")
    assert (await signoff_of(store, signoff_id)).is_complete
    (summary,) = (await project_of(store, project.id)).signoffs
    assert summary.status is SignOffStatus.COMPLETE


async def test_a_decline_is_recorded_on_the_project(store: Store) -> None:
    project = await new_project(store)
    signoff_id = await request_signoff(store, project.id, "Business case", "v1", [SPONSOR, "stan"])
    await signoffs.decline_signoff(
        store, signoff_id=signoff_id, comment="numbers wrong", by=by("stan"), options=OPTS
    )
    assert (await signoff_of(store, signoff_id)).status is SignOffStatus.DECLINED
    (summary,) = (await project_of(store, project.id)).signoffs
    assert summary.status is SignOffStatus.DECLINED


async def test_a_gate_is_blocked_until_its_required_signoffs_are_complete(store: Store) -> None:
    # Given a project past G0; G1 requires the "Business case" signed by the sponsor
    project = await new_project(store)
    await pass_gate(store, project.id)
    # When the PM requests G1 without it, then it is refused
    with pytest.raises(RuleViolation, match="Business case"):
        await request_g1(store, project.id)
    # And a request the sponsor has not signed yet does not count
    signoff_id = await request_signoff(store, project.id, "Business case", "v1", [SPONSOR])
    with pytest.raises(RuleViolation, match="Business case"):
        await request_g1(store, project.id)
    # Then once the sponsor signed, the review opens
    await sign(store, signoff_id, SPONSOR)
    await request_g1(store, project.id)
    review = (await project_of(store, project.id)).review
    assert review is not None and review.gate == "G1"


async def test_a_signoff_by_someone_else_than_the_required_signer_does_not_open_the_gate(
    store: Store,
) -> None:
    project = await new_project(store)
    await pass_gate(store, project.id)
    signoff_id = await request_signoff(store, project.id, "Business case", "v1", ["stan"])
    await sign(store, signoff_id, "stan")
    with pytest.raises(RuleViolation, match="Business case"):
        await request_g1(store, project.id)


async def test_evidence_for_a_signed_deliverable_must_carry_the_signed_off_hash(
    store: Store,
) -> None:
    # Given a project past G0 whose "Business case" v1 the sponsor signed off
    project = await new_project(store)
    await pass_gate(store, project.id)
    await sign(
        store, await request_signoff(store, project.id, "Business case", "v1", [SPONSOR]), SPONSOR
    )
    before = (await project_of(store, project.id)).version
    # When the PM requests G1 with evidence of another hash, then it is refused, naming both
    wrong = [Evidence("business case ", "https://docs/bc", "sha256:other")]
    with pytest.raises(InvalidValue, match=r"'Business case'.*'sha256:v1'"):
        await gates.request_review(
            store, project_id=project.id, gate="G1", evidence=wrong, by=by(PM), options=OPTS
        )
    assert (await project_of(store, project.id)).version == before
    # And with the signed hash it opens; amending to another hash is refused too
    await request_g1(store, project.id)
    with pytest.raises(InvalidValue, match="sha256:v1"):
        await gates.amend_evidence(
            store, project_id=project.id, gate="G1", evidence=wrong, by=by(PM), options=OPTS
        )
    review = (await project_of(store, project.id)).review
    assert review is not None and review.evidence == tuple(EVIDENCE)

"""Named stakeholders sign off one version of a deliverable, in person."""

from uuid import uuid4

import pytest

from domain.errors import InvalidValue, NotAllowed, RuleViolation
from domain.policy import Actor
from domain.signoff import SignOff, SignOffStatus
from tests.domain.domain_given import DUE, PM, SPONSOR, new_signoff

STAN = Actor("stan")


def test_the_pm_requests_a_sign_off_of_one_version() -> None:
    project_id = uuid4()
    signoff = new_signoff(project_id=project_id)
    assert signoff.status is SignOffStatus.OPEN
    assert (signoff.deliverable, signoff.deliverable_version, signoff.content_hash) == (
        "Business case",
        "1.0",
        "sha256:bc1",
    )
    assert (signoff.project_id, signoff.due, signoff.pending_signatories) == (
        project_id,
        DUE,
        ("sam", "stan"),
    )
    assert signoff.signatures == ()
    assert not signoff.is_complete


def test_only_the_pm_requests_a_sign_off() -> None:
    with pytest.raises(NotAllowed):
        new_signoff(by=SPONSOR)


def test_the_pm_cannot_sign_off_their_own_deliverable() -> None:
    with pytest.raises(NotAllowed, match="PM"):
        new_signoff(signatories=("sam", "pat"))
    with pytest.raises(NotAllowed):
        new_signoff(signatories=("dan",), by=Actor("dan", on_behalf_of="pat"))


@pytest.mark.parametrize("signatories", [(), ("sam", "sam"), ("sam", " ")])
def test_signatories_are_at_least_one_and_unique(signatories: tuple[str, ...]) -> None:
    with pytest.raises(InvalidValue):
        new_signoff(signatories=signatories)


def test_a_sign_off_names_deliverable_version_and_content_hash() -> None:
    for field in ("deliverable", "version", "content_hash"):
        with pytest.raises(InvalidValue):
            new_signoff(**{field: ""})  # type: ignore[arg-type]  # mypy reads the whole dict


def test_the_last_signature_completes_the_sign_off() -> None:
    signoff = new_signoff()
    signoff.sign("Agreed", by=SPONSOR)
    assert (signoff.status, signoff.pending_signatories) == (SignOffStatus.OPEN, ("stan",))
    signoff.sign("", by=STAN)
    assert signoff.is_complete
    assert [(s.person, s.comment) for s in signoff.signatures] == [("sam", "Agreed"), ("stan", "")]
    assert all(
        s.at == e.timestamp
        for s, e in zip(signoff.signatures, signoff.collect_events()[1:], strict=True)
    )


def test_one_decline_declines_the_sign_off() -> None:
    signoff = new_signoff()
    signoff.sign("Agreed", by=SPONSOR)
    signoff.decline("Numbers do not add up", by=STAN)
    assert signoff.status is SignOffStatus.DECLINED
    assert signoff.declined_by is not None
    assert (signoff.declined_by.person, signoff.declined_by.declined) == ("stan", True)


def test_a_decline_needs_a_comment() -> None:
    with pytest.raises(InvalidValue, match="comment"):
        new_signoff().decline(" ", by=STAN)


def test_only_named_signatories_sign() -> None:
    with pytest.raises(NotAllowed):
        new_signoff().sign("ok", by=Actor("olga"))


def test_sign_offs_cannot_be_delegated() -> None:
    with pytest.raises(NotAllowed, match="delegated"):
        new_signoff().sign("ok", by=Actor("dora", on_behalf_of="sam"))
    with pytest.raises(NotAllowed, match="delegated"):
        new_signoff().sign("ok", by=Actor("sam", on_behalf_of="stan"))


def test_a_signatory_signs_once() -> None:
    signoff = new_signoff()
    signoff.sign("ok", by=SPONSOR)
    with pytest.raises(RuleViolation, match="already signed"):
        signoff.sign("again", by=SPONSOR)
    with pytest.raises(RuleViolation, match="already signed"):
        signoff.decline("changed my mind", by=SPONSOR)


@pytest.mark.parametrize("end", ["complete", "declined", "superseded"])
def test_only_an_open_sign_off_is_answered(end: str) -> None:
    signoff = new_signoff(signatories=("sam",))
    if end == "complete":
        signoff.sign("ok", by=SPONSOR)
    elif end == "declined":
        signoff.decline("no", by=SPONSOR)
    else:
        signoff.supersede(uuid4(), by=PM)
    with pytest.raises(RuleViolation):
        signoff.sign("late", by=SPONSOR)


def test_a_new_version_supersedes_the_open_request() -> None:
    signoff, newer = new_signoff(), uuid4()
    signoff.supersede(newer, by=PM)
    assert (signoff.status, signoff.superseded_by) == (SignOffStatus.SUPERSEDED, newer)
    with pytest.raises(RuleViolation):
        signoff.supersede(uuid4(), by=PM)


def test_a_request_cannot_supersede_itself() -> None:
    signoff = new_signoff()
    with pytest.raises(InvalidValue):
        signoff.supersede(signoff.id, by=PM)


def test_a_sign_off_summary_is_what_the_project_records() -> None:
    signoff: SignOff = new_signoff()
    summary = signoff.summary()
    assert (summary.id, summary.status, summary.signatories) == (
        signoff.id,
        SignOffStatus.OPEN,
        ("sam", "stan"),
    )

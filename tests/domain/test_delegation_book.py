"""Delegations: time-boxed, optionally scoped, revocable, never to the requester."""

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from domain.change_request import CRDecision, Route
from domain.delegation import DelegationBook, delegation_book_id
from domain.errors import InvalidValue, NotAllowed, NotFound, RuleViolation
from domain.gate_review import Decision
from domain.policy import Actor
from domain.project import Project
from tests.domain.domain_given import (
    BOARD,
    CHAIR,
    GATEKEEPER_2,
    SPONSOR,
    T0,
    Vote,
    cr_decide,
    cr_vote,
    delegate,
    new_book,
    submitted_cr,
)

HOUR = timedelta(hours=1)


def grant(book: DelegationBook, **kw: Any) -> None:
    args: dict[str, object] = dict(
        delegation_id=uuid4(), delegate="dora", starts=T0, ends=T0 + timedelta(days=7), now=T0
    )
    args.update(kw)
    book.delegate(by=Actor(book.delegator), **args)  # type: ignore[arg-type]


def test_the_book_id_is_derived_from_the_delegator() -> None:
    assert delegation_book_id("gail") == delegation_book_id("gail")
    assert delegation_book_id("gail") != delegation_book_id("gus")
    assert isinstance(delegation_book_id("gail"), UUID)


def test_a_delegation_grants_within_its_window_only() -> None:
    book = new_book()
    delegation_id = delegate(book, "dora", days=7)
    assert book.grants("dora", T0, None, None) == delegation_id
    assert book.grants("dora", T0 + timedelta(days=7) - HOUR, None, None) == delegation_id
    assert book.grants("dora", T0 - HOUR, None, None) is None
    assert book.grants("dora", T0 + timedelta(days=7), None, None) is None  # expired
    assert book.grants("dan", T0, None, None) is None


def test_the_delegation_is_recorded_with_its_window() -> None:
    book = new_book()
    delegation_id = delegate(book, "dora", days=7)
    (d,) = book.delegations
    assert (d.id, d.delegate, d.starts, d.ends, d.revoked) == (
        delegation_id,
        "dora",
        T0,
        T0 + timedelta(days=7),
        False,
    )
    assert book.delegator == "gail"


def test_a_delegation_lasts_at_most_90_days_by_default() -> None:
    book = new_book()
    delegate(book, "dora", days=90)
    with pytest.raises(InvalidValue, match="90 days"):
        delegate(book, "dora", days=91)


def test_the_maximum_is_configurable() -> None:
    book = new_book()
    with pytest.raises(InvalidValue, match="30 days"):
        grant(book, ends=T0 + timedelta(days=31), max_days=30)
    grant(book, ends=T0 + timedelta(days=120), max_days=180)


@pytest.mark.parametrize(
    ("starts", "ends", "now"),
    [(T0, T0, T0), (T0, T0 - HOUR, T0), (T0 - 2 * HOUR, T0 - HOUR, T0)],
    ids=["empty", "ends-before-start", "already-ended"],
)
def test_a_delegation_window_must_end_after_it_starts_and_after_now(
    starts: datetime, ends: datetime, now: datetime
) -> None:
    with pytest.raises(InvalidValue):
        grant(new_book(), starts=starts, ends=ends, now=now)


def test_delegation_times_must_be_timezone_aware() -> None:
    naive = datetime(2025, 3, 1, 9, 0)
    with pytest.raises(InvalidValue, match="timezone"):
        grant(new_book(), starts=naive)
    with pytest.raises(InvalidValue, match="timezone"):
        new_book().grants("dora", naive, None, None)


def test_nobody_delegates_to_themselves() -> None:
    with pytest.raises(InvalidValue):
        grant(new_book(), delegate="gail")


def test_only_the_delegator_in_person_delegates() -> None:
    book = new_book()
    for actor in (Actor("olga"), Actor("dora", on_behalf_of="gail")):
        with pytest.raises(NotAllowed):
            book.delegate(uuid4(), "dan", T0, T0 + HOUR, T0, by=actor)
    with pytest.raises(NotAllowed):
        DelegationBook.create(delegation_book_id("gail"), "gail", by=Actor("olga"))


def test_a_delegation_id_is_used_once() -> None:
    book = new_book()
    delegation_id = delegate(book, "dora")
    with pytest.raises(RuleViolation):
        grant(book, delegation_id=delegation_id)


def test_a_revoked_delegation_grants_nothing() -> None:
    book = new_book()
    delegation_id = delegate(book, "dora")
    book.revoke(delegation_id, "Back from leave", by=Actor("gail"))
    assert book.grants("dora", T0, None, None) is None
    (d,) = book.delegations
    assert (d.revoked, d.revoked_reason) == (True, "Back from leave")
    assert d.revoked_at == book.collect_events()[-1].timestamp


def test_revoking_twice_unknown_or_by_someone_else_is_refused() -> None:
    book = new_book()
    delegation_id = delegate(book, "dora")
    with pytest.raises(NotAllowed):
        book.revoke(delegation_id, "no", by=Actor("dora"))
    with pytest.raises(NotFound):
        book.revoke(uuid4(), "no", by=Actor("gail"))
    with pytest.raises(InvalidValue):
        book.revoke(delegation_id, " ", by=Actor("gail"))
    book.revoke(delegation_id, "done", by=Actor("gail"))
    with pytest.raises(RuleViolation, match="already revoked"):
        book.revoke(delegation_id, "again", by=Actor("gail"))


def test_a_scoped_delegation_covers_only_its_portfolio_or_project() -> None:
    book, portfolio, project, other = new_book(), uuid4(), uuid4(), uuid4()
    by_portfolio = delegate(book, "dora", portfolio_id=portfolio)
    by_project = delegate(book, "dan", project_id=project)
    assert book.grants("dora", T0, portfolio, other) == by_portfolio
    assert book.grants("dora", T0, other, None) is None
    assert book.grants("dan", T0, portfolio, project) == by_project
    assert book.grants("dan", T0, portfolio, other) is None


def test_an_unscoped_delegation_covers_everything() -> None:
    book = new_book()
    delegation_id = delegate(book, "dora")
    assert book.grants("dora", T0, uuid4(), uuid4()) == delegation_id


# --- no delegation to the person whose request is being decided ---------------------------


def test_a_delegate_who_submitted_the_cr_cannot_vote_or_decide_for_the_delegator() -> None:
    gus_book, cora_book = new_book("gus"), new_book("cora")
    delegate(gus_book, "pat")
    delegate(cora_book, "pat")
    assert gus_book.grants("pat", T0, None, None) is not None  # granted, yet useless here
    cr = submitted_cr(Route.BOARD)
    with pytest.raises(NotAllowed, match="submitter"):
        cr_vote(cr, Vote.APPROVE, Actor("pat", on_behalf_of="gus"))
    cr_vote(cr, Vote.APPROVE, GATEKEEPER_2, SPONSOR)
    with pytest.raises(NotAllowed, match="submitter"):
        cr_decide(cr, CRDecision.APPROVE, Actor("pat", on_behalf_of="cora"))
    cr_decide(cr, CRDecision.APPROVE, CHAIR)


def test_a_delegate_who_requested_the_gate_review_cannot_vote_or_decide(
    under_review: Project,
) -> None:
    book = new_book("cora")
    delegate(book, "pat")
    assert book.grants("pat", T0, under_review.portfolio_id, under_review.id) is not None
    pat_for_cora = Actor("pat", on_behalf_of="cora")
    with pytest.raises(NotAllowed):
        under_review.cast_vote("G0", Vote.APPROVE, "ok", by=pat_for_cora, board=BOARD)
    with pytest.raises(NotAllowed, match="requester"):
        under_review.decide("G0", Decision.KILL, "x", by=pat_for_cora, board=BOARD)


def test_the_pmo_revokes_in_person_and_the_revocation_replays() -> None:
    book = new_book()
    delegation_id = delegate(book, "dora")
    with pytest.raises(NotAllowed, match="in person"):
        book.revoke(delegation_id, "left", by=Actor("ada", on_behalf_of="otto"), as_pmo=True)
    book.revoke(delegation_id, "left the company", by=Actor("ada"), as_pmo=True)
    assert book.grants("dora", T0, None, None) is None
    replayed: Any = None
    for event in book.collect_events():
        replayed = event.mutate(replayed)
    (d,) = replayed.delegations
    assert (d.revoked, d.revoked_reason) == (True, "left the company")

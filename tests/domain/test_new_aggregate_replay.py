"""Change requests, sign-offs, delegation books and the project's new events replay exactly."""

from datetime import timedelta
from typing import Any
from uuid import uuid4

from eventsourcing.domain import Snapshot

from domain.change_request import ChangeRequest, CRDecision, Route
from domain.delegation import DelegationBook
from domain.gate_review import Vote
from domain.policy import Actor
from domain.project import Project
from domain.signoff import SignOff
from tests.domain.domain_given import (
    ADMIN,
    CHAIR,
    DUE,
    GATEKEEPER,
    PM,
    SPONSOR,
    T0,
    cr_decide,
    cr_vote,
    delegate,
    eur,
    new_book,
    new_project,
    new_signoff,
    submitted_cr,
)
from tests.domain.test_event_replay import assert_serialisable, replay

JOB = Actor("scheduler")


def cr_history() -> ChangeRequest:
    cr = submitted_cr(Route.BOARD)
    cr.assess("Feasible", by=ADMIN)
    cr_vote(cr, Vote.REJECT, GATEKEEPER)
    cr.amend("SSO v2", "With MFA", eur("20000"), 20, "SSO", "Lock-in", PM, Route.BOARD, DUE)
    cr_vote(cr, Vote.REJECT, GATEKEEPER)
    cr_vote(cr, Vote.APPROVE, GATEKEEPER, Actor("dora", on_behalf_of="sam"))
    cr.escalate("decision", DUE, by=JOB)
    cr_decide(cr, CRDecision.DEFER, CHAIR)
    cr_decide(cr, CRDecision.APPROVE, CHAIR)
    cr.mark_implemented(by=PM)
    return cr


def withdrawn_cr() -> ChangeRequest:
    cr = submitted_cr()
    cr.withdraw("Not needed", by=PM)
    return cr


def signoff_history() -> list[SignOff]:
    complete, declined, superseded = new_signoff(), new_signoff(), new_signoff()
    complete.escalate("signoff:stan", DUE, by=JOB)
    complete.sign("ok", by=SPONSOR)
    complete.sign("fine", by=Actor("stan"))
    declined.decline("No", by=SPONSOR)
    superseded.supersede(uuid4(), by=PM)
    return [complete, declined, superseded]


def book_history() -> DelegationBook:
    book = new_book("gail")
    revoked = delegate(book, "dora", portfolio_id=uuid4())
    delegate(book, "dan", project_id=uuid4())
    book.revoke(revoked, "Back", by=Actor("gail"))
    return book


def project_history() -> Project:
    project = new_project()
    project.apply_change(uuid4(), eur("5000"), 7, "CR-1 approved", by=SPONSOR)
    first, second = uuid4(), uuid4()
    project.record_signoff_requested(first, "Business case", "1.0", ("sam",), by=PM)
    project.record_signoff_superseded(first, by=PM)
    project.record_signoff_requested(second, "Business case", "1.1", ("sam",), by=PM)
    project.record_signoff_completed(second, by=PM)
    third = uuid4()
    project.record_signoff_requested(third, "Project plan", "1.0", ("sam",), by=PM)
    project.record_signoff_declined(third, by=PM)
    project.escalate("decision:G0", DUE, by=JOB)
    return project


def histories() -> list[Any]:
    return [
        cr_history(),
        withdrawn_cr(),
        *signoff_history(),
        book_history(),
        project_history(),
    ]


def test_replaying_each_new_aggregate_rebuilds_the_same_state() -> None:
    for aggregate in histories():
        events = aggregate.collect_events()
        rebuilt = replay(events)
        assert vars(rebuilt) == vars(aggregate), type(aggregate).__name__
        assert rebuilt.version == len(events)


def test_new_events_carry_only_immutable_values_and_who_acted() -> None:
    for aggregate in histories():
        for event in aggregate.collect_events():
            assert isinstance(event.by, Actor)
            for name, value in vars(event).items():
                assert_serialisable(value, f"{type(event).__name__}.{name}")


def test_new_aggregate_state_is_made_of_immutable_values() -> None:
    for aggregate in histories():
        for name, value in vars(aggregate).items():
            if name not in ("_pending_events",):
                assert_serialisable(value, f"{type(aggregate).__name__}.{name}")


def test_a_snapshot_from_before_the_change_fields_is_upcast() -> None:
    project = new_project()
    state = dict(Snapshot.take(project).state)
    state.pop("class_version")
    for name in ("original_budget", "approved_cost", "approved_schedule_days"):
        state.pop(name)
    for name in ("applied_changes", "signoffs", "escalations"):
        state.pop(name)
    old = Snapshot(
        originator_id=project.id,
        originator_version=project.version,
        timestamp=T0,
        topic=Snapshot.take(project).topic,
        state=state,
    )
    restored = old.mutate(None)
    assert isinstance(restored, Project)
    assert restored.original_budget == project.baseline.budget
    assert (restored.approved_cost, restored.signoffs) == (eur("0"), ())
    restored.apply_change(uuid4(), eur("1"), 1, "CR", by=SPONSOR)
    assert restored.approved_schedule_days == 1


def test_cr_events_are_named_in_the_past_tense() -> None:
    names = {
        type(e).__name__ for e in [*cr_history().collect_events(), *withdrawn_cr().collect_events()]
    }
    assert names == {
        "Created",
        "Submitted",
        "Assessed",
        "VoteCast",
        "VoteChanged",
        "Amended",
        "Escalated",
        "Decided",
        "Implemented",
        "Withdrawn",
    }


def test_sign_off_book_and_project_events_are_named_in_the_past_tense() -> None:
    signoff = {type(e).__name__ for s in signoff_history() for e in s.collect_events()}
    assert signoff == {"Requested", "Escalated", "Signed", "Declined", "Superseded"}
    book = {type(e).__name__ for e in book_history().collect_events()}
    assert book == {"Created", "Delegated", "Revoked"}
    project = {type(e).__name__ for e in project_history().collect_events()}
    assert project == {
        "Created",
        "ChangeApplied",
        "SignOffRequested",
        "SignOffSuperseded",
        "SignOffCompleted",
        "SignOffDeclined",
        "Escalated",
    }


def test_new_timestamps_come_from_the_events() -> None:
    book = book_history()
    assert book.delegations[0].revoked_at == book.collect_events()[-1].timestamp
    assert book.delegations[1].ends - book.delegations[1].starts == timedelta(days=14)

"""Deterministic samples of every stored event type and of a snapshot of every aggregate
type (fixed ids, a fixed ticking clock), and their stored form.

``stored_forms()`` is what the golden test compares with ``stored_forms.json``. After a
deliberate, reviewed change of stored names (never of a stored shape: see
docs/stored-names.md) rewrite the file with ``python -m tests.golden.samples``.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock
from uuid import UUID

from eventsourcing.domain import Aggregate, Snapshot

from domain.change_request import CRDecision, Route
from domain.gate_review import Decision, Evidence, Vote
from domain.policy import Actor, Baseline, Board, DecisionPolicy, Role, default_template
from domain.portfolio import Portfolio
from domain.stored_names import STORED_NAMES
from domain.template_series import TemplateSeries
from eventstore.mapper import new_mapper
from eventstore.names import TypeNames
from tests.domain import domain_given as g

GOLDEN = Path(__file__).with_name("stored_forms.json")
START = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


@contextmanager
def deterministic() -> Iterator[None]:
    """Ids 00000000-...-000000000001, 2, ... and a clock ticking one second per event."""
    ids = (UUID(int=n) for n in itertools.count(1))
    ticks = (START + timedelta(seconds=n) for n in itertools.count())
    with (
        mock.patch.object(g, "uuid4", lambda: next(ids)),
        mock.patch("eventsourcing.domain.datetime_now_with_tzinfo", lambda: next(ticks)),
    ):
        yield


def _portfolio() -> Portfolio:
    p = Portfolio.create(
        UUID(int=1000), "Digital", ("o",), g.eur("1000000"), g.BOARD, default_template(), g.ADMIN
    )
    p.change_board(Board(("cora", "gail", "gus", "fay"), "cora"), g.ADMIN, "Reorganised")
    p.assign_role("al", Role.AUDITOR, g.ADMIN)
    p.revoke_role("al", Role.AUDITOR, g.ADMIN)
    return p


def _project() -> Aggregate:
    project = g.new_project(portfolio_id=UUID(int=1000))
    g.request(project, "G0")
    project.cast_vote("G0", Vote.REJECT, "Not yet", by=g.GATEKEEPER, board=g.BOARD)
    g.approve(project, "G0", g.GATEKEEPER)  # changes the vote
    project.amend_evidence("G0", (*g.EVIDENCE, Evidence("Plan", "https://p", "x")), g.PM)
    g.approve(project, "G0", g.GATEKEEPER, g.GATEKEEPER_2)
    spec = g.condition()
    project.decide("G0", Decision.CONDITIONAL_GO, "Ok", g.CHAIR, g.BOARD, conditions=(spec,))
    project.close_condition(spec.id, "Done", g.PM)
    project.assign_role("olga", Role.STAKEHOLDER, g.ADMIN, "Owns the rollout")
    project.revoke_role("olga", Role.STAKEHOLDER, g.ADMIN, "Left the company")
    project.put_on_hold("Pause", g.ADMIN)
    project.resume("Go on", g.ADMIN)
    baseline = Baseline(g.eur("110000"), date(2025, 1, 1), date(2026, 1, 31), "More")
    project.rebaseline(baseline, "Replan", g.ADMIN)
    project.apply_change(UUID(int=2000), g.eur("500"), 3, "CR approved", g.SPONSOR)
    for n in (1, 2, 3, 4):
        project.record_signoff_requested(UUID(int=3000 + n), f"D{n}", "1", ("sam",), g.PM)
    project.record_signoff_completed(UUID(int=3001), g.SPONSOR)
    project.record_signoff_declined(UUID(int=3002), g.SPONSOR)
    project.record_signoff_superseded(UUID(int=3003), g.PM)
    project.escalate("vote:gus", date(2025, 3, 10), Actor("gateledger-scheduler"))
    project.cancel("Stopped", g.ADMIN)
    return project


def _change_requests() -> list[Aggregate]:
    cr = g.new_cr()
    cr.amend("Add SSO", "Why", g.eur("6000"), 8, "SSO", "Lock-in", g.PM)
    cr.submit(Route.BOARD, g.DUE, by=g.PM)
    cr.assess("Fine", g.OUTSIDER)
    g.cr_vote(cr, Vote.REJECT, g.GATEKEEPER)
    g.cr_vote(cr, Vote.APPROVE, g.GATEKEEPER, g.GATEKEEPER_2, g.SPONSOR)
    g.cr_decide(cr, CRDecision.APPROVE, g.CHAIR)
    cr.mark_implemented(g.PM)
    withdrawn = g.submitted_cr()
    withdrawn.escalate("decision:sam", g.DUE, Actor("gateledger-scheduler"))
    withdrawn.withdraw("Not needed", g.PM)
    return [cr, withdrawn]


def _signoffs() -> list[Aggregate]:
    signed, declined, superseded = g.new_signoff(), g.new_signoff(), g.new_signoff()
    signed.sign("Ok", g.SPONSOR)
    declined.decline("No", g.SPONSOR)
    superseded.escalate("signature:sam", g.DUE, Actor("gateledger-scheduler"))
    superseded.supersede(UUID(int=4000), g.PM)
    return [signed, declined, superseded]


def _book() -> Aggregate:
    book = g.new_book()
    g.delegate(book, "gus")
    book.revoke(next(iter(book.delegations)).id, "Back", Actor("gail"))
    return book


def _envelope() -> Portfolio:
    """Added after the others, so their samples (ids, clock ticks) stay as they were."""
    p = Portfolio.create(
        UUID(int=1001), "Data", ("o",), g.eur("500000"), g.BOARD, default_template(), g.ADMIN
    )
    p.change_envelope(g.eur("650000"), "Second wave approved", g.ADMIN)
    return p


def _escalations_to() -> list[Aggregate]:
    """Added last (as ``_envelope``): escalations that name their recipient."""
    scheduler = Actor("gateledger-scheduler")
    project = g.new_project(portfolio_id=UUID(int=1000))
    project.escalate("vote:gus", date(2025, 3, 10), scheduler, to="cora")
    cr = g.submitted_cr()
    cr.escalate("decision:sam", g.DUE, scheduler, to="cora")
    signoff = g.new_signoff()
    signoff.escalate("signature:sam", g.DUE, scheduler, to="cora")
    return [project, cr, signoff]


def _templates() -> list[Aggregate]:
    """Added last (as ``_escalations_to``): the template library, a portfolio's switch
    of template and a project's migration."""
    series = TemplateSeries.create("Lean", default_template(), "Our usual gates", g.ADMIN)
    lighter = replace(default_template(), change_policy=DecisionPolicy(quorum=1))
    series.publish(lighter, "Lighter change decisions", g.ADMIN)
    portfolio = Portfolio.create(
        UUID(int=1002), "Ops", ("o",), g.eur("400000"), g.BOARD, series.versions[0], g.ADMIN
    )
    portfolio.change_template(series.latest, "Lean v2 for new projects", g.ADMIN)
    project = g.new_project(portfolio_id=UUID(int=1002), template=series.versions[0])
    project.migrate_template(series.latest, "Lean v2 for all", g.ADMIN, g.BOARD)
    return [series, portfolio, project]


def stored_forms() -> dict[str, dict[str, str]]:
    """Stored name -> {"topic", "state"} of the first sample of each event type, and
    ``Snapshot:<aggregate>`` of one snapshot per aggregate type."""
    mapper = new_mapper(TypeNames(STORED_NAMES))
    forms: dict[str, dict[str, str]] = {}
    with deterministic():
        aggregates = [_portfolio(), _project(), *_change_requests(), *_signoffs(), _book()]
        events: list[object] = [e for a in aggregates for e in a.collect_events()]
        events += [Snapshot.take(a) for a in aggregates]
        events += _envelope().collect_events()  # after, so earlier samples stay as they were
        events += [e for a in _escalations_to() for e in a.collect_events()]
        templates = _templates()
        events += [e for a in templates for e in a.collect_events()]
        events += [Snapshot.take(templates[0])]
    for event in events:
        stored = mapper.to_stored_event(event)
        key = stored.topic
        if key == "Snapshot":
            key = f"Snapshot:{json.loads(stored.state)['topic']}"
        forms.setdefault(key, {"topic": stored.topic, "state": stored.state.decode()})
    return forms


def load_golden() -> dict[str, Any]:
    return json.loads(GOLDEN.read_text())


if __name__ == "__main__":
    GOLDEN.write_text(json.dumps(stored_forms(), indent=1, sort_keys=True) + "\n")

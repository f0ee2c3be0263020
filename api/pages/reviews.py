"""The gate review page: the evidence, the votes so far (with rationales, and who voted
for whom), the reader's vote form and, for the chair, the decision form.

The page reads the project and its portfolio from the log itself (the review's evidence
and rationales are not in the read models), and what the reader owes here from the inbox
read model, the same rule the inbox follows: a vote form when they owe a vote (as
themselves or for someone they stand in for), a decision form when they owe the
decision. The forms post to page routes that call the same workflows, with the same
request schemas, as the API's gate routes (``api.controllers.gates``); a refusal is
shown next to the form with the API's problem message and status, the form as it was
sent.
"""

from __future__ import annotations

import uuid
from typing import Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, get, post
from litestar.params import Parameter
from litestar.response import Redirect, Template

from api.auth import Principal
from api.commands import Command
from api.controllers.gates import cast_vote, decide_gate
from api.errors import ProblemError
from api.pages.render import form_problem, render
from api.reads import utc_now
from api.schemas import CastVote, DecideGate
from domain.errors import DomainError
from domain.portfolio import Portfolio
from domain.project import Project
from eventstore.database import Store
from eventstore.errors import UNSTORABLE_TEXT
from eventstore.loader import load_aggregate
from projections.inbox import queries as inbox
from projections.projects.decisions import review_view
from workflows.errors import UnknownAggregate, WorkflowError
from workflows.uow import CommandOptions

CONDITION_ROWS = 3  # blank condition rows the decision form offers (the script adds more)
OUTCOMES = (
    ("GO", "Go: the project passes the gate"),
    ("CONDITIONAL_GO", "Conditional go: it passes, with conditions to meet by a date"),
    ("HOLD", "Hold: the project pauses"),
    ("RECYCLE", "Recycle: rework and come back to this gate"),
    ("KILL", "Kill: the project stops"),
)
Done = Parameter(default="", max_length=20, description="what was just done")
# What a refused form answers: the API's problem, next to the form.
REFUSALS: tuple[type[Exception], ...] = (
    DomainError,
    WorkflowError,
    ProblemError,
    msgspec.ValidationError,
    *UNSTORABLE_TEXT,
)


async def _owed_here(store: Store, person: str, project_id: UUID) -> dict[str, list[str | None]]:
    """What ``person`` owes on this project's review, by kind: for whom (None: themselves)."""
    now = utc_now()
    items = await inbox.inbox_for(store.pool, store.names, person, now.date(), now)
    owed: dict[str, list[str | None]] = {"vote": [], "decision": []}
    for item in items:
        if item["project_id"] == str(project_id) and item["kind"] in owed:
            owed[item["kind"]].append(item["on_behalf_of"])
    return owed


async def review_page(
    request: Request,
    store: Store,
    principal: Principal,
    project_id: UUID,
    *,
    status: int = 200,
    refusal: dict[str, Any] | None = None,
    refused_form: str = "",
    sent: dict[str, Any] | None = None,
    done: str = "",
) -> Template:
    project = await load_aggregate(store, project_id)
    if not isinstance(project, Project):  # the guard checked it is one; set aside?
        raise UnknownAggregate(f"project {project_id} not found")
    portfolio = await load_aggregate(store, project.portfolio_id)
    board = portfolio.board if isinstance(portfolio, Portfolio) else None
    review = review_view(project.review) if project.review is not None else None
    gate_title = project.template.gate(project.review.gate).title if project.review else ""
    owed = await _owed_here(store, principal.sub, project_id) if review else {}
    mine = {v["voter"]: v for v in review["votes"]} if review else {}
    return render(
        request,
        "review.html",
        title=f"{project.name}: {review['gate']} review" if review else project.name,
        status=status,
        project=project,
        project_id=project_id,
        portfolio=portfolio,
        board=board,
        review=review,
        gate_title=gate_title,
        overdue=bool(review and review["due"] < utc_now().date()),
        voted=mine.get(principal.sub),
        owed_votes=owed.get("vote", []),
        owed_decisions=owed.get("decision", []),
        outcomes=OUTCOMES,
        decisions=list(reversed(project.decisions)),
        conditions=project.conditions,
        seen_position=await store.events.max_notification_id() or 0,
        refusal=refusal,
        refused_form=refused_form,
        sent=sent or {},
        condition_rows=max(CONDITION_ROWS, len((sent or {}).get("conditions", []))),
        done=done,
    )


def _command(request: Request, principal: Principal) -> Command:
    """What an API command handler takes from its request (``api.commands``): the
    caller, options (a form has no If-Match or Idempotency-Key) and a correlation id."""
    correlation = request.headers.get("x-request-id") or str(uuid.uuid4())
    return Command(principal, CommandOptions(principal=principal.sub), correlation[:100])


def _text(form: Any, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


_CONDITION_FIELDS = ("condition_description", "condition_owner", "condition_due")


def _conditions(form: Any) -> list[dict[str, str]]:
    """The condition rows sent, the blank ones left out (as shown again on a refusal;
    ``_whole_conditions`` refuses rows that are not whole)."""
    columns = [
        [v if isinstance(v, str) else "" for v in form.getall(f, [])] for f in _CONDITION_FIELDS
    ]
    return [
        {"description": d.strip(), "owner": o.strip(), "due": due.strip()}
        for d, o, due in zip(*columns, strict=False)
        if (d + o + due).strip()
    ]


def _whole_conditions(form: Any) -> None:
    """422 unless every condition row has its description, owner and due date as text
    (the page's form always sends all three: a row cut short is never dropped silently)."""
    columns = [form.getall(f, []) for f in _CONDITION_FIELDS]
    if len({len(c) for c in columns}) > 1 or not all(
        isinstance(v, str) for c in columns for v in c
    ):
        raise ProblemError(
            422,
            "the conditions sent are not whole rows: each needs its description, owner and "
            "due date as text",
            slug="validation",
        )


def _position(text: str) -> int | str | None:
    """A position typed in a form: a number, or as sent (the schema refuses it), or None."""
    if text.isascii() and text.removeprefix("-").isdigit():
        return int(text)
    return text or None


def _gate(form: Any) -> str:
    gate = _text(form, "gate")
    if not 0 < len(gate) <= 50:
        raise ProblemError(422, "the form does not name the gate under review", slug="validation")
    return gate


class ReviewPages(Controller):
    path = "/projects/{project_id:uuid}/review"
    include_in_schema = False

    @get("/", operation_id="pageGateReview")
    async def show(
        self,
        request: Request,
        project_id: UUID,
        principal: Principal,
        store: Store,
        done: str = Done,
    ) -> Template:
        return await review_page(request, store, principal, project_id, done=done)

    @post("/vote", operation_id="pageCastGateVote", status_code=303)
    async def vote(
        self, request: Request, project_id: UUID, principal: Principal, store: Store
    ) -> Redirect | Template:
        """As ``castGateVote``: the same schema (``CastVote``), the same workflow."""
        form = await request.form()
        sent = {
            "vote": _text(form, "vote") or None,
            "rationale": _text(form, "rationale"),
            "on_behalf_of": _text(form, "on_behalf_of") or None,
        }
        try:
            data = msgspec.convert(sent, CastVote)
            await cast_vote(store, project_id, _gate(form), data, _command(request, principal))
        except REFUSALS as exc:
            return await _refused(request, store, principal, project_id, exc, "vote", sent)
        return Redirect(f"/projects/{project_id}/review?done=vote", status_code=303)

    @post("/decide", operation_id="pageDecideGate", status_code=303)
    async def decide(
        self, request: Request, project_id: UUID, principal: Principal, store: Store
    ) -> Redirect | Template:
        """As ``decideGate``: the same schema (``DecideGate``), the same workflow."""
        form = await request.form()
        seen = _text(form, "seen_position")
        sent: dict[str, Any] = {
            "decision": _text(form, "decision") or None,
            "rationale": _text(form, "rationale"),
            "conditions": _conditions(form),
            "seen_position": _position(seen.strip()),
            "on_behalf_of": _text(form, "on_behalf_of") or None,
        }
        try:
            _whole_conditions(form)
            data = msgspec.convert(sent, DecideGate)
            await decide_gate(store, project_id, _gate(form), data, _command(request, principal))
        except REFUSALS as exc:
            return await _refused(request, store, principal, project_id, exc, "decide", sent)
        return Redirect(f"/projects/{project_id}/review?done=decision", status_code=303)


async def _refused(
    request: Request,
    store: Store,
    principal: Principal,
    project_id: UUID,
    exc: Exception,
    which: str,
    sent: dict[str, Any],
) -> Template:
    """The page again, the API's problem next to the form that was refused."""
    problem = form_problem(request, exc)
    return await review_page(
        request,
        store,
        principal,
        project_id,
        status=int(problem["status"]),
        refusal=problem,
        refused_form=which,
        sent=sent,
    )

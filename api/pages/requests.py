"""The change request and sign-off pages (issue 13), with their forms.

*Change request*: its impact (cost and schedule), the project's tolerance as a bar (used
by approved changes, what this request would take, what is left: the project read
model's ``tolerances``, ``approved_changes`` and ``tolerance_left``, counted as
``domain.change_rules`` counts them), the votes, the decisions; the vote and decision
forms when the reader owes them (the inbox read model's rule, as the review page).

*Sign-off*: the deliverable, its version and content hash, who signed (with comments),
who declined; the sign and decline forms for a signatory who has not answered.

The forms post to page routes that call the same workflows with the same request schemas
as the API's routes (``api.controllers.change_requests``, ``api.controllers.signoffs``);
a refusal is the page again with the API's problem next to the form.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, get, post
from litestar.response import Redirect, Template

from api.auth import Principal
from api.commands import Command
from api.controllers.change_requests import decide_on, vote_on
from api.pages.render import form_problem, render
from api.pages.reviews import REFUSALS, Done, _command, _text
from api.reads import MinPosition, ensure_position, missing, utc_now
from api.schemas import CastVote, DecideChangeRequest, SignOffAnswer
from eventstore.database import Store
from projections.inbox import queries as inbox
from projections.projects import queries as project_list
from projections.requests.queries import subject
from workflows import signoffs
from workflows.uow import CommandResult

CR_DECISIONS = (
    ("approve", "Approve: re-baseline the project"),
    ("reject", "Reject"),
    ("defer", "Defer: decide later"),
)


async def owed_on(store: Store, person: str, subject_id: UUID) -> dict[str, list[str | None]]:
    """What ``person`` owes on this change request or sign-off, by inbox kind: for whom
    (None: themselves)."""
    now = utc_now()
    owed: dict[str, list[str | None]] = {}
    for item in await inbox.inbox_for(store.pool, store.names, person, now.date(), now):
        if item["subject_id"] == str(subject_id):
            owed.setdefault(item["kind"], []).append(item["on_behalf_of"])
    return owed


def _pct(part: Decimal, whole: Decimal) -> float:
    if whole <= 0:
        return 100.0 if part > 0 else 0.0
    return float(max(Decimal(0), min(Decimal(100), part * 100 / whole)))


def tolerance_bar(project: dict[str, Any], cr: dict[str, Any]) -> dict[str, Any]:
    """The project's cost and schedule tolerance: its size, what approved changes used,
    what this request asks (if not yet decided) and what is left, as widths in percent."""
    try:
        original = Decimal(project["original_budget"]["amount"])
        total = original * Decimal(project["tolerances"]["cost_pct"]) / 100
        left = Decimal(project["tolerance_left"]["cost"]["amount"])
        asked = Decimal(cr["cost_delta"]["amount"])
    except (InvalidOperation, KeyError, TypeError):
        return {}
    used = max(Decimal(0), total - left)
    pending = cr["status"] in ("draft", "submitted", "assessed", "deferred")
    ask = max(Decimal(0), asked) if pending else Decimal(0)
    days_total = int(project["tolerances"]["schedule_days"])
    days_left = int(project["tolerance_left"]["schedule_days"])
    days_used = max(0, days_total - days_left)
    days_ask = max(0, int(cr["schedule_delta_days"])) if pending else 0
    currency = project["original_budget"]["currency"]
    return {
        "currency": currency,
        "total": total,
        "used": used,
        "left": left,
        "ask": ask,
        "over": pending and (ask > left or days_ask > days_left),
        "used_pct": _pct(used, total),
        "ask_pct": min(_pct(ask, total), 100 - _pct(used, total)),
        "days_total": days_total,
        "days_used": days_used,
        "days_left": days_left,
        "days_ask": days_ask,
        "days_used_pct": _pct(Decimal(days_used), Decimal(days_total)),
        "days_ask_pct": min(
            _pct(Decimal(days_ask), Decimal(days_total)),
            100 - _pct(Decimal(days_used), Decimal(days_total)),
        ),
    }


async def change_request_page(
    request: Request,
    store: Store,
    principal: Principal,
    cr_id: UUID,
    *,
    status: int = 200,
    refusal: dict[str, Any] | None = None,
    refused_form: str = "",
    sent: dict[str, Any] | None = None,
    done: str = "",
) -> Template:
    cr = await subject(store.pool, store.names, cr_id, "change_request")
    if cr is None:
        raise await missing(store, "change request", cr_id)
    project = await project_list.project_detail(store.pool, store.names, UUID(cr["project_id"]))
    owed = await owed_on(store, principal.sub, cr_id)
    return render(
        request,
        "change_request.html",
        title=f"Change request: {cr['title']}",
        status=status,
        cr=cr,
        project=project,
        bar=tolerance_bar(project, cr) if project else {},
        owed_votes=owed.get("cr_vote", []),
        owed_decisions=owed.get("cr_decision", []),
        voted=cr["votes"].get(principal.sub),
        decisions=CR_DECISIONS,
        refusal=refusal,
        refused_form=refused_form,
        sent=sent or {},
        done=done,
    )


async def signoff_page(
    request: Request,
    store: Store,
    principal: Principal,
    signoff_id: UUID,
    *,
    status: int = 200,
    refusal: dict[str, Any] | None = None,
    sent: dict[str, Any] | None = None,
    done: str = "",
) -> Template:
    found = await subject(store.pool, store.names, signoff_id, "signoff")
    if found is None:
        raise await missing(store, "sign-off request", signoff_id)
    project = await project_list.project_detail(store.pool, store.names, UUID(found["project_id"]))
    answered = {s["person"] for s in found["signed"]}
    if found.get("declined_by"):
        answered.add(found["declined_by"]["person"])
    may_answer = (
        found["status"] == "open"
        and principal.sub in found["signatories"]
        and principal.sub not in answered
    )
    return render(
        request,
        "signoff.html",
        title=f"Sign-off: {found['deliverable']} v{found['deliverable_version']}",
        status=status,
        s=found,
        project=project,
        waiting=[p for p in found["signatories"] if p not in answered],
        may_answer=may_answer or bool(refusal),
        refusal=refusal,
        sent=sent or {},
        done=done,
    )


def _after(path: str, position: int) -> Redirect:
    """Back to the page, which waits until the read models hold what was just written
    (``min_position``, as an API read after a command)."""
    return Redirect(f"{path}&min_position={position}", status_code=303)


class ChangeRequestPages(Controller):
    path = "/change-requests/{change_request_id:uuid}"
    include_in_schema = False

    @get("/", operation_id="pageChangeRequest")
    async def show(
        self,
        request: Request,
        change_request_id: UUID,
        principal: Principal,
        store: Store,
        done: str = Done,
        min_position: int = MinPosition,
    ) -> Template:
        await ensure_position(store, request.app.state.settings, min_position)
        return await change_request_page(request, store, principal, change_request_id, done=done)

    async def _answer(
        self,
        request: Request,
        change_request_id: UUID,
        principal: Principal,
        store: Store,
        refused_form: str,
        fields: tuple[str, str],
        act: Callable[[dict[str, Any], Command], Awaitable[CommandResult]],
    ) -> Redirect | Template:
        """One form: ``fields`` (what is chosen, the rationale) and ``on_behalf_of`` sent
        to ``act`` (the API's schema and workflow); a refusal shows the page again with
        the API's message next to the form, and what was typed."""
        form = await request.form()
        choice, rationale = fields
        sent = {
            choice: _text(form, choice) or None,
            rationale: _text(form, rationale),
            "on_behalf_of": _text(form, "on_behalf_of") or None,
        }
        try:
            result = await act(sent, _command(request, principal))
        except REFUSALS as exc:
            problem = form_problem(request, exc)
            return await change_request_page(
                request,
                store,
                principal,
                change_request_id,
                status=int(problem["status"]),
                refusal=problem,
                refused_form=refused_form,
                sent=sent,
            )
        done = "vote" if refused_form == "vote" else "decision"
        return _after(f"/change-requests/{change_request_id}?done={done}", result.position)

    @post("/vote", operation_id="pageVoteChangeRequest", status_code=303)
    async def vote(
        self, request: Request, change_request_id: UUID, principal: Principal, store: Store
    ) -> Redirect | Template:
        """As ``voteChangeRequest``: the same schema (``CastVote``), the same workflow."""

        async def act(sent: dict[str, Any], command: Command) -> CommandResult:
            return await vote_on(store, change_request_id, msgspec.convert(sent, CastVote), command)

        fields = ("vote", "rationale")
        return await self._answer(request, change_request_id, principal, store, "vote", fields, act)

    @post("/decide", operation_id="pageDecideChangeRequest", status_code=303)
    async def decide(
        self, request: Request, change_request_id: UUID, principal: Principal, store: Store
    ) -> Redirect | Template:
        """As ``decideChangeRequest``: the same schema, the same workflow."""

        async def act(sent: dict[str, Any], command: Command) -> CommandResult:
            data = msgspec.convert(sent, DecideChangeRequest)
            return await decide_on(store, change_request_id, data, command)

        fields = ("decision", "rationale")
        return await self._answer(
            request, change_request_id, principal, store, "decide", fields, act
        )


class SignOffPages(Controller):
    path = "/signoffs/{signoff_id:uuid}"
    include_in_schema = False

    @get("/", operation_id="pageSignOff")
    async def show(
        self,
        request: Request,
        signoff_id: UUID,
        principal: Principal,
        store: Store,
        done: str = Done,
        min_position: int = MinPosition,
    ) -> Template:
        await ensure_position(store, request.app.state.settings, min_position)
        return await signoff_page(request, store, principal, signoff_id, done=done)

    async def _answer(
        self, request: Request, signoff_id: UUID, principal: Principal, store: Store, how: str
    ) -> Redirect | Template:
        form = await request.form()
        sent = {"comment": _text(form, "comment")}
        try:
            data = msgspec.convert(sent, SignOffAnswer)
            command = _command(request, principal)
            act = signoffs.sign_signoff if how == "signed" else signoffs.decline_signoff
            result = await act(
                store,
                signoff_id=signoff_id,
                comment=data.comment,
                by=command.by(),
                options=command.options,
            )
        except REFUSALS as exc:
            problem = form_problem(request, exc)
            return await signoff_page(
                request,
                store,
                principal,
                signoff_id,
                status=int(problem["status"]),
                refusal=problem,
                sent=sent,
            )
        return _after(f"/signoffs/{signoff_id}?done={how}", result.position)

    @post("/sign", operation_id="pageSignSignOff", status_code=303)
    async def sign(
        self, request: Request, signoff_id: UUID, principal: Principal, store: Store
    ) -> Redirect | Template:
        """As ``signSignOff``: the same schema (``SignOffAnswer``), the same workflow."""
        return await self._answer(request, signoff_id, principal, store, "signed")

    @post("/decline", operation_id="pageDeclineSignOff", status_code=303)
    async def decline(
        self, request: Request, signoff_id: UUID, principal: Principal, store: Store
    ) -> Redirect | Template:
        """As ``declineSignOff``: the same schema, the same workflow."""
        return await self._answer(request, signoff_id, principal, store, "declined")

"""The project page and the decision record (issue 13).

*Project*: the project now or as it stood at a position or time (``?as_of=``, the API's
own parameter and read, ``project_detail_as_of``), its timeline in plain words (the audit
read model's line for each event of the project, its change requests and sign-offs, a
page at a time), each event a link to the state just after it, and each gate decision a
link to its record.

*Decision record*: one gate decision as board minutes, from ``decision_context`` (the
same read as ``GET /projects/{id}/gates/{gate}/decisions/{n}``): what was decided, by
whom and for whom, on which evidence (with hashes) and votes (with rationales), with its
conditions; printable (``print.css`` drops the page's controls).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from litestar import Controller, Request, get
from litestar.params import Parameter
from litestar.response import Template

from api.errors import ProblemError
from api.pages.render import render
from api.reads import MinPosition, as_of_point, ensure_position, missing, parse_cursor
from eventstore.database import Store
from projections.audit import model as audit_trail
from projections.audit.model import AuditFilter
from projections.projects import queries as project_list
from projections.projects.decisions import decision_context
from projections.requests.queries import subjects_of_project
from workflows.errors import UnknownAggregate

TIMELINE_PAGE = 50  # events per page of the timeline (render time and bytes: bench/pages.py)
LISTED = 100  # change requests and sign-offs listed on the page

AsOf = Parameter(default="", max_length=40, description="event position or RFC 3339 time")
At = Parameter(default="", max_length=40, description="a date and time, in UTC, from a picker")
After = Parameter(default="", max_length=18, description="the timeline's page after this")

PAGE_OF = {"ChangeRequest": "/change-requests/{}", "SignOff": "/signoffs/{}"}


def decision_numbers(decisions: list[dict[str, Any]]) -> dict[int, tuple[str, int]]:
    """Each decision's position -> (gate, n): its place among the decisions on its gate,
    as ``decision_context`` and ``getGateDecision`` count them (from 1)."""
    counts: dict[str, int] = {}
    out: dict[int, tuple[str, int]] = {}
    for d in decisions:
        counts[d["gate"]] = counts.get(d["gate"], 0) + 1
        if d.get("position") is not None:
            out[int(d["position"])] = (d["gate"], counts[d["gate"]])
    return out


def _point(as_of: str, at: str) -> str:
    """The ``as_of`` to read at: the position or RFC 3339 time given, or a picker's
    date and time (``YYYY-MM-DDTHH:MM``, in UTC as the form says)."""
    if as_of.strip():
        return as_of.strip()
    if not at.strip():
        return ""
    try:
        moment = datetime.fromisoformat(at.strip())
    except ValueError:
        raise ProblemError(
            422, "the date and time must be YYYY-MM-DDTHH:MM", slug="validation"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class ProjectPages(Controller):
    path = "/projects/{project_id:uuid}"
    include_in_schema = False

    @get("/", operation_id="pageProject")
    async def show(
        self,
        request: Request,
        project_id: UUID,
        store: Store,
        as_of: str = AsOf,
        at: str = At,
        after: str = After,
        min_position: int = MinPosition,
    ) -> Template:
        """``min_position``: wait until the read models hold that event (a form's return,
        or the live update asking for the event it was told of)."""
        await ensure_position(store, request.app.state.settings, min_position)
        point = _point(as_of, at)
        now = await project_list.project_detail(store.pool, store.names, project_id)
        if now is None:
            raise await missing(store, "project", project_id)
        shown = now
        if point:
            position, moment = await as_of_point(store, point)
            then = await project_list.project_detail_as_of(
                store, project_id, position=position, at=moment
            )
            if then is None:
                raise UnknownAggregate(f"project {project_id} did not exist at {point}")
            shown = then
        cursor = parse_cursor(after)
        events, more = await audit_trail.query(
            store.pool,
            store.names,
            AuditFilter(project_id=project_id, after=cursor),
            TIMELINE_PAGE,
        )
        numbers = decision_numbers(now["decisions"])
        for e in events:
            e["decision"] = numbers.get(e["position"])
            template = PAGE_OF.get(e["aggregate_type"])
            e["href"] = template.format(e["aggregate_id"]) if template else None
        crs, _ = await subjects_of_project(
            store.pool, store.names, project_id, "change_request", limit=LISTED
        )
        signoffs, _ = await subjects_of_project(
            store.pool, store.names, project_id, "signoff", limit=LISTED
        )
        decisions = [
            {**d, "n": numbers.get(int(d["position"]), (d["gate"], 0))[1]}
            for d in now["decisions"]
            if d.get("position") is not None
        ]
        return render(
            request,
            "project.html",
            title=now["name"] + (f" as of {shown['as_of_position']}" if point else ""),
            project_id=project_id,
            project=shown,
            current=now,
            point=point,
            at=at,
            events=events,
            after=cursor,
            next_after=more,
            decisions=list(reversed(decisions)),
            change_requests=crs,
            signoffs=signoffs,
            head=await store.events.max_notification_id() or 0,
        )

    @get("/decisions/{gate:str}/{n:int}", operation_id="pageDecisionRecord")
    async def decision(
        self, request: Request, project_id: UUID, gate: str, n: int, store: Store
    ) -> Template:
        """As ``getGateDecision``: the same bounds, the same read (but the portfolio's
        totals at the time, which would cost seconds on a large log)."""
        absent = UnknownAggregate(f"no decision {n} on gate {gate!r} of project {project_id}")
        if not 1 <= n <= 10_000 or len(gate) > 50:
            raise absent
        # without the portfolio's totals then: seconds at 1M events (bench/pages.py)
        found = await decision_context(store, project_id, gate, n, portfolio=False)
        if found is None:
            raise absent
        return render(
            request,
            "decision.html",
            title=f"{found['project']['name']}: {gate} decision {n}",
            project_id=project_id,
            record=found,
        )

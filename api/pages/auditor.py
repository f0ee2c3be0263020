"""The auditor's page (issue 13): the audit trail with the audit API's filters as a GET
form, export links, the chain's signed checkpoints and, on request, a verification of
the hash chain.

Every read is the API's own: ``projections.audit.model.query`` with the filter the API
builds (``api.controllers.audit._filter``: the same checks, the same 422s), the same
export streams (``export_lines``, and the whole log with its hashes for the standalone
verifier), ``list_checkpoints``, ``find_start`` and ``verify_chain`` as
``GET /audit/verify``. The exports are page routes because a browser signed in by a
session cookie sends no bearer token to the API; they answer the same bytes. A
verification reads the whole chain from where it starts, so it runs only when asked
(from the latest checkpoint by default).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import urlencode
from uuid import UUID

from litestar import Controller, Request, get
from litestar.params import Parameter, QueryParameter
from litestar.response import Stream, Template

from api.controllers.audit import _filter, _ledger
from api.errors import ProblemError
from api.pages.render import PAGE_HEADERS, render
from api.pages.sessions import page_session_of
from eventstore.checkpoints import find_start, list_checkpoints, log_id
from eventstore.database import Store
from eventstore.verify import verify_chain
from projections.audit import model as audit_trail
from projections.audit.export import export_lines

SHOWN = 50  # rows per page of the trail (render time and bytes: bench/pages.py)
CHECKPOINTS_SHOWN = 10

Text = Parameter(default="", max_length=100)
Moment = Parameter(default="", max_length=40)
Cursor = Parameter(default="", max_length=18, description="the page after this position")
Verify = Parameter(default="", max_length=20, description="0, latest or a checkpoint's position")
FILTERS = ("project_id", "portfolio_id", "actor", "on_behalf_of", "type", "from", "to")


def _uuid(value: str, what: str) -> UUID | None:
    if not value.strip():
        return None
    try:
        return UUID(value.strip())
    except ValueError:
        raise ProblemError(422, f"{what} must be an id (a UUID)", slug="validation") from None


def _moment(value: str) -> str | None:
    """A filter's time: RFC 3339 as the API takes it, or a picker's ``YYYY-MM-DDTHH:MM``
    read as UTC."""
    value = value.strip()
    if not value:
        return None
    if len(value) == 16 and value[10] == "T":  # datetime-local, no seconds, no zone
        return value + ":00Z"
    return value


def _or_none(value: str) -> str | None:
    return value.strip() or None


def audit_filter(q: dict[str, str], after: str = "") -> Any:
    """The API's own filter (``_filter``) from the form's fields (blank ones unset)."""
    return _filter(
        _uuid(q["project_id"], "project_id"),
        _or_none(q["actor"]),
        _or_none(q["type"]),
        _moment(q["from"]),
        _moment(q["to"]),
        after or None,
        _uuid(q["portfolio_id"], "portfolio_id"),
        _or_none(q["on_behalf_of"]),
    )


class AuditorPages(Controller):
    path = "/auditor"
    include_in_schema = False

    @get("/", operation_id="pageAuditor")
    async def show(
        self,
        request: Request,
        store: Store,
        project_id: str = Text,
        portfolio_id: str = Text,
        actor: str = Text,
        on_behalf_of: str = Text,
        type_: Annotated[str, QueryParameter(name="type", max_length=100)] = "",
        start: Annotated[str, QueryParameter(name="from", max_length=40)] = "",
        end: Annotated[str, QueryParameter(name="to", max_length=40)] = "",
        after: str = Cursor,
        verify: str = Verify,
    ) -> Template:
        q = {
            "project_id": project_id,
            "portfolio_id": portfolio_id,
            "actor": actor,
            "on_behalf_of": on_behalf_of,
            "type": type_,
            "from": start,
            "to": end,
        }
        rows, cursor = await audit_trail.query(
            store.pool, store.names, audit_filter(q, after), SHOWN
        )
        checkpoints = await list_checkpoints(store.pool, store.names)
        lid = await log_id(store.pool, store.names)
        report = None
        if verify:
            try:
                begin = find_start(checkpoints, verify)
            except ValueError as exc:
                raise ProblemError(422, str(exc), slug="validation") from None
            key = request.app.state.checkpoint_key
            found = await verify_chain(
                store.pool, store.names, public_key=key.private.public_key(), start=begin
            )
            report = found.to_json()
        set_filters = {k: v for k, v in q.items() if v.strip()}
        return render(
            request,
            "auditor.html",
            title="Audit trail",
            q=q,
            rows=rows,
            after=after,
            next_query=urlencode({**set_filters, "after": cursor}) if cursor else None,
            export_query=urlencode(set_filters),
            checkpoints=[cp.to_json(lid) for cp in reversed(checkpoints[-CHECKPOINTS_SHOWN:])],
            checkpoint_count=len(checkpoints),
            log_id=lid,
            report=report,
            verify=verify,
            may_export=_is_auditor(request),
            head=await store.events.max_notification_id() or 0,
        )

    @get("/export", operation_id="pageAuditExport")
    async def export(
        self,
        request: Request,
        store: Store,
        format: Literal["ndjson", "csv", "ledger"] = "ndjson",
        project_id: str = Text,
        portfolio_id: str = Text,
        actor: str = Text,
        on_behalf_of: str = Text,
        type_: Annotated[str, QueryParameter(name="type", max_length=100)] = "",
        start: Annotated[str, QueryParameter(name="from", max_length=40)] = "",
        end: Annotated[str, QueryParameter(name="to", max_length=40)] = "",
    ) -> Stream:
        """As ``exportAudit``: the same streams, the same refusals."""
        q = {
            "project_id": project_id,
            "portfolio_id": portfolio_id,
            "actor": actor,
            "on_behalf_of": on_behalf_of,
            "type": type_,
            "from": start,
            "to": end,
        }
        if format == "ledger":
            return _ledger(store, *(v.strip() or None for v in q.values()))
        f = audit_filter(q)
        media = "text/csv" if format == "csv" else "application/x-ndjson"
        headers = {
            **PAGE_HEADERS,
            "Content-Disposition": f'attachment; filename="audit.{format}"',
        }
        return Stream(
            export_lines(store.pool, store.names, f, format), media_type=media, headers=headers
        )


def _is_auditor(request: Request) -> bool:
    """The exports are the auditor's (``exportAudit``); a pmo_admin reads the trail only."""
    session = page_session_of(request)
    return bool(session and session.principal.has("auditor"))

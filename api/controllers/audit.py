"""The audit trail: filtered pages and a streamed export (NDJSON or CSV)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from litestar import Controller, Request, get
from litestar.params import Parameter, QueryParameter
from litestar.response import Stream

from api.answers import AuditPage, paged
from api.auth import Principal, require_role
from api.errors import ProblemError
from api.reads import Cursor, MinPosition, ensure_position, parse_cursor
from eventstore.database import Store
from eventstore.ledger import export_ledger
from projections.audit import model as audit_trail
from projections.audit.export import export_lines
from projections.audit.model import AuditFilter


def _time(value: str | None, what: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        # An offset may push a time past the calendar (year 1 or 9999 in UTC): 422.
        parsed = parsed.astimezone(UTC) if parsed.tzinfo is not None else parsed
    except (ValueError, OverflowError):
        raise ProblemError(422, f"{what} must be an RFC 3339 time", slug="validation") from None
    if parsed.tzinfo is None:
        raise ProblemError(422, f"{what} needs a timezone (e.g. Z)", slug="validation")
    return parsed


def _text(value: str | None, what: str) -> str | None:
    """A text filter PostgreSQL can compare: no NUL. Checked before an export streams,
    since an error after its first bytes can no longer be answered (it cut the stream)."""
    if value is not None and "\x00" in value:
        raise ProblemError(422, f"{what} cannot contain a NUL character", slug="validation")
    return value


def _filter(
    project_id: UUID | None,
    actor: str | None,
    type_: str | None,
    start: str | None,
    end: str | None,
    after: str | None,
    portfolio_id: UUID | None = None,
    on_behalf_of: str | None = None,
) -> AuditFilter:
    return AuditFilter(
        project_id=project_id,
        portfolio_id=portfolio_id,
        actor=_text(actor, "actor"),
        on_behalf_of=_text(on_behalf_of, "on_behalf_of"),
        type=_text(type_, "type"),
        start=_time(start, "from"),
        end=_time(end, "to"),
        after=parse_cursor(after),
    )


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return msgspec.to_builtins(row)


def _ledger(store: Store, *filters: object) -> Stream:
    """The stored events with their chain hashes, for the standalone verifier: always
    the whole log (a filtered chain cannot be verified)."""
    if any(f is not None for f in filters):
        raise ProblemError(
            422,
            "the ledger export is the whole log: project_id, portfolio_id, actor, "
            "on_behalf_of, type, from and to "
            "do not apply to format=ledger",
            slug="validation",
        )
    return Stream(
        export_ledger(store.pool, store.names),
        media_type="application/x-ndjson",
        headers={"Content-Disposition": 'attachment; filename="ledger.ndjson"'},
    )


class AuditController(Controller):
    path = "/audit"
    tags = ["audit"]

    @get("/events", operation_id="listAuditEvents", summary="The audit trail")
    async def events(
        self,
        request: Request,
        principal: Principal,
        store: Store,
        project_id: UUID | None = None,
        portfolio_id: UUID | None = None,
        actor: str | None = Parameter(default=None, max_length=100),
        on_behalf_of: str | None = Parameter(default=None, max_length=100),
        type_: Annotated[str | None, QueryParameter(name="type", max_length=100)] = None,
        start: Annotated[str | None, QueryParameter(name="from", max_length=40)] = None,
        end: Annotated[str | None, QueryParameter(name="to", max_length=40)] = None,
        after: str = Cursor,
        limit: int = Parameter(default=100, ge=1, le=500),
        min_position: int = MinPosition,
    ) -> AuditPage:
        require_role(principal, "auditor", "pmo_admin")
        await ensure_position(store, request.app.state.settings, min_position)
        f = _filter(project_id, actor, type_, start, end, after, portfolio_id, on_behalf_of)
        items, cursor = await audit_trail.query(store.pool, store.names, f, limit)
        return paged(AuditPage, [_jsonable(i) for i in items], cursor)

    @get(
        "/export",
        operation_id="exportAudit",
        summary="Stream the audit trail",
        media_type="application/x-ndjson",
        opt={"media_types": ("application/x-ndjson", "text/csv")},  # as format= asks
    )
    async def export(
        self,
        request: Request,
        principal: Principal,
        store: Store,
        format: Literal["ndjson", "csv", "ledger"] = "ndjson",
        project_id: UUID | None = None,
        portfolio_id: UUID | None = None,
        actor: str | None = Parameter(default=None, max_length=100),
        on_behalf_of: str | None = Parameter(default=None, max_length=100),
        type_: Annotated[str | None, QueryParameter(name="type", max_length=100)] = None,
        start: Annotated[str | None, QueryParameter(name="from", max_length=40)] = None,
        end: Annotated[str | None, QueryParameter(name="to", max_length=40)] = None,
        min_position: int = MinPosition,
    ) -> Stream:
        require_role(principal, "auditor")
        await ensure_position(store, request.app.state.settings, min_position)
        if format == "ledger":
            filters = (project_id, portfolio_id, actor, on_behalf_of, type_, start, end)
            return _ledger(store, *filters)
        f = _filter(project_id, actor, type_, start, end, None, portfolio_id, on_behalf_of)
        media = "text/csv" if format == "csv" else "application/x-ndjson"
        return Stream(
            export_lines(store.pool, store.names, f, format),
            media_type=media,
            headers={"Content-Disposition": f'attachment; filename="audit.{format}"'},
        )

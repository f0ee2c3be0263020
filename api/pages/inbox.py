"""The inbox page: what the signed-in person owes, for themselves and for the people they
stand in for, overdue first, each item one click from the page where it is done."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.params import Parameter
from litestar.response import Template

from api.auth import Principal
from api.pages.render import render
from api.reads import ensure_position, utc_now
from domain.bounds import MAX_POSITION
from eventstore.database import Store
from projections.inbox import queries as inbox

PAGE_SIZE = 100  # items a page shows; "Later items" pages on (a busy gatekeeper owes 500)

# Where each kind of item is done: a page path from the item (None: no page yet; the
# item is listed without a link). Add a kind's page here when its page exists.
PAGE_FOR: dict[str, Callable[[dict[str, Any]], str | None]] = {
    "vote": lambda item: f"/projects/{item['project_id']}/review",
    "decision": lambda item: f"/projects/{item['project_id']}/review",
    "escalated": lambda item: (
        f"/projects/{item['project_id']}/review"
        if item["subject_id"] == item["project_id"]
        else None
    ),
    # the change request, sign-off and project pages (api/pages/requests.py, projects.py)
    "cr_vote": lambda item: f"/change-requests/{item['subject_id']}",
    "cr_decision": lambda item: f"/change-requests/{item['subject_id']}",
    "signoff": lambda item: f"/signoffs/{item['subject_id']}",
    "condition": lambda item: f"/projects/{item['project_id']}",
}

KIND_WORDS = {
    "vote": "Vote",
    "decision": "Decide",
    "cr_vote": "Vote on a change",
    "cr_decision": "Decide a change",
    "signoff": "Sign off",
    "condition": "Condition",
    "escalated": "Escalated",
}


def page_for(item: dict[str, Any]) -> str | None:
    build = PAGE_FOR.get(item["kind"])
    return build(item) if build is not None and item.get("project_id") else None


class InboxPage(Controller):
    include_in_schema = False

    @get("/inbox", operation_id="pageInbox")
    async def inbox(
        self,
        request: Request,
        principal: Principal,
        store: Store,
        min_position: Annotated[int | None, Parameter(ge=0, le=MAX_POSITION)] = None,
        offset: Annotated[int, Parameter(ge=0, le=1_000_000)] = 0,
    ) -> Template:
        """``min_position``: wait until the inbox holds that event (the page's live
        update asks for the event it was told of). ``offset``: the items before it are
        on earlier pages (overdue first, then by due date)."""
        await ensure_position(store, request.app.state.settings, min_position)
        now = utc_now()
        items = await inbox.inbox_for(
            store.pool, store.names, principal.sub, now.date(), now, offset=offset, limit=PAGE_SIZE
        )
        total, overdue = await inbox.inbox_counts(
            store.pool, store.names, principal.sub, now.date(), now
        )
        # overdue first (then escalated), each group by due date as the model orders them
        items.sort(key=lambda i: (not i["overdue"], not i["escalated"]))
        for item in items:
            item["href"] = page_for(item)
            item["kind_words"] = KIND_WORDS.get(item["kind"], item["kind"])
        return render(
            request,
            "inbox.html",
            title="Inbox",
            items=items,
            total=total,
            first=offset + 1,
            earlier=max(0, offset - PAGE_SIZE) if offset else None,
            later=offset + PAGE_SIZE if offset + PAGE_SIZE < total else None,
            overdue=overdue,
        )

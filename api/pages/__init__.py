"""The board room: server-rendered pages in the same app as the API (issue 13).

Adding a page (docs/architecture.md, "Pages"):

1. a controller here (``include_in_schema = False``) whose handler has an
   ``operation_id`` (``pageSomething``) and returns ``render(request, "x.html", title=...,
   ...)``; ``x.html`` in ``templates/`` extends ``base.html``;
2. its entry in ``api.access.POLICIES`` wrapped in ``page(...)`` (the guard then signs
   the caller in by session cookie or bearer token, checks the CSRF token of a POST, and
   applies the same visibility rule as the API: an outsider gets 404), a row in
   docs/security.md and a row in ``page_routes`` of tests/api/test_access_policy.py;
3. the controller in ``PAGE_HANDLERS`` below.

A form is a ``<form method="post">`` holding ``<input type="hidden" name="csrf"
value="{{ csrf }}">``; its handler calls
the same workflow as the API's route, converts the form with the API's request schema,
and on a refusal shows the page again with ``form_problem``'s message next to the form.
"""

from __future__ import annotations

from typing import Any

from litestar import Router

from api.errors import EXCEPTION_HANDLERS
from api.pages.admin import AdministrationPages
from api.pages.auditor import AuditorPages
from api.pages.inbox import InboxPage
from api.pages.live import LivePage
from api.pages.portfolios import PortfolioPages
from api.pages.projects import ProjectPages
from api.pages.render import page_asset, page_error, template_config
from api.pages.requests import ChangeRequestPages, SignOffPages
from api.pages.reviews import ReviewPages
from api.pages.signin import SignInPages

PAGE_HANDLERS: list[Any] = [page_asset, SignInPages, InboxPage, ReviewPages]
PAGE_HANDLERS += [ProjectPages, ChangeRequestPages, SignOffPages, PortfolioPages]
PAGE_HANDLERS += [AuditorPages, AdministrationPages, LivePage]


def pages_router() -> Router:
    """Every page, with errors answered as pages (the API's answer problem+json)."""
    return Router(
        path="/",
        route_handlers=PAGE_HANDLERS,
        # every kind the API's map names (the closest layer's handler for the closest
        # class in the exception's MRO wins), each answered as a page
        exception_handlers=dict.fromkeys(EXCEPTION_HANDLERS, page_error),
        include_in_schema=False,
    )


__all__ = ["pages_router", "template_config"]

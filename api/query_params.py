"""No silent filters: a query parameter a route does not read is refused with 400.

litestar passes a handler the query parameters it declares and drops the rest without a
word, so a filter a route lacks (``/audit/events?portfolio_id=...``) or a past state it
cannot give (``/projects?as_of=40``) answered 200 as if it had been applied. The access
guard (``api.access.authorise``) calls ``check_query_params`` for every route right
after the raw-input checks, so such a request is refused before anything is read, charged
or written.

What a route supports is what litestar itself reads for it: the query parameters of the
kwargs model litestar built for the handler from its signature and its dependencies',
under their names in the URL (``type``, ``from`` and ``to`` rather than the Python names
they are bound to). The OpenAPI schema is built from the same signatures, and
tests/api/test_query_params.py checks that each operation publishes exactly what this
module accepts. Routes litestar adds itself (the docs under the OpenAPI path, CORS
preflight) are exempt.
"""

from __future__ import annotations

import re
from functools import lru_cache

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.routes import HTTPRoute

from api.errors import ProblemError

_SHOWN = 5  # unsupported names the detail spells out; the problem's member lists them all
_PATH_TYPES = re.compile(r":[^}]*}")  # "{project_id:uuid}" -> "{project_id}"


@lru_cache(maxsize=1024)
def supported_query_params(handler: BaseRouteHandler) -> frozenset[str]:
    """The query parameters litestar reads for ``handler``, by their names in the URL."""
    for route in handler.app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for routed, kwargs_model in route.route_handler_map.values():
            if routed is handler:
                return frozenset(p.field_alias for p in kwargs_model.expected_query_params)
    raise LookupError(f"{handler} is not a route of its app")


def check_query_params(connection: ASGIConnection) -> None:
    """400 problem+json if the request carries a query parameter its route does not read.

    The route's handler is taken from the scope: a guard is handed a copy of it, which
    litestar's routes do not know and which would defeat the cache."""
    names = connection.query_params.keys()
    handler = connection.route_handler
    if not names or _framework_route(connection, handler):
        return
    supported = supported_query_params(handler)
    unsupported = sorted(set(names) - supported)
    if not unsupported:
        return
    raise ProblemError(
        400,
        _detail(handler, unsupported, supported),
        slug="unsupported-query-parameter",
        extra={"unsupported": unsupported, "supported": sorted(supported)},
    )


def _framework_route(connection: ASGIConnection, handler: BaseRouteHandler) -> bool:
    """litestar's own routes: the OpenAPI documents (and their assets) and CORS preflight."""
    if connection.scope.get("method") == "OPTIONS":
        return True
    config = handler.app.openapi_config
    docs = config.path if config is not None else None
    path = connection.scope["path"]
    return bool(docs) and (path == docs or path.startswith(f"{docs}/"))


def _detail(handler: BaseRouteHandler, unsupported: list[str], supported: frozenset[str]) -> str:
    shown = ", ".join(repr(name) for name in unsupported[:_SHOWN])
    if len(unsupported) > _SHOWN:
        shown += f" and {len(unsupported) - _SHOWN} more"
    takes = ", ".join(sorted(supported)) if supported else "no query parameters"
    detail = f"this route does not support the query parameter {shown}; it takes {takes}"
    if "as_of" in unsupported:
        reads = " and ".join(_reads_taking(handler, "as_of")) or "no route"
        detail += f". A past state (as_of) is answered by {reads}"
    return detail


def _reads_taking(handler: BaseRouteHandler, name: str) -> list[str]:
    """``GET /path`` of each route of the app that reads the query parameter ``name``."""
    return sorted(
        f"{method} {_PATH_TYPES.sub('}', route.path)}"
        for route in handler.app.routes
        if isinstance(route, HTTPRoute)
        for method, (routed, _) in route.route_handler_map.items()
        if method != "OPTIONS" and name in supported_query_params(routed)
    )

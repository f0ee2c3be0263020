"""What the OpenAPI schema says each operation answers: its problems, declared once.

litestar documents a handler's success from its decorator and return type, and, for any
handler with a parameter or a body, a 400 with the body of its own ValidationException,
as application/json. The server answers errors otherwise: every one is RFC 9457
problem+json (``api.errors.Problem``), validation is 422, and which problems a route
can answer follows from its access policy (``api.access.POLICIES``: public or not,
global roles, a path naming an object, a rate-limit bucket) and from what it reads (a
body, query parameters, the ``command`` dependency with If-Match and Idempotency-Key).

``DocumentedResponses``, a litestar plugin, derives them for every route as it is
registered and declares each status once, with why a route answers it; a handler's own
``responses`` (a problem only it answers, a body other than a problem) win. The
operations it builds also document the headers these answers carry (ETag on a command's
success, WWW-Authenticate on 401, Retry-After on 429, 503 and a concurrent 409) and the
media types of a streamed success (the handler's ``opt["media_types"]``).

tests/api/test_documented_responses.py sends every operation requests that reach these
outcomes and checks that each answer's status, media type, body and headers are the
documented ones; tests/api/test_schemathesis.py fuzzes the same schema.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, ClassVar

from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import (
    OpenAPIHeader,
    OpenAPIMediaType,
    OpenAPIResponse,
    Operation,
    Schema,
)
from litestar.openapi.spec.enums import OpenAPIType
from litestar.plugins import ReceiveRoutePlugin
from litestar.routes import BaseRoute, HTTPRoute

from api.access import Policy, policy_of
from api.errors import PROBLEM, Problem
from api.raw_input import BODY_METHODS

# Commands whose body names an object the command loads (404 when there is none); other
# ids in bodies (a delegation's scope) are values the domain checks (422).
LOADS_FROM_BODY = {
    "createProject": "the portfolio_id names no portfolio",
    "createPortfolio": "the template_ref names no version of the template library",
    "changePortfolioTemplate": "the body names no version of the template library",
    "migrateProjectTemplate": "the body names no version of the template library",
}

_BEFORE_THE_APP = (
    "sent by gateledger serve before the app runs (docs/operations.md#limits): "
    "{}; the connection is then closed"
)
_HEADERS: dict[str, tuple[str, str]] = {  # name: (description, example)
    "ETag": ('the version after the command, e.g. "3": send it as If-Match', '"3"'),
    "WWW-Authenticate": ("Bearer", "Bearer"),
    "Retry-After": ("seconds to wait before retrying", "1"),
}


def problem_response(*reasons: str) -> ResponseSpec:
    """A problem+json response, documented with why the route answers it."""
    description = "; ".join(reasons)
    return ResponseSpec(
        data_container=Problem,
        media_type=PROBLEM,
        generate_examples=False,
        description=description[:1].upper() + description[1:],
    )


def problems(
    handler: HTTPRouteHandler, policy: Policy, query: frozenset[str], path: bool
) -> dict[int, list[str]]:
    """Each status ``handler`` may answer with a problem, and why; ``query`` are the query
    parameters it reads, ``path`` whether its path carries parameters."""
    found: dict[int, list[str]] = defaultdict(list)
    command = "command" in handler.parsed_fn_signature.parameters
    body = bool(handler.http_methods & BODY_METHODS)
    takes_data = "data" in handler.parsed_fn_signature.parameters
    found[400].append(
        "a query parameter the route does not read (the problem's unsupported and supported "
        "list them), or a path, query string or header that is not UTF-8"
    )
    if body:
        found[400].append(
            "a body that is not UTF-8"
            + (", not JSON" if takes_data else "")
            + " or nests arrays and objects deeper than 32"
        )
        found[413].append("a body larger than the server accepts (256 KiB unless configured)")
    if command:
        found[400].append("an If-Match that is not a version, or an Idempotency-Key over 200")
        found[409].append(
            "the current state does not allow it (the domain's rule), or a concurrent change "
            "met it and retries did not get through (Retry-After)"
        )
        found[412].append("If-Match is not the current version (a weak ETag never matches)")
    found[408].append(_BEFORE_THE_APP.format("headers or body too slow"))
    found[431].append(_BEFORE_THE_APP.format("headers over 16 KiB or 100 fields"))
    if not policy.public:
        found[401].append("no valid bearer token")
        found[503].append(
            "the database is unavailable, or the server has not caught up with the log "
            "(Retry-After)"
        )
    if policy.roles:
        found[403].append(f"this needs the global role {' or '.join(policy.roles)}")
    if command:
        found[403].append(f"the domain's rule: only {policy.rule}")
    if path:
        found[404].append(
            "the path names nothing of the kind it expects, or something the caller may not see"
        )
    if handler.operation_id in LOADS_FROM_BODY:
        found[404].append(LOADS_FROM_BODY[str(handler.operation_id)])
    if takes_data or query:
        found[422].append(
            "a parameter or body field of the wrong type or out of range (errors names each)"
        )
    if command:
        found[422].append(
            "a value the domain refuses, or an Idempotency-Key already used with another body"
        )
    if "min_position" in query:
        found[422].append("min_position is past the log's head")
    if "as_of" in query:
        found[422].append("as_of is past the log's head, or neither a position nor a time")
        found[429].append("a read ?as_of= spends the caller's expensive reads (Retry-After)")
    if policy.bucket:
        word = "commands" if policy.bucket == "command" else "expensive reads"
        found[429].append(f"the caller has spent their {word} for this minute (Retry-After)")
    return found


@dataclass
class DocumentedOperation(Operation):
    """An operation whose responses also document the headers they carry and, for a
    streamed success, each media type it answers in (set per route: ``operation_class``)."""

    success_headers: ClassVar[tuple[str, ...]] = ()
    media_types: ClassVar[tuple[str, ...]] = ()

    def __post_init__(self) -> None:
        for code, response in (self.responses or {}).items():
            if not isinstance(response, OpenAPIResponse):
                continue
            status = int(code)
            if status < 300:
                self._success(response)
                continue
            if response.content is None or PROBLEM not in response.content:
                continue
            if status == 401:
                _header(response, "WWW-Authenticate", required=True)
            elif status in (429, 503):
                _header(response, "Retry-After", required=True)
            elif status == 409:
                _header(response, "Retry-After", required=False)

    def _success(self, response: OpenAPIResponse) -> None:
        for name in self.success_headers:
            _header(response, name, required=True)
        if self.media_types:
            text = OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING))
            response.content = dict.fromkeys(self.media_types, text)


def _header(response: OpenAPIResponse, name: str, *, required: bool) -> None:
    description, example = _HEADERS[name]
    response.headers = {
        **(response.headers or {}),
        name: OpenAPIHeader(
            schema=Schema(type=OpenAPIType.STRING, examples=[example]),
            description=description,
            required=required,
        ),
    }


@lru_cache(maxsize=16)
def operation_class(
    success_headers: tuple[str, ...], media_types: tuple[str, ...]
) -> type[DocumentedOperation]:
    if not success_headers and not media_types:
        return DocumentedOperation
    attributes: dict[str, Any] = {"success_headers": success_headers, "media_types": media_types}
    return type("DocumentedOperation", (DocumentedOperation,), attributes)


class DocumentedResponses(ReceiveRoutePlugin):
    """Declares every route's problems (and the headers of its answers) as it is registered."""

    def receive_route(self, route: BaseRoute) -> None:
        if not isinstance(route, HTTPRoute):
            return
        for handler, kwargs_model in route.route_handler_map.values():
            policy = policy_of(handler)
            if policy is None:  # litestar's own: the docs, CORS preflight
                continue
            query = frozenset(p.field_alias for p in kwargs_model.expected_query_params)
            derived = problems(handler, policy, query, bool(route.path_parameters))
            responses = {status: problem_response(*why) for status, why in derived.items()}
            handler.responses = dict(sorted({**responses, **(handler.responses or {})}.items()))
            command = "command" in handler.parsed_fn_signature.parameters
            media_types = tuple(handler.opt.get("media_types", ()))
            handler.operation_class = operation_class(("ETag",) if command else (), media_types)
            if policy.public:
                handler.security = [{}]  # no token needed (the schema's default is bearer)

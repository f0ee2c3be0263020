"""The one exception map: every error leaves as RFC 9457 problem+json."""

from __future__ import annotations

import logging
from typing import Any, Literal

import asyncpg
import msgspec
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from api.metrics import METRICS
from domain.errors import DomainError, InvalidValue, NotAllowed, NotFound, RuleViolation
from eventstore.errors import TRANSIENT, UNSTORABLE_TEXT, DatabaseUnavailable
from workflows.errors import (
    ConcurrencyConflict,
    IdempotencyKeyReused,
    PreconditionFailed,
    UnknownAggregate,
    WorkflowError,
)

log = logging.getLogger(__name__)

PROBLEM = "application/problem+json"
TYPE_BASE = "https://gateledger.dev/problems/"

_STATUS: list[tuple[type[Exception], int, str]] = [
    (NotAllowed, 403, "not-allowed"),
    (RuleViolation, 409, "rule-violation"),
    (InvalidValue, 422, "invalid-value"),
    (NotFound, 404, "not-found"),
    (UnknownAggregate, 404, "not-found"),
    (PreconditionFailed, 412, "precondition-failed"),
    (ConcurrencyConflict, 409, "conflict"),
    (IdempotencyKeyReused, 422, "idempotency-key-reused"),
    *((kind, 422, "unstorable-text") for kind in UNSTORABLE_TEXT),
]

_TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    412: "Precondition failed",
    413: "Request body too large",
    422: "Invalid request",
    428: "Precondition required",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}


class FieldError(msgspec.Struct, frozen=True):
    """One offending field of a request, as litestar's validation names it."""

    message: str
    key: str | msgspec.UnsetType = msgspec.UNSET  # the field (dotted for nested ones)
    source: Literal["body", "query", "path", "header", "cookie"] | msgspec.UnsetType = msgspec.UNSET


class Problem(msgspec.Struct, frozen=True):
    """An error, as RFC 9457 problem+json: what every 4xx and 5xx answer carries (the
    OpenAPI schema documents it; ``problem`` below builds it). Some problems add members:
    ``errors`` (validation), ``unsupported`` and ``supported`` (a query parameter the
    route does not read). Refusals sent before the app (408, 431) have no ``instance``."""

    type: str  # TYPE_BASE + a slug, e.g. https://gateledger.dev/problems/not-found
    title: str
    status: int
    detail: str
    instance: str | msgspec.UnsetType = msgspec.UNSET  # the request's path
    errors: list[FieldError] | msgspec.UnsetType = msgspec.UNSET
    unsupported: list[str] | msgspec.UnsetType = msgspec.UNSET
    supported: list[str] | msgspec.UnsetType = msgspec.UNSET


class ProblemError(Exception):
    """Raise from a handler to answer with a specific problem."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        slug: str = "",
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status, self.detail, self.slug, self.headers = status, detail, slug, headers or {}
        self.extra = extra or {}  # members of the problem beside type, title, status, detail


def problem(
    request: Request,
    status: int,
    detail: str,
    slug: str = "",
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[dict[str, Any]]:
    body: dict[str, Any] = {
        "type": TYPE_BASE + (slug or str(status)),
        "title": _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "instance": request.url.path,
    }
    body.update(extra or {})
    return Response(body, status_code=status, media_type=PROBLEM, headers=headers)


def _domain_or_workflow(request: Request, exc: Exception) -> Response[dict[str, Any]]:
    for cls, status, slug in _STATUS:
        if isinstance(exc, cls):
            detail = getattr(exc, "message", str(exc))
            return problem(request, status, detail, slug, headers=_retry_after(exc))
    return problem(request, 409, str(exc), "conflict")


def _retry_after(exc: Exception) -> dict[str, str] | None:
    """Retry-After for a conflict that waiting resolves (concurrent changes)."""
    if isinstance(exc, ConcurrencyConflict):
        return {"Retry-After": str(exc.retry_after)}
    return None


def _validation(request: Request, exc: ValidationException) -> Response[dict[str, Any]]:
    detail = str(exc.detail or "invalid request")
    lowered = detail.lower()
    if "malformed" in lowered or ("json" in lowered and "decode" in lowered):
        return problem(request, 400, f"the body is not valid JSON: {detail}", "malformed")
    errors = exc.extra if isinstance(exc.extra, list) else []
    return problem(request, 422, detail, "validation", {"errors": errors})


def _http(request: Request, exc: HTTPException) -> Response[dict[str, Any]]:
    status = exc.status_code
    headers = dict(exc.headers or {})
    if status == 401:
        headers.setdefault("WWW-Authenticate", "Bearer")
    return problem(request, status, str(exc.detail), str(status), headers=headers)


def _problem_error(request: Request, exc: ProblemError) -> Response[dict[str, Any]]:
    return problem(request, exc.status, exc.detail, exc.slug, exc.extra, exc.headers)


RETRY_AFTER_S = 2  # what a 503 for a database fault asks the client to wait


def unavailable_detail(exc: BaseException) -> str:
    """What a 503 says about a database fault: the kind, never the driver's own text
    (which may name hosts and roles), except for the store's own messages."""
    if isinstance(exc, DatabaseUnavailable):
        return str(exc)
    if isinstance(exc, asyncpg.QueryCanceledError):
        return "the database did not answer in time (statement timeout); retry shortly"
    if isinstance(exc, asyncpg.LockNotAvailableError):
        return "the database is busy: a lock was held too long (lock timeout); retry shortly"
    if isinstance(exc, asyncpg.TransactionRollbackError):
        return "the database broke off the transaction (deadlock or serialization); retry"
    if isinstance(exc, asyncpg.InsufficientResourcesError):
        return "the database is out of resources (connections, memory or disk); retry shortly"
    if isinstance(exc, TimeoutError):
        return "the database did not answer in time; retry shortly"
    return "the database is unavailable; retry shortly"


def _unavailable(request: Request, exc: Exception) -> Response[dict[str, Any]]:
    METRICS.inc("gateledger_database_faults_total", (("kind", type(exc).__name__),))
    log.warning(
        "database unavailable on %s %s: %s: %s",
        request.method,
        request.url.path,
        type(exc).__name__,
        exc,
    )
    return problem(
        request,
        503,
        unavailable_detail(exc),
        "unavailable",
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )


def _internal(request: Request, exc: Exception) -> Response[dict[str, Any]]:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem(request, HTTP_500_INTERNAL_SERVER_ERROR, "an unexpected error occurred")


EXCEPTION_HANDLERS: dict[Any, Any] = {
    DomainError: _domain_or_workflow,
    WorkflowError: _domain_or_workflow,
    ValidationException: _validation,
    HTTPException: _http,
    ProblemError: _problem_error,
    **dict.fromkeys(TRANSIENT, _unavailable),  # database faults: 503, never 500
    **dict.fromkeys(UNSTORABLE_TEXT, _domain_or_workflow),
    Exception: _internal,
}

__all__ = [
    "EXCEPTION_HANDLERS",
    "PROBLEM",
    "FieldError",
    "MediaType",
    "Problem",
    "ProblemError",
    "problem",
]

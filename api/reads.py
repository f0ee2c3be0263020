"""What read handlers share: read-your-writes, cursors, the clock."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from litestar.params import Parameter

from api.errors import ProblemError
from api.settings import Settings
from domain.bounds import MAX_POSITION
from eventstore.database import Store
from projections.engine.set_aside import listed
from projections.positions import wait_for_position
from workflows.errors import UnknownAggregate

# Query parameters every read shares, declared as plain values with their ranges so the
# published schema carries them (an optional int or str loses its bounds there).
MinPosition = Parameter(
    default=0, ge=0, le=MAX_POSITION, description="wait until projections reach this position"
)
Limit = Parameter(default=100, ge=1, le=500, description="at most this many items")
Cursor = Parameter(
    default="", max_length=18, pattern=r"^[0-9]*$", description="the 'next' of the page before"
)

# On a read of an object some of whose events a read model set aside (and so lacks):
# ``<projection>:<position>`` of each, comma-separated. Absent when there are none.
SET_ASIDE_HEADER = "Gateledger-Set-Aside"


async def ensure_position(store: Store, settings: Settings, min_position: int | None) -> None:
    """``?min_position=N``: wait (bounded) for the projections, else 503 + Retry-After.

    A position past the end of the log was never handed out by a command: 422 at once,
    rather than a wait for something that may never come."""
    if min_position is None or min_position <= 0:
        return
    head = await store.events.max_notification_id() or 0
    if min_position > head:
        raise ProblemError(
            422,
            f"min_position {min_position} is past the end of the log (position {head}): "
            "pass the position a command answered",
            slug="validation",
        )
    if not await wait_for_position(store, min_position, settings.min_position_wait_s):
        raise ProblemError(
            503,
            f"the read models have not reached position {min_position} yet; retry shortly",
            slug="not-yet-projected",
            headers={"Retry-After": "1"},
        )


async def caught_up_with_log(store: Store, wait_s: float, only: str) -> None:
    """Wait (bounded) until the read model ``only`` holds every event the log holds now:
    a command judged on the read side (who may see it, which projects a board governs)
    then counts everything written before it. 503 + Retry-After if it does not."""
    head = await store.events.max_notification_id() or 0
    if not await wait_for_position(store, head, wait_s, only=only):
        raise ProblemError(
            503,
            "the server is catching up with the log; retry shortly",
            slug="not-yet-projected",
            headers={"Retry-After": "1"},
        )


async def projects_of_portfolio(store: Store, portfolio_id: UUID, wait_s: float) -> list[UUID]:
    """Every project of the portfolio, from the projects read model once it holds the
    whole log (a project created a moment ago counts): what a board change checks its
    quorums against."""
    from projections.projects.model import Projects
    from projections.projects.queries import project_ids_of

    await caught_up_with_log(store, wait_s, Projects.name)
    return await project_ids_of(store.pool, store.names, portfolio_id)


async def set_aside_note(store: Store, object_id: UUID) -> dict[str, str]:
    """The header that says a read of ``object_id`` lacks events set aside, if any."""
    entries = await listed(store.pool, store.names, originator_ids=[object_id])
    if not entries:
        return {}
    return {SET_ASIDE_HEADER: ", ".join(f"{e.projection}:{e.position}" for e in entries)}


async def missing(store: Store, what: str, object_id: UUID) -> Exception:
    """Not found: said as such, or, when its events were set aside, that they were."""
    note = await set_aside_note(store, object_id)
    if not note:
        return UnknownAggregate(f"{what} {object_id} not found")
    return ProblemError(
        404,
        f"{what} {object_id} is missing from the read models: its events at "
        f"{note[SET_ASIDE_HEADER]} were set aside (see /health and `gateledger set-aside`)",
        slug="set-aside",
        headers=note,
    )


def utc_now() -> datetime:
    return datetime.now(UTC)


def _ascii_digits(value: str) -> bool:
    """0-9 only: ``str.isdigit`` (and ``int``) also take fullwidth and Arabic-Indic digits."""
    return value.isascii() and value.isdigit()


def parse_cursor(after: str | None) -> int:
    if after is None or after == "":
        return 0
    if not _ascii_digits(after) or len(after) > 18:
        raise ProblemError(422, "after must be a cursor as returned in 'next'", slug="validation")
    return int(after)


def parse_as_of(value: str) -> tuple[int | None, datetime | None]:
    """``as_of`` is an event position (digits, a bigint) or an RFC 3339 time (in UTC)."""
    if _ascii_digits(value) and len(value) <= 18:
        return int(value), None
    try:
        # A '+' left unencoded in a query string arrives as a space.
        at = datetime.fromisoformat(value.strip().replace(" ", "+").replace("Z", "+00:00"))
        # An offset may push a time past the calendar (year 1 or 9999 in UTC): 422.
        at = at.astimezone(UTC) if at.tzinfo is not None else at
    except (ValueError, OverflowError):
        raise ProblemError(
            422, "as_of must be an event position or an RFC 3339 time", slug="validation"
        ) from None
    if at.tzinfo is None:
        raise ProblemError(422, "as_of time needs a timezone (e.g. Z)", slug="validation")
    return None, at


async def as_of_point(store: Store, value: str) -> tuple[int | None, datetime | None]:
    """``?as_of=``: an event position no later than the log's head (past it: 422, as for
    ``min_position``), or an RFC 3339 time."""
    position, at = parse_as_of(value)
    if position is not None:
        head = await store.events.max_notification_id() or 0
        if position > head:
            raise ProblemError(
                422,
                f"as_of {position} is past the end of the log (position {head})",
                slug="validation",
            )
    return position, at

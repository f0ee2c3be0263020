"""Errors raised by the event store."""

from __future__ import annotations

import asyncpg
from eventsourcing.persistence import IntegrityError, OperationalError


class VersionConflict(IntegrityError):
    """An event with the same (originator_id, originator_version) already exists.

    Subclasses eventsourcing's ``IntegrityError``, which its recorders raise in this case.
    Nothing of the failed transaction is written.
    """


class UnstorableText(ValueError):
    """An event holds a NUL character: PostgreSQL text and jsonb cannot hold one, so the
    read models could never show it (the projector would stop at it). Nothing is written.
    """


class DatabaseUnavailable(OperationalError):
    """The database could not be reached."""


# What a request meets when the database goes away while it runs: answer 503, not 500.
CONNECTION_ERRORS: tuple[type[Exception], ...] = (
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.TooManyConnectionsError,
    asyncpg.CannotConnectNowError,
    ConnectionError,
)

# What a background job meets while the database is out of reach: it waits and retries.
UNREACHABLE: tuple[type[Exception], ...] = (OSError, *CONNECTION_ERRORS)

# Text PostgreSQL refuses (a NUL character, a byte sequence that is not UTF-8), e.g. in
# a query's filter: the request's fault, not the server's.
UNSTORABLE_TEXT: tuple[type[Exception], ...] = (
    UnstorableText,
    asyncpg.CharacterNotInRepertoireError,
    asyncpg.UntranslatableCharacterError,
)

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


class PoolExhausted(DatabaseUnavailable):
    """No pooled connection came free within the pool's acquire timeout."""


# What a request meets when the database goes away while it runs (the connection cut or
# refused, the server shutting down or starting, a protocol left in a broken state by a
# cut connection: asyncpg's InternalClientError "cannot switch to state"): answer 503.
CONNECTION_ERRORS: tuple[type[Exception], ...] = (
    DatabaseUnavailable,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    asyncpg.TooManyConnectionsError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    ConnectionError,
)

# What a background job meets while the database is out of reach: it waits and retries.
# (OSError includes TimeoutError: a connection that could not be made in time.)
UNREACHABLE: tuple[type[Exception], ...] = (OSError, *CONNECTION_ERRORS)

# The database refusing for now rather than for good: a statement or lock timeout
# (GATELEDGER_DB_STATEMENT_TIMEOUT, GATELEDGER_DB_LOCK_TIMEOUT), a cancelled query, too
# few resources (connections, memory, disk), a deadlock or serialization failure.
BUSY: tuple[type[Exception], ...] = (
    asyncpg.QueryCanceledError,
    asyncpg.LockNotAvailableError,
    asyncpg.InsufficientResourcesError,
    asyncpg.OperatorInterventionError,
    asyncpg.TransactionRollbackError,
)

# Every database fault a request answers 503 (with Retry-After) for, never 500.
TRANSIENT: tuple[type[Exception], ...] = (*UNREACHABLE, *BUSY)

# Text PostgreSQL refuses (a NUL character, a byte sequence that is not UTF-8), e.g. in
# a query's filter: the request's fault, not the server's.
UNSTORABLE_TEXT: tuple[type[Exception], ...] = (
    UnstorableText,
    asyncpg.CharacterNotInRepertoireError,
    asyncpg.UntranslatableCharacterError,
)

"""Per-person rate limits, shared by every server process through PostgreSQL.

Each (person, bucket) is one row of ``gl_rate_limits`` holding a theoretical arrival
time (GCRA, a token bucket kept as one timestamp): a bucket of ``n`` a minute lets a
person spend ``n`` at once, then one more every ``60/n`` seconds. One statement (INSERT
... ON CONFLICT DO UPDATE) decides and records a request; PostgreSQL's row lock
serialises concurrent requests for one person from any process, so the limit is exact.
Time is the database's clock, the one clock all processes share.

The table is not part of the record: it is UNLOGGED (lost on a crash, which only
forgets who spent what in the last minute), outside the hash chain and the append-only
triggers, and created by the serving role like the read models (it owns it). A row
whose time has passed says no more than a missing one; each process deletes those
about once a minute, in the same statement as a charge.
"""

from __future__ import annotations

import math
import time

from api.errors import ProblemError
from api.metrics import METRICS
from api.settings import Settings
from eventstore.database import Store
from eventstore.schema import StoreNames

TABLE = "gl_rate_limits"
WINDOW_S = 60.0  # limits are per minute
PRUNE_EVERY_S = 60.0
BUCKETS = ("command", "expensive")
_NAMES = {"command": "commands", "expensive": "expensive reads"}

# when this process next prunes each table (by its qualified name); all that process
# memory holds
_next_prune: dict[str, float] = {}


def ddl(names: StoreNames) -> list[str]:
    return [
        f"CREATE UNLOGGED TABLE IF NOT EXISTS {names.q(TABLE)} (person text NOT NULL, "
        "bucket text NOT NULL, tat timestamptz NOT NULL, wait_s double precision NOT NULL, "
        "PRIMARY KEY (person, bucket)) WITH (fillfactor = 70)"
    ]


async def prepare(store: Store) -> None:
    """Create the table if missing (as the serving role, which then owns it)."""
    async with store.pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(7318262004)")
        for statement in ddl(store.names):
            await conn.execute(statement)


def per_minute(settings: Settings, bucket: str) -> int:
    """The bucket's limit for one person (0: no limit)."""
    if bucket == "command":
        return settings.rate_commands
    if bucket == "expensive":
        return settings.rate_expensive
    raise ValueError(f"unknown rate-limit bucket {bucket!r} (known: {', '.join(BUCKETS)})")


def _charge_sql(names: StoreNames, prune: bool) -> str:
    # $3: seconds one request costs (60/n); $4: the burst, 60 s. A request is let through
    # if it moves the person's time at most a minute ahead of the clock, which is read
    # once the row is locked (so a charge that waited for another sees their charge).
    t = names.q(TABLE)
    sql = (
        f"WITH charged AS (INSERT INTO {t} AS r (person, bucket, tat, wait_s) "
        "VALUES ($1, $2, clock_timestamp() + make_interval(secs => $3::float8), 0) "
        "ON CONFLICT (person, bucket) DO UPDATE SET (tat, wait_s) = ("
        "SELECT CASE WHEN moved <= ahead THEN moved ELSE r.tat END, "
        "CASE WHEN moved <= ahead THEN 0 ELSE extract(epoch FROM moved - ahead) END "
        "FROM (SELECT greatest(r.tat, now) + make_interval(secs => $3::float8) AS moved, "
        "now + make_interval(secs => $4::float8) AS ahead "
        "FROM (SELECT clock_timestamp() AS now) AS clock) AS next) "
        "RETURNING wait_s)"
    )
    if prune:
        # Rows whose time has passed. The charge runs first (the prune waits on it), and
        # rows that another charge holds are skipped: a prune never waits, so two
        # charges never wait on each other. Never this row: a statement changes a row once.
        sql += (
            f", pruned AS (DELETE FROM {t} WHERE (person, bucket) IN (SELECT person, bucket "
            f"FROM {t} WHERE EXISTS (SELECT FROM charged) AND tat < clock_timestamp() "
            "AND (person, bucket) <> ($1, $2) FOR UPDATE SKIP LOCKED))"
        )
    return sql + " SELECT wait_s FROM charged"


def cost_s(n: int) -> float:
    """What one request costs of a bucket of ``n`` a minute, in seconds, rounded down to
    the microsecond (PostgreSQL's resolution), so that ``n`` at once always fit."""
    return math.floor(WINDOW_S * 1_000_000 / n) / 1_000_000


def _prune_due(table: str) -> bool:
    now = time.monotonic()
    if now < _next_prune.get(table, 0.0):
        return False
    _next_prune[table] = now + PRUNE_EVERY_S
    return True


async def charge(store: Store, settings: Settings, person: str, bucket: str) -> None:
    """Count one request of ``bucket`` ("command" or "expensive") against ``person``;
    429 with Retry-After (whole seconds) when they have spent the bucket. One round trip;
    none when the bucket has no limit."""
    n = per_minute(settings, bucket)
    if n <= 0:
        return
    sql, cost = _charge_sql(store.names, _prune_due(store.names.q(TABLE))), cost_s(n)
    async with store.pool.acquire() as conn:
        wait_s = await conn.fetchval(sql, person, bucket, cost, WINDOW_S)
    if wait_s > 0:
        METRICS.inc("gateledger_rate_limited_total", (("bucket", bucket),))
        retry = max(1, math.ceil(wait_s))
        raise ProblemError(
            429,
            f"too many {_NAMES[bucket]}: at most {n} a minute per person; retry in {retry} s",
            slug="rate-limited",
            headers={"Retry-After": str(retry)},
        )

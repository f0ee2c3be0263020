"""The audit trail: one row per event, queryable by project, actor, type and time."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg

from eventstore.schema import StoreNames
from projections.audit.rows import AuditRow, Labels, Scope, audit_rows
from projections.engine.events import Change
from projections.engine.read_model import BulkContext, index_name, table

TABLE = "rm_audit"
SCOPE = "rm_audit_scope"  # aggregate -> project and portfolio, for rows of later events
LABELS = "rm_audit_labels"  # change request, sign-off, condition -> what names it
# A time index over the log: for each bucket of MARK_EVERY positions, the earliest and
# latest ``at`` of its rows. ``at`` is the event's own time, only roughly in log order,
# so no position can be found from a time directly; but every row at or after a time
# lies in or after the first bucket whose latest ``at`` reaches it (and every row
# before a time in or before the last bucket whose earliest ``at`` is before it). A
# time filter thus starts the scan of the log at its window instead of walking (and
# filtering) every row before it: 263,242 rows for the auditor page at 1M events.
MARKS = "rm_audit_marks"
MARK_EVERY = 1024
COLUMNS = (
    "position",
    "at",
    "aggregate_id",
    "aggregate_type",
    "type",
    "actor",
    "on_behalf_of",
    "project_id",
    "portfolio_id",
    "correlation_id",
    "summary",
    "rationale",
)
COPY_ROWS = 20_000  # rows per COPY while rebuilding
# Actor and type are found through integer hashes of the text (generated columns):
# integer keys make the indexes about 40% cheaper to build than text keys, and a query
# checks the text itself as well, so a hash collision never shows a wrong row.
INDEXES = (
    "project_id, position",
    # ``at`` as a key column: a time range is checked inside the index while the scan
    # walks the actor's events in position order.
    "actor_key, position, at",
    "type_key, position",
    "at",
    "on_behalf_of, position",
    "portfolio_id, position",
)
_KEYS = {"actor": "actor_key = hashtextextended({p}, 0)", "type": "type_key = hashtext({p})"}


Marks = dict[int, tuple[datetime, datetime]]  # bucket -> earliest and latest ``at``


@dataclass
class AuditBulk:
    """A rebuild's state: the scope map, rows not yet sent, and the COPY in flight."""

    head: int
    pool: asyncpg.Pool
    scope: Scope = field(default_factory=dict)
    labels: Labels = field(default_factory=dict)
    rows: list[AuditRow] = field(default_factory=list)
    marks: Marks = field(default_factory=dict)
    copying: asyncio.Task[Any] | None = None
    writer: asyncpg.Connection | None = None  # COPY connection, timestamps as integers

    async def settle(self) -> None:
        """Wait for the COPY in flight (its error, if any, is raised here)."""
        task, self.copying = self.copying, None
        if task is not None:
            await task

    async def aclose(self) -> None:
        """Give the COPY connection back: closed, since its codec was changed."""
        writer, self.writer = self.writer, None
        if writer is not None:
            try:
                await writer.close()
            finally:
                await self.pool.release(writer)


class AuditTrail:
    """Projection ``audit``: append-only rows, one per event (``projections.audit.rows``)."""

    name = "audit"
    tables = (TABLE, SCOPE, LABELS, MARKS)
    # 2: rows computed in Python, actor/type hash keys, change requests and sign-offs
    # scoped to their project (rm_audit_scope replaced rm_audit_projects).
    # 3: the rationale column; lines name the condition, sign-off or change request
    # (rm_audit_labels); on_behalf_of and portfolio_id indexes.
    # 4: the time index (rm_audit_marks).
    version = 4
    retired = ("rm_audit_projects",)

    def ddl(self, names: StoreNames, suffix: str) -> list[str]:
        t = table(names, TABLE, suffix)
        return [
            f"CREATE TABLE IF NOT EXISTS {table(names, SCOPE, suffix)} (aggregate_id uuid "
            "PRIMARY KEY, project_id uuid, portfolio_id uuid)",
            f"CREATE TABLE IF NOT EXISTS {table(names, LABELS, suffix)} (id uuid PRIMARY KEY, "
            "label text NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {table(names, MARKS, suffix)} (bucket bigint PRIMARY "
            "KEY, at_min timestamptz NOT NULL, at_max timestamptz NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {t} (position bigint PRIMARY KEY, at timestamptz "
            'NOT NULL, aggregate_id uuid NOT NULL, aggregate_type text COLLATE "C" NOT NULL, '
            'type text COLLATE "C" NOT NULL, actor text COLLATE "C", on_behalf_of text, '
            "project_id uuid, portfolio_id uuid, correlation_id text, summary text NOT NULL, "
            "rationale text, "
            "actor_key bigint GENERATED ALWAYS AS (hashtextextended(actor, 0)) STORED, "
            "type_key int GENERATED ALWAYS AS (hashtext(type)) STORED)",
            *(
                f"CREATE INDEX IF NOT EXISTS {index_name(TABLE, cols, suffix)} ON {t} ({cols})"
                for cols in INDEXES
            ),
        ]

    async def apply(
        self, conn: asyncpg.Connection, names: StoreNames, changes: Sequence[Change], suffix: str
    ) -> None:
        if not changes:
            return
        st = table(names, SCOPE, suffix)
        found = await conn.fetch(
            f"SELECT aggregate_id, project_id, portfolio_id FROM {st} "
            "WHERE aggregate_id = ANY($1::uuid[])",
            list({c.aggregate_id for c in changes}),
        )
        scope: Scope = {r[0]: (r[1], r[2]) for r in found}
        known = set(scope)
        labels = await _labels(conn, table(names, LABELS, suffix), changes)
        before = dict(labels)
        rows = audit_rows(changes, scope, labels)
        named = [(k, v) for k, v in labels.items() if before.get(k) != v]
        if named:
            await conn.executemany(
                f"INSERT INTO {table(names, LABELS, suffix)} VALUES ($1, $2) "
                "ON CONFLICT (id) DO UPDATE SET label = EXCLUDED.label",
                named,
            )
        learnt = [(k, *v) for k, v in scope.items() if k not in known]
        if learnt:
            await conn.executemany(
                f"INSERT INTO {st} VALUES ($1, $2, $3) ON CONFLICT (aggregate_id) DO NOTHING",
                learnt,
            )
        await _copy(conn, names, TABLE + suffix, rows)
        marks: Marks = {}
        _mark(marks, rows)
        if marks:
            await conn.executemany(
                f"INSERT INTO {table(names, MARKS, suffix)} VALUES ($1, $2, $3) "
                "ON CONFLICT (bucket) DO UPDATE SET "
                "at_min = least(EXCLUDED.at_min, "
                f"{table(names, MARKS, suffix)}.at_min), "
                "at_max = greatest(EXCLUDED.at_max, "
                f"{table(names, MARKS, suffix)}.at_max)",
                [(b, lo, hi) for b, (lo, hi) in marks.items()],
            )

    def bulk(self, context: BulkContext) -> AuditBulk:
        return AuditBulk(context.head, context.pool)

    async def apply_bulk(
        self,
        conn: asyncpg.Connection,
        names: StoreNames,
        suffix: str,
        state: AuditBulk,
        changes: Sequence[Change],
    ) -> list[tuple[Change, Exception]]:
        """Rows go out by COPY in the background while the next batch is computed. A
        batch that fails is computed again change by change: those that fail are
        returned, to be set aside (rows come out only when their whole call succeeds)."""
        if state.writer is None:
            state.writer = await _writer(state.pool)
        failed: list[tuple[Change, Exception]] = []
        made = len(state.rows)
        try:
            state.rows += audit_rows(changes, state.scope, state.labels)
        except Exception:
            for change in changes:
                try:
                    state.rows += audit_rows([change], state.scope, state.labels)
                except Exception as exc:
                    failed.append((change, exc))
        _mark(state.marks, state.rows[made:])
        if len(state.rows) >= COPY_ROWS:
            await state.settle()
            rows, state.rows = state.rows, []
            state.copying = asyncio.create_task(_copy(state.writer, names, TABLE + suffix, rows))
        return failed

    async def abort_bulk(self, state: AuditBulk) -> None:
        """Stop the COPY in flight and close its connection."""
        if state.copying is not None:
            state.copying.cancel()
            with contextlib.suppress(BaseException):
                await state.copying
            state.copying = None
        await state.aclose()

    async def flush_bulk(
        self, conn: asyncpg.Connection, names: StoreNames, suffix: str, state: AuditBulk
    ) -> None:
        try:
            await state.settle()
            if state.writer is not None:
                await _copy(state.writer, names, TABLE + suffix, state.rows)
            else:
                await _copy(conn, names, TABLE + suffix, state.rows)
            state.rows = []
        finally:
            await state.aclose()
        scope = [(k, *v) for k, v in state.scope.items()]
        if scope:
            await conn.copy_records_to_table(
                SCOPE + suffix, records=scope, schema_name=names.schema
            )
        if state.labels:
            await conn.copy_records_to_table(
                LABELS + suffix, records=list(state.labels.items()), schema_name=names.schema
            )
        if state.marks:
            await conn.copy_records_to_table(
                MARKS + suffix,
                records=[(b, lo, hi) for b, (lo, hi) in state.marks.items()],
                schema_name=names.schema,
            )


def _mark(marks: Marks, rows: Sequence[AuditRow]) -> None:
    """Widen the buckets of ``rows`` to their times."""
    for row in rows:
        bucket, at = row[0] // MARK_EVERY, row[1]
        found = marks.get(bucket)
        if found is None:
            marks[bucket] = (at, at)
        elif at < found[0] or at > found[1]:
            marks[bucket] = (min(at, found[0]), max(at, found[1]))


async def _labels(conn: asyncpg.Connection, labels: str, changes: Sequence[Change]) -> Labels:
    """The known labels of what ``changes`` act on (their aggregates, closed conditions)."""
    ids = {c.aggregate_id for c in changes}
    ids |= {c.data.get("condition_id") for c in changes if c.key == "Project.ConditionClosed"}
    ids.discard(None)
    found = await conn.fetch(
        f"SELECT id, label FROM {labels} WHERE id = ANY($1::uuid[])", list(ids)
    )
    return {r[0]: r[1] for r in found}


_PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _micros(value: datetime) -> tuple[int]:
    return ((value - _PG_EPOCH) // _MICROSECOND,)


async def _writer(pool: asyncpg.Pool) -> asyncpg.Connection:
    """A connection that sends timestamps as integers (microseconds since 2000, the
    server's own form): the driver's datetime conversion is the dearest part of a COPY
    row. Closed after use, so the codec never reaches another user of the pool."""
    conn = await pool.acquire()
    try:
        await conn.set_type_codec(
            "timestamptz",
            schema="pg_catalog",
            encoder=_micros,
            decoder=lambda t: t,
            format="tuple",
        )
    except BaseException:
        await conn.close()
        await pool.release(conn)
        raise
    return conn


async def _copy(
    conn: asyncpg.Connection, names: StoreNames, target: str, rows: list[AuditRow]
) -> None:
    if rows:
        await conn.copy_records_to_table(
            target, records=rows, columns=COLUMNS, schema_name=names.schema
        )


@dataclass(frozen=True)
class AuditFilter:
    project_id: UUID | None = None
    portfolio_id: UUID | None = None
    actor: str | None = None  # who acted, or for whom (on_behalf_of)
    on_behalf_of: str | None = None
    type: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    after: int = 0


def _where(names: StoreNames, f: AuditFilter) -> tuple[str, list[Any]]:
    clauses: list[str] = ["position > $1"]
    params: list[Any] = [f.after]
    marks = table(names, MARKS)
    if f.start is not None:  # from the first bucket that reaches the start (none: no row)
        params.append(f.start)
        p = f"${len(params)}"
        clauses.append(
            f"at >= {p} AND position >= coalesce((SELECT min(bucket) FROM {marks} "
            f"WHERE at_max >= {p}), {2**62 // MARK_EVERY}) * {MARK_EVERY}"
        )
    if f.end is not None:  # up to the last bucket that begins before the end
        params.append(f.end)
        p = f"${len(params)}"
        clauses.append(
            f"at < {p} AND position < coalesce((SELECT max(bucket) + 1 FROM {marks} "
            f"WHERE at_min < {p}), 0) * {MARK_EVERY}"
        )
    if f.actor is not None:
        params.append(f.actor)
        p = f"${len(params)}"
        clauses.append(
            f"({_KEYS['actor'].format(p=p + '::text')} AND actor = {p} OR on_behalf_of = {p})"
        )
    for column, value, op in (
        ("project_id", f.project_id, "="),
        ("portfolio_id", f.portfolio_id, "="),
        ("on_behalf_of", f.on_behalf_of, "="),
        ("type", f.type, "="),
    ):
        if value is not None:
            params.append(value)
            clauses.append(f"{column} {op} ${len(params)}")
            if column in _KEYS:
                clauses.append(_KEYS[column].format(p=f"${len(params)}::text"))
    return " AND ".join(clauses), params


def page_sql(names: StoreNames, f: AuditFilter, limit: int) -> tuple[str, list[Any]]:
    """The statement and parameters of one page of the trail."""
    where, params = _where(names, f)
    params.append(limit)
    sql = (
        f"SELECT {', '.join(COLUMNS)} FROM {table(names, TABLE)} WHERE {where} "
        f"ORDER BY position LIMIT ${len(params)}"
    )
    return sql, params


async def query(
    pool: asyncpg.Pool, names: StoreNames, f: AuditFilter, limit: int
) -> tuple[list[dict[str, Any]], int | None]:
    """A page of the trail in position order, and the cursor for the next page."""
    sql, params = page_sql(names, f, limit + 1)
    async with pool.acquire() as conn:
        # A statement of its own, planned for these values: the cached one would switch
        # to a generic plan after five runs, which cannot see how narrow a filter is and
        # read and sorted every row of a busy actor's window (85 ms instead of 1 ms).
        statement = await conn.prepare(sql)
        rows = await statement.fetch(*params)
    items = [dict(r) for r in rows[:limit]]
    more = len(rows) > limit
    return items, (items[-1]["position"] if more and items else None)


async def stream(
    pool: asyncpg.Pool, names: StoreNames, f: AuditFilter, chunk: int = 2000
) -> AsyncGenerator[dict[str, Any], None]:
    """Every matching row, read with a server-side cursor: constant memory."""
    where, params = _where(names, f)
    sql = f"SELECT {', '.join(COLUMNS)} FROM {table(names, TABLE)} WHERE {where} ORDER BY position"
    async with pool.acquire() as conn, conn.transaction():
        async for r in conn.cursor(sql, *params, prefetch=chunk):
            yield dict(r)

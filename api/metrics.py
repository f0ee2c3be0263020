"""Metrics in Prometheus' text exposition format (version 0.0.4), written here without a
client library: counters and histograms this process keeps in memory (``METRICS``), and
gauges read from PostgreSQL when scraped, which say the same whichever process answers.

Several processes on one host (``GATELEDGER_METRICS_DIR``): each writes its counters
and histograms to ``<dir>/<pid>.json`` every few seconds and when it stops; a scrape
answers the sum over every file in the folder (processes that have exited included, so
that a sum never goes down; empty the folder when every process is stopped). Without the
folder each process answers for itself: scrape each one (its own port).

Who else fills a gauge: ``register_gauge`` takes a coroutine that reads it from the
database (the webhook backlog, from whoever keeps webhooks).
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg

from eventstore.database import Store
from eventstore.group_commit import BATCH_OBSERVERS

log = logging.getLogger(__name__)

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096)
CONTENT_TYPE = "text/plain; version=0.0.4"  # litestar adds "; charset=utf-8"

Labels = tuple[tuple[str, str], ...]


@dataclass
class Histogram:
    buckets: tuple[float, ...]
    counts: list[int] = field(default_factory=list)  # per bucket, not cumulative; +Inf last
    total: float = 0.0
    count: int = 0

    def __post_init__(self) -> None:
        if not self.counts:
            self.counts = [0] * (len(self.buckets) + 1)

    def observe(self, value: float) -> None:
        for i, bound in enumerate(self.buckets):
            if value <= bound:
                self.counts[i] += 1
                break
        else:
            self.counts[-1] += 1
        self.total += value
        self.count += 1

    def add(self, other: Histogram) -> None:
        self.counts = [a + b for a, b in zip(self.counts, other.counts, strict=True)]
        self.total += other.total
        self.count += other.count


@dataclass
class Metrics:
    """This process's counters and histograms (``METRICS``)."""

    counters: dict[str, dict[Labels, float]] = field(default_factory=dict)
    histograms: dict[str, dict[Labels, Histogram]] = field(default_factory=dict)

    def inc(self, name: str, labels: Labels = (), by: float = 1.0) -> None:
        series = self.counters.setdefault(name, {})
        series[labels] = series.get(labels, 0.0) + by

    def observe(self, name: str, labels: Labels, value: float, buckets: tuple[float, ...]) -> None:
        series = self.histograms.setdefault(name, {})
        found = series.get(labels)
        if found is None:
            found = series[labels] = Histogram(buckets)
        found.observe(value)

    def request(self, method: str, route: str, status: int, seconds: float) -> None:
        labels = (("method", method), ("route", route), ("status", str(status)))
        self.inc("gateledger_http_requests_total", labels)
        self.observe("gateledger_http_request_duration_seconds", labels, seconds, LATENCY_BUCKETS)

    def append_batch(self, writers: int, events: int) -> None:
        self.observe("gateledger_append_batch_events", (), events, BATCH_BUCKETS)
        self.observe("gateledger_append_batch_writers", (), writers, BATCH_BUCKETS)

    def merged(self, others: Iterable[dict[str, Any]]) -> Metrics:
        """These metrics plus others' snapshots (``snapshot``), as one."""
        out = Metrics()
        for snap in [self.snapshot(), *others]:
            for name, rows in snap.get("counters", {}).items():
                for labels, value in rows:
                    out.inc(name, _labels(labels), value)
            for name, rows in snap.get("histograms", {}).items():
                series = out.histograms.setdefault(name, {})
                for labels, buckets, counts, total, count in rows:
                    other = Histogram(tuple(buckets), list(counts), total, count)
                    key = _labels(labels)
                    if key in series and series[key].buckets == other.buckets:
                        series[key].add(other)
                    else:
                        series[key] = other
        return out

    def snapshot(self) -> dict[str, Any]:
        return {
            "counters": {
                name: [[list(map(list, k)), v] for k, v in rows.items()]
                for name, rows in self.counters.items()
            },
            "histograms": {
                name: [
                    [list(map(list, k)), list(h.buckets), h.counts, h.total, h.count]
                    for k, h in rows.items()
                ]
                for name, rows in self.histograms.items()
            },
        }


def _labels(raw: list[list[str]]) -> Labels:
    return tuple((str(k), str(v)) for k, v in raw)


METRICS = Metrics()
STARTED = time.time()
BATCH_OBSERVERS.append(METRICS.append_batch)  # the group committer reports each write

HELP = {
    "gateledger_http_requests_total": ("counter", "HTTP answers by method, route, status"),
    "gateledger_http_request_duration_seconds": (
        "histogram",
        "Time to answer, by method, route template and status",
    ),
    "gateledger_append_batch_events": ("histogram", "Events per group-commit write"),
    "gateledger_append_batch_writers": ("histogram", "Writers (commands) per group-commit write"),
    "gateledger_rate_limited_total": ("counter", "Requests refused 429 by rate limit bucket"),
    "gateledger_database_faults_total": (
        "counter",
        "Requests answered 503 for a database fault, by kind of fault",
    ),
}


# -- several processes: snapshots in a folder ------------------------------------------


def write_snapshot(folder: Path) -> None:
    """This process's counters and histograms to ``folder/<pid>.json`` (atomically)."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{os.getpid()}.json"
    tmp = folder / f".{os.getpid()}.json.tmp"
    tmp.write_text(json.dumps(METRICS.snapshot()))
    tmp.replace(target)


def _other_snapshots(folder: Path) -> list[dict[str, Any]]:
    mine = f"{os.getpid()}.json"
    out = []
    for path in sorted(folder.glob("*.json")):
        if path.name == mine:
            continue
        with contextlib.suppress(OSError, ValueError):
            out.append(json.loads(path.read_text()))
    return out


# -- gauges read from the database -----------------------------------------------------

GaugeSource = Callable[[Store], Awaitable[list[tuple[Labels, float]]]]
_SOURCES: dict[str, tuple[str, GaugeSource]] = {}


def register_gauge(name: str, help_text: str, source: GaugeSource) -> None:
    """A gauge read at each scrape by ``source(store)`` (a list of (labels, value));
    one that fails is left out of that scrape (and logged)."""
    _SOURCES[name] = (help_text, source)


@dataclass
class Gauge:
    name: str
    help: str
    samples: list[tuple[Labels, float]]


async def database_gauges(store: Store, read_models: list[str]) -> list[Gauge]:
    """The log's head, each read model's position, lag (events, seconds) and set-aside
    events, the last checkpoint's age, and every registered gauge. ``gateledger_database_up``
    is 0 when these could not be read."""
    n = store.names
    try:
        async with store.pool.acquire() as conn:
            head = await conn.fetchval(f"SELECT max(notification_id) FROM {n.q(n.events)}") or 0
            rows = await conn.fetch(
                f"SELECT application_name, notification_id FROM {n.q(n.tracking)} "
                "WHERE application_name = ANY($1::text[])",
                read_models,
            )
            positions = {name: 0 for name in read_models} | {r[0]: r[1] or 0 for r in rows}
            ages = {}
            for name, position in positions.items():
                ages[name] = await _age_after(conn, store, position) if position < head else 0.0
            set_aside = await _set_aside_counts(conn, store)
            webhooks = await _webhook_backlog(conn, store)
            checkpoint = await conn.fetchrow(
                "SELECT position, extract(epoch FROM now() - signed_at)::float8 "
                f"FROM {n.q('gl_checkpoints')} ORDER BY position DESC LIMIT 1"
            )
    except Exception as exc:  # a scrape still answers: the database is down
        log.warning("metrics: cannot read the database's gauges: %s", exc)
        return [
            Gauge("gateledger_database_up", "1 if the database answered this scrape", [((), 0)])
        ]
    gauges = [
        Gauge("gateledger_database_up", "1 if the database answered this scrape", [((), 1)]),
        Gauge("gateledger_log_head_position", "The last event's position in the log", [((), head)]),
        Gauge(
            "gateledger_projection_position",
            "The last position each read model applied",
            [((("read_model", k),), v) for k, v in positions.items()],
        ),
        Gauge(
            "gateledger_projection_lag_events",
            "Events in the log a read model has not applied yet",
            [((("read_model", k),), max(head - v, 0)) for k, v in positions.items()],
        ),
        Gauge(
            "gateledger_projection_lag_seconds",
            "Age of the oldest event a read model has not applied (0: caught up)",
            [((("read_model", k),), v) for k, v in ages.items()],
        ),
        Gauge(
            "gateledger_set_aside_events",
            "Events a read model set aside and nobody re-applied yet",
            [((("read_model", k),), set_aside.get(k, 0)) for k in read_models],
        ),
        Gauge(
            "gateledger_checkpoint_lag_events",
            "Events appended since the last signed checkpoint",
            [((), head - (checkpoint[0] if checkpoint else 0))],
        ),
    ]
    if webhooks is not None:
        gauges += [
            Gauge(
                "gateledger_webhook_backlog",
                "Webhook deliveries waiting to be sent (live subscriptions)",
                [((), webhooks[0])],
            ),
            Gauge(
                "gateledger_webhook_oldest_pending_seconds",
                "Age of the oldest delivery still waiting (0: none)",
                [((), webhooks[1])],
            ),
        ]
    if checkpoint is not None:
        gauges.append(
            Gauge(
                "gateledger_checkpoint_age_seconds",
                "Time since the last signed checkpoint",
                [((), checkpoint[1])],
            )
        )
    for name, (help_text, source) in sorted(_SOURCES.items()):
        try:
            gauges.append(Gauge(name, help_text, await source(store)))
        except Exception as exc:
            log.warning("metrics: gauge %s failed: %s", name, exc)
    return gauges


async def _age_after(conn: asyncpg.Connection, store: Store, position: int) -> float:
    """Seconds since the first event after ``position`` was chained (appended)."""
    age = await conn.fetchval(
        "SELECT extract(epoch FROM now() - chained_at)::float8 "
        f"FROM {store.names.q('gl_chain')} WHERE position > $1 ORDER BY position LIMIT 1",
        position,
    )
    return max(float(age or 0.0), 0.0)


async def _set_aside_counts(conn: asyncpg.Connection, store: Store) -> dict[str, int]:
    table = store.names.q("gl_set_aside")
    exists = await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", table)
    if not exists:
        return {}
    rows = await conn.fetch(
        f"SELECT projection, count(*) FROM {table} WHERE resolved_at IS NULL GROUP BY projection"
    )
    return {r[0]: int(r[1]) for r in rows}


async def _webhook_backlog(conn: asyncpg.Connection, store: Store) -> tuple[int, float] | None:
    """Pending deliveries of live subscriptions and the oldest one's age (api/webhooks.py's
    tables), or None where webhooks have no tables."""
    deliveries = store.names.q("gl_webhook_deliveries")
    if not await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", deliveries):
        return None
    row = await conn.fetchrow(
        "SELECT count(*), coalesce(extract(epoch FROM now() - min(d.created_at)), 0)::float8 "
        f"FROM {deliveries} d JOIN {store.names.q('gl_webhooks')} h ON h.id = d.webhook_id "
        "WHERE d.status = 'pending' AND h.deleted_at IS NULL"
    )
    return int(row[0]), float(row[1])


# -- the exposition --------------------------------------------------------------------


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _series(name: str, labels: Labels, value: float) -> str:
    inner = ",".join(f'{k}="{_escape(v)}"' for k, v in labels)
    return f"{name}{{{inner}}} {_number(value)}" if inner else f"{name} {_number(value)}"


def _number(value: float) -> str:
    if isinstance(value, float) and math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if float(value).is_integer():
        return str(int(value))
    return repr(float(value))


def exposition(metrics: Metrics, gauges: list[Gauge], pool: asyncpg.Pool | None = None) -> str:
    """Everything, in Prometheus' text format."""
    lines: list[str] = []
    for name in sorted(set(HELP) | set(metrics.counters) | set(metrics.histograms)):
        kind, help_text = HELP.get(name, ("untyped", name))
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
        for labels, value in sorted(metrics.counters.get(name, {}).items()):
            lines.append(_series(name, labels, value))
        for labels, h in sorted(metrics.histograms.get(name, {}).items()):
            running = 0
            for bound, count in zip((*h.buckets, math.inf), h.counts, strict=True):
                running += count
                le = "+Inf" if math.isinf(bound) else _number(bound)
                lines.append(_series(f"{name}_bucket", (*labels, ("le", le)), running))
            lines.append(_series(f"{name}_sum", labels, h.total))
            lines.append(_series(f"{name}_count", labels, h.count))
    for gauge in gauges:
        lines += [f"# HELP {gauge.name} {gauge.help}", f"# TYPE {gauge.name} gauge"]
        lines += [_series(gauge.name, labels, value) for labels, value in gauge.samples]
    pid = (("pid", str(os.getpid())),)
    lines += [
        "# HELP gateledger_process_start_time_seconds When the answering process started",
        "# TYPE gateledger_process_start_time_seconds gauge",
        _series("gateledger_process_start_time_seconds", pid, STARTED),
    ]
    if pool is not None:
        lines += [
            "# HELP gateledger_db_pool_connections The answering process's pooled connections",
            "# TYPE gateledger_db_pool_connections gauge",
            _series("gateledger_db_pool_connections", (*pid, ("state", "open")), pool.get_size()),
            _series(
                "gateledger_db_pool_connections", (*pid, ("state", "idle")), pool.get_idle_size()
            ),
            _series(
                "gateledger_db_pool_connections", (*pid, ("state", "max")), pool.get_max_size()
            ),
        ]
    return "\n".join(lines) + "\n"


def process_metrics(folder: Path | None) -> Metrics:
    """This process's metrics, summed with every other process's in ``folder``."""
    if folder is None:
        return METRICS
    write_snapshot(folder)
    return METRICS.merged(_other_snapshots(folder))

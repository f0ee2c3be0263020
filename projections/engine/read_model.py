"""What a projection is: named tables, DDL per table set, and a batch apply function."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import asyncpg

from eventstore.schema import StoreNames
from projections.engine.events import Change


class Projection(Protocol):
    """A read model kept by the projector; its tables can be built under a suffix."""

    name: str
    version: int  # goes up when the tables' layout or content changes

    # Read-only, so that a read model may declare them as plain tuples ("a", "b").
    @property
    def tables(self) -> tuple[str, ...]:
        """Its tables' base names."""
        ...

    @property
    def retired(self) -> tuple[str, ...]:
        """Tables of earlier versions, dropped with the old ones."""
        ...

    def ddl(self, names: StoreNames, suffix: str) -> list[str]:
        """CREATE statements for this projection's tables with ``suffix`` appended."""
        ...

    async def apply(
        self, conn: asyncpg.Connection, names: StoreNames, changes: Sequence[Change], suffix: str
    ) -> None:
        """Apply a batch of changes to the tables (inside the caller's transaction)."""
        ...


@dataclass(frozen=True)
class BulkContext:
    """What a rebuild tells a projection when it starts: the last position it will
    read, the pool (for work beside the projection's own connection), and ``shared``,
    where read models rebuilt in the same pass keep work they share (a fold of the same
    documents is computed once for all of them)."""

    head: int
    pool: asyncpg.Pool
    shared: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class BulkProjection(Protocol):
    """A projection that rebuilds in memory (or streams out on its own connection) and
    writes its tables at the end."""

    def bulk(self, context: BulkContext) -> Any:
        """Fresh rebuild state."""
        ...

    async def apply_bulk(
        self,
        conn: asyncpg.Connection,
        names: StoreNames,
        suffix: str,
        state: Any,
        changes: Sequence[Change],
    ) -> Sequence[tuple[Change, Exception]] | None:
        """Take the next changes, in order (``conn`` is this projection's own). A change
        it cannot apply is skipped and returned with its error, to be set aside; an
        exception raised here fails the rebuild (the in-memory state cannot be undone)."""
        ...

    async def flush_bulk(
        self, conn: asyncpg.Connection, names: StoreNames, suffix: str, state: Any
    ) -> None:
        """Write what is left; the tables are complete when it returns."""
        ...

    async def abort_bulk(self, state: Any) -> None:
        """The rebuild failed: stop the state's background work, give back what it holds."""
        ...


def table(names: StoreNames, base: str, suffix: str = "") -> str:
    """The qualified name of a read-model table (``suffix`` for rebuilds)."""
    return names.q(base + suffix)


def index_name(base: str, columns: str, suffix: str) -> str:
    """Index names are unique per schema: tag them with the table's suffix and a hash."""
    tag = hashlib.sha1(f"{base}{suffix}{columns}".encode()).hexdigest()[:8]
    return f"ix_{base}_{tag}"[:63]


def lock_key(names: StoreNames, projection: str) -> int:
    """A stable 63-bit advisory-lock key for one projection in one schema."""
    digest = hashlib.sha256(f"gateledger:{names.schema}:{projection}".encode()).digest()
    return int.from_bytes(digest[:8], "big") & 0x7FFF_FFFF_FFFF_FFFF

"""The fault tests' private PostgreSQL (tests/faults/cluster.py): one cluster for the
session, started again if a test left it stopped; each test in a schema of its own."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.faults.cluster import Cluster


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    made = Cluster.create()
    made.start()
    try:
        yield made
    finally:
        made.destroy()


@pytest.fixture
def pg(cluster: Cluster) -> Iterator[Cluster]:
    """The cluster, running (a test that stops it starts it again; this makes sure)."""
    try:
        cluster.wait_ready(timeout=1)
    except Exception:
        cluster.start()
    yield cluster


@pytest.fixture
def fault_schema() -> str:
    return f"f_{uuid.uuid4().hex[:12]}"

"""A data folder per test outside pytest's temporary folders: PostgreSQL runs as another
user when the tests run as root, and pytest keeps its own folders private to root."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def data_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="gateledger-e2e-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)

"""serve_until_stopped: a stop signal is never lost, whatever phase it finds the server
in before uvicorn handles signals itself (the e2e tests cover the phases after)."""

from __future__ import annotations

import gc
import os
import signal
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from api import serving
from api.settings import Settings


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_while_the_app_is_built_stops_the_server_before_it_serves(
    sig: signal.Signals, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran: list[str] = []

    def built_while_signalled(settings: Settings) -> Any:
        os.kill(os.getpid(), sig)  # handled here, before uvicorn's handlers exist
        return object()

    monkeypatch.setattr(serving, "create_app", built_while_signalled)
    monkeypatch.setattr(serving, "_preflight", _no_database)
    monkeypatch.setattr(uvicorn.Server, "run", lambda self: ran.append("served"))
    before = {s: signal.getsignal(s) for s in serving.SIGNALS}
    settings = Settings(database_url="postgresql://unused", data_dir=tmp_path, jwt_secret="s")
    serving.serve_until_stopped(settings, "127.0.0.1", 8000)
    assert ran == []
    assert {s: signal.getsignal(s) for s in serving.SIGNALS} == before


async def _no_database(settings: Settings) -> None:
    """The store is opened once before serving; these tests have no database."""


def test_the_start_up_heap_is_frozen_before_serving(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What start-up made is out of the collector's passes once serving starts (a full
    pass over it was ~100 ms, paid by whichever request came next: bench/pages.py)."""
    frozen: list[int] = []
    monkeypatch.setattr(serving, "create_app", lambda settings: object())
    monkeypatch.setattr(serving, "_preflight", _no_database)
    monkeypatch.setattr(uvicorn.Server, "run", lambda self: frozen.append(gc.get_freeze_count()))
    gc.unfreeze()
    try:
        settings = Settings(database_url="postgresql://unused", data_dir=tmp_path, jwt_secret="s")
        serving.serve_until_stopped(settings, "127.0.0.1", 8000)
    finally:
        gc.unfreeze()
    assert len(frozen) == 1 and frozen[0] > 1000

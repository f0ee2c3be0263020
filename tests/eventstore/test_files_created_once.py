"""The checkpoint key and the JWT secret are made once, however many processes start on
one data folder at the same moment: every one of them ends up with the same."""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable
from pathlib import Path

from api.settings import Settings
from eventstore.checkpoints import load_or_create_key

RACERS = 8


Racer = tuple[str, threading.Barrier]  # what each process gets: a path, the start line


def _key(args: Racer) -> str:
    path, start = args
    start.wait()
    return load_or_create_key(Path(path)).to_json()["key_id"]


def _secret(args: Racer) -> str:
    folder, start = args
    start.wait()
    return Settings.from_env(data_dir=Path(folder)).jwt_secret


def race(fn: Callable[[Racer], str], arg: str) -> set[str]:
    ctx = multiprocessing.get_context("fork")
    with ctx.Manager() as manager:
        start = manager.Barrier(RACERS)
        with ctx.Pool(RACERS) as pool:
            found = pool.map(fn, [(arg, start)] * RACERS)
    return set(found)


def test_processes_racing_to_make_the_checkpoint_key_all_get_the_one_kept(
    tmp_path: Path,
) -> None:
    for attempt in range(5):
        path = tmp_path / f"try{attempt}" / "checkpoint-ed25519.pem"
        found = race(_key, str(path))
        assert found == {load_or_create_key(path).to_json()["key_id"]}
        assert path.stat().st_mode & 0o777 == 0o600
        assert [p.name for p in path.parent.iterdir()] == [path.name]  # no leftovers


def test_processes_racing_to_make_the_jwt_secret_all_get_the_one_kept(
    tmp_path: Path, monkeypatch: object
) -> None:
    monkeypatch.delenv("GATELEDGER_JWT_SECRET", raising=False)  # type: ignore[attr-defined]
    for attempt in range(5):
        folder = tmp_path / f"try{attempt}"
        found = race(_secret, str(folder))
        assert len(found) == 1
        assert found == {(folder / "jwt-secret").read_text().strip()}
        assert (folder / "jwt-secret").stat().st_mode & 0o777 == 0o600

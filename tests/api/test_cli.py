"""The command line: tokens minted with the shared secret kept in the data folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.auth import decode_token
from api.cli import app
from api.settings import Settings


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GATELEDGER_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("GATELEDGER_JWT_SECRET", raising=False)
    return tmp_path


def test_token_is_alone_on_the_last_line_and_verifies_with_the_kept_secret(
    data_dir: Path,
) -> None:
    result = CliRunner().invoke(app, ["token", "alice", "--role", "pmo_admin"])
    assert result.exit_code == 0, result.output
    token = result.stdout.strip().splitlines()[-1]
    assert (data_dir / "jwt-secret").exists()
    principal = decode_token(Settings.from_env(), token)  # what `serve` would load
    assert (principal.sub, principal.roles) == ("alice", ("pmo_admin",))


def test_unknown_role_is_refused(data_dir: Path) -> None:
    result = CliRunner().invoke(app, ["token", "alice", "--role", "king"])
    assert result.exit_code == 2
    assert not result.stdout.strip()


def test_rebuild_names_an_unknown_projection(data_dir: Path) -> None:
    result = CliRunner().invoke(app, ["rebuild", "nonsense"])
    assert result.exit_code == 2

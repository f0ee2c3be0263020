"""A governance template and a board must fit: every quorum must be reachable.

A gate (or the board's vote on an escalated change request) is decided on the votes of
the board's members and the policy's mandatory voters. A quorum larger than the number
of those people can never be met, so the template could never pass that gate: refused
(422) when a portfolio is created and whenever its board changes: for the portfolio's
template, and for the version each of its live projects follows (one kept, or migrated
to, differs from the portfolio's current one). A mandatory voter
named by role (``sponsor``) counts as one more person: who holds it is only known per
project.
"""

from __future__ import annotations

from collections.abc import Iterable

from domain.errors import InvalidValue
from domain.policy import Board, DecisionPolicy, GovernanceTemplate


def require_passable(template: GovernanceTemplate, board: Board, field: str | None = None) -> None:
    """Refuse a template whose quorum the board cannot reach. ``field`` names what is
    at fault in the answer (the board when it is the board that changes); else the
    template's offending quorum is named."""
    policies: list[tuple[str, str, DecisionPolicy]] = [
        (f"template.gates[{i}].quorum", f"gate {g.name}", g.policy)
        for i, g in enumerate(template.gates)
    ]
    policies.append(
        ("template.change_policy.quorum", "escalated change requests", template.change_policy)
    )
    for where, what, policy in policies:
        voters = set(board.members) | set(policy.mandatory_voters)
        if policy.quorum > len(voters):
            raise InvalidValue(
                f"{field or where}: the quorum of {policy.quorum} for {what} can never be "
                f"met: only {len(voters)} people vote on it (the board's "
                f"{len(board.members)} members and its mandatory voters)"
            )


def require_passable_for_projects(
    board: Board, projects: Iterable[tuple[str, GovernanceTemplate]]
) -> None:
    """The board must reach the quorums of every live project's own template version
    (``projects``: name and template); the answer names the project at fault."""
    for name, template in projects:
        require_passable(
            template,
            board,
            f"board.members (project {name!r} follows {template.name!r} v{template.version})",
        )

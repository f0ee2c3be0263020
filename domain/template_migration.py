"""Moving a project to another governance template version: when its progress maps.

A project keeps the template version it was created with until the PMO migrates it.
Migration keeps everything the project has done (its passed gates, its stage, its
decisions and conditions) and changes only the rules of what is still to come, so the
new template must describe that past the same way:

- the project is neither closed nor cancelled, and no gate review is open (a review is
  decided under the rules it was requested under);
- the new template has a gate after those passed (the project's next gate);
- the new template's first gates have the names of the gates already passed, in order;
- the last gate passed opens the same stage in both (the project stays in its stage).

A refusal is a ``RuleViolation`` (409, it depends on the project's state) naming what
does not map. Whether the board can reach the new template's quorums is
``domain.board_sanity.require_passable`` (422).
"""

from __future__ import annotations

from domain.errors import RuleViolation
from domain.policy import GovernanceTemplate


def label(template: GovernanceTemplate) -> str:
    """``Lean v2``: how answers and the audit trail name a template version."""
    return f"{template.name} v{template.version}"


def check_migration(
    current: GovernanceTemplate,
    target: GovernanceTemplate,
    gates_passed: int,
    *,
    terminal: bool,
    open_review: str | None,
) -> None:
    """Refuse a migration from ``current`` to ``target`` that the project's progress
    (``gates_passed``, a review open on ``open_review``) cannot follow."""
    if (current.name, current.version) == (target.name, target.version):
        raise RuleViolation(f"the project already follows {label(target)}")
    if terminal:
        raise RuleViolation("a closed or cancelled project keeps its template")
    if open_review is not None:
        raise RuleViolation(
            f"the review of gate {open_review} is open: it is decided under {label(current)}; "
            "migrate after its decision"
        )
    if gates_passed >= len(target.gates):
        raise RuleViolation(
            f"{label(target)} has {len(target.gates)} gates and the project has passed "
            f"{gates_passed}: it would have no next gate"
        )
    passed = [g.name for g in current.gates[:gates_passed]]
    mapped = [g.name for g in target.gates[:gates_passed]]
    if passed != mapped:
        raise RuleViolation(
            f"the gates passed ({', '.join(passed)}) are not the first gates of "
            f"{label(target)} ({', '.join(mapped) or 'none'}): the project's past cannot be "
            "mapped onto it"
        )
    if gates_passed:
        was = current.gates[gates_passed - 1].opens_stage
        now = target.gates[gates_passed - 1].opens_stage
        if was != now:
            raise RuleViolation(
                f"gate {passed[-1]} opens the stage {was!r} in {label(current)} but {now!r} "
                f"in {label(target)}: the project's stage cannot be mapped"
            )

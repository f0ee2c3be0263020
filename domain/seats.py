"""Who may vote, decide or sign on what: one rule, used by the aggregates (to refuse
whoever may not) and by the inbox (to list what each person owes).

Plain values in and out (names, role names, people), so a read model can call these
with what it keeps, and gets the same answer the aggregate acts on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import NamedTuple

from domain.gate_review import resolve_voters

# Who holds a role named in a policy's mandatory voters ("sponsor", "chair", ...).
Holders = Mapping[str, tuple[str, ...]]


class Seats(NamedTuple):
    """Who may act on one open decision: ``voters`` vote, ``deciders`` decide, and the
    ``barred`` (its requesters, whoever configured its governance) do neither. (Never
    stored, so not a dataclass: those are the record's value types.)"""

    voters: frozenset[str]
    deciders: frozenset[str]
    barred: frozenset[str] = frozenset()

    def owed_votes(self, voted: Iterable[str]) -> list[str]:
        """Who may still vote, having not: each owes a vote."""
        return sorted(self.voters - self.barred - set(voted))

    def owed_decisions(self) -> list[str]:
        """Who may decide: each owes the decision until someone takes it."""
        return sorted(self.deciders - self.barred)


def board_seats(
    members: Iterable[str],
    chair: str | None,
    mandatory: Iterable[str],
    chair_must_confirm: bool,
    holders: Holders,
    barred: Iterable[str] = (),
) -> Seats:
    """A decision of the board (a gate, or a change request beyond tolerance): the
    members and the policy's mandatory voters (role names resolved against ``holders``)
    vote; the chair decides, or any member where the policy needs no chair."""
    members = set(members)
    voters = members | resolve_voters(mandatory, holders)
    deciders = {chair} if chair_must_confirm else members
    return Seats(frozenset(voters), frozenset(d for d in deciders if d), frozenset(barred))


def gate_holders(
    pm: str, sponsor: str, stakeholders: Iterable[str], members: Iterable[str], chair: str | None
) -> dict[str, tuple[str, ...]]:
    """Who holds each role a gate's policy may name among its mandatory voters."""
    return {
        "pm": (pm,),
        "sponsor": (sponsor,),
        "stakeholder": tuple(stakeholders),
        "chair": (chair,) if chair else (),
        "gatekeeper": tuple(members),
    }


def change_request_holders(
    sponsor: str, members: Iterable[str], chair: str | None
) -> dict[str, tuple[str, ...]]:
    """Who holds each role a change policy may name among its mandatory voters."""
    return {"sponsor": (sponsor,), "chair": (chair,) if chair else (), "gatekeeper": tuple(members)}


def change_request_seats(
    route: str | None,
    sponsor: str,
    members: Iterable[str],
    chair: str | None,
    mandatory: Iterable[str],
    chair_must_confirm: bool,
    barred: Iterable[str] = (),
) -> Seats:
    """Within tolerance (route ``sponsor``) the sponsor decides alone and nobody votes;
    beyond it (``board``) the board decides as for a gate."""
    if route == "sponsor":
        return Seats(frozenset(), frozenset({sponsor}), frozenset(barred))
    members = tuple(members)
    holders = change_request_holders(sponsor, members, chair)
    return board_seats(members, chair, mandatory, chair_must_confirm, holders, barred)


def owed_signatures(signatories: Iterable[str], signed: Iterable[str]) -> list[str]:
    """The named signatories who have not signed yet, in the order named."""
    done = set(signed)
    return [p for p in signatories if p not in done]


def owed_conditions(
    ended: bool, conditions: Iterable[tuple[str, str, date, bool]]
) -> list[tuple[str, str, date]]:
    """The open conditions of a project that has not ended, as (condition id, owner,
    due): each owner owes the work by its due date. ``conditions`` are (id, owner, due,
    closed); a closed or cancelled project owes nothing more."""
    if ended:
        return []
    return [(cid, owner, due) for cid, owner, due, closed in conditions if not closed]


def condition_item(condition_id: object, owner: str) -> str:
    """How the escalation job names an open condition: "condition:<owner>:<id>"."""
    return f"condition:{owner}:{condition_id}"


def escalation_recipient(item: str, chair: str | None, pmo: str) -> str:
    """Whom an overdue item escalates to: the board's chair, or, for the chair's own item
    (or a board without a chair), the portfolio's PMO (who created the portfolio).
    ``item`` names its owner second: "vote:dave", "condition:dave:<id>"."""
    owner = item.split(":")[1] if item.count(":") >= 1 else ""
    return pmo if not chair or owner == chair else chair

"""Portfolio aggregate: objectives, budget envelope, governance board, template, roles.

Its events are declared together at the top of the class, each with the fields it
stores in their stored order; every command checks, then calls a private
``@event(TheEvent)`` method that only assigns state. No ``from __future__ import
annotations`` here: eventsourcing makes the event classes frozen dataclasses from their
annotations, which must be real types.
"""

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.board_sanity import require_passable
from domain.checks import as_tuple, require_person, require_text
from domain.duties import require_board_without
from domain.errors import InvalidValue, NotAllowed, RuleViolation
from domain.money import Money, require_money_in
from domain.policy import Actor, Board, GovernanceTemplate, Role, RoleAssignment

PORTFOLIO_ASSIGNABLE_ROLES = frozenset({Role.STAKEHOLDER, Role.AUDITOR})


class Portfolio(Aggregate):
    # 2: snapshots keep board_changers (who changed the board: configurers too)
    class_version = 2

    class Event(Aggregate.Event):
        """Every event of a portfolio."""

    # --- the events ----------------------------------------------------------------
    # Each is stored as "Portfolio.<its name>" (domain/stored_names.py) with these
    # fields in this order; a stored shape never changes in place (docs/stored-names.md).

    class Created(Event, Aggregate.Created):
        name: str
        objectives: tuple[str, ...]
        envelope: Money
        board: Board
        template: GovernanceTemplate
        by: Actor

    class BoardChanged(Event):
        previous: Board
        board: Board
        by: Actor
        reason: str = ""  # absent (read as "") in changes recorded before it was asked

    class RoleAssigned(Event):
        person: str
        role: Role
        by: Actor

    class EnvelopeChanged(Event):
        previous: Money
        envelope: Money
        reason: str
        by: Actor

    class RoleRevoked(Event):
        person: str
        role: Role
        by: Actor

    class TemplateChanged(Event):
        """The template its NEW projects follow (existing ones keep theirs)."""

        previous_name: str
        previous_version: int
        template: GovernanceTemplate
        reason: str
        by: Actor

    # --- state and commands --------------------------------------------------------

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        """Snapshots from before board changers were kept: none known (board changes
        had no HTTP route then)."""
        state["board_changers"] = ()

    @classmethod
    def create(
        cls,
        id: UUID,
        name: str,
        objectives: tuple[str, ...],
        envelope: Money,
        board: Board,
        template: GovernanceTemplate,
        by: Actor,
    ) -> "Portfolio":
        require_text(name, "portfolio name")
        objectives = as_tuple(objectives, "objectives")
        for objective in objectives:
            require_text(objective, "objective")
        if not isinstance(envelope, Money) or envelope.is_negative():
            raise InvalidValue("the budget envelope must be non-negative Money")
        require_money_in(envelope, "envelope")  # its currency is the portfolio's
        if not isinstance(board, Board) or not isinstance(template, GovernanceTemplate):
            raise InvalidValue("a portfolio needs a Board and a GovernanceTemplate")
        require_board_without(board, by.people)
        require_passable(template, board)
        return cls(
            id=id,
            name=name,
            objectives=objectives,
            envelope=envelope,
            board=board,
            template=template,
            by=by,
        )

    @event(Created)
    def __init__(
        self,
        id: UUID,
        name: str,
        objectives: tuple[str, ...],
        envelope: Money,
        board: Board,
        template: GovernanceTemplate,
        by: Actor,
    ) -> None:
        self.name = name
        self.objectives = objectives
        self.envelope = envelope
        self.board = board
        self.template = template
        self.roles: tuple[RoleAssignment, ...] = ()
        self.created_by = by
        self.board_changers: tuple[str, ...] = ()  # who changed the board (or template) since

    # --- queries ---------------------------------------------------------------

    @property
    def currency(self) -> str:
        """The portfolio's one currency (its envelope's): its projects and their change
        requests use it."""
        return self.envelope.currency

    @property
    def chair(self) -> str:
        return self.board.chair

    @property
    def configured_by(self) -> tuple[str, ...]:
        """Who configured this portfolio's governance and so never votes or decides
        under it: its creator and everyone who changed its board or its template (both
        people, where one acted for another), in that order, each once."""
        return tuple(dict.fromkeys((*self.created_by.people, *self.board_changers)))

    def is_gatekeeper(self, person: str) -> bool:
        return person in self.board.members

    def roles_of(self, person: str) -> frozenset[Role]:
        roles = {a.role for a in self.roles if a.person == person}
        if self.is_gatekeeper(person):
            roles.add(Role.GATEKEEPER)
        if person == self.board.chair:
            roles.add(Role.CHAIR)
        return frozenset(roles)

    # --- commands --------------------------------------------------------------

    def change_board(self, board: Board, by: Actor, reason: str = "") -> None:
        """New members and chair, with the reason (the API and the CLI require one)."""
        if reason:
            require_text(reason, "reason")
        if not isinstance(board, Board):
            raise InvalidValue("board must be a Board")
        if board == self.board:
            raise RuleViolation("the board is unchanged")
        require_board_without(board, (*self.configured_by, *by.people))
        require_passable(self.template, board, "board.members")
        self._board_changed(previous=self.board, board=board, by=by, reason=reason)

    @event(BoardChanged)
    def _board_changed(self, previous: Board, board: Board, by: Actor, reason: str = "") -> None:
        self.board = board
        self.board_changers = (*self.board_changers, *by.people)

    def change_envelope(self, envelope: Money, reason: str, by: Actor) -> None:
        """A new budget envelope, in the portfolio's currency, with a reason."""
        if not isinstance(envelope, Money) or envelope.is_negative():
            raise InvalidValue("envelope: the budget envelope must be non-negative Money")
        if envelope.currency != self.currency:
            raise InvalidValue(
                f"envelope.currency: the portfolio's currency is {self.currency}, "
                f"not {envelope.currency}"
            )
        require_text(reason, "reason")
        if envelope == self.envelope:
            raise RuleViolation("the envelope is unchanged")
        self._envelope_changed(previous=self.envelope, envelope=envelope, reason=reason, by=by)

    @event(EnvelopeChanged)
    def _envelope_changed(self, previous: Money, envelope: Money, reason: str, by: Actor) -> None:
        self.envelope = envelope

    def change_template(self, template: GovernanceTemplate, reason: str, by: Actor) -> None:
        """The template new projects of this portfolio follow, with the reason; its
        quorums must be reachable by the board. Whoever changes it configured this
        governance (a configurer, as a board changer is)."""
        if not isinstance(template, GovernanceTemplate):
            raise InvalidValue("template must be a GovernanceTemplate")
        require_text(reason, "reason")
        current = self.template
        if (template.name, template.version) == (current.name, current.version):
            raise RuleViolation(
                f"the portfolio already follows {template.name} v{template.version}"
            )
        if by.involves_any(self.board.members):
            raise NotAllowed(
                "a member of the board cannot change the template it decides under "
                "(who configures governance does not decide under it)"
            )
        require_passable(template, self.board)
        self._template_changed(
            previous_name=current.name,
            previous_version=current.version,
            template=template,
            reason=reason,
            by=by,
        )

    @event(TemplateChanged)
    def _template_changed(
        self,
        previous_name: str,
        previous_version: int,
        template: GovernanceTemplate,
        reason: str,
        by: Actor,
    ) -> None:
        self.template = template
        self.board_changers = (*self.board_changers, *by.people)

    def assign_role(self, person: str, role: Role, by: Actor) -> None:
        require_person(person, "person")
        role = _assignable(role)
        if RoleAssignment(person, role) in self.roles:
            raise RuleViolation(f"{person} already holds the {role.value} role")
        self._role_assigned(person=person, role=role, by=by)

    @event(RoleAssigned)
    def _role_assigned(self, person: str, role: Role, by: Actor) -> None:
        self.roles = (*self.roles, RoleAssignment(person, role))

    def revoke_role(self, person: str, role: Role, by: Actor) -> None:
        role = _assignable(role)
        if RoleAssignment(person, role) not in self.roles:
            raise RuleViolation(f"{person} does not hold the {role.value} role")
        self._role_revoked(person=person, role=role, by=by)

    @event(RoleRevoked)
    def _role_revoked(self, person: str, role: Role, by: Actor) -> None:
        revoked = RoleAssignment(person, role)
        self.roles = tuple(a for a in self.roles if a != revoked)


def _assignable(role: Role | str) -> Role:
    try:
        role = Role(role)
    except ValueError as exc:
        raise InvalidValue(f"unknown role {role!r}") from exc
    if role not in PORTFOLIO_ASSIGNABLE_ROLES:
        allowed = ", ".join(sorted(r.value for r in PORTFOLIO_ASSIGNABLE_ROLES))
        raise InvalidValue(
            f"{role.value} cannot be assigned on a portfolio (board roles come from the "
            f"board; assignable: {allowed})"
        )
    return role

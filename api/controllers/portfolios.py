"""Portfolios: create (pmo_admin) and read."""

from __future__ import annotations

from collections.abc import Sequence

from litestar import Controller, Response, post

from api.auth import require_role
from api.commands import Command, answer
from api.schemas import CommandAnswer, CreatePortfolio, GateBody, TemplateBody
from domain.checks import require_label
from domain.errors import InvalidValue
from domain.policy import (
    Board,
    DecisionPolicy,
    GateDefinition,
    GovernanceTemplate,
    RequiredSignOff,
    default_template,
)
from eventstore.database import Store
from workflows import portfolios
from workflows.templates import TemplateRef


def gate_definitions(bodies: Sequence[GateBody]) -> tuple[GateDefinition, ...]:
    """The gates a request describes. Gate and stage names are matched by equality (a
    gate is named in URLs, a migration maps stages), so they refuse invisible characters
    here, as person ids do (the domain keeps accepting what the log already holds)."""
    return tuple(
        GateDefinition(
            name=require_label(g.name, "gate name"),
            title=g.title,
            opens_stage=require_label(g.opens_stage, "stage opened by the gate"),
            policy=DecisionPolicy(g.quorum, tuple(g.mandatory_voters), g.chair_must_confirm),
            required_signoffs=tuple(
                RequiredSignOff(s.deliverable, s.signer_role, s.signer) for s in g.required_signoffs
            ),
            vote_due_days=g.vote_due_days,
        )
        for g in bodies
    )


def template_from(body: TemplateBody | None) -> GovernanceTemplate:
    if body is None:
        return default_template()
    return GovernanceTemplate(body.name, body.version, gate_definitions(body.gates))


class PortfolioController(Controller):
    path = "/portfolios"
    tags = ["portfolios"]

    @post("/", operation_id="createPortfolio", summary="Create a portfolio (pmo_admin)")
    async def create(
        self, data: CreatePortfolio, command: Command, store: Store
    ) -> Response[CommandAnswer]:
        require_role(command.principal, "pmo_admin")
        template: GovernanceTemplate | TemplateRef = template_from(data.template)
        if data.template_ref is not None:
            if data.template is not None:
                raise InvalidValue("template_ref: give a template inline or by reference, not both")
            template = TemplateRef(data.template_ref.name, data.template_ref.version)
        result = await portfolios.create_portfolio(
            store,
            name=data.name,
            objectives=tuple(data.objectives),
            envelope=data.envelope.to_money(),
            board=Board(tuple(data.board.members), data.board.chair),
            template=template,
            by=command.by(),
            options=command.options,
        )
        return answer(result, 201)

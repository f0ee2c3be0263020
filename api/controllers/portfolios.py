"""Portfolios: create (pmo_admin) and read."""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

from litestar import Controller, Request, Response, get, post

from api.auth import Principal, require_role
from api.commands import actor_for, answer, command_options
from api.schemas import CommandAnswer, CreatePortfolio, TemplateBody
from api.views import PortfolioView, portfolio_view
from domain.money import Money
from domain.policy import (
    Board,
    DecisionPolicy,
    GateDefinition,
    GovernanceTemplate,
    RequiredSignOff,
    default_template,
)
from domain.portfolio import Portfolio
from eventstore.database import Store
from eventstore.loader import load_aggregate
from workflows import portfolios
from workflows.errors import UnknownAggregate


def template_from(body: TemplateBody | None) -> GovernanceTemplate:
    if body is None:
        return default_template()
    gates = tuple(
        GateDefinition(
            name=g.name,
            title=g.title,
            opens_stage=g.opens_stage,
            policy=DecisionPolicy(g.quorum, tuple(g.mandatory_voters), g.chair_must_confirm),
            required_signoffs=tuple(
                RequiredSignOff(s.deliverable, s.signer_role, s.signer) for s in g.required_signoffs
            ),
            vote_due_days=g.vote_due_days,
        )
        for g in body.gates
    )
    return GovernanceTemplate(body.name, body.version, gates)


async def load_portfolio(store: Store, portfolio_id: UUID) -> Portfolio:
    found = await load_aggregate(store, portfolio_id)
    if not isinstance(found, Portfolio):
        raise UnknownAggregate(f"portfolio {portfolio_id} not found")
    return found


class PortfolioController(Controller):
    path = "/portfolios"
    tags = ["portfolios"]

    @post("/", operation_id="createPortfolio", summary="Create a portfolio (pmo_admin)")
    async def create(
        self, data: CreatePortfolio, request: Request, principal: Principal, store: Store
    ) -> Response[CommandAnswer]:
        require_role(principal, "pmo_admin")
        result = await portfolios.create_portfolio(
            store,
            name=data.name,
            objectives=tuple(data.objectives),
            envelope=Money(Decimal(data.envelope.amount), data.envelope.currency),
            board=Board(tuple(data.board.members), data.board.chair),
            template=template_from(data.template),
            by=actor_for(request, principal),
            options=await command_options(request, principal),
        )
        return answer(result, 201)

    @get("/{portfolio_id:uuid}", operation_id="getPortfolio", summary="A portfolio")
    async def read(self, portfolio_id: UUID, store: Store) -> Response[PortfolioView]:
        portfolio = await load_portfolio(store, portfolio_id)
        return Response(portfolio_view(portfolio), headers={"ETag": f'"{portfolio.version}"'})

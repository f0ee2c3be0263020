"""Gate reviews: request, vote, decide, close conditions."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, Response, get, post
from litestar.params import Parameter

from api.answers import DecisionContext, typed
from api.commands import Command, answer
from api.schemas import CastVote, CloseCondition, CommandAnswer, DecideGate, RequestReview
from domain.gate_review import Decision, Vote
from eventstore.database import Store
from projections.projects.decisions import decision_context
from workflows import gates
from workflows.errors import UnknownAggregate
from workflows.uow import CommandResult

Gate = Parameter(max_length=50, description="gate name, e.g. G1")


class GateController(Controller):
    path = "/projects/{project_id:uuid}"
    tags = ["gates"]

    @post(
        "/gates/{gate:str}/review",
        operation_id="requestGateReview",
        summary="PM requests",
        status_code=200,
    )
    async def request_review(
        self,
        project_id: UUID,
        data: RequestReview,
        command: Command,
        store: Store,
        gate: str = Gate,
    ) -> Response[CommandAnswer]:
        result = await gates.request_review(
            store,
            project_id=project_id,
            gate=gate,
            evidence=data.items(),
            by=command.by(),
            options=command.options,
        )
        return answer(result)

    @post(
        "/gates/{gate:str}/evidence",
        operation_id="amendGateEvidence",
        summary="PM amends the evidence; earlier votes are asked for again",
        status_code=200,
    )
    async def amend_evidence(
        self,
        project_id: UUID,
        data: RequestReview,
        command: Command,
        store: Store,
        gate: str = Gate,
    ) -> Response[CommandAnswer]:
        result = await gates.amend_evidence(
            store,
            project_id=project_id,
            gate=gate,
            evidence=data.items(),
            by=command.by(),
            options=command.options,
        )
        return answer(result)

    @post(
        "/gates/{gate:str}/votes",
        operation_id="castGateVote",
        summary="Vote on a gate",
        status_code=200,
    )
    async def vote(
        self,
        project_id: UUID,
        data: CastVote,
        command: Command,
        store: Store,
        gate: str = Gate,
    ) -> Response[CommandAnswer]:
        return answer(await cast_vote(store, project_id, gate, data, command))

    @post(
        "/gates/{gate:str}/decision",
        operation_id="decideGate",
        summary="Chair decides",
        status_code=200,
    )
    async def decide(
        self,
        project_id: UUID,
        data: DecideGate,
        command: Command,
        store: Store,
        gate: str = Gate,
    ) -> Response[CommandAnswer]:
        return answer(await decide_gate(store, project_id, gate, data, command))

    @post(
        "/conditions/{condition_id:uuid}/close",
        operation_id="closeCondition",
        summary="Close a condition",
        status_code=200,
    )
    async def close_condition(
        self,
        project_id: UUID,
        condition_id: UUID,
        data: CloseCondition,
        command: Command,
        store: Store,
    ) -> Response[CommandAnswer]:
        result = await gates.close_condition(
            store,
            project_id=project_id,
            condition_id=condition_id,
            note=data.note,
            by=command.by(),
            options=command.options,
        )
        return answer(result)

    @get(
        "/gates/{gate:str}/decisions/{n:int}",
        operation_id="getGateDecision",
        summary="What the deciders saw",
    )
    async def decision(
        self,
        project_id: UUID,
        gate: str,
        n: int,
        store: Store,
    ) -> DecisionContext:
        """The ``n``-th decision on a gate (from 1): the decision, the review it closed with
        its evidence and every vote's rationale, and the project as the decider saw it."""
        if not 1 <= n <= 10_000 or len(gate) > 50:
            raise UnknownAggregate(f"no decision {n} on gate {gate!r} of project {project_id}")
        found = await decision_context(store, project_id, gate, n)
        if found is None:
            raise UnknownAggregate(f"no decision {n} on gate {gate!r} of project {project_id}")
        return typed(found, DecisionContext)


async def cast_vote(
    store: Store, project_id: UUID, gate: str, data: CastVote, command: Command
) -> CommandResult:
    """``castGateVote``'s body as the workflow takes it (the review page's form too)."""
    return await gates.cast_vote(
        store,
        project_id=project_id,
        gate=gate,
        vote=Vote(data.vote),
        rationale=data.rationale,
        by=command.by(data.on_behalf_of),
        options=command.options,
    )


async def decide_gate(
    store: Store, project_id: UUID, gate: str, data: DecideGate, command: Command
) -> CommandResult:
    """``decideGate``'s body as the workflow takes it (the review page's form too)."""
    return await gates.decide_gate(
        store,
        project_id=project_id,
        gate=gate,
        decision=Decision(data.decision),
        rationale=data.rationale,
        conditions=[(c.description, c.owner, c.due) for c in data.conditions],
        seen_position=data.seen_position,
        by=command.by(data.on_behalf_of),
        options=command.options,
    )

"""``gateledger admin ...``: the PMO's administrative acts from the command line, the same
use cases as ``POST /portfolios/{id}/board`` and the other administration routes.

Each act is one recorded event with its actor (``--as``, the PMO administrator in whose
name the operator acts) and its reason. The command line reaches the database directly,
as ``gateledger token`` can mint any role: it is an operator's tool, not a second way in
for people without one. Options are checked by the API's own request schemas, so a value
the API refuses is refused here too (exit 2, nothing written); a rule of the domain that
refuses the act is exit 1 with the API's message (exit 2 for a value it refuses, the
API's 422); success prints the command's answer
(id, version, position) as JSON.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar
from uuid import UUID, uuid4

import msgspec
import typer
from rich.console import Console

if TYPE_CHECKING:
    from domain.policy import Actor
    from eventstore.database import Store
    from workflows.uow import CommandOptions, CommandResult

err = Console(stderr=True)
admin_app = typer.Typer(
    help="The PMO's administrative acts (each one event with its actor and reason).",
    no_args_is_help=True,
    rich_markup_mode=None,
)
T = TypeVar("T")
# hold_project, resume_project: (store, *, project_id, reason, by, options) -> result
ReasonUseCase = Callable[..., Awaitable["CommandResult"]]

As = Annotated[str, typer.Option("--as", help="the pmo_admin in whose name the act is recorded")]
Why = Annotated[str, typer.Option("--reason", help="why (recorded with the act; required)")]
IfVersion = Annotated[
    int | None,
    typer.Option("--if-version", min=1, help="refuse unless the object is at this version"),
]

_settings_of: Callable[[], Any] | None = None


def _fail(message: str, code: int) -> NoReturn:
    err.print(f"[red]error:[/] {message}", soft_wrap=True)
    raise typer.Exit(code)


def _uuid(value: str, what: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        _fail(f"{what} {value!r} is not a UUID", 2)


def _body(schema: type[T], **values: Any) -> T:
    """The options as the API's request body: refused here exactly as the API would."""
    try:
        return msgspec.convert(values, schema)
    except msgspec.ValidationError as exc:
        _fail(f"invalid option: {exc}", 2)


def _actor(person: str) -> Actor:
    from domain.errors import InvalidValue
    from domain.policy import Actor

    try:  # a correlation id tells the act came from the command line
        return Actor(person, correlation_id=f"cli-{uuid4().hex[:16]}")
    except InvalidValue as exc:
        _fail(f"--as: {exc.message}", 2)


def _options(if_version: int | None) -> CommandOptions:
    from workflows.uow import CommandOptions

    return CommandOptions(principal="cli", expected_version=if_version)


def _act(command: Callable[[Store], Awaitable[CommandResult]]) -> None:
    """Run one command against the store; print its answer or exit 1 with the refusal."""
    from api.bootstrap import NoLog, opened_store, require_log
    from domain.errors import DomainError, InvalidValue
    from workflows.errors import WorkflowError

    assert _settings_of is not None

    async def run() -> CommandResult:
        settings = _settings_of()
        await require_log(settings)
        async with opened_store(settings) as store:
            return await command(store)

    try:
        result = asyncio.run(run())
    except NoLog as exc:
        _fail(str(exc), 1)
    except InvalidValue as exc:  # the API's 422: a value no rule could accept
        _fail(exc.message, 2)
    except (DomainError, WorkflowError) as exc:
        _fail(exc.message, 1)
    print(msgspec.json.encode(result).decode())


@admin_app.command()
def board(
    portfolio_id: Annotated[str, typer.Argument(help="the portfolio's id")],
    member: Annotated[list[str], typer.Option("--member", help="a board member (repeat)")],
    chair: Annotated[str, typer.Option(help="the chair, one of the members")],
    reason: Why,
    by: As,
    if_version: IfVersion = None,
) -> None:
    """New members and chair of a portfolio's board (open reviews count the new board)."""
    from api.schemas import ChangeBoard
    from domain.policy import Board
    from workflows import administration

    portfolio = _uuid(portfolio_id, "PORTFOLIO_ID")
    body = _body(ChangeBoard, board={"members": member, "chair": chair}, reason=reason)
    actor = _actor(by)

    async def change(store: Store) -> CommandResult:
        from api.cli import _caught_up
        from projections.projects.model import Projects
        from projections.projects.queries import project_ids_of

        # the portfolio's projects, each checked against the board: from the projects
        # read model brought to the log's end (a running server's, or one run here)
        await _caught_up(store, models=[Projects()])
        projects = await project_ids_of(store.pool, store.names, portfolio)
        return await administration.change_board(
            store,
            portfolio_id=portfolio,
            project_ids=projects,
            board=Board(tuple(body.board.members), body.board.chair),
            reason=body.reason,
            by=actor,
            options=_options(if_version),
        )

    _act(change)


@admin_app.command()
def envelope(
    portfolio_id: Annotated[str, typer.Argument(help="the portfolio's id")],
    amount: Annotated[str, typer.Argument(help="the new envelope, as 1500000.00")],
    currency: Annotated[str, typer.Argument(help="the portfolio's currency, as EUR")],
    reason: Why,
    by: As,
    if_version: IfVersion = None,
) -> None:
    """A new budget envelope, in the portfolio's currency."""
    from api.schemas import ChangeEnvelope
    from workflows import administration

    portfolio = _uuid(portfolio_id, "PORTFOLIO_ID")
    body = _body(ChangeEnvelope, envelope={"amount": amount, "currency": currency}, reason=reason)
    actor = _actor(by)
    _act(
        lambda store: administration.change_envelope(
            store,
            portfolio_id=portfolio,
            envelope=body.envelope.to_money(),
            reason=body.reason,
            by=actor,
            options=_options(if_version),
        )
    )


@admin_app.command()
def role(
    project_id: Annotated[str, typer.Argument(help="the project's id")],
    action: Annotated[str, typer.Argument(help="assign or revoke")],
    role: Annotated[str, typer.Argument(help="pm, sponsor or stakeholder")],
    person: Annotated[str, typer.Argument(help="who")],
    reason: Why,
    by: As,
    if_version: IfVersion = None,
) -> None:
    """Assign a PM or sponsor (replacing the holder) or a stakeholder; revoke a stakeholder."""
    from api.schemas import ChangeProjectRole
    from domain.policy import Role
    from workflows import administration

    project = _uuid(project_id, "PROJECT_ID")
    body = _body(ChangeProjectRole, action=action, role=role, person=person, reason=reason)
    actor = _actor(by)
    _act(
        lambda store: administration.change_project_role(
            store,
            project_id=project,
            action=body.action,
            role=Role(body.role),
            person=body.person,
            reason=body.reason,
            by=actor,
            options=_options(if_version),
        )
    )


def _with_reason(
    project_id: str, reason: str, by: str, if_version: int | None, use_case: ReasonUseCase
) -> None:
    """A project act that takes only a reason (``administration.hold_project``,
    ``resume_project``)."""
    from api.schemas import Reason

    project = _uuid(project_id, "PROJECT_ID")
    body = _body(Reason, reason=reason)
    actor = _actor(by)
    _act(
        lambda store: use_case(
            store,
            project_id=project,
            reason=body.reason,
            by=actor,
            options=_options(if_version),
        )
    )


@admin_app.command()
def hold(
    project_id: Annotated[str, typer.Argument(help="the project's id")],
    reason: Why,
    by: As,
    if_version: IfVersion = None,
) -> None:
    """Put a proposed or active project on hold, outside a gate."""
    from workflows import administration

    _with_reason(project_id, reason, by, if_version, administration.hold_project)


@admin_app.command()
def resume(
    project_id: Annotated[str, typer.Argument(help="the project's id")],
    reason: Why,
    by: As,
    if_version: IfVersion = None,
) -> None:
    """Resume a project on hold (whether the PMO or a gate's HOLD put it there)."""
    from workflows import administration

    _with_reason(project_id, reason, by, if_version, administration.resume_project)


@admin_app.command()
def rebaseline(
    project_id: Annotated[str, typer.Argument(help="the project's id")],
    budget: Annotated[str, typer.Option(help="the new budget, as 300000.00")],
    currency: Annotated[str, typer.Option(help="the portfolio's currency, as EUR")],
    start: Annotated[str, typer.Option(help="the start date, as 2027-01-01")],
    end: Annotated[str, typer.Option(help="the end date, as 2028-03-31")],
    reason: Why,
    by: As,
    scope: Annotated[str, typer.Option(help="the scope, in words")] = "",
    if_version: IfVersion = None,
) -> None:
    """A new baseline set by the PMO outside a change request (Project.Rebaselined)."""
    from api.schemas import RebaselineProject
    from domain.policy import Baseline
    from workflows import administration

    project = _uuid(project_id, "PROJECT_ID")
    body = _body(
        RebaselineProject,
        baseline={
            "budget": {"amount": budget, "currency": currency},
            "start": start,
            "end": end,
            "scope": scope,
        },
        reason=reason,
    )
    b = body.baseline
    actor = _actor(by)
    _act(
        lambda store: administration.rebaseline_project(
            store,
            project_id=project,
            baseline=Baseline(b.budget.to_money(), b.start, b.end, b.scope),
            reason=body.reason,
            by=actor,
            options=_options(if_version),
        )
    )


def register(app: typer.Typer, settings_of: Callable[[], Any]) -> None:
    """Add ``admin`` and its commands to the ``gateledger`` app."""
    global _settings_of
    _settings_of = settings_of
    app.add_typer(admin_app, name="admin")

"""Use cases of delegation: a person delegates their authority for a time window, and
revokes it.

Who may delegate: any person may delegate the authority THEY hold. A delegation grants
nothing the delegator does not have: a delegate acting for A passes exactly the checks A
would pass (gatekeeper, sponsor, chair, separation of duties against both people), and
only while the delegation is active and covers the portfolio/project acted on (see
``workflows.authority.authorise``). So "a gatekeeper or sponsor delegates" needs no
lookup of the delegator's roles here, which the write side could not answer for every
portfolio without a read model.

Each delegator has one ``DelegationBook`` (id ``delegation_book_id(person)``), created
on first use. Results name the book (``id``, ``version``, ``position`` refer to it, so
the version works as the book's ETag); the delegation's own id is in
``details["delegation_id"]``.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID, uuid4

from domain.delegation import DEFAULT_MAX_DAYS, DelegationBook, delegation_book_id
from domain.errors import InvalidValue, NotFound
from domain.policy import Actor
from domain.portfolio import Portfolio
from domain.project import Project
from eventstore.database import Store
from workflows.errors import UnknownAggregate
from workflows.uow import CommandOptions, CommandResult, UnitOfWork, run_command


async def _own_book(uow: UnitOfWork, by: Actor) -> DelegationBook:
    """The caller's book, created (in this unit of work) on first use."""
    book_id = delegation_book_id(by.person)
    try:
        book = await uow.get(DelegationBook, book_id, what="delegation book")
    except UnknownAggregate:
        book = DelegationBook.create(book_id, by.person, by)
        uow.add(book)
        return book
    uow.expect(book)
    return book


async def _require_scope(
    uow: UnitOfWork, portfolio_id: UUID | None, project_id: UUID | None
) -> None:
    """A scope names a portfolio and a project that exist, and the project is in that
    portfolio: a scope that can never match what is acted on is refused (422)."""
    portfolio_of_project = None
    if project_id is not None:
        try:
            project = await uow.get(Project, project_id, what="project")
        except UnknownAggregate:
            raise InvalidValue(f"project_id: no project {project_id} exists") from None
        portfolio_of_project = project.portfolio_id
    if portfolio_id is not None:
        try:
            await uow.get(Portfolio, portfolio_id, what="portfolio")
        except UnknownAggregate:
            raise InvalidValue(f"portfolio_id: no portfolio {portfolio_id} exists") from None
        if portfolio_of_project not in (None, portfolio_id):
            raise InvalidValue(
                f"portfolio_id: project {project_id} is not in portfolio {portfolio_id}, "
                "so the scope could never match"
            )


async def delegate_authority(
    store: Store,
    *,
    delegate: str,
    starts: datetime,
    ends: datetime,
    by: Actor,
    now: datetime,
    options: CommandOptions,
    portfolio_id: UUID | None = None,
    project_id: UUID | None = None,
    max_days: int = DEFAULT_MAX_DAYS,
) -> CommandResult:
    """``by.person`` (in person) lets ``delegate`` act for them from ``starts`` to ``ends``
    (at most ``max_days``), optionally only on one portfolio or project."""
    delegation_id = uuid4()

    async def use_case(uow: UnitOfWork) -> tuple[DelegationBook, dict[str, object]]:
        await _require_scope(uow, portfolio_id, project_id)
        book = await _own_book(uow, by)
        book.delegate(
            delegation_id,
            delegate,
            starts,
            ends,
            now,
            by,
            portfolio_id=portfolio_id,
            project_id=project_id,
            max_days=max_days,
        )
        return book, {"delegation_id": str(delegation_id)}

    return await run_command(store, use_case, options)


async def revoke_delegation(
    store: Store,
    *,
    delegation_id: UUID,
    reason: str,
    by: Actor,
    options: CommandOptions,
    pmo_for: str | None = None,
) -> CommandResult:
    """The delegator revokes one of their own delegations, with a reason; or, with
    ``pmo_for`` (the delegator, for a caller holding ``pmo_admin``), the PMO revokes one
    of that person's."""

    async def use_case(uow: UnitOfWork) -> tuple[DelegationBook, dict[str, object]]:
        try:
            book = await uow.get(DelegationBook, delegation_book_id(pmo_for or by.person))
        except UnknownAggregate:
            raise NotFound(f"delegation {delegation_id} does not exist") from None
        uow.expect(book)
        book.revoke(delegation_id, reason, by, as_pmo=pmo_for is not None)
        return book, {"delegation_id": str(delegation_id)}

    return await run_command(store, use_case, options)

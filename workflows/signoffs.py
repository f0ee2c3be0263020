"""Use cases of a sign-off: request (superseding the open one), sign, decline.

A sign-off lives in its own aggregate (``SignOff``) and is mirrored on its ``Project``
(``Project.signoffs``), which is what gate prerequisites read. Every use case here
changes both in ONE unit of work, so the two never disagree.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from uuid import UUID, uuid4

from domain.checks import as_tuple
from domain.policy import Actor
from domain.project import Project
from domain.signoff import SignOff
from eventstore.database import Store
from workflows.authority import require_in_person, today
from workflows.uow import CommandOptions, CommandResult, UnitOfWork, run_command


async def request_signoff(
    store: Store,
    *,
    project_id: UUID,
    deliverable: str,
    version: str,
    content_hash: str,
    signatories: Sequence[str],
    by: Actor,
    now: datetime,
    options: CommandOptions,
) -> CommandResult:
    """The PM asks named stakeholders to sign off one version of a deliverable; an open
    request for the same deliverable is superseded by this one.

    If-Match applies to the project; the result names the new sign-off (its id and
    version) and carries the project's new version in ``details``."""
    new_id = uuid4()
    requested_on = today(now)

    async def use_case(uow: UnitOfWork) -> tuple[SignOff, dict[str, object]]:
        require_in_person(by, "requesting a sign-off")
        project = await uow.get(Project, project_id)
        uow.expect(project)
        due = requested_on + timedelta(days=project.template.signoff_due_days)
        signoff = SignOff.create(
            new_id,
            project.id,
            project.portfolio_id,
            deliverable,
            version,
            content_hash,
            as_tuple(signatories, "signatories"),
            due,
            by,
            project.pm,
        )
        uow.add(signoff)
        superseded = await _supersede_open(uow, project, deliverable, new_id, by)
        project.record_signoff_requested(new_id, deliverable, version, signoff.signatories, by)
        details: dict[str, object] = {"project_version": project.version, "superseded": superseded}
        return signoff, details

    return await run_command(store, use_case, options)


async def _supersede_open(
    uow: UnitOfWork, project: Project, deliverable: str, new_id: UUID, by: Actor
) -> str | None:
    """Supersede the open request for ``deliverable`` (aggregate and project record)."""
    open_id = project.open_signoff_for(deliverable)
    if open_id is None:
        return None
    old = await uow.get(SignOff, open_id, what="sign-off")
    old.supersede(new_id, by)
    project.record_signoff_superseded(open_id, by)
    return str(open_id)


async def sign_signoff(
    store: Store, *, signoff_id: UUID, comment: str, by: Actor, options: CommandOptions
) -> CommandResult:
    """A signatory signs, in person; the last signature completes the request, which the
    project records in the same unit of work."""

    async def use_case(uow: UnitOfWork) -> SignOff:
        signoff = await uow.get(SignOff, signoff_id, what="sign-off")
        uow.expect(signoff)
        signoff.sign(comment, by)
        if signoff.is_complete:
            project = await uow.get(Project, signoff.project_id)
            project.record_signoff_completed(signoff.id, by)
        return signoff

    return await run_command(store, use_case, options)


async def decline_signoff(
    store: Store, *, signoff_id: UUID, comment: str, by: Actor, options: CommandOptions
) -> CommandResult:
    """A signatory declines, in person, with a comment; the request is declined and the
    project records it in the same unit of work."""

    async def use_case(uow: UnitOfWork) -> SignOff:
        signoff = await uow.get(SignOff, signoff_id, what="sign-off")
        uow.expect(signoff)
        signoff.decline(comment, by)
        project = await uow.get(Project, signoff.project_id)
        project.record_signoff_declined(signoff.id, by)
        return signoff

    return await run_command(store, use_case, options)

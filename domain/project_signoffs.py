"""What a project keeps of its sign-off requests (``Project.signoffs``), as plain functions.

A project records a summary of every sign-off request for its deliverables (the
``SignOff`` aggregate holds the signatures); a gate's required sign-off counts when the
latest request for its deliverable is complete and was signed by the required signer.
Pure functions over ``SignOffSummary`` tuples: no aggregate, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from uuid import UUID

from domain.checks import require_text
from domain.errors import InvalidValue, NotFound, RuleViolation
from domain.gate_review import Evidence, resolve_voters
from domain.policy import GateDefinition
from domain.signoff import SignOffStatus, SignOffSummary, signatory_tuple


def open_signoff_id(signoffs: Iterable[SignOffSummary], deliverable: str) -> UUID | None:
    """The open request for ``deliverable`` (which a new version supersedes), if any."""
    return next(
        (s.id for s in signoffs if s.deliverable == deliverable and s.status is SignOffStatus.OPEN),
        None,
    )


def latest_signoff(signoffs: Iterable[SignOffSummary], deliverable: str) -> SignOffSummary | None:
    matching = [s for s in signoffs if s.deliverable == deliverable]
    return matching[-1] if matching else None


def completed_deliverables(
    definition: GateDefinition,
    signoffs: tuple[SignOffSummary, ...],
    holders: Mapping[str, tuple[str, ...]],
) -> frozenset[str]:
    """The gate's required deliverables whose LATEST sign-off request is complete and was
    signed by the required signer (a named person, or whoever holds the named role in
    ``holders`` now)."""
    done = set()
    for required in definition.required_signoffs:
        latest = latest_signoff(signoffs, required.deliverable)
        if latest is None or latest.status is not SignOffStatus.COMPLETE:
            continue
        signer = required.signer or required.signer_role
        if signer is None or resolve_voters((signer,), holders) & set(latest.signatories):
            done.add(required.deliverable)
    return frozenset(done)


def new_signoff(
    signoffs: tuple[SignOffSummary, ...],
    signoff_id: UUID,
    deliverable: str,
    version: str,
    signatories: tuple[str, ...],
) -> SignOffSummary:
    """The summary of a new request: a new id, and no open request for the deliverable
    (supersede it first)."""
    require_text(deliverable, "deliverable")
    require_text(version, "version")
    signatories = signatory_tuple(signatories)
    if any(s.id == signoff_id for s in signoffs):
        raise RuleViolation(f"sign-off {signoff_id} is already recorded")
    if open_signoff_id(signoffs, deliverable) is not None:
        raise RuleViolation(f"supersede the open sign-off of {deliverable!r} first")
    return SignOffSummary(signoff_id, deliverable, version, signatories)


def require_open_signoff(signoffs: Iterable[SignOffSummary], signoff_id: UUID) -> None:
    found = next((s for s in signoffs if s.id == signoff_id), None)
    if found is None:
        raise NotFound(f"sign-off {signoff_id} is not recorded on this project")
    if found.status is not SignOffStatus.OPEN:
        raise RuleViolation(f"sign-off {signoff_id} is already {found.status.value}")


def with_signoff_status(
    signoffs: tuple[SignOffSummary, ...], signoff_id: UUID, status: SignOffStatus
) -> tuple[SignOffSummary, ...]:
    return tuple(replace(s, status=status) if s.id == signoff_id else s for s in signoffs)


def signed_deliverables(
    definition: GateDefinition,
    signoffs: tuple[SignOffSummary, ...],
    holders: Mapping[str, tuple[str, ...]],
) -> dict[str, UUID]:
    """The gate's completed required deliverables and the sign-off that completed each
    (its latest request), whose content hash evidence for it must carry."""
    done = completed_deliverables(definition, signoffs, holders)
    found = {d: latest_signoff(signoffs, d) for d in sorted(done)}
    return {d: s.id for d, s in found.items() if s is not None}


def check_signed_evidence(evidence: Iterable[Evidence], signed_hashes: Mapping[str, str]) -> None:
    """Evidence naming a signed-off deliverable (its title is the deliverable's name,
    ignoring case and surrounding spaces) carries the content hash that was signed off."""
    expected = {d.strip().casefold(): (d, h) for d, h in signed_hashes.items()}
    for item in evidence:
        found = expected.get(item.title.strip().casefold())
        if found is not None and item.content_hash != found[1]:
            raise InvalidValue(
                f"evidence {item.title!r}: {found[0]!r} was signed off with content hash "
                f"{found[1]!r}, not {item.content_hash or 'none'!r}"
            )

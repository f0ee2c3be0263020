"""A governance template in the library: one named template and every version of it.

One aggregate per template name (id ``template_series_id(name)``), so creating a name
twice meets the same stream and publishing a version reads one stream. The PMO creates
a template (version 1) and publishes new versions (n + 1); a published version never
changes. Each act records its actor and reason. Its events are declared together at the
top of the class. No ``from __future__ import annotations`` here: eventsourcing makes
the event classes frozen dataclasses from their annotations.
"""

from dataclasses import replace
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.bounds import MAX_NAME
from domain.checks import require_text
from domain.errors import InvalidValue, NotFound, RuleViolation
from domain.policy import Actor, GovernanceTemplate
from domain.timed import TimedAggregate

TEMPLATE_NAMESPACE = UUID("0b6c8f3e-4a51-4d2e-8c7f-5e9a1d2b3c4f")


def template_series_id(name: str) -> UUID:
    """The id of the template named ``name`` (stable: derived from the name)."""
    return uuid5(TEMPLATE_NAMESPACE, "template:" + require_text(name, "template name", MAX_NAME))


class TemplateSeries(TimedAggregate):
    """The versions of one named governance template, oldest first."""

    class Event(TimedAggregate.Event):
        """Every event of a template: its body sees the event's time as ``modified_on``."""

    # --- the events ----------------------------------------------------------------
    # Each is stored as "Template.<its name>" (domain/stored_names.py) with these fields
    # in this order; a stored shape never changes in place (docs/stored-names.md).

    class Created(Event, Aggregate.Created):
        name: str
        template: GovernanceTemplate  # version 1
        reason: str
        by: Actor

    class Published(Event):
        template: GovernanceTemplate  # version n + 1
        reason: str
        by: Actor

    # --- state and commands --------------------------------------------------------

    @classmethod
    def create(
        cls, name: str, template: GovernanceTemplate, reason: str, by: Actor
    ) -> "TemplateSeries":
        """Version 1 of a new template named ``name`` (the template's own name and
        version are set to these)."""
        require_text(name, "name", MAX_NAME)
        require_text(reason, "reason")
        first = _as_version(template, name, 1)
        return cls(id=template_series_id(name), name=name, template=first, reason=reason, by=by)

    @event(Created)
    def __init__(
        self, id: UUID, name: str, template: GovernanceTemplate, reason: str, by: Actor
    ) -> None:
        self.name = name
        self.versions: tuple[GovernanceTemplate, ...] = (template,)
        self.created_by = by

    # --- queries -------------------------------------------------------------------

    @property
    def latest(self) -> GovernanceTemplate:
        return self.versions[-1]

    def version_of(self, version: int) -> GovernanceTemplate:
        """Version ``version`` of this template; NotFound for one never published."""
        if isinstance(version, bool) or not isinstance(version, int):
            raise InvalidValue("template version must be an integer")
        if not 1 <= version <= len(self.versions):
            raise NotFound(
                f"template {self.name!r} has no version {version} "
                f"(its versions: 1 to {len(self.versions)})"
            )
        return self.versions[version - 1]

    # --- commands ------------------------------------------------------------------

    def publish(self, template: GovernanceTemplate, reason: str, by: Actor) -> None:
        """Version n + 1; refused when it is the latest version again."""
        require_text(reason, "reason")
        new = _as_version(template, self.name, len(self.versions) + 1)
        if replace(new, version=self.latest.version) == self.latest:
            raise RuleViolation(
                f"template {self.name!r} v{self.latest.version} already says exactly this"
            )
        self._published(template=new, reason=reason, by=by)

    @event(Published)
    def _published(self, template: GovernanceTemplate, reason: str, by: Actor) -> None:
        self.versions = (*self.versions, template)


def _as_version(template: GovernanceTemplate, name: str, version: int) -> GovernanceTemplate:
    if not isinstance(template, GovernanceTemplate):
        raise InvalidValue("template must be a GovernanceTemplate")
    return replace(template, name=name, version=version)

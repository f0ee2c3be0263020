"""Errors raised by the event store."""

from __future__ import annotations

from eventsourcing.persistence import IntegrityError, OperationalError


class VersionConflict(IntegrityError):
    """An event with the same (originator_id, originator_version) already exists.

    Subclasses eventsourcing's ``IntegrityError``, which its recorders raise in this case.
    Nothing of the failed transaction is written.
    """


class DatabaseUnavailable(OperationalError):
    """The database could not be reached."""

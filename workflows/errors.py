"""Errors raised by use cases (beyond the domain's own rule errors)."""

from __future__ import annotations


class WorkflowError(Exception):
    """Base class; carries a message for the person who sent the command."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UnknownAggregate(WorkflowError):
    """The command names an aggregate that does not exist (404)."""


class PreconditionFailed(WorkflowError):
    """If-Match named a version that is no longer current (412)."""


class ConcurrencyConflict(WorkflowError):
    """A concurrent change won and retrying did not help in time (409 with Retry-After)."""

    def __init__(self, message: str, *, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class IdempotencyKeyReused(WorkflowError):
    """The same Idempotency-Key was sent with a different request (422)."""

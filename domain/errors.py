"""Typed domain errors; the API maps each subclass to one HTTP status."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every rule the domain refuses to break."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotAllowed(DomainError):
    """The actor lacks the authority, or separation of duties forbids it (403)."""


class RuleViolation(DomainError):
    """The command conflicts with the current state (409)."""


class InvalidValue(DomainError):
    """A value is malformed or out of range (422)."""


class NotFound(DomainError):
    """An unknown gate, condition or other named thing (404)."""

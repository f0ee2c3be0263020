"""The property tests' shared app (see harness.py)."""

from tests.properties.harness import harness

__all__ = ["harness"]

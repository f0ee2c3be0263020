"""Fixtures: a project in each starting state (see domain_given for the builders)."""

from uuid import UUID

import pytest

from domain.project import Project
from tests.domain.domain_given import condition, new_project, pass_gate, request


@pytest.fixture
def project() -> Project:
    """Given a proposed project on the default five-gate template."""
    return new_project()


@pytest.fixture
def under_review(project: Project) -> Project:
    """Given the PM has requested the G0 review."""
    request(project, "G0")
    return project


@pytest.fixture
def at_g1_review(project: Project) -> Project:
    """Given G0 was passed and the G1 review (sponsor mandatory) is open."""
    pass_gate(project, "G0")
    request(project, "G1")
    return project


@pytest.fixture
def with_condition(project: Project) -> tuple[Project, UUID]:
    """Given G0 was passed with one open condition owned by gail."""
    spec = condition(owner="gail")
    pass_gate(project, "G0", conditions=(spec,))
    return project, spec.id

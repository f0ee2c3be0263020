"""The domain imports only the stdlib and eventsourcing.domain, and never reads the clock."""

import ast
import sys
from pathlib import Path

import pytest

DOMAIN = Path(__file__).resolve().parents[2] / "domain"
MODULES = sorted(DOMAIN.glob("*.py"))
AGGREGATE_MODULES = (
    "change_request.py",
    "delegation.py",
    "portfolio.py",
    "project.py",
    "signoff.py",
    "timed.py",
)


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_domain_imports_only_stdlib_and_eventsourcing_domain(path: Path) -> None:
    for name in imported_modules(path):
        top = name.split(".")[0]
        allowed = top in sys.stdlib_module_names or top == "domain"
        assert allowed or name == "eventsourcing.domain", f"{path.name} imports {name}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_domain_never_reads_the_clock(path: Path) -> None:
    source = path.read_text()
    for forbidden in (".now(", ".utcnow(", ".today(", "time.time(", "uuid4("):
        assert forbidden not in source, f"{path.name} calls {forbidden}"


@pytest.mark.parametrize("name", AGGREGATE_MODULES)
def test_aggregate_modules_keep_real_annotations(name: str) -> None:
    assert "__future__" not in imported_modules(DOMAIN / name)

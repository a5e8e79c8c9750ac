from __future__ import annotations

from collections.abc import Iterator

import pytest

from netmdt import KnowledgeBase, load_kb

pytest_plugins = ["tests.webapp"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="Rewrite tests/golden/*.json from the current engine and knowledge base.",
    )


@pytest.fixture(scope="session")
def pg_conninfo() -> Iterator[str]:
    """One throwaway PostgreSQL cluster for the whole run (skipped without server binaries)."""
    from tests.postgres import cluster

    with cluster() as info:
        yield info


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    return load_kb()


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


@pytest.fixture(scope="session")
def bt_kb() -> KnowledgeBase:
    """The bundled knowledge base with its blood-test requirements as before_treatment."""
    from tests.kbfixture import before_treatment_kb

    return before_treatment_kb()

"""Everything netmdt's own code imports is installed by ``pip install netmdt`` (the app
alone, as ``scripts/demo`` installs it): a package only in the ``dev`` extra made the
release-impact page and ``netmdt screen`` fail on an app-only install (duckdb)."""

from __future__ import annotations

import ast
import re
import sys
from importlib.metadata import PackageNotFoundError, packages_distributions, requires
from pathlib import Path

SRC = Path(__file__).parent.parent / "src" / "netmdt"


def _name(requirement: str) -> str:
    return re.split(r"[\s;\[<>=!~]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def installed_with_the_app() -> set[str]:
    """netmdt's requirements without extras, and theirs, transitively (distribution names)."""
    seen: set[str] = set()
    todo = [r for r in requires("netmdt") or [] if "extra ==" not in r]
    while todo:
        name = _name(todo.pop())
        if name in seen:
            continue
        seen.add(name)
        try:
            todo += [r for r in requires(name) or [] if "extra ==" not in r]
        except PackageNotFoundError:  # only for another Python ("; python_version < ...")
            continue
    return seen


def imported_by_the_app() -> dict[str, set[str]]:
    """Top-level third-party modules imported anywhere in ``src/netmdt`` -> the files."""
    found: dict[str, set[str]] = {}
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top != "netmdt":
                    found.setdefault(top, set()).add(path.relative_to(SRC).as_posix())
    return found


def test_every_import_of_the_app_is_installed_with_it() -> None:
    dists = packages_distributions()
    with_app = installed_with_the_app()
    missing = {
        module: sorted(files)
        for module, files in imported_by_the_app().items()
        if not {_name(d) for d in dists.get(module, [module])} & with_app
    }
    assert missing == {}


def test_the_check_sees_a_dev_only_package() -> None:
    """pytest is in the dev extra only: it must not count as installed with the app."""
    assert "pytest" not in installed_with_the_app()
    assert "pydantic" in installed_with_the_app()

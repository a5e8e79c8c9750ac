"""axe-core in Chromium, the browser tests' accessibility check: the serious or critical
violations on a page. axe ships inside axe-playwright-python; a page under the app's CSP
needs a browser context made with ``bypass_csp=True`` to take the script."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any


@cache
def _axe_source() -> str:
    import axe_playwright_python

    return (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text()


def serious_violations(page: Any) -> list[tuple[str, list[Any]]]:
    """Each serious or critical violation on the page as it stands: (rule id, targets)."""
    page.add_script_tag(content=_axe_source())
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        (v["id"], [n["target"] for n in v["nodes"]])
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]

"""A test knowledge base that uses the ``before_treatment`` group.

The bundled option files are the clinical engineers' to change; to exercise the group
before they do, the tests use a copy of the bundled knowledge base in which every
requirement that reads blood results only (``labs.*``) is a ``before_treatment`` check.
"""

from __future__ import annotations

import shutil
import tempfile
from functools import cache
from pathlib import Path

import yaml

from netmdt import KnowledgeBase, load_kb
from netmdt.kb import default_kb_path

GROUP_REASON = "routine blood test checked by the treating team"


def move_lab_requirements(root: Path) -> None:
    """In a knowledge-base copy at ``root``: move every requirement that reads blood
    results only (``labs.*``) into ``before_treatment``."""
    for path in sorted((root / "options").glob("*.yaml")):
        data = yaml.safe_load(path.read_text())
        moved = [
            c
            for c in data.get("requirements") or []
            if c["reads"] and all(r.startswith("labs.") for r in c["reads"])
        ]
        if not moved:
            continue
        data["requirements"] = [c for c in data["requirements"] if c not in moved]
        data["before_treatment"] = [
            *(data.get("before_treatment") or []),
            *({**c, "group_reason": GROUP_REASON} for c in moved),
        ]
        path.write_text(yaml.safe_dump(data, sort_keys=False))


@cache
def before_treatment_root() -> Path:
    root = Path(tempfile.mkdtemp(prefix="netmdt-bt-")) / "kb"
    shutil.copytree(default_kb_path(), root)
    move_lab_requirements(root)
    return root


@cache
def before_treatment_kb() -> KnowledgeBase:
    return load_kb(before_treatment_root())

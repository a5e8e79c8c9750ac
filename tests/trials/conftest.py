"""A knowledge base with the bundled cards plus the test cards in ``cards/``."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from netmdt.kb import KnowledgeBase, default_kb_path, load_kb

CARDS = Path(__file__).parent / "cards"


def kb_folder(tmp: Path) -> Path:
    root = tmp / "knowledge"
    shutil.copytree(default_kb_path(), root)
    for card in CARDS.glob("*.yaml"):
        shutil.copy(card, root / "trials" / card.name)
    return root


@pytest.fixture(scope="session")
def trial_kb_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return kb_folder(tmp_path_factory.mktemp("trialkb"))


@pytest.fixture(scope="session")
def trial_kb(trial_kb_path: Path) -> KnowledgeBase:
    return load_kb(trial_kb_path)


@pytest.fixture(scope="session")
def trial_kb_reference(trial_kb_path: Path) -> KnowledgeBase:
    return load_kb(trial_kb_path, reference=True)

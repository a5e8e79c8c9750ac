"""Our centre's trial settings, applied to a knowledge base (the engine stays pure)."""

from __future__ import annotations

import dataclasses
import hashlib
from functools import lru_cache
from typing import TYPE_CHECKING

from netmdt.kb.model import KnowledgeBase
from netmdt.trials.match import Local

if TYPE_CHECKING:
    from netmdt.config import Settings


@lru_cache(maxsize=32)
def localised(kb: KnowledgeBase, local: Local) -> KnowledgeBase:
    """The same knowledge base, with our centre and the trials opened here."""
    if local == Local() and kb.trials_local is None:
        return kb
    # the verdicts depend on the local settings: so does the fingerprint (stored
    # assessments are reassessed when either changes)
    text = f"{kb.fingerprint}|{sorted(local.centre)}|{sorted(local.open_here)}"
    fingerprint = "sha256:" + hashlib.sha256(text.encode()).hexdigest()[:16]
    return dataclasses.replace(kb, trials_local=local, fingerprint=fingerprint)


def local_from_settings(settings: Settings) -> Local:
    """From the comma-separated settings ``NETMDT_TRIALS_CENTRE`` and
    ``NETMDT_TRIALS_OPEN_HERE``."""

    def items(text: str | None) -> tuple[str, ...]:
        return tuple(p.strip() for p in (text or "").split(",") if p.strip())

    return Local(items(settings.trials_centre), frozenset(items(settings.trials_open_here)))


def localised_by_settings(kb: KnowledgeBase, settings: Settings) -> KnowledgeBase:
    """The knowledge base with our centre's trial settings, as the web app and the
    commands given the centre's database (``--db``) read them."""
    return localised(kb, local_from_settings(settings))

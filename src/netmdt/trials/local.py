"""Our centre's trial settings, applied to a knowledge base (the engine stays pure)."""

from __future__ import annotations

import dataclasses
from functools import lru_cache

from netmdt.kb.model import KnowledgeBase
from netmdt.trials.match import Local


@lru_cache(maxsize=32)
def localised(kb: KnowledgeBase, local: Local) -> KnowledgeBase:
    """The same knowledge base, with our centre and the trials opened here."""
    if local == Local() and kb.trials_local is None:
        return kb
    return dataclasses.replace(kb, trials_local=local)


def local_from_settings(centre: str | None, open_here: str | None) -> Local:
    """From comma-separated settings (``NETMDT_TRIALS_CENTRE``, ``NETMDT_TRIALS_OPEN_HERE``)."""

    def items(text: str | None) -> tuple[str, ...]:
        return tuple(p.strip() for p in (text or "").split(",") if p.strip())

    return Local(items(centre), frozenset(items(open_here)))

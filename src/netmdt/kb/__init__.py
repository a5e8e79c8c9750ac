"""The knowledge base: formats, loader, linter, fingerprint."""

from netmdt.kb.load import OPTION_IDS, check_kb, default_kb_path, load_kb
from netmdt.kb.model import Criterion, KnowledgeBase, Option, Source

__all__ = [
    "OPTION_IDS",
    "Criterion",
    "KnowledgeBase",
    "Option",
    "Source",
    "check_kb",
    "default_kb_path",
    "load_kb",
]

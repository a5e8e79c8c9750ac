"""Logging of ``netmdt serve``: netmdt's own loggers at INFO, every third-party logger at
WARNING, uvicorn's access log off, and a last filter on every handler that blanks what
could identify a patient or hold a credential.

Third-party INFO logs carry URLs: httpx logs each request it sends (``GET
https://ehr/fhir/Condition?patient=9434765919``), uvicorn's access log each request it
serves with its query (``/patients/find?nhs_number=...``). Neither reaches the log.
"""

from __future__ import annotations

import logging
import logging.config
import re
from typing import Any

FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
QUIET = ("httpx", "httpcore", "hpack", "urllib3", "multipart", "python_multipart", "alembic")

_REDACTIONS = [
    # userinfo in a URL: https://user:password@host
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@]+@"), r"\1[userinfo]@"),
    # a query string: ?patient=..., ?nhs_number=..., ?api_key=...
    (re.compile(r"\?[^\s\"']*"), "?[query]"),
    # an NHS number (10 digits, spaced 3-3-4 or not) or any longer run of digits
    (re.compile(r"(?<![\w.])\d{3}[ -]?\d{3}[ -]?\d{4,}(?![\w.])"), "[number]"),
]


def redact(text: str) -> str:
    for pattern, replacement in _REDACTIONS:
        text = pattern.sub(replacement, text)
    return text


class Redact(logging.Filter):
    """Blanks URLs' userinfo and queries and NHS-number-like digits in every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None:
            # An exception's text can hold values; keep its type and where it happened.
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


def log_config(level: str = "INFO") -> dict[str, Any]:
    """The ``logging.config.dictConfig`` of the service (also given to uvicorn)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"redact": {"()": Redact}},
        "formatters": {"plain": {"format": FORMAT}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "plain",
                "filters": ["redact"],
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"level": "WARNING", "handlers": ["stderr"]},
        # Each logger's propagation is set, not left as found: a logger that an earlier
        # configuration (e.g. uvicorn's default) gave its own handler and no propagation
        # would otherwise bypass the redacting handler (its handlers are removed here).
        "loggers": {
            "netmdt": {"level": level, "propagate": True},
            "uvicorn": {"level": level, "propagate": True},
            "uvicorn.error": {"level": level, "propagate": True},
            "uvicorn.access": {"level": "WARNING", "propagate": False, "handlers": []},
            **{name: {"level": "WARNING", "propagate": True} for name in QUIET},
        },
    }


def configure(level: str = "INFO") -> None:
    logging.config.dictConfig(log_config(level))

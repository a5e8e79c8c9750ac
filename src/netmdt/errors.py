"""netmdt's errors, all in one place.

The hierarchy::

    NetmdtError                  base class; never raised itself
    ├── CaseError                a case could not be read or is invalid
    │   ├── CaseFileError        the file is missing, unreadable, or not YAML/JSON
    │   └── CaseValidationError  the content breaks the case format (every problem listed)
    ├── KnowledgeBaseError       the knowledge base is invalid (every problem listed)
    ├── CohortError              a cohort screen cannot run (bad filter, option or output)
    ├── FhirError                FHIR input cannot be imported (every problem listed, each
    │                            naming the resource type, id and element)
    ├── SettingsError            a NETMDT_* environment variable is not valid (each named,
    │                            with what it allows; never its value)
    └── StoreError               a stored record cannot be read or written
        ├── NotFoundError        no such record
        ├── ConflictError        an edit based on a stale version, or a duplicate (HTTP 409)
        └── RecordValidationError  the input breaks a rule (every problem listed; HTTP 422)

Every error carries *where* it happened: a field path for case problems, a
file / option / criterion / key path for knowledge-base problems, a
``ResourceType/id.element`` for FHIR problems. Foreign
exceptions (pydantic, YAML, OS) are translated once, at the edge where they are
caught, with ``raise ... from``. The engine never raises because data are
missing: missing data are unknown, not errors.
"""

from __future__ import annotations

from dataclasses import dataclass


class NetmdtError(Exception):
    """Base class of every error netmdt raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One problem, located: ``where`` is a field path or a knowledge-base location."""

    where: str
    message: str
    code: str = "invalid"

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


class _ProblemsError(NetmdtError):
    """An error that lists every problem found, not just the first."""

    def __init__(self, problems: list[Problem], source: str | None = None) -> None:
        self.problems = problems
        self.source = source
        prefix = f"{source}: " if source else ""
        super().__init__("\n".join(prefix + str(p) for p in problems))


class CaseError(NetmdtError):
    """A case could not be read or is invalid."""


class CaseFileError(CaseError):
    """The case file is missing, unreadable, or not YAML/JSON."""


class CaseValidationError(_ProblemsError, CaseError):
    """The case breaks the case format; ``problems`` lists every violation."""


class KnowledgeBaseError(_ProblemsError):
    """The knowledge base is invalid; ``problems`` lists every violation."""


class CohortError(NetmdtError):
    """A cohort screen cannot run: an unknown option, a bad filter, an unusable output."""


class StoreError(NetmdtError):
    """A stored record cannot be read or written."""


class NotFoundError(StoreError):
    """No such record: ``what`` names its type and id."""

    def __init__(self, what: str) -> None:
        self.what = what
        super().__init__(f"{what} not found")


class ConflictError(StoreError):
    """An edit based on a stale version, or a record that already exists."""


class RecordValidationError(_ProblemsError, StoreError):
    """The input breaks a rule; ``problems`` lists every violation (field path, message)."""


class FhirError(_ProblemsError):
    """FHIR input cannot be imported; ``problems`` name the resource type, id and element."""


class SettingsError(_ProblemsError):
    """A ``NETMDT_*`` environment variable is not valid; ``problems`` name each variable
    and say what it allows (never its value: it may be a secret)."""

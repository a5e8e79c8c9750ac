"""Reading cases from YAML or JSON, with every problem reported by field path."""

from __future__ import annotations

import difflib
import json
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from netmdt.case.model import Case
from netmdt.errors import CaseFileError, CaseValidationError, Problem


def load_case(source: str | Path, *, today: date | None = None) -> Case:
    """Read a case file (``.yaml``, ``.yml`` or ``.json``).

    ``assessed_on`` defaults to ``today`` (the caller's clock, at this edge; the engine
    never reads a clock).
    """
    path = Path(source)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CaseFileError(f"{path}: cannot read case file ({exc.strerror})") from exc
    return parse_case(parse_document(text, str(path)), source=str(path), today=today)


def parse_document(text: str, source: str = "<input>") -> Any:
    """Parse YAML (a superset of JSON) into plain data."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise CaseFileError(f"{source}:{where} not valid YAML or JSON") from exc


def parse_case(data: Any, *, source: str | None = None, today: date | None = None) -> Case:
    """Validate plain data (from YAML or JSON) as a case; every problem is collected."""
    if not isinstance(data, dict):
        raise CaseValidationError(
            [Problem("", f"a case must be a mapping of fields, got {type(data).__name__}")],
            source,
        )
    if today is not None and data.get("assessed_on") is None:
        data = {**data, "assessed_on": today}
    try:
        return Case.model_validate(data)
    except ValidationError as exc:
        raise CaseValidationError(problems_from(exc), source) from exc


def parse_case_json(text: str, *, source: str | None = None, today: date | None = None) -> Case:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CaseFileError(f"{source or '<input>'}: line {exc.lineno}: not valid JSON") from exc
    return parse_case(data, source=source, today=today)


def problems_from(exc: ValidationError) -> list[Problem]:
    """Translate pydantic errors into located, readable problems."""
    problems: list[Problem] = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        where = ".".join(str(p) for p in loc)
        if err["type"] == "extra_forbidden":
            problems.append(Problem(where, _unknown_field(loc), "unknown_field"))
        elif err["type"] == "value_error" and not loc:
            msg = str(err["msg"]).removeprefix("Value error, ")
            problems += [Problem("", part, "inconsistent") for part in msg.split("; ")]
        else:
            problems.append(Problem(where, _describe(err), err["type"]))
    return problems


def _describe(err: Any) -> str:
    msg = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] in ("missing",):
        return msg
    return f"{msg} (got {err['input']!r})"


def _unknown_field(loc: tuple[Any, ...]) -> str:
    name = str(loc[-1])
    known = fields_at(loc[:-1])
    hint = did_you_mean(name, known)
    allowed = ", ".join(sorted(known))
    suggestion = f"; did you mean '{hint[0]}'?" if hint else ""
    return f"unknown field '{name}'{suggestion} (allowed here: {allowed})"


def did_you_mean(name: str, known: list[str]) -> list[str]:
    """The closest known name: a prefix match first (``egfr`` -> ``egfr_ml_min``), else difflib."""
    prefixed = sorted(k for k in known if k.startswith(name.lower()))
    return prefixed[:1] or difflib.get_close_matches(name, known, n=1, cutoff=0.6)


def fields_at(loc: tuple[Any, ...]) -> list[str]:
    """The field names allowed at a location of the case (``()`` is the top level)."""
    model: type[BaseModel] | None = Case
    for part in loc:
        if model is None or isinstance(part, int):
            continue
        info = model.model_fields.get(str(part))
        model = _model_of(info.annotation) if info else None
    return list(model.model_fields) if model else []


def _model_of(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_of(arg)
        if found is not None:
            return found
    return None

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
from netmdt.textcheck import shown, text_problems
from netmdt.yamlsafe import NoAliasLoader

MAX_DOCUMENT_BYTES = 1_000_000  # a case is a few kilobytes; a megabyte is not a case


class CaseLoader(NoAliasLoader):
    """PyYAML's safe loader without aliases and anchors (``NoAliasLoader``); and with a
    date that does not exist (``2026-02-30``) read as the text it is, so the case model
    refuses it naming the field (PyYAML would raise a bare ValueError)."""

    what = "a case"

    def construct_yaml_timestamp(self, node: Any) -> Any:
        try:
            return super().construct_yaml_timestamp(node)
        except (ValueError, OverflowError):
            return self.construct_scalar(node)

    def construct_yaml_int(self, node: Any) -> Any:
        try:
            return super().construct_yaml_int(node)
        except ValueError:  # more digits than Python converts (4300): not a measurement
            return self.construct_scalar(node)


CaseLoader.add_constructor("tag:yaml.org,2002:timestamp", CaseLoader.construct_yaml_timestamp)
CaseLoader.add_constructor("tag:yaml.org,2002:int", CaseLoader.construct_yaml_int)


def load_case(source: str | Path, *, today: date | None = None) -> Case:
    """Read a case file (``.yaml``, ``.yml`` or ``.json``).

    ``assessed_on`` defaults to ``today`` (the caller's clock, at this edge; the engine
    never reads a clock).
    """
    path = Path(source)
    try:
        if path.stat().st_size > MAX_DOCUMENT_BYTES:
            raise CaseFileError(_too_large(str(path)))
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CaseFileError(f"{path}: cannot read case file ({exc.strerror})") from exc
    except UnicodeDecodeError as exc:
        raise CaseFileError(f"{path}: not UTF-8 text (byte {exc.start})") from exc
    return parse_case(parse_document(text, str(path)), source=str(path), today=today)


def _too_large(source: str) -> str:
    return f"{source}: larger than {MAX_DOCUMENT_BYTES:,} bytes; a case is a few kilobytes"


def parse_document(text: str, source: str = "<input>") -> Any:
    """Parse YAML (a superset of JSON) into plain data: no aliases, at most
    ``MAX_DOCUMENT_BYTES``; every failure is a ``CaseFileError``."""
    if len(text) > MAX_DOCUMENT_BYTES:
        raise CaseFileError(_too_large(source))
    try:
        return yaml.load(text, Loader=CaseLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None)
        why = f" ({problem})" if problem and "alias" in problem else ""
        raise CaseFileError(f"{source}:{where} not valid YAML or JSON{why}") from exc
    except RecursionError as exc:
        raise CaseFileError(f"{source}: nested too deeply to be a case") from exc
    except (ValueError, OverflowError) as exc:
        raise CaseFileError(f"{source}: not valid YAML or JSON ({shown(str(exc))})") from exc


def parse_case(data: Any, *, source: str | None = None, today: date | None = None) -> Case:
    """Validate plain data (from YAML or JSON) as a case; every problem is collected."""
    if not isinstance(data, dict):
        raise CaseValidationError(
            [Problem("", f"a case must be a mapping of fields, got {type(data).__name__}")],
            source,
        )
    text = text_problems(data)
    if text:
        raise CaseValidationError(text, source)
    if today is not None and data.get("assessed_on") is None:
        data = {**data, "assessed_on": today}
    try:
        return Case.model_validate(data)
    except ValidationError as exc:
        raise CaseValidationError(problems_from(exc), source) from exc


def parse_case_json(text: str, *, source: str | None = None, today: date | None = None) -> Case:
    where = source or "<input>"
    if len(text) > MAX_DOCUMENT_BYTES:
        raise CaseFileError(_too_large(where))
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CaseFileError(f"{where}: line {exc.lineno}: not valid JSON") from exc
    except RecursionError as exc:
        raise CaseFileError(f"{where}: nested too deeply to be a case") from exc
    except ValueError as exc:  # e.g. an integer of more than 4300 digits
        raise CaseFileError(f"{where}: not valid JSON ({shown(str(exc))})") from exc
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
    return f"{msg} (got {shown(err['input'])})"


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

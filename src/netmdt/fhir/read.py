"""Reading FHIR input: a Bundle, a list of resources, a JSON file or a folder of them.

Whole-input problems (not JSON, not a resource, a missing file, two patients) raise a
``FhirError`` listing every problem. Problems inside one resource are the mapper's to
report (the resource is set aside, the rest imported): see docs/design-choices.md.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from netmdt.errors import FhirError, Problem
from netmdt.textcheck import shown, text_problems

ID_PATTERN = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")  # FHIR R4 id datatype


@dataclass
class Input:
    """The resources found, with warnings about the input's wrapping (Bundle, files)."""

    resources: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    refused: list[Problem] = field(default_factory=list)  # resources set aside (bad text)


def read_input(source: Any) -> Input:
    """Collect resources from a Bundle dict, a list of resource dicts, or a path."""
    found = Input()
    if isinstance(source, str | Path):
        _read_path(Path(source), found)
    elif isinstance(source, dict):
        _take(source, str(source.get("resourceType", "input")), found)
    elif isinstance(source, list):
        for i, item in enumerate(source):
            _take(item, f"input[{i}]", found)
    else:
        found.problems.append(
            Problem(
                "",
                f"FHIR input must be a Bundle, a list of resources or a path, "
                f"got {type(source).__name__}",
                "not_fhir",
            )
        )
    _one_patient(found)
    if found.problems:
        raise FhirError(found.problems)
    return found


def _read_path(path: Path, found: Input) -> None:
    if path.is_dir():
        files = sorted(path.glob("*.json"))
        if not files:
            found.problems.append(Problem(str(path), "no .json files in this folder", "not_fhir"))
        for f in files:
            _read_file(f, found)
    else:
        _read_file(path, found)


def _read_file(path: Path, found: Input) -> None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        found.problems.append(Problem(str(path), f"cannot read ({exc.strerror})", "file"))
        return
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        line = f" line {exc.lineno}" if isinstance(exc, json.JSONDecodeError) else ""
        found.problems.append(Problem(f"{path}{line}", "not valid JSON", "json"))
        return
    except RecursionError:
        found.problems.append(Problem(str(path), "nested too deeply to be FHIR", "json"))
        return
    except ValueError as exc:  # e.g. an integer of more than 4300 digits
        found.problems.append(Problem(str(path), f"not valid JSON ({shown(str(exc))})", "json"))
        return
    _take(data, str(path), found)


def _take(data: Any, where: str, found: Input) -> None:
    """Add a resource, or a Bundle's entries."""
    if not isinstance(data, dict) or not isinstance(data.get("resourceType"), str):
        found.problems.append(
            Problem(where, "not a FHIR resource (a JSON object with resourceType)", "not_fhir")
        )
        return
    if data["resourceType"] != "Bundle":
        rid = data.get("id")
        label = f"{shown(data['resourceType'], 40)}/{shown(rid, 70) if rid is not None else '?'}"
        faults = text_problems(data, label)
        if faults:  # strict text: nothing of a resource with bad text is imported
            found.refused.extend(faults)
            found.warnings.extend(f"{p}; the resource was set aside" for p in faults)
            return
        found.resources.append(data)
        return
    bundle_id = data.get("id")
    label = f"Bundle/{bundle_id}" if bundle_id else "Bundle"
    if bundle_id is not None and not (isinstance(bundle_id, str) and ID_PATTERN.match(bundle_id)):
        found.warnings.append(
            f"{label}.id: {bundle_id!r} breaks the FHIR id pattern [A-Za-z0-9-.]{{1,64}}; "
            "the Bundle is only a wrapper, so its entries were read as usual"
        )
    entries = data.get("entry")
    if entries is None:
        entries = []
    if not isinstance(entries, list):
        found.problems.append(Problem(f"{label}.entry", "must be a list", "not_fhir"))
        return
    for i, entry in enumerate(entries):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if resource is None:
            found.warnings.append(f"{label}.entry[{i}]: no resource; skipped")
            continue
        _take(resource, f"{label}.entry[{i}].resource", found)


def _one_patient(found: Input) -> None:
    ids = sorted({str(r.get("id")) for r in found.resources if r.get("resourceType") == "Patient"})
    if len(ids) > 1:
        found.problems.append(
            Problem(
                "Patient",
                f"the input holds {len(ids)} patients ({', '.join(ids)}); "
                "import one patient at a time",
                "several_patients",
            )
        )

"""Shared building blocks of the case sections."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field


class Section(BaseModel):
    """A part of a case: strict types, unknown keys rejected, immutable."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True, allow_inf_nan=False)


def _iso_date(value: Any) -> Any:
    """Accept ISO date strings (JSON has no date type); reject every other non-date."""
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return value  # strict validation then reports it, naming the format
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_date)]
Percent = Annotated[float, Field(ge=0, le=100)]
NonNegative = Annotated[float, Field(ge=0)]
Positive = Annotated[float, Field(gt=0)]

MAX_TEXT = 500  # characters of one free-text entry (a preference, a prior operation)
MAX_TEXT_ITEMS = 50  # entries of a free-text list
MAX_ITEMS = 100  # entries of any other list (treatments, coded values)


def _bounded_text(value: Any) -> Any:
    if isinstance(value, list):
        for i, item in enumerate(value):
            if isinstance(item, str) and len(item) > MAX_TEXT:
                raise ValueError(
                    f"entry {i} has {len(item):,} characters; at most {MAX_TEXT} are allowed"
                )
    return value


# Free text, e.g. preferences: at most MAX_TEXT_ITEMS entries of MAX_TEXT characters.
TextList = Annotated[list[str], Field(max_length=MAX_TEXT_ITEMS), BeforeValidator(_bounded_text)]

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

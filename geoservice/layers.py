"""Rules as data: zone kinds, their legal rules and styles, read from `layers/`.

Nothing outside this module knows a kind by name; code asks a `KindRules` object what applies.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from geoservice.settings import get_settings


class Text(BaseModel):
    model_config = ConfigDict(extra="forbid")
    da: str
    en: str


class CalendarPeriod(BaseModel):
    """A period in calendar units of local time: {years: 2} or {days: 30}."""

    model_config = ConfigDict(extra="forbid")
    years: int = 0
    days: int = 0

    @model_validator(mode="after")
    def _one_unit(self) -> CalendarPeriod:
        if (self.years > 0) == (self.days > 0):
            raise ValueError("give exactly one of years or days, greater than zero")
        return self

    def describe(self) -> str:
        if self.years:
            return f"{self.years} år" if self.years != 1 else "1 år"
        return f"{self.days} dage" if self.days != 1 else "1 dag"

    def describe_en(self) -> str:
        if self.years:
            return f"{self.years} years" if self.years != 1 else "1 year"
        return f"{self.days} days" if self.days != 1 else "1 day"


class DailyWindow(BaseModel):
    model_config = ConfigDict(extra="forbid")
    start: dt.time
    end: dt.time

    def contains(self, local_time: dt.time) -> bool:
        """Whether a local wall-clock time lies in [start, end); windows may wrap past midnight."""
        if self.start <= self.end:
            return self.start <= local_time < self.end
        return local_time >= self.start or local_time < self.end


Visibility = Literal["public", "internal", "restricted"]
# From least to most protected: who may see a zone (geoservice/access.py).
VISIBILITY_ORDER: tuple[Visibility, ...] = ("public", "internal", "restricted")


class KindRules(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str
    name: Text
    meaning: Text
    legal_basis: str | None = None
    default_visibility: Visibility = "public"
    min_visibility: Visibility = "public"
    never_public: bool = False
    end_required: bool = False
    decision_required: bool = False
    max_period: CalendarPeriod | None = None
    extension_step: CalendarPeriod | None = None
    warning_days: list[int] = Field(default_factory=list)
    daily_window: DailyWindow | None = None
    list_edition: bool = False
    style: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _default_meets_minimum(self) -> KindRules:
        if self.never_public and self.min_visibility == "public":
            self.min_visibility = "internal"
        if less_protected(self.default_visibility, self.min_visibility):
            raise ValueError(f"default_visibility {self.default_visibility} is less protected than "
                             f"min_visibility {self.min_visibility}")
        return self

    @property
    def public_by_default(self) -> bool:
        return self.default_visibility == "public"

    @property
    def widest_warning_days(self) -> int:
        return max(self.warning_days, default=0)

    @property
    def longest_extension(self) -> CalendarPeriod | None:
        return self.extension_step or self.max_period


def less_protected(visibility: str, than: str) -> bool:
    return VISIBILITY_ORDER.index(visibility) < VISIBILITY_ORDER.index(than)  # type: ignore[arg-type]


class Layers(BaseModel):
    kinds: dict[str, KindRules]

    def kind(self, code: str) -> KindRules | None:
        return self.kinds.get(code)


def load_layers(layers_dir: Path) -> Layers:
    raw = yaml.safe_load((layers_dir / "kinds.yaml").read_text(encoding="utf-8"))
    kinds = {code: KindRules(code=code, **spec) for code, spec in raw["kinds"].items()}
    return Layers(kinds=kinds)


@lru_cache
def get_layers() -> Layers:
    return load_layers(get_settings().layers_dir)


@lru_cache
def credits() -> tuple[str, ...]:
    """The data credits of layers/reference.yaml, shown on every map."""
    raw = yaml.safe_load((get_settings().layers_dir / "reference.yaml").read_text(encoding="utf-8"))
    return tuple(raw["credits"])

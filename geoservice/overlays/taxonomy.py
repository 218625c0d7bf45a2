"""The overlay rules of layers/overlays.yaml: incident taxonomy, report categories, survey definitions, styles.

Code never names a category: it asks this module to resolve a spelling, expand a group, or list the groups.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

from geoservice.errors import FieldError, InvalidInput
from geoservice.layers import Text
from geoservice.settings import get_settings


class Category(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str
    group: str
    name: Text
    aliases: list[str] = Field(default_factory=list)


class Group(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str
    name: Text
    categories: list[str]


class Named(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str
    name: Text
    aliases: list[str] = Field(default_factory=list)
    palette: str | None = None


class SurveyRules(BaseModel):
    model_config = ConfigDict(extra="forbid")
    score_min: int
    score_max: int
    unsafe_max_score: int
    safe_min_score: int
    trust_answers: dict[str, Named]
    metrics: dict[str, Named]


def fold(text: str, plain: bool = False) -> str:
    """Case- and spelling-insensitive key: 'Røveri' and 'roeveri ' give the same; with `plain`, æøå become
    a, o, a ('ROVERI')."""
    t = text.strip().lower()
    if plain:
        t = t.replace("æ", "a").replace("ø", "o").replace("å", "a")
    t = t.replace("æ", "ae").replace("ø", "oe").replace("å", "aa")
    t = unicodedata.normalize("NFKD", t).encode("ascii", "ignore").decode()
    return " ".join(t.replace("_", " ").replace("-", " ").split())


class OverlayRules(BaseModel):
    groups: dict[str, Group]
    categories: dict[str, Category]
    report_categories: dict[str, Named]
    report_statuses: dict[str, Named]
    survey: SurveyRules
    choropleth: dict[str, Any]
    spellings: dict[str, str]  # folded spelling -> leaf code

    def resolve(self, value: str) -> str | None:
        """The leaf code for a spelling (code, Danish or English name, alias), or None."""
        return self.spellings.get(fold(value)) or self.spellings.get(fold(value, plain=True))

    def expand(self, values: list[str] | None, field: str = "category") -> list[str] | None:
        """Leaf codes for a filter of group and leaf codes; None means all."""
        if not values:
            return None
        leaves: list[str] = []
        unknown = []
        for v in values:
            if v in self.groups:
                leaves += self.groups[v].categories
            elif (leaf := self.resolve(v)) is not None:
                leaves.append(leaf)
            else:
                unknown.append(v)
        if unknown:
            raise InvalidInput(
                f"{field}: unknown incident category {', '.join(unknown)}",
                errors=[FieldError(field, f"unknown: {', '.join(unknown)}; groups: {', '.join(self.groups)}; "
                                          f"categories: {', '.join(self.categories)}")],
            )
        chosen = set(leaves)
        return [c for c in self.categories if c in chosen]  # taxonomy order

    def group_of(self, leaf: str) -> str:
        return self.categories[leaf].group

    def trust_code(self, value: str) -> str | None:
        key = fold(value)
        for code, answer in self.survey.trust_answers.items():
            if key == fold(code) or key in {fold(a) for a in answer.aliases} or key in (fold(answer.name.da),
                                                                                         fold(answer.name.en)):
                return code
        return None

    def public_dict(self) -> dict[str, Any]:
        return {
            "incident_groups": [
                {"code": g.code, "name": g.name.model_dump(),
                 "categories": [{"code": c, "name": self.categories[c].name.model_dump()} for c in g.categories]}
                for g in self.groups.values()
            ],
            "insecurity_report_categories": [{"code": c.code, "name": c.name.model_dump()}
                                             for c in self.report_categories.values()],
            "insecurity_report_statuses": [{"code": c.code, "name": c.name.model_dump()}
                                           for c in self.report_statuses.values()],
            "survey": {"unsafe_max_score": self.survey.unsafe_max_score,
                       "safe_min_score": self.survey.safe_min_score,
                       "score_range": [self.survey.score_min, self.survey.score_max],
                       "metrics": {k: {"name": m.name.model_dump(), "palette": m.palette}
                                   for k, m in self.survey.metrics.items()},
                       "trust_answers": {k: a.name.model_dump() for k, a in self.survey.trust_answers.items()}},
            "choropleth": self.choropleth,
        }


def _named(raw: dict[str, Any]) -> dict[str, Named]:
    return {code: Named(code=code, **spec) for code, spec in raw.items()}


def load_overlay_rules(layers_dir: Path) -> OverlayRules:
    raw = yaml.safe_load((layers_dir / "overlays.yaml").read_text(encoding="utf-8"))
    groups: dict[str, Group] = {}
    categories: dict[str, Category] = {}
    spellings: dict[str, str] = {}
    for gcode, gspec in raw["incident_groups"].items():
        leaves = []
        for code, spec in gspec["categories"].items():
            if code in categories:
                raise ValueError(f"overlays.yaml: category {code} appears twice")
            cat = Category(code=code, group=gcode, **spec)
            categories[code] = cat
            leaves.append(code)
            for spelling in [code, cat.name.da, cat.name.en, *cat.aliases]:
                for key in {fold(spelling), fold(spelling, plain=True)}:
                    if spellings.get(key, code) != code:
                        raise ValueError(f"overlays.yaml: {spelling!r} names both {spellings[key]} and {code}")
                    spellings[key] = code
        groups[gcode] = Group(code=gcode, name=Text(**gspec["name"]), categories=leaves)
    return OverlayRules(
        groups=groups,
        categories=categories,
        report_categories=_named(raw["insecurity_report_categories"]),
        report_statuses=_named(raw["insecurity_report_statuses"]),
        survey=SurveyRules(**{**raw["survey"], "trust_answers": _named(raw["survey"]["trust_answers"]),
                              "metrics": _named(raw["survey"]["metrics"])}),
        choropleth=raw["choropleth"],
        spellings=spellings,
    )


@lru_cache
def get_overlay_rules() -> OverlayRules:
    return load_overlay_rules(get_settings().layers_dir)

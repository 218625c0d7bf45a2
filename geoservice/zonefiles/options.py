"""How a zone file is read: which column holds what (the field mapping), constants, the CRS, and what the import
may do (publish, repair, resolve local times, link consecutive periods). Given as options, a small YAML file, or
both (the options win)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError, field_validator

from geoservice.errors import FieldError, InvalidInput

# What a column can be mapped to, and what it means.
TARGETS: dict[str, str] = {
    "key": "identifies the zone across files and re-imports; features with the same key are one zone (parts "
           "with the same period are dissolved into one boundary, consecutive periods become its versions). "
           "Default: the name",
    "name": "the zone's name",
    "kind": "zone kind code from layers/kinds.yaml, e.g. visitationszone",
    "valid_from": "start of the period (ISO 8601; without an offset Copenhagen local time)",
    "valid_to": "end of the period (exclusive; a date alone means til og med that day)",
    "decision_ref": "the decision's reference (journal number)",
    "decided_by": "who decided",
    "authority": "the deciding police district by name (e.g. Fyns Politi); resolved to its politikreds, and "
                 "used as decided_by when that is not mapped",
    "legal_basis": "the legal basis (default the kind's)",
    "boundary_text": "the legal boundary in words, as the decision states it",
    "reason": "the reason for the decision",
    "description": "a description of the zone",
    "visibility": "public, internal or restricted (default the kind's)",
    "list_edition": "the list edition (SUB, ministry lists)",
}

# Columns used when a target is not mapped: the target's own name and a few common names (case-insensitive).
DEFAULT_COLUMNS: dict[str, tuple[str, ...]] = {
    "key": ("key", "zone_key", "noegle"),
    "name": ("name", "navn"),
    "kind": ("kind", "zonetype"),
    "valid_from": ("valid_from", "gyldig_fra", "start", "begin"),
    "valid_to": ("valid_to", "gyldig_til", "end", "slut"),
    "decision_ref": ("decision_ref", "afgoerelse", "journalnummer"),
    "decided_by": ("decided_by", "besluttet_af"),
    "authority": ("authority", "myndighed"),
    "legal_basis": ("legal_basis", "hjemmel"),
    "boundary_text": ("boundary_text", "afgraensning"),
    "reason": ("reason", "begrundelse"),
    "description": ("description", "beskrivelse"),
    "visibility": ("visibility", "synlighed"),
    "list_edition": ("list_edition", "listeudgave"),
}


class LinkRule(BaseModel):
    """Consecutive periods of the same place are one zone: a period continues another when it starts exactly
    where the other ends, `by` (a target such as authority) is the same, and their boundaries overlap by at
    least `min_overlap` of the smaller one. Used when the file has no key (e.g. a register that lists each
    extension as a feature of its own)."""

    model_config = ConfigDict(extra="forbid")
    by: str | None = Field(default=None, description="a target whose value must be the same, e.g. authority")
    min_overlap: float = Field(default=0.01, gt=0, le=1)


class Attribution(BaseModel):
    """Where the data comes from: shown on every imported zone (`source`) and kept with the import."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    credit: str = Field(min_length=1, max_length=500)
    url: str | None = Field(default=None, max_length=500)
    licence: str | None = Field(default=None, max_length=200)
    geometry: str | None = Field(default=None, max_length=1000, description="how exact the boundaries are")


class ZoneImportOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    fields: dict[str, str] = Field(default_factory=dict, description="target: column")
    set: dict[str, str] = Field(default_factory=dict, description="target: the same value for every feature")
    source: str = Field(default="import", min_length=1, max_length=100,
                        description="where the zones come from; (source, key) identifies a zone on re-import")
    crs: str | None = Field(default=None, description="the file's CRS when it declares none (e.g. EPSG:25832)")
    layer: str | None = None
    link_consecutive: LinkRule | None = None
    publish: StrictBool = False
    override_reason: str | None = Field(default=None, max_length=2000)
    skip_invalid: StrictBool = False
    repair: StrictBool = False
    resolve_local_times: StrictBool = False
    historical: StrictBool = False
    archive_ended: StrictBool = False
    illustrative: StrictBool = False
    attribution: Attribution | None = None
    dry_run: StrictBool = False

    @field_validator("fields", "set")
    @classmethod
    def _known_targets(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = [k for k in value if k not in TARGETS]
        if unknown:
            raise ValueError(f"unknown target(s) {', '.join(unknown)}; known: {', '.join(TARGETS)}")
        return value


def parse_pairs(values: list[str] | None, option: str) -> dict[str, str]:
    """`target=value` pairs (CLI --field name=area, API field=name:area also accepted)."""
    pairs: dict[str, str] = {}
    for item in values or []:
        sep = "=" if "=" in item else ":" if ":" in item else None
        if sep is None:
            raise InvalidInput(f"{option}: {item!r} is not target=value",
                               errors=[FieldError(option, f"expected target=value, e.g. name=area; got {item!r}")])
        target, value = item.split(sep, 1)
        pairs[target.strip()] = value.strip()
    return pairs


def load_mapping(text: str, origin: str = "mapping") -> dict[str, Any]:
    """A YAML mapping file (the keys of ZoneImportOptions); refused with the reason when it is not one."""
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise InvalidInput(f"{origin}: not valid YAML: {exc}", errors=[FieldError(origin, f"not valid YAML: {exc}")]
                           ) from None
    if not isinstance(data, dict):
        raise InvalidInput(f"{origin}: expected a mapping of options",
                           errors=[FieldError(origin, "expected a YAML mapping (fields:, set:, source:, ...)")])
    return data


def build_options(mapping: dict[str, Any] | None = None, **given: Any) -> ZoneImportOptions:
    """The options of an import: the YAML mapping first, then what was given (None: not given). `fields` and
    `set` are merged target by target."""
    data: dict[str, Any] = dict(mapping or {})
    for name, value in given.items():
        if value is None:
            continue
        if name in ("fields", "set"):
            data[name] = {**(data.get(name) or {}), **value}
        else:
            data[name] = value
    try:
        return ZoneImportOptions.model_validate(data)
    except ValidationError as exc:
        errors = [FieldError(".".join(str(p) for p in e["loc"]) or "mapping", e["msg"]) for e in exc.errors()]
        raise InvalidInput("the import options are not valid: " + "; ".join(f"{e.field}: {e.reason}"
                                                                            for e in errors), errors=errors) from None


def mapping_file(path: Path) -> dict[str, Any]:
    return load_mapping(path.read_text(encoding="utf-8"), str(path))

"""Validity periods and the legal rules of each zone kind (the rules themselves are in layers/kinds.yaml).

A breach of a kind rule is refused with a problem that quotes the rule. An admin may override it with a
reason; the override is stored on the version and listed in the validity report.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from geoservice import timeutil
from geoservice.access import Principal, Role
from geoservice.errors import FieldError, InvalidInput, RuleViolation
from geoservice.layers import KindRules
from geoservice.timeutil import add_calendar, isoformat_local, parse_instant


@dataclass(frozen=True)
class Period:
    start: dt.datetime
    end: dt.datetime | None  # None: no end



@dataclass
class Breach:
    rule: str            # the rule's name in layers/kinds.yaml
    text: str            # the rule quoted in words
    field: str
    detail: str
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "text": self.text, "field": self.field, "detail": self.detail, **self.extra}


def parse_period(valid_from: Any, valid_to: Any, *, prefix: str = "properties.") -> Period:
    start = parse_instant(valid_from, f"{prefix}valid_from", date_means="start")
    end = None if valid_to in (None, "") else parse_instant(valid_to, f"{prefix}valid_to", date_means="end_inclusive")
    if end is not None and end <= start:
        reason = (
            f"the end {isoformat_local(end)} is not after the start {isoformat_local(start)}"
            " (a period is [valid_from, valid_to), so the end must be later)"
        )
        raise InvalidInput(f"{prefix}valid_to: {reason}", errors=[FieldError(f"{prefix}valid_to", reason)])
    return Period(start, end)


def check_period(
    rules: KindRules, period: Period, *, prefix: str = "properties.", extension: bool = False
) -> list[Breach]:
    """Every rule of the kind that the period breaks (empty when it complies)."""
    breaches: list[Breach] = []
    kind = rules.code
    if rules.end_required and period.end is None:
        breaches.append(
            Breach(
                rule="end_required",
                text=f"En {rules.name.da.lower()} skal altid have en slutdato ({kind}: end_required)",
                field=f"{prefix}valid_to",
                detail=f"a {rules.name.en.lower()} must have an end; valid_to is missing",
            )
        )
    limit = rules.longest_extension if extension else rules.max_period
    if limit is not None:
        latest = add_calendar(period.start, limit)
        rule_name = "extension_step" if extension and rules.extension_step else "max_period"
        what = "Hver forlængelse" if extension else "Hver udpegning"
        text = f"{what} af en {rules.name.da.lower()} kan højst vare {limit.describe()} ({kind}: {rule_name})"
        if period.end is None:
            if not rules.end_required:
                breaches.append(
                    Breach(rule_name, text, f"{prefix}valid_to",
                           f"at most {limit.describe_en()}, so an end is required",
                           {"latest_allowed_end": isoformat_local(latest)})
                )
        elif period.end > latest:
            breaches.append(
                Breach(
                    rule_name, text, f"{prefix}valid_to",
                    f"valid_to {isoformat_local(period.end)} is after the latest allowed end "
                    f"{isoformat_local(latest)} ({limit.describe_en()} from {isoformat_local(period.start)})",
                    {"latest_allowed_end": isoformat_local(latest)},
                )
            )
    return breaches


@dataclass(frozen=True)
class Override:
    rule: str
    reason: str


def enforce(
    breaches: list[Breach], *, principal: Principal, override_reason: str | None, kind: str
) -> Override | None:
    """Refuse on any breach, unless an admin overrides it with a reason."""
    if not breaches:
        return None
    if override_reason and principal.role == Role.admin:
        return Override(rule="; ".join(b.text for b in breaches), reason=override_reason)
    hint = (
        " An admin may override with override_reason."
        if principal.role == Role.admin
        else " Only an admin may override a rule, and must give override_reason."
    )
    first = breaches[0]
    raise RuleViolation(
        f"{first.text}: {first.detail}.{hint}",
        errors=[FieldError(b.field, b.detail, {"rule": b.rule, "rule_text": b.text}) for b in breaches],
        extra={"kind": kind, "rules": [b.as_dict() for b in breaches]},
    )


def decision_breach(rules: KindRules, decision_ref: str | None, field: str) -> list[Breach]:
    if rules.decision_required and not (decision_ref and decision_ref.strip()):
        return [Breach(
            rule="decision_required",
            text=f"En {rules.name.da.lower()} offentliggøres kun med henvisning til afgørelsen "
                 f"({rules.code}: decision_required)",
            field=field,
            detail="decision_ref is missing",
        )]
    return []


def continuity_breaches(previous: Period, period: Period, allow_overlap: bool) -> list[Breach]:
    """An extension continues from the end of the designation it extends: no gap, no overlap unless asked.
    Even with allow_overlap it must reach past the previous end and may not start before the previous start:
    an "extension" lying inside or before the designation it continues extends nothing."""
    previous_end, start = previous.end, period.start
    assert previous_end is not None
    breaches: list[Breach] = []
    if start > previous_end:
        breaches.append(Breach(
            rule="continuity",
            text="En forlængelse skal fortsætte fra den forrige udpegnings ophør uden hul (continuity)",
            field="valid_from",
            detail=f"the extension starts {timeutil.isoformat_local(start)}, after the designation ended "
                   f"{timeutil.isoformat_local(previous_end)}: a gap of {start - previous_end}",
            extra={"previous_end": timeutil.isoformat_local(previous_end)},
        ))
    elif start < previous_end and not allow_overlap:
        breaches.append(Breach(
            rule="continuity",
            text="En forlængelse må ikke overlappe den forrige udpegning, medmindre det udtrykkeligt ønskes "
                 "(continuity; allow_overlap)",
            field="valid_from",
            detail=f"the extension starts {timeutil.isoformat_local(start)}, before the designation ends "
                   f"{timeutil.isoformat_local(previous_end)}; send allow_overlap=true if that is intended",
            extra={"previous_end": timeutil.isoformat_local(previous_end)},
        ))
    if start < previous.start:
        breaches.append(Breach(
            rule="continuity",
            text="En forlængelse kan ikke begynde før den udpegning, den forlænger (continuity)",
            field="valid_from",
            detail=f"the extension starts {timeutil.isoformat_local(start)}, before the designation it continues "
                   f"started {timeutil.isoformat_local(previous.start)}",
            extra={"previous_start": timeutil.isoformat_local(previous.start),
                   "previous_end": timeutil.isoformat_local(previous_end)},
        ))
    if period.end is not None and period.end <= previous_end:
        breaches.append(Breach(
            rule="continuity",
            text="En forlængelse skal slutte efter den forrige udpegnings ophør (continuity)",
            field="valid_to",
            detail=f"the extension ends {timeutil.isoformat_local(period.end)}, not after the designation it "
                   f"continues ends {timeutil.isoformat_local(previous_end)}: it extends nothing",
            extra={"previous_end": timeutil.isoformat_local(previous_end)},
        ))
    return breaches


# How far in the past a start may lie and still count as "now": clocks of the caller and the server differ.
CLOCK_SKEW = dt.timedelta(minutes=5)


def retroactive_breach(start: dt.datetime, field: str, *, previous_end: dt.datetime | None = None,
                       now: dt.datetime | None = None) -> list[Breach]:
    """A designation takes effect no earlier than its publication: a decision made today cannot have been in
    force yesterday. An admin may override it (with a reason) to record a decision made on paper at the time."""
    now = now or timeutil.now()
    if start >= now - CLOCK_SKEW:
        return []
    detail = (f"{field} {timeutil.isoformat_local(start)} lies before the publication "
              f"{timeutil.isoformat_local(now)}")
    if previous_end is not None and previous_end < now:
        detail += (f"; the designation lapsed {timeutil.isoformat_local(previous_end)}, so it cannot be continued "
                   "without a gap: designate it anew from now or later (valid_from), and the gap is listed in "
                   "the validity report")
    return [Breach(
        rule="no_retroactive_effect",
        text="En udpegning får tidligst virkning fra offentliggørelsen og kan ikke tilbagedateres "
             "(no_retroactive_effect)",
        field=field,
        detail=detail,
        extra={"earliest_allowed_start": timeutil.isoformat_local(now - CLOCK_SKEW)},
    )]

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
from geoservice.layers import KindRules, less_protected
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
    rule: str                        # the rules quoted in words
    reason: str
    rules: tuple[str, ...] = ()      # their names, e.g. ("no_retroactive_effect",)


def enforce(
    breaches: list[Breach], *, principal: Principal, override_reason: str | None, kind: str
) -> Override | None:
    """Refuse on any breach, unless an admin overrides it with a reason."""
    if not breaches:
        return None
    if override_reason and override_reason.strip() and principal.role == Role.admin:
        names = tuple(dict.fromkeys(b.rule for b in breaches))
        return Override(rule="; ".join(dict.fromkeys(b.text for b in breaches)), reason=override_reason.strip(),
                        rules=names)
    hint = (
        " An admin may override with override_reason."
        if principal.role == Role.admin
        else " Only an admin may override a rule, and must give override_reason."
    )
    refuse(breaches, kind=kind, hint=hint)


def refuse(breaches: list[Breach], *, kind: str, hint: str = "") -> None:
    """Refuse with every breach named; used directly for rules no one may override."""
    if not breaches:
        return
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
                       acts_on_end: dt.datetime | None = None, now: dt.datetime | None = None) -> list[Breach]:
    """A decision takes effect no earlier than the moment it is recorded: a designation, extension, amendment
    or revocation made today cannot have been in force (or have ended) yesterday. An admin may override it (with
    a reason) to record a decision made on paper at the time.

    CLOCK_SKEW forgives a caller's clock a few minutes behind, but not the change of a designation that has
    already ended on the server's clock (`acts_on_end`): continuing, amending or revoking it from a moment before
    now would rewrite what was in force in the meantime."""
    now = now or timeutil.now()
    ended_meanwhile = acts_on_end is not None and acts_on_end <= now and start < now
    if start >= now - CLOCK_SKEW and not ended_meanwhile:
        return []
    detail = (f"{field} {timeutil.isoformat_local(start)} lies before the moment the decision is recorded "
              f"({timeutil.isoformat_local(now)})")
    if ended_meanwhile and start >= now - CLOCK_SKEW:
        detail += f"; the designation it acts on ended {timeutil.isoformat_local(acts_on_end)}, before now"
    if previous_end is not None and previous_end < now:
        detail += (f"; the designation lapsed {timeutil.isoformat_local(previous_end)}, so it cannot be continued "
                   "without a gap: designate it anew from now or later (valid_from), and the gap is listed in "
                   "the validity report")
    return [Breach(
        rule="no_retroactive_effect",
        text="En afgørelse får tidligst virkning, når den registreres, og kan ikke tilbagedateres "
             "(no_retroactive_effect)",
        field=field,
        detail=detail,
        extra={"earliest_allowed": timeutil.isoformat_local(now - CLOCK_SKEW)},
    )]


def visibility_breach(rules: KindRules, visibility: str, field: str) -> list[Breach]:
    """A kind's minimum protection (layers/kinds.yaml `min_visibility`): e.g. a § 6 g opholdsforbud concerns one
    person and is restricted to its own politikreds unless an admin records why it must be seen more widely."""
    if not less_protected(visibility, rules.min_visibility):
        return []
    return [Breach(
        rule="min_visibility",
        text=f"En zone af typen {rules.name.da} skal mindst have synligheden {rules.min_visibility} "
             f"({rules.code}: min_visibility)",
        field=field,
        detail=f"visibility {visibility} is less protected than {rules.min_visibility}, the minimum for "
               f"{rules.name.en.lower()}",
        extra={"min_visibility": rules.min_visibility},
    )]


@dataclass
class Decision:
    """What a write would record, for the one rule check every route goes through (`check_decision`)."""

    effect_from: dt.datetime | None          # when its legal effect starts; None: no effect yet (a draft)
    effect_field: str
    period: Period | None = None             # a designation's period, checked against the kind's limits
    period_prefix: str = ""
    extension: bool = False
    decision_ref: str | None = None
    decision_field: str | None = None        # set when the kind's decision_required applies to this write
    visibility: str | None = None
    visibility_field: str = "properties.visibility"
    previous_end: dt.datetime | None = None  # the end of the designation continued (for the retroactivity hint)
    acts_on_end: dt.datetime | None = None   # the end of the designation the decision changes (see retroactive_breach)
    breaches: list[Breach] = field(default_factory=list)  # the route's own (continuity, revocation)


def check_decision(rules: KindRules, decision: Decision, *, principal: Principal, override_reason: str | None,
                   now: dt.datetime | None = None) -> Override | None:
    """Every rule a write must meet, in one place: the kind's period limits, the decision reference, no
    retroactive effect, the kind's minimum visibility, and the route's own rules. A breach is refused for every
    role; an admin may override it with a reason, which the caller records (`store.zones.record_override`)."""
    breaches: list[Breach] = []
    if decision.period is not None:
        breaches += check_period(rules, decision.period, prefix=decision.period_prefix,
                                 extension=decision.extension)
    if decision.decision_field is not None:
        breaches += decision_breach(rules, decision.decision_ref, decision.decision_field)
    if decision.effect_from is not None:
        breaches += retroactive_breach(decision.effect_from, decision.effect_field,
                                       previous_end=decision.previous_end, acts_on_end=decision.acts_on_end,
                                       now=now)
    if decision.visibility is not None:
        breaches += visibility_breach(rules, decision.visibility, decision.visibility_field)
    breaches += decision.breaches
    return enforce(breaches, principal=principal, override_reason=override_reason, kind=rules.code)


def revocation_breaches(at: dt.datetime, *, started: dt.datetime | None, ends: dt.datetime | None,
                        field: str = "at") -> list[Breach]:
    """A revocation ends a designation from a moment inside it: not before it began (the version would end
    before it begins) and not after it has already ended (there is nothing left to end)."""
    text = "En tilbagekaldelse skal ligge inden for den udpegning, den afslutter (revocation_within_designation)"
    if started is not None and at < started:
        return [Breach("revocation_within_designation", text, field,
                       f"{field} {isoformat_local(at)} lies before the zone was decided "
                       f"({isoformat_local(started)}, its first start or record)",
                       {"decided": isoformat_local(started)})]
    if ends is not None and at >= ends:
        return [Breach("revocation_within_designation", text, field,
                       f"the designation ended {isoformat_local(ends)}, before {field} {isoformat_local(at)}; "
                       "an ended zone is archived (POST /api/v1/zones/{id}/archive), not revoked",
                       {"designation_end": isoformat_local(ends)})]
    return []

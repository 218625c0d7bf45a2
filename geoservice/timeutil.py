"""Time, exactly: entered and shown in Europe/Copenhagen, stored in UTC.

- A timestamp with an offset (or Z) is that instant.
- A timestamp without an offset is local Copenhagen wall-clock time. A local time that does not exist
  (the skipped hour on the last Sunday of March) or exists twice (the repeated hour in October) is refused
  rather than guessed: the caller must add the offset.
- A date alone means the start of that local day; as an end ("til og med") it means the start of the next
  local day, so "til og med 14. marts 2026" is valid until 2026-03-15 00:00 local.
- Calendar periods are added in local wall-clock time, so a DST change never shifts a period. Years keep the
  month and day; from 29 February the result rolls to 1 March (2024-02-29 + 2 years = 2026-03-01).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal
from zoneinfo import ZoneInfo

from geoservice.errors import FieldError, InvalidTime
from geoservice.layers import CalendarPeriod

LOCAL_TZ = ZoneInfo("Europe/Copenhagen")
UTC = dt.UTC

_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")

DANISH_MONTHS = (
    "januar", "februar", "marts", "april", "maj", "juni",
    "juli", "august", "september", "oktober", "november", "december",
)


def now() -> dt.datetime:
    return dt.datetime.now(UTC)


# The years a time given to the service may lie in. Zones, reports and maps concern the present; the margins
# keep every conversion (local days, DST, an end "til og med" the next midnight) far from datetime's limits,
# which year 1 and 9999 would overflow.
MIN_YEAR = 1900
MAX_YEAR = 2199


def _invalid(field: str, reason: str) -> InvalidTime:
    return InvalidTime(f"{field}: {reason}", errors=[FieldError(field, reason)])


def _check_year(year: int, field: str) -> None:
    if MIN_YEAR <= year <= MAX_YEAR:
        return
    reason = f"year {year} is out of range; times from {MIN_YEAR} to {MAX_YEAR} are accepted"
    if field.rsplit(".", 1)[-1] == "valid_to":
        reason += "; use no valid_to for an open end"
    raise _invalid(field, reason)


def localize(naive: dt.datetime, field: str = "time") -> dt.datetime:
    """Attach Europe/Copenhagen to a wall-clock time, refusing times that DST makes missing or ambiguous."""
    first = naive.replace(tzinfo=LOCAL_TZ, fold=0)
    second = naive.replace(tzinfo=LOCAL_TZ, fold=1)
    if first.astimezone(UTC).astimezone(LOCAL_TZ).replace(tzinfo=None) != naive:
        raise _invalid(
            field,
            f"{naive.isoformat()} does not exist in Europe/Copenhagen (the clocks skip that hour "
            "when summer time starts); give the time with an offset",
        )
    if first.utcoffset() != second.utcoffset():
        raise _invalid(
            field,
            f"{naive.isoformat()} happens twice in Europe/Copenhagen (the clocks repeat that hour "
            "when summer time ends); give the time with an offset, +02:00 or +01:00",
        )
    return first.astimezone(UTC)


def parse_instant(
    value: str | dt.datetime | dt.date,
    field: str,
    *,
    date_means: Literal["start", "end_inclusive"] = "start",
) -> dt.datetime:
    """Parse user input into an aware UTC datetime, following the module rules."""
    if isinstance(value, dt.datetime):
        _check_year(value.year, field)
        return value.astimezone(UTC) if value.tzinfo else localize(value, field)
    if isinstance(value, dt.date):
        _check_year(value.year, field)
        return _date_boundary(value, date_means, field)
    if not isinstance(value, str) or not value.strip():
        raise _invalid(field, "expected an ISO 8601 date or date-time, e.g. 2025-09-01T16:00:00+02:00")
    text = value.strip()
    day = iso_date(text)
    if day is not None:  # every ISO 8601 date form (2026-12-05, 20261205, 2026-W49-6, 2026-339) is a whole day
        _check_year(day.year, field)
        return _date_boundary(day, date_means, field)
    if _DATE_ONLY.match(text):
        raise _invalid(field, f"not a valid date: {text!r}")
    try:
        parsed = dt.datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise _invalid(
            field, f"not an ISO 8601 date-time: {text!r}; expected e.g. 2025-09-01T16:00:00+02:00"
        ) from None
    _check_year(parsed.year, field)
    if parsed.tzinfo is None:
        return localize(parsed, field)
    return parsed.astimezone(UTC)


def iso_date(text: str) -> dt.date | None:
    """The day, when the text is an ISO 8601 date without a time; None otherwise."""
    if "T" in text.upper() or ":" in text or " " in text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def _date_boundary(day: dt.date, date_means: str, field: str) -> dt.datetime:
    if date_means == "end_inclusive":
        day = day + dt.timedelta(days=1)
    return localize(dt.datetime.combine(day, dt.time(0, 0)), field)


def add_calendar(start: dt.datetime, period: CalendarPeriod) -> dt.datetime:
    """`start` plus a calendar period in local wall-clock time (see the module rules)."""
    local = start.astimezone(LOCAL_TZ).replace(tzinfo=None)
    if period.years:
        try:
            shifted = local.replace(year=local.year + period.years)
        except ValueError:  # 29 February in a non-leap target year
            shifted = local.replace(year=local.year + period.years, month=3, day=1)
    else:
        shifted = local + dt.timedelta(days=period.days)
    return resolve_wall_clock(shifted)


def resolve_wall_clock(naive: dt.datetime) -> dt.datetime:
    """Local wall clock to UTC; a skipped time moves forward by the gap, a repeated time takes the first.
    (With fold=0, PEP 495 reads a skipped time with the offset before the change, which is exactly that.)"""
    return naive.replace(tzinfo=LOCAL_TZ, fold=0).astimezone(UTC)


def to_local(value: dt.datetime) -> dt.datetime:
    return value.astimezone(LOCAL_TZ)


def isoformat_local(value: dt.datetime | None) -> str | None:
    """ISO 8601 in Copenhagen time with its offset, e.g. 2025-09-01T16:00:00+02:00; None for open ends."""
    if value is None or value in (dt.datetime.max.replace(tzinfo=UTC),):
        return None
    if value.year >= 9999 or value.year <= 1:
        return None
    return value.astimezone(LOCAL_TZ).isoformat(timespec="seconds")


def format_danish(value: dt.datetime | None) -> str:
    """'1. september 2025 kl. 16.00' in Copenhagen time."""
    if value is None:
        return "uden udløb"
    local = value.astimezone(LOCAL_TZ)
    return f"{local.day}. {DANISH_MONTHS[local.month - 1]} {local.year} kl. {local:%H.%M}"


def format_danish_period(start: dt.datetime, end: dt.datetime | None) -> str:
    return f"{format_danish(start)} – {format_danish(end)}"

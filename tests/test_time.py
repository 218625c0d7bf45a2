"""Time, exactly: Copenhagen local input, UTC storage, DST, 'til og med' and calendar periods."""

from __future__ import annotations

import datetime as dt

import pytest

from geoservice.errors import InvalidTime
from geoservice.layers import CalendarPeriod
from geoservice.timeutil import add_calendar, format_danish, isoformat_local, parse_instant

UTC = dt.UTC


@pytest.mark.parametrize(
    ("text", "date_means", "expected_utc"),
    [
        ("2025-09-01T16:00:00+02:00", "start", "2025-09-01T14:00:00+00:00"),
        ("2025-09-01T16:00", "start", "2025-09-01T14:00:00+00:00"),          # local, summer time
        ("2025-12-01T16:00", "start", "2025-12-01T15:00:00+00:00"),          # local, winter time
        ("2025-09-01T14:00:00Z", "start", "2025-09-01T14:00:00+00:00"),
        ("2026-03-14", "start", "2026-03-13T23:00:00+00:00"),                # start of the local day
        ("2026-03-14", "end_inclusive", "2026-03-14T23:00:00+00:00"),        # til og med: next midnight
        ("2025-03-29", "end_inclusive", "2025-03-29T23:00:00+00:00"),        # the night clocks go forward
        ("2025-03-30", "end_inclusive", "2025-03-30T22:00:00+00:00"),        # ... that day has 23 hours
        ("2025-10-26", "end_inclusive", "2025-10-26T23:00:00+00:00"),        # and this one 25
    ],
)
def test_parse_instant(text: str, date_means: str, expected_utc: str) -> None:
    assert parse_instant(text, "t", date_means=date_means).isoformat() == expected_utc


def test_local_time_in_the_spring_gap_is_refused() -> None:
    with pytest.raises(InvalidTime) as info:
        parse_instant("2025-03-30T02:30", "properties.valid_from")
    assert "does not exist" in info.value.detail
    assert info.value.errors[0].field == "properties.valid_from"


def test_ambiguous_autumn_time_is_refused_but_accepted_with_offset() -> None:
    with pytest.raises(InvalidTime) as info:
        parse_instant("2025-10-26T02:30", "at")
    assert "happens twice" in info.value.detail
    first = parse_instant("2025-10-26T02:30+02:00", "at")
    second = parse_instant("2025-10-26T02:30+01:00", "at")
    assert second - first == dt.timedelta(hours=1)


@pytest.mark.parametrize("bad", ["", "yesterday", "2025-13-01", "2025-02-30", "2025-09-01 16:00:00+99:00"])
def test_malformed_times_are_refused(bad: str) -> None:
    with pytest.raises(InvalidTime):
        parse_instant(bad, "at")


@pytest.mark.parametrize(
    ("start_local", "period", "expected_local"),
    [
        ("2025-09-01T16:00", CalendarPeriod(years=2), "2027-09-01T16:00:00+02:00"),
        # two years from 29 February rolls to 1 March (documented rule)
        ("2024-02-29T00:00", CalendarPeriod(years=2), "2026-03-01T00:00:00+01:00"),
        ("2024-02-29T12:00", CalendarPeriod(years=4), "2028-02-29T12:00:00+01:00"),
        # days are calendar days at the same wall-clock time, across both DST changes
        ("2025-03-20T12:00", CalendarPeriod(days=30), "2025-04-19T12:00:00+02:00"),
        ("2025-10-10T12:00", CalendarPeriod(days=30), "2025-11-09T12:00:00+01:00"),
        # a wall-clock time that falls in the spring gap moves forward by the gap
        ("2025-02-28T02:30", CalendarPeriod(days=30), "2025-03-30T03:30:00+02:00"),
    ],
)
def test_add_calendar(start_local: str, period: CalendarPeriod, expected_local: str) -> None:
    start = parse_instant(start_local, "t")
    assert isoformat_local(add_calendar(start, period)) == expected_local


def test_danish_formatting() -> None:
    assert format_danish(parse_instant("2025-09-01T16:00", "t")) == "1. september 2025 kl. 16.00"
    assert format_danish(parse_instant("2026-01-05T09:05", "t")) == "5. januar 2026 kl. 09.05"


@pytest.mark.parametrize("bad", ["0001-01-01", "9999-12-31", "9999-12-31T23:59:59+00:00", "0001-01-01T00:00",
                                 "1899-12-31T23:00:00Z", "2200-01-01"])
def test_years_out_of_range_are_refused_not_overflowed(bad: str) -> None:
    for date_means in ("start", "end_inclusive"):
        with pytest.raises(InvalidTime) as err:
            parse_instant(bad, "at", date_means=date_means)  # type: ignore[arg-type]
        assert err.value.errors[0].field == "at" and "out of range" in err.value.errors[0].reason
    with pytest.raises(InvalidTime, match="use no valid_to for an open end"):
        parse_instant(bad, "properties.valid_to", date_means="end_inclusive")


def test_the_edges_of_the_accepted_range() -> None:
    assert parse_instant("1900-01-01", "at").year in (1899, 1900)
    assert parse_instant("2199-12-31", "valid_to", date_means="end_inclusive").year == 2199

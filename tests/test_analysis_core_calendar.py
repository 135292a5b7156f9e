"""BusinessCalendar: working time between instants, checked against hand-computed examples."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import polars as pl
import pytest

import analysis
from analysis import BusinessCalendar

ROME = ZoneInfo("Europe/Rome")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def rome(*args: int) -> datetime:
    return datetime(*args, tzinfo=ROME)


def working(calendar: BusinessCalendar, start: datetime, end: datetime) -> timedelta:
    return calendar.business_duration(pl.Series([start]), pl.Series([end])).item()


NINE_TO_FIVE = BusinessCalendar()  # UTC, 09:00-17:00, Saturday and Sunday off


@pytest.mark.parametrize(("start", "end", "hours"), [
    # Same working day.
    (utc(2024, 1, 8, 10), utc(2024, 1, 8, 15, 30), 5.5),
    # Start before and end after working hours on the same day: the full 8 hours.
    (utc(2024, 1, 8, 7), utc(2024, 1, 8, 20), 8),
    # Evening to next morning, both outside hours: nothing.
    (utc(2024, 1, 8, 18), utc(2024, 1, 9, 8), 0),
    # Friday 16:00 to Monday 10:00 across the weekend: 1 h + 1 h.
    (utc(2024, 1, 5, 16), utc(2024, 1, 8, 10), 2),
    # Saturday to Sunday: nothing.
    (utc(2024, 1, 6, 10), utc(2024, 1, 7, 16), 0),
    # Saturday noon to Tuesday noon: Monday 8 h + Tuesday 3 h.
    (utc(2024, 1, 6, 12), utc(2024, 1, 9, 12), 11),
    # Two full weeks, Monday 09:00 to Monday 09:00: 10 working days.
    (utc(2024, 1, 8, 9), utc(2024, 1, 22, 9), 80),
    # End before start: negative.
    (utc(2024, 1, 8, 15), utc(2024, 1, 8, 11), -4),
    # Identical instants.
    (utc(2024, 1, 8, 12), utc(2024, 1, 8, 12), 0),
])
def test_nine_to_five_in_utc(start, end, hours):
    assert working(NINE_TO_FIVE, start, end) == timedelta(hours=hours)


def test_holidays_are_not_worked():
    calendar = BusinessCalendar(holidays=["2024-01-10", date(2024, 1, 11)])
    # Tuesday 16:00 to Friday 10:00 with Wednesday and Thursday off: 1 h + 1 h.
    assert working(calendar, utc(2024, 1, 9, 16), utc(2024, 1, 12, 10)) == timedelta(hours=2)
    # A holiday on a weekend changes nothing.
    assert working(BusinessCalendar(holidays=["2024-01-13"]), utc(2024, 1, 12, 9), utc(2024, 1, 15, 17)) == \
        timedelta(hours=16)


def test_working_hours_are_local_to_the_calendar_zone_across_the_spring_dst_change():
    calendar = BusinessCalendar(timezone="Europe/Rome")
    # Friday 29 March 2024 16:00 CET (15:00 UTC) to Tuesday 2 April 10:00 CEST (08:00 UTC):
    # Friday 1 h, Monday 8 h, Tuesday 1 h. The weekend in between changed the offset.
    start, end = utc(2024, 3, 29, 15), utc(2024, 4, 2, 8)
    assert start == rome(2024, 3, 29, 16) and end == rome(2024, 4, 2, 10)
    assert working(calendar, start, end) == timedelta(hours=10)
    # Easter Monday (1 April 2024) is a public holiday in Italy.
    easter = BusinessCalendar(timezone="Europe/Rome", holidays=["2024-04-01"])
    assert working(easter, start, end) == timedelta(hours=2)


def test_a_day_that_spans_a_dst_change_inside_working_hours_is_shorter_or_longer():
    round_the_clock = BusinessCalendar(timezone="Europe/Rome", work_start="00:00", work_end="24:00", weekend=())
    # Saturday noon to Sunday noon, local: 23 hours in spring, 25 in autumn.
    assert working(round_the_clock, rome(2024, 3, 30, 12), rome(2024, 3, 31, 12)) == timedelta(hours=23)
    assert working(round_the_clock, rome(2024, 10, 26, 12), rome(2024, 10, 27, 12)) == timedelta(hours=25)
    assert round_the_clock.hours_per_day == 24


def test_a_nine_to_five_day_on_a_dst_change_still_has_eight_hours():
    calendar = BusinessCalendar(timezone="Europe/Rome", weekend=())
    # Sunday 31 March 2024 (the change happens at 02:00, outside working hours).
    assert working(calendar, rome(2024, 3, 31, 0), rome(2024, 4, 1, 0)) == timedelta(hours=8)
    assert working(calendar, rome(2024, 10, 27, 0), rome(2024, 10, 28, 0)) == timedelta(hours=8)


def test_local_working_hours_seen_from_utc():
    calendar = BusinessCalendar(timezone="America/New_York", work_start="08:30", work_end="17:00")
    # 14:00 UTC on a January Monday is 09:00 in New York (UTC-5); 23:00 UTC is 18:00: 8 h of a 8.5 h day.
    assert working(calendar, utc(2024, 1, 8, 14), utc(2024, 1, 8, 23)) == timedelta(hours=8)
    assert calendar.hours_per_day == 8.5


def test_business_days_are_working_hours_over_hours_per_day():
    durations = pl.Series([timedelta(hours=4), timedelta(hours=20), None])
    assert NINE_TO_FIVE.business_days(durations).to_list() == [0.5, 2.5, None]


def test_vectorised_over_many_intervals_with_nulls():
    starts = pl.Series([utc(2024, 1, 5, 16), None, utc(2024, 1, 8, 7)])
    ends = pl.Series([utc(2024, 1, 8, 10), utc(2024, 1, 8, 10), None])
    assert NINE_TO_FIVE.business_duration(starts, ends).to_list() == [timedelta(hours=2), None, None]


def test_empty_series():
    empty = pl.Series([], dtype=pl.Datetime("us", "UTC"))
    assert NINE_TO_FIVE.business_duration(empty, empty).to_list() == []


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"timezone": "Mars/Olympus"}, "not an IANA time zone"),
    ({"work_start": "17:00", "work_end": "09:00"}, "must be before work_end"),
    ({"work_start": "nine"}, "not a time of day"),
    ({"weekend": (7,)}, "weekdays are 0"),
    ({"holidays": ["Christmas"]}, "not a date"),
])
def test_invalid_calendars_are_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        BusinessCalendar(**kwargs)


def test_verbs_report_business_time_with_a_calendar():
    log = analysis.read_event_log(pl.DataFrame({
        "case_id": ["1", "1", "1"],
        "activity": ["Invoice Posted", "Reminder Sent", "Payment Received"],
        # Friday 16:00, Monday 10:00, Monday 16:00 (UTC).
        "timestamp": ["2024-01-05 16:00", "2024-01-08 10:00", "2024-01-08 16:00"],
    }))
    per_case = analysis.throughput(log, calendar=NINE_TO_FIVE).row(0, named=True)
    assert per_case["duration"] == timedelta(days=3)
    assert per_case["business_duration"] == timedelta(hours=8)
    assert per_case["business_days"] == 1.0
    edges = analysis.process_map(log, calendar=NINE_TO_FIVE)
    first = edges.filter(pl.col("source") == "Invoice Posted").row(0, named=True)
    assert (first["total"], first["business_total"]) == (timedelta(days=2, hours=18), timedelta(hours=2))
    variant = analysis.variants(log, calendar=NINE_TO_FIVE).row(0, named=True)
    assert variant["business_duration_median"] == timedelta(hours=8)


def _brute_force(calendar: BusinessCalendar, start: datetime, end: datetime) -> timedelta:
    """Working time by walking the local days one by one with plain datetime arithmetic."""
    zone = ZoneInfo(calendar.timezone)
    sign, (lo, hi) = (1, (start, end)) if start <= end else (-1, (end, start))
    total = timedelta(0)
    day = lo.astimezone(zone).date() - timedelta(days=1)
    while day <= hi.astimezone(zone).date() + timedelta(days=1):
        if day.weekday() not in calendar.weekend and day not in calendar.holidays:
            h1, m1 = map(int, calendar.work_start.split(":"))
            h2, m2 = map(int, calendar.work_end.split(":"))
            window_start = datetime(day.year, day.month, day.day, h1, m1, tzinfo=zone)
            window_end = datetime(day.year, day.month, day.day, h2, m2, tzinfo=zone)
            overlap = min(hi, window_end) - max(lo, window_start)
            if overlap > timedelta(0):
                total += overlap
        day += timedelta(days=1)
    return sign * total


def test_random_intervals_agree_with_a_day_by_day_walk():
    import random

    rng = random.Random(11)
    calendar = BusinessCalendar(timezone="Europe/Rome", work_start="08:30", work_end="18:00",
                                holidays=["2024-04-01", "2024-04-25", "2024-11-01"])
    base = [utc(2024, 3, 25), utc(2024, 10, 21)]  # the weeks around both DST changes
    starts, ends = [], []
    for _ in range(300):
        origin = rng.choice(base)
        starts.append(origin + timedelta(minutes=rng.randrange(0, 20 * 24 * 60)))
        ends.append(origin + timedelta(minutes=rng.randrange(0, 20 * 24 * 60)))
    ours = calendar.business_duration(pl.Series(starts), pl.Series(ends)).to_list()
    assert ours == [_brute_force(calendar, s, e) for s, e in zip(starts, ends, strict=True)]

"""Business-hours arithmetic: how much working time lies between two instants.

A :class:`BusinessCalendar` (time zone, working hours, weekend days, holidays)
turns timestamps into a *working clock*: the working time elapsed since the
start of the calendar's range. A business duration is then a subtraction,
``clock(end) - clock(start)``, so millions of durations cost two vectorised
look-ups into a small per-day table rather than a loop per interval.

Each day's working window is computed as real instants in the calendar's
zone, so a DST change shortens or lengthens a day only when it falls inside
working hours (a 00:00–24:00 calendar has a 23-hour day in spring), and a
holiday or weekend contributes nothing. ``business days`` are working hours
divided by the nominal hours of a working day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import polars as pl

_US_PER_HOUR = 3_600_000_000
_US_PER_DAY = 24 * _US_PER_HOUR


def _time_of_day_us(value: str | dt.time, what: str) -> int:
    """Microseconds after midnight for "HH:MM[:SS]" (``"24:00"`` means the end of the day)."""
    if isinstance(value, dt.time):
        return ((value.hour * 60 + value.minute) * 60 + value.second) * 1_000_000 + value.microsecond
    if value.strip() in {"24:00", "24:00:00"}:
        return _US_PER_DAY
    try:
        parsed = dt.time.fromisoformat(value.strip())
    except ValueError as exc:
        raise ValueError(f"BusinessCalendar {what}={value!r} is not a time of day like '09:00'") from exc
    return _time_of_day_us(parsed, what)


@dataclass(frozen=True)
class BusinessCalendar:
    """Working hours in a time zone, with weekend days and holidays.

    Args:
        timezone: IANA zone the working hours are expressed in (``"Europe/Rome"``).
        work_start, work_end: local start and end of a working day, ``"HH:MM"``
            (``work_end="24:00"`` for a day that ends at midnight).
        weekend: non-working weekdays, Monday = 0 … Sunday = 6 (Python's ``weekday()``).
        holidays: non-working dates (``datetime.date`` or ``"YYYY-MM-DD"``).

    >>> from datetime import datetime, timezone
    >>> import polars as pl, analysis
    >>> cal = analysis.BusinessCalendar(timezone="UTC", work_start="09:00", work_end="17:00")
    >>> start = pl.Series([datetime(2024, 1, 5, 16, 0, tzinfo=timezone.utc)])  # a Friday
    >>> end = pl.Series([datetime(2024, 1, 8, 10, 0, tzinfo=timezone.utc)])    # the Monday after
    >>> cal.business_duration(start, end).to_list()
    [datetime.timedelta(seconds=7200)]
    >>> cal.hours_per_day
    8.0
    """

    timezone: str = "UTC"
    work_start: str | dt.time = "09:00"
    work_end: str | dt.time = "17:00"
    weekend: tuple[int, ...] = (5, 6)
    holidays: Iterable[dt.date | str] = field(default=())

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"BusinessCalendar timezone={self.timezone!r} is not an IANA time zone") from exc
        if _time_of_day_us(self.work_start, "work_start") >= _time_of_day_us(self.work_end, "work_end"):
            raise ValueError(
                f"BusinessCalendar work_start={self.work_start!r} must be before work_end={self.work_end!r} "
                "(working days that cross midnight are not supported)"
            )
        weekend = tuple(sorted({int(d) for d in self.weekend}))
        if any(d < 0 or d > 6 for d in weekend):
            raise ValueError(f"BusinessCalendar weekend={self.weekend!r}: weekdays are 0 (Monday) to 6 (Sunday)")
        object.__setattr__(self, "weekend", weekend)
        object.__setattr__(self, "holidays", tuple(sorted({_as_date(d) for d in self.holidays})))

    @property
    def hours_per_day(self) -> float:
        """Nominal working hours of a working day (the divisor for business days)."""
        span = _time_of_day_us(self.work_end, "work_end") - _time_of_day_us(self.work_start, "work_start")
        return span / _US_PER_HOUR

    def working_clock(self, timestamps: pl.Series) -> pl.Series:
        """Working microseconds (Int64) from a fixed origin to each timestamp; nulls stay null.

        Only differences of the clock are meaningful: the origin is the start of
        the first day in the series, so compare clock values computed in the
        same call. Naive timestamps are taken as UTC.
        """
        ts = _as_utc(timestamps)
        first, last = ts.min(), ts.max()
        if first is None:
            return pl.Series(timestamps.name, [None] * len(timestamps), dtype=pl.Int64)
        zone = ZoneInfo(self.timezone)
        # Spare days each side: a UTC instant may fall on a neighbouring local date.
        first_day = first.astimezone(zone).date() - dt.timedelta(days=2)
        days = self._day_table(first_day, last.astimezone(zone).date() + dt.timedelta(days=2))
        window_start = days.get_column("window_start").to_numpy()
        window_us = days.get_column("window_us").to_numpy()
        clock_at_start = days.get_column("clock_at_day_start").to_numpy()
        # The clock is flat outside working windows and runs inside them: find each instant's
        # latest window start and add the time spent in that window. Windows are disjoint and
        # ascending, and that window belongs to the instant's UTC date + 1 or one of the three
        # days before it (zone offsets are under a day), so three vectorised steps back find it.
        instants = ts.to_physical()
        t = instants.fill_null(instants.min()).to_numpy()  # nulls get a stand-in, re-nulled below
        day = np.minimum(t // _US_PER_DAY - _epoch_day(first_day) + 1, len(window_start) - 1)
        for _ in range(3):
            day -= window_start[day] > t
        clock = clock_at_start[day] + np.clip(t - window_start[day], 0, window_us[day])
        result = pl.Series(timestamps.name, clock, dtype=pl.Int64)
        if ts.null_count():
            result = pl.select(pl.when(ts.is_null()).then(None).otherwise(result)).to_series().alias(timestamps.name)
        return result

    def business_duration(self, start: pl.Series, end: pl.Series) -> pl.Series:
        """Working time between ``start`` and ``end`` (element-wise) as a polars Duration("us").

        Negative when ``end`` is before ``start``; null where either is null.
        """
        if len(start) != len(end):
            raise ValueError("business_duration needs start and end of the same length")
        both = pl.concat([_as_utc(start), _as_utc(end)])
        clock = self.working_clock(both)
        n = len(start)
        return (clock.slice(n, n) - clock.slice(0, n)).cast(pl.Duration("us")).alias("business_duration")

    def business_days(self, duration: pl.Series) -> pl.Series:
        """A business Duration expressed in working days (Float64): working hours / hours per day."""
        hours = duration.dt.total_microseconds().cast(pl.Float64) / _US_PER_HOUR
        return (hours / self.hours_per_day).alias("business_days")

    def _day_table(self, first: dt.date, last: dt.date) -> pl.DataFrame:
        """One row per local day: its working window as UTC instants and the clock at its start."""
        start_us = _time_of_day_us(self.work_start, "work_start")
        end_us = _time_of_day_us(self.work_end, "work_end")
        days = pl.DataFrame({"day": pl.date_range(first, last, "1d", eager=True)})
        midnight = pl.col("day").cast(pl.Datetime("us"))

        def local_instant(offset_us: int) -> pl.Expr:
            # A window edge that falls in a DST gap moves to the first valid instant after it.
            wall = midnight + pl.duration(microseconds=offset_us)
            exact = wall.dt.replace_time_zone(self.timezone, ambiguous="earliest", non_existent="null")
            later = (wall + pl.duration(hours=1)).dt.replace_time_zone(
                self.timezone, ambiguous="earliest", non_existent="null"
            ) - pl.duration(hours=1)
            return pl.coalesce(exact, later).dt.convert_time_zone("UTC").to_physical()

        holidays = pl.Series(list(self.holidays), dtype=pl.Date)
        working = ~(pl.col("day").dt.weekday() - 1).is_in(list(self.weekend)) & ~pl.col("day").is_in(holidays)
        days = days.with_columns(
            local_instant(start_us).alias("window_start"),
            local_instant(end_us).alias("window_end"),
            working.alias("working"),
        ).with_columns(
            pl.when(pl.col("working")).then(pl.col("window_end") - pl.col("window_start"))
            .otherwise(0).cast(pl.Int64).alias("window_us"),
        )
        return days.with_columns(
            (pl.col("window_us").cum_sum() - pl.col("window_us")).alias("clock_at_day_start")
        )


def _as_date(value: dt.date | str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as exc:
        raise ValueError(f"BusinessCalendar holiday {value!r} is not a date like '2024-12-25'") from exc


def _epoch_day(day: dt.date) -> int:
    return (day - dt.date(1970, 1, 1)).days


def _as_utc(ts: pl.Series) -> pl.Series:
    if not isinstance(ts.dtype, pl.Datetime):
        raise TypeError(f"expected a Datetime series, got {ts.dtype}")
    if ts.dtype.time_zone is None:
        ts = ts.dt.replace_time_zone("UTC")
    return ts.dt.convert_time_zone("UTC").dt.cast_time_unit("us")

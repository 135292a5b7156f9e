"""Business time for the demo-org generator.

The generator schedules every activity on a *business-time axis*: a float where
one unit is one working day of the acting user (weekends and a few public
holidays skipped) and the fraction is the position inside the 09:00-18:00
working day. Adding durations on this axis keeps the order of events, and
converting back yields local office hours in the user's time zone, expressed as
UTC (with daylight saving time).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

#: A Monday well before any generated activity; business day 0.
EPOCH = np.datetime64("2022-01-03", "D")
WORKDAY_START_S = 9 * 3600
WORKDAY_LENGTH_S = 9 * 3600

#: Time zones users work in (index = tz code used by the generator).
TIME_ZONES: tuple[str, ...] = (
    "America/New_York",
    "America/Los_Angeles",
    "America/Chicago",
    "Europe/Berlin",
    "Europe/London",
    "Asia/Singapore",
    "Australia/Sydney",
    "America/Sao_Paulo",
)
#: Time zones per sales region (first one is the region's main office).
REGION_TIME_ZONES: dict[str, tuple[int, ...]] = {
    "North America": (0, 1, 2),
    "EMEA": (3, 4),
    "APAC": (5, 6),
    "LATAM": (7,),
}


def _holidays(first_year: int, last_year: int) -> np.ndarray:
    days = []
    for y in range(first_year, last_year + 1):
        days += [f"{y}-01-01", f"{y}-12-25"]
    return np.array(days, dtype="datetime64[D]")


class BusinessClock:
    """Converts business-time floats to UTC timestamps and calendar dates back to business time."""

    def __init__(self, last_date: dt.date):
        self.holidays = _holidays(2021, last_date.year + 2)
        end = np.datetime64(last_date, "D") + 400
        self.n_days = int(np.busday_count(EPOCH, end, holidays=self.holidays))
        #: Local calendar date of each business day.
        self.dates = np.busday_offset(EPOCH, np.arange(self.n_days), roll="forward", holidays=self.holidays)
        self.utc_offset_s = self._utc_offsets()

    def _utc_offsets(self) -> np.ndarray:
        """Seconds local time is ahead of UTC, per time zone and business day (at local noon)."""
        noon = pl.Series("local", self.dates.astype("datetime64[us]") + np.timedelta64(12, "h"))
        rows = []
        for tz in TIME_ZONES:
            utc = noon.dt.replace_time_zone(tz).dt.convert_time_zone("UTC").dt.replace_time_zone(None)
            rows.append(((noon - utc).dt.total_seconds()).to_numpy().astype(np.int64))
        return np.vstack(rows)

    def to_utc(self, b: np.ndarray, tz: np.ndarray) -> np.ndarray:
        """UTC timestamps (datetime64[us], whole seconds) of business times ``b`` for users in time zones ``tz``."""
        # NaN marks "never happens"; callers mask those rows, any valid day will do here
        b = np.nan_to_num(np.asarray(b, dtype=np.float64), nan=0.0)
        day = np.clip(np.floor(b), 0, self.n_days - 1).astype(np.int64)
        frac = np.clip(b - day, 0.0, 0.99999)
        secs = WORKDAY_START_S + np.minimum(np.rint(frac * WORKDAY_LENGTH_S), WORKDAY_LENGTH_S - 1).astype(np.int64)
        local = self.dates[day].astype("datetime64[s]") + secs
        utc = local - self.utc_offset_s[np.asarray(tz, dtype=np.int64), day]
        return utc.astype("datetime64[us]")

    def local_date(self, b: np.ndarray) -> np.ndarray:
        """Local calendar date (datetime64[D]) of business times ``b``."""
        b = np.nan_to_num(np.asarray(b, dtype=np.float64), nan=0.0)
        day = np.clip(np.floor(b), 0, self.n_days - 1).astype(np.int64)
        return self.dates[day]

    def of_date(self, dates: np.ndarray) -> np.ndarray:
        """Business time at the start of each date (rolled forward to the next business day)."""
        d = np.busday_offset(np.asarray(dates, dtype="datetime64[D]"), 0, roll="forward", holidays=self.holidays)
        return np.busday_count(EPOCH, d, holidays=self.holidays).astype(np.float64)

    def of_datetime(self, when: dt.datetime, tz: int = 0) -> float:
        """Approximate business time of a UTC datetime (used for the span's start and end)."""
        local = np.datetime64(when.replace(tzinfo=None), "s")
        day = self.of_date(np.array([local.astype("datetime64[D]")]))[0]
        return float(day)


def quarter_end(dates: np.ndarray) -> np.ndarray:
    """Last calendar day of the quarter containing each date."""
    months = dates.astype("datetime64[M]")
    month_of_year = months.astype(np.int64) % 12
    quarter_start = months - (month_of_year % 3)
    return (quarter_start + 3).astype("datetime64[D]") - 1

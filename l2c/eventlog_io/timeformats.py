"""Recognise the timestamp format of an imported column from a sample of its values.

ISO 8601 text (with or without offset, ``T`` or space, fractions) is left to
polars' own inference in :func:`analysis.read_event_log`, which handles it
well. Spreadsheet formats are the trouble: ``05/01/2024`` is 5 January in
Europe and 1 May in the US, and one file holds one convention. So the format
is chosen once, from a sample, as the first candidate that reads *every*
sampled value: day-first before month-first (the European reading, which is
also polars' default), unless a value such as ``01/13/2024`` rules it out.
"""

from __future__ import annotations

import polars as pl

#: A value that starts like an ISO 8601 date (2024-01-05...).
ISO_DATE = r"^\d{4}-\d{2}-\d{2}"
#: A value whose time of day carries an explicit zone: Z, +hh, +hhmm or +hh:mm (optionally after UTC/GMT).
OFFSET_PATTERN = r"\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:[zZ]|(?:UTC|GMT)?[+-]\d{2}(?::?\d{2})?)$"

_DATES = (
    "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%d-%m-%Y", "%m-%d-%Y", "%Y/%m/%d", "%Y.%m.%d",
    "%d/%m/%y", "%m/%d/%y", "%d.%m.%y",
    "%d-%b-%Y", "%d %b %Y", "%b %d, %Y", "%b %d %Y", "%d %B %Y", "%B %d, %Y", "%B %d %Y",
)
_TIMES = (
    "", " %H:%M", " %H:%M:%S", " %H:%M:%S%.f", " %I:%M %p", " %I:%M:%S %p", " %I:%M%p",
    "T%H:%M", "T%H:%M:%S", "T%H:%M:%S%.f",
)
#: Candidate formats, most common first; day-first precedes month-first on purpose (see module docstring).
CANDIDATE_FORMATS = tuple(d + t for d in _DATES for t in _TIMES)


def detect_timestamp_format(values: pl.Series, sample_size: int = 10_000) -> str | None:
    """A strftime format reading every sampled value, or ``None`` to let polars infer (ISO 8601).

    >>> detect_timestamp_format(pl.Series(["05/01/2024 10:00", "20/01/2024 09:30"]))
    '%d/%m/%Y %H:%M'
    >>> detect_timestamp_format(pl.Series(["01/13/2024 10:00 AM", "01/02/2024 03:15 PM"]))
    '%m/%d/%Y %I:%M %p'
    >>> detect_timestamp_format(pl.Series(["2024-01-05T10:00:00+01:00"])) is None
    True
    """
    if values.dtype != pl.String:
        return None
    sample = values.drop_nulls().str.strip_chars()
    sample = sample.filter(sample != "").head(sample_size)
    if sample.is_empty() or sample.str.contains(ISO_DATE).all():
        return None
    for fmt in CANDIDATE_FORMATS:
        try:
            parsed = sample.str.to_datetime(format=fmt, strict=False, time_unit="us")
        except pl.exceptions.PolarsError:
            continue
        if parsed.null_count() == 0:
            return fmt
    return None

"""Throughput times: how long cases, or the stretch between two milestones, take.

Per case, the whole case (first to last event) or a sub-process between two
milestone activities (first occurrence of one to first occurrence of the
other), optionally in business hours, optionally with case attributes to
group by; and a summary with percentiles per group.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import polars as pl

from analysis import columns as C
from analysis._cases import case_bounds
from analysis.calendar import BusinessCalendar
from analysis.log import EventLog, EventLogError, as_event_log

_DURATION = pl.Duration("us")
_US_PER_DAY = 86_400_000_000
#: Percentiles in :func:`throughput_summary` (linear interpolation, as numpy).
PERCENTILES = (0.1, 0.25, 0.5, 0.75, 0.9)

Activities = str | Sequence[str]


def throughput(
    log: Any,
    from_activity: Activities | None = None,
    to_activity: Activities | None = None,
    *,
    by: str | Sequence[str] | None = None,
    cases: pl.DataFrame | None = None,
    calendar: BusinessCalendar | None = None,
) -> pl.DataFrame:
    """Throughput time per case, in log order.

    Without milestones, from the case's first to its last event. With
    ``from_activity`` / ``to_activity`` (an activity name or a list of names,
    any of which counts), from the first occurrence of ``from_activity`` to the
    first occurrence of ``to_activity`` in the case; cases without
    ``from_activity`` are left out, cases without ``to_activity`` have a null
    ``end`` and ``duration`` (not reached yet), and a ``to_activity`` that comes
    first gives a negative duration. A missing ``from_activity`` means the
    case's first event, a missing ``to_activity`` its last event.

    Args:
        by: case attribute column(s) to add (e.g. ``"region"``); taken from
            ``cases`` when given (a frame with ``case_id``, e.g. the ``cases``
            mart), else from the events (first non-null value per case).
        calendar: also measure working time with this :class:`BusinessCalendar`.

    Columns:
        ``case_id``, the ``by`` columns, ``start``, ``end`` (Datetime UTC),
        ``duration`` (Duration), ``duration_days`` (Float64, 24-hour days),
        ``events`` (Int64: events in the case); with ``calendar=`` also
        ``business_duration`` (Duration of working time) and ``business_days``
        (Float64: working hours / working hours per day).

    >>> import polars as pl, analysis
    >>> log = analysis.read_event_log(pl.DataFrame({
    ...     "case_id": ["1", "1", "1", "2"],
    ...     "activity": ["Opportunity Created", "Quote Created", "Closed Won", "Opportunity Created"],
    ...     "timestamp": ["2024-01-01 09:00", "2024-01-03 09:00", "2024-01-11 09:00", "2024-01-02 09:00"]}))
    >>> analysis.throughput(log).select("case_id", "duration_days").rows()
    [('1', 10.0), ('2', 0.0)]
    >>> analysis.throughput(log, "Quote Created", "Closed Won").select("case_id", "duration").rows()
    [('1', datetime.timedelta(days=8))]
    """
    log = as_event_log(log)
    per_case = case_bounds(log).select(
        "case_index", C.CASE_ID, "start", "end", pl.col("events").cast(pl.Int64)
    )
    if from_activity is not None:
        per_case = per_case.drop("start").join(
            _first_occurrence(log, from_activity, "start"), on="case_index", how="inner", maintain_order="left"
        )
    if to_activity is not None:
        per_case = per_case.drop("end").join(
            _first_occurrence(log, to_activity, "end"), on="case_index", how="left", maintain_order="left"
        )
    per_case = per_case.with_columns((pl.col("end") - pl.col("start")).alias("duration"))
    per_case = per_case.with_columns(
        (pl.col("duration").dt.total_microseconds() / _US_PER_DAY).alias("duration_days")
    )
    columns = [C.CASE_ID, *_as_list(by), "start", "end", "duration", "duration_days", "events"]
    if calendar is not None:
        business = calendar.business_duration(per_case.get_column("start"), per_case.get_column("end"))
        per_case = per_case.with_columns(business, calendar.business_days(business))
        columns += ["business_duration", "business_days"]
    if by is not None:
        per_case = _add_attributes(log, per_case, _as_list(by), cases)
    return per_case.select(columns)


def throughput_summary(
    log: Any,
    from_activity: Activities | None = None,
    to_activity: Activities | None = None,
    *,
    by: str | Sequence[str] | None = None,
    cases: pl.DataFrame | None = None,
    calendar: BusinessCalendar | None = None,
) -> pl.DataFrame:
    """Distribution of :func:`throughput` times: one row for the log, or one per ``by`` group.

    Columns:
        the ``by`` columns, ``cases`` (Int64: cases in scope, i.e. with
        ``from_activity``), ``completed`` (Int64: with a duration), ``mean``,
        ``min``, ``p10``, ``p25``, ``median``, ``p75``, ``p90``, ``max``
        (Duration over completed cases), ``median_days`` (Float64); with
        ``calendar=`` also ``business_mean``, ``business_median``,
        ``business_p90`` (Duration of working time) and
        ``median_business_days`` (Float64). Groups ordered by ``cases``, most first.

    >>> import polars as pl, analysis
    >>> log = analysis.read_event_log(pl.DataFrame({
    ...     "case_id": ["1", "1", "2", "2"], "activity": ["Invoice Posted", "Payment Received"] * 2,
    ...     "timestamp": ["2024-01-01", "2024-01-31", "2024-01-01", "2024-01-11"]}))
    >>> analysis.throughput_summary(log, "Invoice Posted", "Payment Received").select(
    ...     "cases", "completed", "median_days").rows()
    [(2, 2, 20.0)]
    """
    per_case = throughput(log, from_activity, to_activity, by=by, cases=cases, calendar=calendar)
    group = _as_list(by)
    us = pl.col("duration").dt.total_microseconds()
    stats = [
        pl.len().cast(pl.Int64).alias("cases"),
        pl.col("duration").count().cast(pl.Int64).alias("completed"),
        _as_duration(us.mean(), "mean"),
        _as_duration(us.min(), "min"),
        *[_as_duration(us.quantile(q, "linear"), _percentile_name(q)) for q in PERCENTILES],
        _as_duration(us.max(), "max"),
        (us.median() / _US_PER_DAY).alias("median_days"),
    ]
    if calendar is not None:
        business = pl.col("business_duration").dt.total_microseconds()
        stats += [
            _as_duration(business.mean(), "business_mean"),
            _as_duration(business.median(), "business_median"),
            _as_duration(business.quantile(0.9, "linear"), "business_p90"),
            pl.col("business_days").median().alias("median_business_days"),
        ]
    if not group:
        return per_case.select(stats)
    return per_case.group_by(group).agg(stats).sort(
        ["cases", *group], descending=[True] + [False] * len(group), nulls_last=True
    )


def _percentile_name(q: float) -> str:
    return "median" if q == 0.5 else f"p{round(q * 100)}"


def _as_duration(expr: pl.Expr, name: str) -> pl.Expr:
    return expr.round(0).cast(pl.Int64).cast(_DURATION).alias(name)


def _as_list(value: str | Sequence[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _first_occurrence(log: EventLog, activities: Activities, name: str) -> pl.DataFrame:
    """Per case (by ``case_index``), the timestamp of the first event with one of ``activities``."""
    wanted = _as_list(activities)
    known = set(log.activity_codes()[1])
    if not any(a in known for a in wanted) and log.n_events:
        # Not an error: a young org may not have reached the milestone yet; but say so (typos).
        warnings.warn(
            f"activity {', '.join(map(repr, wanted))} does not occur in the event log; "
            f"activities are: {', '.join(sorted(known))}",
            stacklevel=3,
        )
    events = pl.DataFrame({
        "case_index": log.case_index(),
        "activity": log.events.get_column(C.ACTIVITY),
        name: log.events.get_column(C.TIMESTAMP),
    })
    # Events are in case order, so the first match per case is the first occurrence.
    return events.filter(pl.col("activity").is_in(wanted)).unique(
        "case_index", keep="first", maintain_order=True
    ).select("case_index", name)


def _add_attributes(
    log: EventLog, per_case: pl.DataFrame, by: list[str], cases: pl.DataFrame | None
) -> pl.DataFrame:
    if cases is not None:
        missing = [c for c in [C.CASE_ID, *by] if c not in cases.columns]
        if missing:
            raise EventLogError([{
                "column": c, "message": f"missing from the cases frame; it has: {', '.join(cases.columns)}"
            } for c in missing], "cases frame")
        attributes = cases.select(pl.col(C.CASE_ID).cast(pl.String), *by).unique(C.CASE_ID, keep="first")
        return per_case.join(attributes, on=C.CASE_ID, how="left", maintain_order="left")
    missing = [c for c in by if c not in log.events.columns]
    if missing:
        raise EventLogError([{
            "column": c,
            "message": f"is not a column of the event log (pass cases= to take it from a cases table); "
                       f"columns: {', '.join(log.events.columns)}",
        } for c in missing], "throughput by=")
    attributes = log.events.select(pl.col(by)).with_columns(log.case_index()).group_by(
        "case_index"
    ).agg(pl.col(c).drop_nulls().first() for c in by)
    return per_case.join(attributes, on="case_index", how="left", maintain_order="left")

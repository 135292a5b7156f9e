"""Process variants: the distinct activity sequences, how many cases follow each and how long they take."""

from __future__ import annotations

from typing import Any

import polars as pl

from analysis import columns as C
from analysis._cases import case_table, variant_ids, variant_table
from analysis.calendar import BusinessCalendar
from analysis.log import as_event_log

_DURATION = pl.Duration("us")


def variants(log: Any, *, calendar: BusinessCalendar | None = None) -> pl.DataFrame:
    """One row per variant (distinct activity sequence), most frequent first.

    Events of a case are ordered by timestamp, then ``activity_order``, then
    ``event_id`` (the order of the validated log).

    Columns:
        ``variant_id`` (String, a stable 12-hex-digit hash of the sequence: the
        same sequence gets the same id in every log and run), ``rank`` (1 =
        most cases), ``activities`` (List[String], in order), ``length``
        (events per case), ``cases``, ``share`` (of all cases),
        ``cumulative_share``, ``duration_mean`` / ``duration_median`` /
        ``duration_min`` / ``duration_max`` (Duration: first to last event
        of the case), ``example_case_id``; with ``calendar=`` also
        ``business_duration_mean`` / ``business_duration_median`` (Duration of
        working time). Ties in ``cases`` are ordered by ``variant_id``.

    >>> import polars as pl, analysis
    >>> log = analysis.read_event_log(pl.DataFrame({
    ...     "case_id": ["1", "1", "2", "2", "3"],
    ...     "activity": ["Quote Created", "Quote Accepted", "Quote Created", "Quote Accepted", "Quote Created"],
    ...     "timestamp": ["2024-01-01 09:00", "2024-01-02 09:00", "2024-01-01 10:00",
    ...                   "2024-01-01 22:00", "2024-01-03 09:00"]}))
    >>> analysis.variants(log).select("activities", "cases", "share", "duration_median").rows()
    [(['Quote Created', 'Quote Accepted'], 2, 0.6666666666666666, datetime.timedelta(seconds=64800)), (['Quote Created'], 1, 0.3333333333333333, datetime.timedelta(0))]
    """
    log = as_event_log(log)
    cases = case_table(log)
    per_case = cases.select(
        "variant_index",
        (pl.col("end") - pl.col("start")).dt.total_microseconds().alias("duration_us"),
    )
    if calendar is not None:
        per_case = per_case.with_columns(
            calendar.business_duration(cases.get_column("start"), cases.get_column("end"))
            .dt.total_microseconds().alias("business_us")
        )
    stats = [
        _us("duration_us", "mean", "duration_mean"),
        _us("duration_us", "median", "duration_median"),
        _us("duration_us", "min", "duration_min"),
        _us("duration_us", "max", "duration_max"),
    ]
    if calendar is not None:
        stats += [_us("business_us", "mean", "business_duration_mean"),
                  _us("business_us", "median", "business_duration_median")]
    durations = per_case.group_by("variant_index").agg(stats)

    total = max(cases.height, 1)
    result = (
        variant_table(log)
        .join(variant_ids(log), on="variant_index")
        .join(durations, on="variant_index", how="left")
        .join(cases.select(pl.col("case_index").alias("first_case_index"), pl.col(C.CASE_ID).alias("example_case_id")),
              on="first_case_index", how="left")
        .sort(["cases", "variant_id"], descending=[True, False])
        .with_columns(
            pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("rank"),
            pl.col("activities").list.len().cast(pl.Int64).alias("length"),
            (pl.col("cases") / total).alias("share"),
            (pl.col("cases").cum_sum() / total).alias("cumulative_share"),
        )
    )
    business = ["business_duration_mean", "business_duration_median"] if calendar is not None else []
    return result.select(
        "variant_id", "rank", "activities", "length", pl.col("cases").cast(pl.Int64), "share", "cumulative_share",
        "duration_mean", "duration_median", "duration_min", "duration_max", *business, "example_case_id",
    )


def case_variants(log: Any) -> pl.DataFrame:
    """The variant of every case, in log order: ``case_id``, ``variant_id``, ``variant_rank``.

    Lets per-variant results (e.g. conformance computed once per variant) be
    joined back to cases.
    """
    log = as_event_log(log)
    ranks = variants(log).select("variant_id", pl.col("rank").alias("variant_rank"))
    return (
        case_table(log)
        .join(variant_ids(log).select("variant_index", "variant_id"), on="variant_index", how="left",
              maintain_order="left")
        .join(ranks, on="variant_id", how="left", maintain_order="left")
        .select(C.CASE_ID, "variant_id", "variant_rank")
    )


def _us(column: str, how: str, name: str) -> pl.Expr:
    """An aggregate of a microsecond column as a Duration (means/medians rounded to the microsecond)."""
    agg = getattr(pl.col(column), how)()
    return agg.round(0).cast(pl.Int64).cast(_DURATION).alias(name)

"""Bottlenecks: the hand-overs where cases wait longest, and the cases they hold up."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import polars as pl

from analysis._cases import case_bounds
from analysis.calendar import BusinessCalendar
from analysis.log import as_event_log
from analysis.process_map import _code_names, _edge_cases, directly_follows_pairs, edge_wait_stats

_DURATION = pl.Duration("us")


def bottlenecks(
    log: Any,
    *,
    threshold: timedelta | None = None,
    examples: int = 5,
    calendar: BusinessCalendar | None = None,
) -> pl.DataFrame:
    """Directly-follows edges ranked by the waiting time they cause, worst (largest total) first.

    A case is *delayed* by an edge when it waits there longer than
    ``threshold``; by default the 75th percentile of all waiting times in the
    log (a wait longer than three steps in four). ``START``/``END`` edges carry
    no waiting time and are left out.

    Columns:
        ``source``, ``target``, ``frequency``, ``cases`` (Int64), ``mean``,
        ``median``, ``p90``, ``max``, ``total`` (Duration), ``share_of_waiting``
        (Float64: this edge's total / all waiting in the log),
        ``rank_by_total``, ``rank_by_median`` (Int64, 1 = worst),
        ``cases_delayed`` (Int64: distinct cases waiting longer than
        ``threshold`` here), ``threshold`` (Duration used),
        ``example_case_ids`` (List[String]: up to ``examples`` cases with the
        longest waits here, longest first); with ``calendar=`` also
        ``business_median`` and ``business_total`` (Duration of working time).

    >>> import polars as pl, analysis
    >>> log = analysis.read_event_log(pl.DataFrame({
    ...     "case_id": ["1", "1", "1", "2", "2", "2"],
    ...     "activity": ["Quote Created", "Quote Approval Requested", "Quote Approved"] * 2,
    ...     "timestamp": ["2024-01-01 09:00", "2024-01-01 10:00", "2024-01-08 10:00",
    ...                   "2024-01-02 09:00", "2024-01-02 09:30", "2024-01-05 09:30"]}))
    >>> analysis.bottlenecks(log).select("source", "target", "rank_by_total", "cases_delayed",
    ...                                  "example_case_ids").row(0)
    ('Quote Approval Requested', 'Quote Approved', 1, 1, ['1'])
    """
    log = as_event_log(log)
    _, names = log.activity_codes()
    pairs = directly_follows_pairs(log, calendar=calendar)
    edge = ["source_code", "target_code"]
    if threshold is None:
        limit = pairs.get_column("wait_us").quantile(0.75, "linear")
        limit_us = int(round(limit)) if limit is not None else 0
    else:
        limit_us = int(threshold / timedelta(microseconds=1))

    waits = {"wait_us": ""} | ({"business_wait_us": "business_"} if calendar is not None else {})
    edges = edge_wait_stats(pairs, waits).join(_edge_cases(log), on=edge, how="left")

    wait = pl.col("wait_us")
    slow = pairs.filter(wait > limit_us)
    delayed = slow.group_by(edge).agg(
        pl.col("case_index").n_unique().cast(pl.Int64).alias("cases_delayed"),
        # Loops can put one case several times among the longest waits: keep each case once.
        pl.col("case_index").top_k_by("wait_us", examples * 4).unique(maintain_order=True).head(examples)
        .alias("_examples"),
    )
    case_ids = case_bounds(log).get_column("case_id")
    edges = edges.join(delayed, on=edge, how="left").with_columns(
        pl.col("cases_delayed").fill_null(0),
        pl.col("_examples").fill_null([]),
    )
    all_waiting = edges.get_column("total").sum() or 1
    edges = edges.with_columns(
        (pl.col("total") / all_waiting).alias("share_of_waiting"),
        pl.lit(limit_us).cast(_DURATION).alias("threshold"),
        pl.col("_examples").list.eval(pl.element().cast(pl.Int64)).alias("_examples"),
        _code_names(pl.col("source_code"), names).alias("source"),
        _code_names(pl.col("target_code"), names).alias("target"),
    )
    examples_named = [
        case_ids.gather(idx).to_list() if len(idx) else [] for idx in edges.get_column("_examples").to_list()
    ]
    edges = edges.with_columns(pl.Series("example_case_ids", examples_named, dtype=pl.List(pl.String)))
    # Ranks are positions in a total order (ties broken by edge name), so they are unique and stable.
    edges = edges.sort(["median", "source", "target"], descending=[True, False, False], nulls_last=True)
    edges = edges.with_columns(pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("rank_by_median"))
    edges = edges.sort(["total", "source", "target"], descending=[True, False, False], nulls_last=True)
    edges = edges.with_columns(pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("rank_by_total"))
    business = ["business_median", "business_total"] if calendar is not None else []
    return edges.select(
        "source", "target", "frequency", pl.col("cases").cast(pl.Int64),
        *[_as_duration(c) for c in ("mean", "median", "p90", "max", "total")],
        "share_of_waiting", "rank_by_total", "rank_by_median", "cases_delayed", "threshold",
        *[_as_duration(c) for c in business], "example_case_ids",
    )


def _as_duration(column: str) -> pl.Expr:
    return pl.col(column).round(0).cast(pl.Int64).cast(_DURATION)

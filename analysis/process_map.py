"""The process map: directly-follows edges between activities with frequencies and waiting times.

Edge frequencies depend only on the variant, so they are counted once per
variant and weighted by its cases; waiting times depend on each case's
timestamps and are aggregated over all directly-follows pairs in one
vectorised pass. Artificial ``START`` and ``END`` nodes make where cases begin
and end part of the map.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from analysis import columns as C
from analysis._cases import variant_table
from analysis.calendar import BusinessCalendar
from analysis.log import EventLog, as_event_log

#: Name of the artificial node every case starts from.
START = "▶ start"
#: Name of the artificial node every case ends in.
END = "■ end"

_DURATION = pl.Duration("us")
_WAIT_STATS = ("mean", "median", "p90", "max", "total")


def process_map(log: Any, *, calendar: BusinessCalendar | None = None) -> pl.DataFrame:
    """Directly-follows edges, including ``START → first activity`` and ``last activity → END``.

    An edge ``a → b`` is counted each time ``b`` immediately follows ``a`` in a
    case (events ordered by timestamp, ``activity_order``, ``event_id``); its
    waiting time is ``timestamp(b) - timestamp(a)``.

    Columns:
        ``source``, ``target`` (activity names, or :data:`START` / :data:`END`),
        ``frequency`` (Int64: directly-follows occurrences), ``cases`` (Int64:
        distinct cases with the edge), ``mean``, ``median``, ``p90`` (linear
        interpolation, as numpy), ``max``, ``total`` (Duration: waiting time;
        null on ``START``/``END`` edges); with ``calendar=`` also
        ``business_mean``, ``business_median``, ``business_p90``,
        ``business_total`` (Duration of working time). Most frequent first.

    Frequencies equal pm4py's ``discover_dfg`` (plus its start/end activities)
    and the waiting times its ``discover_performance_dfg`` (which reports seconds).

    >>> import polars as pl, analysis
    >>> log = analysis.read_event_log(pl.DataFrame({
    ...     "case_id": ["1", "1", "1", "2", "2"],
    ...     "activity": ["Quote Created", "Quote Presented", "Quote Accepted", "Quote Created", "Quote Presented"],
    ...     "timestamp": ["2024-01-01 09:00", "2024-01-01 11:00", "2024-01-03 09:00",
    ...                   "2024-01-02 09:00", "2024-01-02 13:00"]}))
    >>> edges = analysis.process_map(log)
    >>> edges.filter(pl.col("source") == "Quote Created").select("target", "frequency", "cases", "median").rows()
    [('Quote Presented', 2, 2, datetime.timedelta(seconds=10800))]
    >>> edges.filter(pl.col("source") == analysis.START).select("target", "frequency").rows()
    [('Quote Created', 2)]
    """
    log = as_event_log(log)
    _, names = log.activity_codes()
    pairs = directly_follows_pairs(log, calendar=calendar)

    waits = {"wait_us": ""} | ({"business_wait_us": "business_"} if calendar is not None else {})
    inner = edge_wait_stats(pairs, waits)
    inner = inner.join(_edge_cases(log), on=["source_code", "target_code"], how="left")

    boundary = _start_end_edges(log)
    edges = pl.concat([_named(inner, names), boundary], how="diagonal_relaxed")
    business = [f"business_{s}" for s in ("mean", "median", "p90", "total")] if calendar is not None else []
    return edges.select(
        pl.col("source").cast(pl.String), pl.col("target").cast(pl.String),
        pl.col("frequency").cast(pl.Int64), pl.col("cases").cast(pl.Int64),
        *[pl.col(s).cast(_DURATION) for s in _WAIT_STATS],
        *[pl.col(s).cast(_DURATION) for s in business],
    ).sort(["frequency", "source", "target"], descending=[True, False, False])


def activity_stats(log: Any) -> pl.DataFrame:
    """The nodes of the process map: one row per activity, most frequent first.

    Columns: ``activity``, ``frequency`` (Int64: events), ``cases`` (Int64:
    distinct cases with the activity), ``start_cases`` / ``end_cases`` (Int64:
    cases that begin / end with it).
    """
    log = as_event_log(log)
    _, names = log.activity_codes()
    variants = variant_table(log)
    occurrences = variants.select("variant_index", "cases", pl.col("codes").alias("code")).explode("code")
    per_code = occurrences.group_by("code").agg(
        (pl.col("cases").sum()).cast(pl.Int64).alias("frequency"),
    ).join(
        occurrences.unique().group_by("code").agg(pl.col("cases").sum().cast(pl.Int64).alias("cases")),
        on="code",
    )
    starts = variants.group_by(pl.col("codes").list.first().alias("code")).agg(
        pl.col("cases").sum().cast(pl.Int64).alias("start_cases"))
    ends = variants.group_by(pl.col("codes").list.last().alias("code")).agg(
        pl.col("cases").sum().cast(pl.Int64).alias("end_cases"))
    result = (
        per_code.join(starts, on="code", how="left").join(ends, on="code", how="left")
        .with_columns(pl.col("start_cases", "end_cases").fill_null(0))
    )
    return result.select(
        _code_names(pl.col("code"), names).alias(C.ACTIVITY),
        "frequency", "cases", "start_cases", "end_cases",
    ).sort(["frequency", C.ACTIVITY], descending=[True, False])


def directly_follows_pairs(log: EventLog, *, calendar: BusinessCalendar | None = None) -> pl.DataFrame:
    """Every directly-follows pair in the log, one row per event that has a predecessor in its case.

    Columns: ``case_index`` (UInt32, see :meth:`EventLog.case_index`), ``source_code``,
    ``target_code`` (activity codes, see :meth:`EventLog.activity_codes`),
    ``wait_us`` (Int64 microseconds) and, with ``calendar=``, ``business_wait_us``.
    """
    codes, _ = log.activity_codes()
    timestamps = log.events.get_column(C.TIMESTAMP)
    frame = pl.DataFrame({"case_index": log.case_index(), "target_code": codes, "t": timestamps.to_physical()})
    if calendar is not None:
        frame = frame.with_columns(calendar.working_clock(timestamps).alias("clock"))
    same_case = pl.col("case_index") == pl.col("case_index").shift(1)
    columns = [
        pl.col("case_index"),
        pl.col("target_code").shift(1).alias("source_code"),
        pl.col("target_code"),
        (pl.col("t") - pl.col("t").shift(1)).alias("wait_us"),
    ]
    if calendar is not None:
        columns.append((pl.col("clock") - pl.col("clock").shift(1)).alias("business_wait_us"))
    return frame.select(*columns, same_case.alias("keep")).filter(pl.col("keep")).drop("keep")


def edge_wait_stats(pairs: pl.DataFrame, waits: dict[str, str]) -> pl.DataFrame:
    """Per edge (``source_code``, ``target_code``): ``frequency`` and, for each wait column, its
    ``mean``, ``median``, ``p90`` (Float64 µs, linear interpolation as numpy) and ``max``, ``total``,
    named with the column's prefix from ``waits`` (``{"wait_us": "", "business_wait_us": "business_"}``).

    Each wait is packed with its edge into one 64-bit number (edge in the top 16
    bits, wait below), so a single numpy sort groups the edges *and* orders
    every edge's waits: medians and percentiles are then read off by position.
    Logs with more than 255 activities, or waits beyond 2^48 µs (8.9 years),
    take a hash group-by instead.
    """
    source = pairs.get_column("source_code").to_numpy()
    target = pairs.get_column("target_code").to_numpy()
    width = int(max(source.max(initial=0), target.max(initial=0))) + 1
    columns_np = {column: pairs.get_column(column).to_numpy() for column in waits}
    packable = all(v.min(initial=0) >= 0 and v.max(initial=0) < _WAIT_LIMIT for v in columns_np.values())
    if width > 255 or pairs.height == 0 or not packable:
        return _edge_wait_stats_hashed(pairs, waits)
    edge = source.astype(np.uint64)
    edge *= np.uint64(width)
    edge += target
    edge <<= np.uint64(48)
    columns: dict[str, Any] = {}
    for column, prefix in waits.items():
        packed = edge | columns_np[column].view(np.uint64)  # waits are non-negative (checked above)
        packed.sort()
        keys = packed >> np.uint64(48)
        packed &= np.uint64(_WAIT_LIMIT - 1)
        values = packed.view(np.int64)
        starts = np.flatnonzero(np.concatenate([[True], keys[1:] != keys[:-1]]))
        counts = np.diff(np.append(starts, len(packed)))
        if not columns:
            codes = keys[starts].astype(np.int64)
            columns["source_code"] = pl.Series(codes // width, dtype=pl.UInt32)
            columns["target_code"] = pl.Series(codes % width, dtype=pl.UInt32)
            columns["frequency"] = pl.Series(counts, dtype=pl.Int64)
        totals = np.add.reduceat(values, starts)
        columns[f"{prefix}mean"] = pl.Series(totals / counts, dtype=pl.Float64)
        columns[f"{prefix}median"] = pl.Series(_sorted_quantile(values, starts, counts, 0.5), dtype=pl.Float64)
        columns[f"{prefix}p90"] = pl.Series(_sorted_quantile(values, starts, counts, 0.9), dtype=pl.Float64)
        columns[f"{prefix}max"] = pl.Series(values[starts + counts - 1], dtype=pl.Int64)
        columns[f"{prefix}total"] = pl.Series(totals, dtype=pl.Int64)
    return pl.DataFrame(columns)


#: Waits packed with their edge must fit in the low 48 bits (2^48 µs ≈ 8.9 years).
_WAIT_LIMIT = 1 << 48


def _sorted_quantile(values: np.ndarray, starts: np.ndarray, counts: np.ndarray, q: float) -> np.ndarray:
    """Per group of ascending ``values``, the ``q`` quantile with linear interpolation (numpy's default)."""
    position = q * (counts - 1)
    low = np.floor(position).astype(np.int64)
    high = np.minimum(low + 1, counts - 1)
    below, above = values[starts + low].astype(np.float64), values[starts + high].astype(np.float64)
    return below + (position - low) * (above - below)


def _edge_wait_stats_hashed(pairs: pl.DataFrame, waits: dict[str, str]) -> pl.DataFrame:
    """:func:`edge_wait_stats` for logs with many activities: a hash group-by into lists per edge."""
    edge = ["source_code", "target_code"]
    scalars = [pl.len().cast(pl.Int64).alias("frequency")]
    for column, prefix in waits.items():
        wait = pl.col(column)
        scalars += [wait.mean().alias(f"{prefix}mean"), wait.max().alias(f"{prefix}max"),
                    wait.sum().alias(f"{prefix}total")]
    edges = pairs.group_by(edge).agg(scalars)
    for column, prefix in waits.items():
        lists = pairs.group_by(edge).agg(pl.col(column).alias("_values"))
        quantiles = [_quantiles(v.to_numpy(), (0.5, 0.9)) for v in lists.get_column("_values")]
        lists = lists.select(
            *edge,
            pl.Series(f"{prefix}median", [q[0] for q in quantiles], dtype=pl.Float64),
            pl.Series(f"{prefix}p90", [q[1] for q in quantiles], dtype=pl.Float64),
        )
        edges = edges.join(lists, on=edge)
    return edges


def _quantiles(values: np.ndarray, qs: tuple[float, ...]) -> tuple[float, ...]:
    """Quantiles with linear interpolation (numpy's default) from one partial sort."""
    n = len(values)
    positions = [q * (n - 1) for q in qs]
    lows = [int(np.floor(p)) for p in positions]
    highs = [min(lo + 1, n - 1) for lo in lows]
    ordered = np.partition(values, sorted(set(lows + highs)))
    return tuple(
        float(ordered[lo]) + (p - lo) * float(ordered[hi] - ordered[lo])
        for p, lo, hi in zip(positions, lows, highs, strict=True)
    )


def _edge_cases(log: EventLog) -> pl.DataFrame:
    """Distinct cases per inner edge, counted per variant: a variant contributes its cases once per edge."""
    variants = variant_table(log)
    steps = variants.select(
        "variant_index", "cases",
        pl.col("codes").list.slice(0, pl.col("codes").list.len() - 1).alias("source_code"),
        pl.col("codes").list.slice(1).alias("target_code"),
    ).explode("source_code", "target_code").drop_nulls("target_code")
    return steps.unique(["variant_index", "source_code", "target_code"]).group_by(
        "source_code", "target_code"
    ).agg(pl.col("cases").sum().cast(pl.Int64))


def _start_end_edges(log: EventLog) -> pl.DataFrame:
    _, names = log.activity_codes()
    variants = variant_table(log)
    firsts = variants.group_by(pl.col("codes").list.first().alias("code")).agg(pl.col("cases").sum())
    lasts = variants.group_by(pl.col("codes").list.last().alias("code")).agg(pl.col("cases").sum())
    start = firsts.select(
        pl.lit(START).alias("source"), _code_names(pl.col("code"), names).alias("target"),
        pl.col("cases").cast(pl.Int64).alias("frequency"), pl.col("cases").cast(pl.Int64),
    )
    end = lasts.select(
        _code_names(pl.col("code"), names).alias("source"), pl.lit(END).alias("target"),
        pl.col("cases").cast(pl.Int64).alias("frequency"), pl.col("cases").cast(pl.Int64),
    )
    return pl.concat([start, end])


def _named(edges: pl.DataFrame, names: list[str]) -> pl.DataFrame:
    return edges.with_columns(
        _code_names(pl.col("source_code"), names).alias("source"),
        _code_names(pl.col("target_code"), names).alias("target"),
    ).drop("source_code", "target_code")


def _code_names(codes: pl.Expr, names: list[str]) -> pl.Expr:
    if not names:  # an empty log: no codes to translate
        return codes.cast(pl.String)
    return codes.replace_strict(list(range(len(names))), names, return_dtype=pl.String)

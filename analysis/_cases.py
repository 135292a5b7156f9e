"""Shared per-case and per-variant tables the verbs build on (internal).

The event log is sorted so each case's events are contiguous; a case is a
slice of rows and its activity sequence a slice of integer activity codes.
Sequences are grouped once into variants, exactly (by the whole code list,
not a hash), and everything that depends only on the sequence — variant
names, directly-follows counts, rework counts — is computed per variant and
weighted by the number of cases. The tables are memoised on the log, so
calling several verbs on one log pays for this once.
"""

from __future__ import annotations

import hashlib

import numpy as np
import polars as pl
import pyarrow as pa

from analysis import columns as C
from analysis.log import EventLog

#: Separator for hashing activity sequences into variant ids (never part of a name in practice).
_SEP = "\x1f"


def case_bounds(log: EventLog) -> pl.DataFrame:
    """One row per case in log order: ``case_index``, ``case_id``, ``start``, ``end``, ``events``.

    Cheaper than :func:`case_table` (no variants): for throughput alone.
    """
    if "case_bounds" not in log._cache:
        starts = log.case_starts().cast(pl.Int64)
        lasts = starts.shift(-1, fill_value=log.events.height) - 1
        timestamps = log.events.get_column(C.TIMESTAMP)
        log._cache["case_bounds"] = pl.DataFrame({
            "case_index": pl.int_range(len(starts), dtype=pl.UInt32, eager=True),
            C.CASE_ID: log.events.get_column(C.CASE_ID).gather(starts),
            "start": timestamps.gather(starts),
            "end": timestamps.gather(lasts),
            "events": (lasts - starts + 1).cast(pl.UInt32),
        })
    return log._cache["case_bounds"]


def case_table(log: EventLog) -> pl.DataFrame:
    """:func:`case_bounds` plus ``variant_index`` (UInt32, see :func:`variant_table`)."""
    if "case_table" not in log._cache:
        if "case_variant_index" not in log._cache:
            _group_variants(log)
        log._cache["case_table"] = case_bounds(log).with_columns(log._cache["case_variant_index"])
    return log._cache["case_table"]


def variant_table(log: EventLog) -> pl.DataFrame:
    """One row per variant: ``variant_index``, ``codes`` (List[UInt32]), ``cases``, ``first_case_index``."""
    if "variant_table" not in log._cache:
        _group_variants(log)
    return log._cache["variant_table"]


def variant_ids(log: EventLog) -> pl.DataFrame:
    """Per variant: ``variant_index``, ``variant_id`` (stable short hash), ``activities`` (List[String])."""
    if "variant_ids" not in log._cache:
        _, names = log.activity_codes()
        variants = variant_table(log)
        activities = variants.select(
            pl.col("codes").list.eval(
                pl.element().replace_strict(list(range(len(names))), names, return_dtype=pl.String)
            ).alias("activities")
        ).to_series()
        joined = activities.list.join(_SEP).to_list()  # polars joins; Python only hashes one string per variant
        ids = [hashlib.sha1(text.encode("utf-8")).hexdigest()[:12] for text in joined]
        log._cache["variant_ids"] = pl.DataFrame({
            "variant_index": variants.get_column("variant_index"),
            "variant_id": pl.Series(ids, dtype=pl.String),
            "activities": activities,
        })
    return log._cache["variant_ids"]


def _group_variants(log: EventLog) -> None:
    """Group the cases' activity-code sequences into variants, exactly (no hashing)."""
    starts = log.case_starts().cast(pl.Int64)
    codes, _ = log.activity_codes()
    # Cases are contiguous row ranges, so the sequences are a list view over the codes: no group-by needed.
    if log.events.height < 2**31:
        offsets = np.append(starts.to_numpy(), log.events.height).astype(np.int32)
        lists = pa.ListArray.from_arrays(pa.array(offsets), codes.to_arrow())
    else:
        offsets = np.append(starts.to_numpy(), log.events.height).astype(np.int64)
        lists = pa.LargeListArray.from_arrays(pa.array(offsets), codes.to_arrow())
    sequences = pl.from_arrow(lists)
    grouped = (
        pl.DataFrame({"codes": sequences})
        .with_row_index("case_index")
        .group_by("codes", maintain_order=True)
        .agg(pl.col("case_index"))
        .with_row_index("variant_index")
    )
    variant_of_case = np.zeros(len(starts), dtype=np.uint32)
    members = grouped.select("variant_index", "case_index").explode("case_index")
    variant_of_case[members.get_column("case_index").to_numpy()] = members.get_column("variant_index").to_numpy()
    log._cache["case_variant_index"] = pl.Series("variant_index", variant_of_case, dtype=pl.UInt32)
    log._cache["variant_table"] = grouped.select(
        "variant_index",
        "codes",
        pl.col("case_index").list.len().cast(pl.UInt32).alias("cases"),
        pl.col("case_index").list.first().alias("first_case_index"),
    )

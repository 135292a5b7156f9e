"""Rework: activities done more than once in a case, and opportunities that move back a stage.

Both depend only on the activity sequence, so they are computed once per
variant and weighted by (or joined back to) the variant's cases.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import polars as pl

from analysis import columns as C
from analysis._cases import case_table, variant_table
from analysis.log import EventLog, as_event_log
from analysis.process_map import _code_names

#: Activity names of opportunity stages are this prefix plus the stage name (DESIGN.md catalog).
STAGE_PREFIX = "Stage: "


def default_stage_order() -> list[str]:
    """Salesforce's default opportunity stages in sort order (``l2c.salesforce_schema.STAGE_NAMES``)."""
    from l2c.salesforce_schema import STAGE_NAMES

    return list(STAGE_NAMES)


def rework(
    log: Any,
    *,
    by: Literal["case", "activity", "stage_move"] = "case",
    stage_order: Sequence[str] | None = None,
) -> pl.DataFrame:
    """Repeated activities and backward stage moves, per case, per activity or per stage move.

    A *repeat* is any occurrence of an activity after its first in the case.
    A *backward stage move* is a stage event whose stage comes earlier in
    ``stage_order`` than the case's previous stage event (other activities in
    between are ignored). ``stage_order`` lists stage names in order
    (``"Prospecting"``) or their activity names (``"Stage: Prospecting"``); an
    activity counts as a stage if it is ``"Stage: <name>"`` or exactly
    ``<name>`` (so ``Closed Won`` / ``Closed Lost`` take part). Default:
    Salesforce's default stage order.

    Columns by ``by``:
        ``"case"``: ``case_id``, ``events``, ``repeated_events`` (occurrences
        beyond each activity's first), ``repeated_activities`` (activities done
        more than once), ``backward_stage_moves``, ``has_rework`` (Boolean: any
        of the two) — one row per case in log order.
        ``"activity"``: ``activity``, ``cases`` (with the activity),
        ``rework_cases`` (doing it more than once), ``rework_rate``
        (rework_cases / cases), ``repeated_events``, ``max_occurrences`` (in
        one case) — most rework cases first.
        ``"stage_move"``: ``from_stage``, ``to_stage`` (activity names),
        ``moves``, ``cases`` — backward moves only, most frequent first.
        Counts are Int64.

    >>> import polars as pl, analysis
    >>> log = analysis.read_event_log(pl.DataFrame({
    ...     "case_id": ["1"] * 4,
    ...     "activity": ["Stage: Prospecting", "Stage: Needs Analysis", "Stage: Qualification", "Closed Won"],
    ...     "timestamp": ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"]}))
    >>> analysis.rework(log).select("case_id", "backward_stage_moves", "has_rework").rows()
    [('1', 1, True)]
    >>> analysis.rework(log, by="stage_move").rows()
    [('Stage: Needs Analysis', 'Stage: Qualification', 1, 1)]
    """
    log = as_event_log(log)
    if by == "case":
        return _per_case(log, stage_order)
    if by == "activity":
        return _per_activity(log)
    if by == "stage_move":
        return _stage_moves(log, stage_order)
    raise ValueError(f"rework(by={by!r}): expected 'case', 'activity' or 'stage_move'")


def _occurrences(log: EventLog) -> pl.DataFrame:
    """Per variant and activity code: how often the code occurs in the variant's sequence."""
    return variant_table(log).select("variant_index", "cases", pl.col("codes").alias("code")).explode(
        "code"
    ).drop_nulls("code").group_by("variant_index", "cases", "code").agg(pl.len().cast(pl.Int64).alias("n"))


def _per_case(log: EventLog, stage_order: Sequence[str] | None) -> pl.DataFrame:
    per_variant = _occurrences(log).group_by("variant_index").agg(
        (pl.col("n") - 1).sum().alias("repeated_events"),
        (pl.col("n") > 1).sum().cast(pl.Int64).alias("repeated_activities"),
    )
    backward = _backward_moves(log, stage_order).group_by("variant_index").agg(
        pl.len().cast(pl.Int64).alias("backward_stage_moves")
    )
    return (
        case_table(log)
        .join(per_variant, on="variant_index", how="left", maintain_order="left")
        .join(backward, on="variant_index", how="left", maintain_order="left")
        .select(
            C.CASE_ID,
            pl.col("events").cast(pl.Int64),
            pl.col("repeated_events").fill_null(0).cast(pl.Int64),
            pl.col("repeated_activities").fill_null(0),
            pl.col("backward_stage_moves").fill_null(0),
        )
        .with_columns(
            ((pl.col("repeated_events") > 0) | (pl.col("backward_stage_moves") > 0)).alias("has_rework")
        )
    )


def _per_activity(log: EventLog) -> pl.DataFrame:
    _, names = log.activity_codes()
    return (
        _occurrences(log)
        .group_by("code")
        .agg(
            pl.col("cases").sum().cast(pl.Int64).alias("cases"),
            pl.col("cases").filter(pl.col("n") > 1).sum().cast(pl.Int64).alias("rework_cases"),
            ((pl.col("n") - 1) * pl.col("cases")).sum().cast(pl.Int64).alias("repeated_events"),
            pl.col("n").max().cast(pl.Int64).alias("max_occurrences"),
        )
        .select(
            _code_names(pl.col("code"), names).alias(C.ACTIVITY),
            "cases", "rework_cases", (pl.col("rework_cases") / pl.col("cases")).alias("rework_rate"),
            "repeated_events", "max_occurrences",
        )
        .sort(["rework_cases", C.ACTIVITY], descending=[True, False])
    )


def _stage_moves(log: EventLog, stage_order: Sequence[str] | None) -> pl.DataFrame:
    _, names = log.activity_codes()
    moves = _backward_moves(log, stage_order)
    return (
        moves.group_by("from_code", "to_code")
        .agg(
            pl.col("cases").sum().cast(pl.Int64).alias("moves"),
            pl.col("cases").filter(pl.col("variant_index").is_first_distinct()).sum().cast(pl.Int64)
            .alias("cases"),
        )
        .select(
            _code_names(pl.col("from_code"), names).alias("from_stage"),
            _code_names(pl.col("to_code"), names).alias("to_stage"),
            "moves", "cases",
        )
        .sort(["moves", "from_stage", "to_stage"], descending=[True, False, False])
    )


def _backward_moves(log: EventLog, stage_order: Sequence[str] | None) -> pl.DataFrame:
    """One row per backward stage move in each variant: ``variant_index``, ``cases``, ``from_code``, ``to_code``."""
    _, names = log.activity_codes()
    rank_of_code = _stage_ranks(names, default_stage_order() if stage_order is None else list(stage_order))
    empty = pl.DataFrame(schema={"variant_index": pl.UInt32, "cases": pl.UInt32,
                                 "from_code": pl.UInt32, "to_code": pl.UInt32})
    if not rank_of_code:
        return empty
    ranks = pl.DataFrame({"code": list(rank_of_code), "rank": list(rank_of_code.values())},
                         schema={"code": pl.UInt32, "rank": pl.Int64})
    stages = (
        variant_table(log)
        .select("variant_index", "cases", pl.col("codes").alias("code"))
        .explode("code")
        .join(ranks, on="code", how="inner", maintain_order="left")
    )
    same_variant = pl.col("variant_index") == pl.col("variant_index").shift(1)
    return stages.with_columns(
        pl.col("code").shift(1).alias("from_code"), pl.col("rank").shift(1).alias("from_rank")
    ).filter(same_variant & (pl.col("rank") < pl.col("from_rank"))).select(
        "variant_index", "cases", "from_code", pl.col("code").alias("to_code")
    )


def _stage_ranks(names: list[str], stage_order: list[str]) -> dict[int, int]:
    """Activity code → position of its stage in ``stage_order``, for activities that are stages."""
    position: dict[str, int] = {}
    for i, stage in enumerate(stage_order):
        bare = stage[len(STAGE_PREFIX):] if stage.startswith(STAGE_PREFIX) else stage
        position.setdefault(STAGE_PREFIX + bare, i)
        position.setdefault(bare, i)
    return {code: position[name] for code, name in enumerate(names) if name in position}

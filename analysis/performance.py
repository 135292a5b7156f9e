"""Sales-rep performance: each rep against the median rep of their team, with outliers flagged.

Per rep (``owner_id`` of the cases): cases, win rate, median sales cycle,
conformance rate and rework rate, each next to the median over the reps of the
same team (or of all reps), and flags for the reps that stand out. A rep is
flagged ``slow`` only when the cycle is both much longer than the team's
median (``slow_factor``) and significantly different from their teammates'
cycles (Mann–Whitney U), so a handful of long deals does not brand a rep.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from scipy.stats import false_discovery_control, fisher_exact, mannwhitneyu

from analysis import columns as C
from analysis.log import EventLog
from analysis.root_causes import case_durations

_METRICS = ("win_rate", "median_cycle_days", "conformance_rate", "rework_rate")


def rep_performance(
    cases: pl.DataFrame,
    log: EventLog | pl.DataFrame | None = None,
    *,
    checks: pl.DataFrame | None = None,
    rework: pl.DataFrame | None = None,
    compare_within: str | None = C.TEAM,
    min_cases: int = 5,
    slow_factor: float = 1.5,
    rate_gap: float = 0.15,
    alpha: float = 0.05,
) -> pl.DataFrame:
    """Per sales rep: volume, win rate, cycle, conformance and rework vs the team median.

    Args:
        cases: one row per case with ``owner_id`` (and ``owner_name``),
            ``is_won``/``is_closed``, and ``created_at``/``closed_at`` for the
            sales cycle (see :func:`analysis.root_causes.case_durations`).
        log: the event log, for cycle times when the cases have no dates and
            for the default rework table.
        checks: :func:`analysis.conformance` output; without it the
            conformance columns are null.
        rework: per case ``case_id`` + ``has_rework`` (Boolean); default
            :func:`analysis.rework` of ``log`` (a repeated activity or a
            backward stage move); without either the rework columns are null.
        compare_within: the column grouping reps into teams (default ``team``
            when present); ``None`` compares every rep with all reps.
        min_cases: reps with fewer closed cases (won cases, for the cycle) are never flagged.
        slow_factor: ``slow`` when the median cycle is at least this many times
            the team median (and ``fast`` at most 1/slow_factor).
        rate_gap: win, conformance and rework rates are flagged when this far
            (absolute) from the team median.
        alpha: a flag also needs the rep's difference to be significant: a
            Benjamini–Hochberg-adjusted p-value (Mann–Whitney U for cycles,
            Fisher exact for rates, against the teammates) below ``alpha``.

    Returns:
        ``owner_id``, ``owner_name``, [the ``compare_within`` column], ``cases``,
        ``closed_cases``, ``won_cases``, ``win_rate`` (won / closed),
        ``median_cycle_days`` (won deals), ``conformance_rate`` (cases with no violation),
        ``rework_rate``; ``team_reps`` and ``team_<metric>`` (median over the
        reps of the comparison group); ``win_rate_vs_team``,
        ``conformance_vs_team``, ``rework_vs_team`` (differences) and
        ``cycle_vs_team`` (ratio); ``cycle_p_adjusted``, ``win_rate_p_adjusted``,
        ``conformance_p_adjusted``, ``rework_p_adjusted``; ``flags`` (list of
        ``slow``, ``fast``, ``low_win_rate``, ``high_win_rate``,
        ``low_conformance``, ``high_rework``) and ``is_outlier``. Sorted by team
        then ``cycle_vs_team`` descending.

    >>> import polars as pl
    >>> from analysis.performance import rep_performance
    >>> cases = pl.DataFrame({"case_id": list("abcd"), "owner_id": ["ana", "ana", "bo", "bo"],
    ...                       "is_won": [True, False, True, True], "is_closed": [True] * 4})
    >>> rep_performance(cases, min_cases=1).select("owner_id", "win_rate", "team_win_rate").rows()
    [('ana', 0.5, 0.75), ('bo', 1.0, 0.75)]
    """
    missing = [c for c in (C.CASE_ID, C.OWNER_ID, C.IS_WON) if c not in cases.columns]
    if missing:
        raise ValueError(f"rep_performance needs column(s) {missing} in cases (available: {', '.join(cases.columns)})")
    if compare_within is not None and compare_within not in cases.columns:
        if compare_within != C.TEAM:
            raise ValueError(f"rep_performance: compare_within column {compare_within!r} not in cases")
        compare_within = None
    group = [compare_within] if compare_within else []
    frame = cases.with_columns(pl.col(C.CASE_ID).cast(pl.String))
    if C.OWNER_NAME not in frame.columns:
        frame = frame.with_columns(pl.col(C.OWNER_ID).cast(pl.String).alias(C.OWNER_NAME))
    closed = pl.col(C.IS_CLOSED).fill_null(False) if C.IS_CLOSED in frame.columns else pl.col(C.IS_WON).is_not_null()
    frame = frame.with_columns(closed.alias("__closed"))
    try:
        durations = case_durations(cases.with_columns(pl.col(C.CASE_ID).cast(pl.String)), log)
    except ValueError:  # no dates and no log: everything but the cycle columns
        durations = pl.DataFrame(schema={C.CASE_ID: pl.String, "cycle_days": pl.Float64})
    frame = frame.join(durations, on=C.CASE_ID, how="left")
    if checks is not None:
        violated = checks.group_by(C.CASE_ID).agg(pl.col("violated").any().alias("__violated"))
        frame = frame.join(violated, on=C.CASE_ID, how="left").with_columns(
            (~pl.col("__violated").fill_null(False)).alias("__conformant"))
    else:
        frame = frame.with_columns(pl.lit(None, dtype=pl.Boolean).alias("__conformant"))
    if rework is None and log is not None:
        from analysis.rework import rework as rework_per_case

        rework = rework_per_case(log)
    if rework is not None:
        frame = frame.join(rework.select(pl.col(C.CASE_ID).cast(pl.String), pl.col("has_rework").alias("__rework")),
                           on=C.CASE_ID, how="left")
    else:
        frame = frame.with_columns(pl.lit(None, dtype=pl.Boolean).alias("__rework"))

    reps = frame.group_by(C.OWNER_ID, *group).agg(
        pl.col(C.OWNER_NAME).drop_nulls().first(),
        pl.len().cast(pl.Int64).alias("cases"),
        pl.col("__closed").sum().cast(pl.Int64).alias("closed_cases"),
        (pl.col(C.IS_WON).fill_null(False) & pl.col("__closed")).sum().cast(pl.Int64).alias("won_cases"),
        pl.col("cycle_days").median().alias("median_cycle_days"),
        pl.col("__conformant").mean().alias("conformance_rate"),
        pl.col("__rework").mean().alias("rework_rate"),
        pl.col("cycle_days").drop_nulls().alias("__cycles"),
        pl.col("__conformant").sum().cast(pl.Int64).alias("__conformant_n"),
        pl.col("__conformant").count().cast(pl.Int64).alias("__checked_n"),
        pl.col("__rework").sum().cast(pl.Int64).alias("__rework_n"),
        pl.col("__rework").count().cast(pl.Int64).alias("__rework_checked_n"),
    ).with_columns(
        pl.when(pl.col("closed_cases") > 0).then(pl.col("won_cases") / pl.col("closed_cases")).alias("win_rate"))
    over = group or None
    team = [
        (pl.col(m).median().over(over) if over else pl.col(m).median()).alias(f"team_{m}") for m in _METRICS
    ]
    reps = reps.with_columns(
        *team, (pl.len().over(over) if over else pl.len()).cast(pl.Int64).alias("team_reps"),
    ).with_columns(
        (pl.col("win_rate") - pl.col("team_win_rate")).alias("win_rate_vs_team"),
        (pl.col("median_cycle_days") / pl.col("team_median_cycle_days")).alias("cycle_vs_team"),
        (pl.col("conformance_rate") - pl.col("team_conformance_rate")).alias("conformance_vs_team"),
        (pl.col("rework_rate") - pl.col("team_rework_rate")).alias("rework_vs_team"),
    )
    keys = reps.select(group).rows() if group else [()] * reps.height
    reps = reps.with_columns(
        _adjusted(_cycle_p_values(reps.get_column("__cycles").to_list(), keys), "cycle_p_adjusted"),
        _adjusted(_rate_p_values(reps, "won_cases", "closed_cases", keys), "win_rate_p_adjusted"),
        _adjusted(_rate_p_values(reps, "__conformant_n", "__checked_n", keys), "conformance_p_adjusted"),
        _adjusted(_rate_p_values(reps, "__rework_n", "__rework_checked_n", keys), "rework_p_adjusted"),
    )

    def significant(column: str) -> pl.Expr:
        return (pl.col(column) < alpha).fill_null(False)

    enough = pl.col("closed_cases") >= min_cases
    slow_enough = pl.col("__cycles").list.len() >= min_cases
    checks_ = {
        "slow": slow_enough & significant("cycle_p_adjusted") & (pl.col("cycle_vs_team") >= slow_factor),
        "fast": slow_enough & significant("cycle_p_adjusted") & (pl.col("cycle_vs_team") <= 1 / slow_factor),
        "low_win_rate": enough & significant("win_rate_p_adjusted") & (pl.col("win_rate_vs_team") <= -rate_gap),
        "high_win_rate": enough & significant("win_rate_p_adjusted") & (pl.col("win_rate_vs_team") >= rate_gap),
        "low_conformance": enough & significant("conformance_p_adjusted")
        & (pl.col("conformance_vs_team") <= -rate_gap),
        "high_rework": enough & significant("rework_p_adjusted") & (pl.col("rework_vs_team") >= rate_gap),
    }
    flags = pl.concat_list([
        pl.when(cond.fill_null(False)).then(pl.lit(name)).otherwise(pl.lit(None, dtype=pl.String))
        for name, cond in checks_.items()
    ]).list.drop_nulls()
    reps = reps.with_columns(flags.alias("flags")).with_columns((pl.col("flags").list.len() > 0).alias("is_outlier"))
    columns = [C.OWNER_ID, C.OWNER_NAME, *group, "cases", "closed_cases", "won_cases", *_METRICS, "team_reps",
               *[f"team_{m}" for m in _METRICS], "win_rate_vs_team", "cycle_vs_team", "conformance_vs_team",
               "rework_vs_team", "cycle_p_adjusted", "win_rate_p_adjusted", "conformance_p_adjusted",
               "rework_p_adjusted", "flags", "is_outlier"]
    return reps.select(columns).sort([*group, "cycle_vs_team", C.OWNER_ID],
                                     descending=[False] * len(group) + [True, False], nulls_last=True)


def _teams(keys: list[tuple]) -> dict[tuple, list[int]]:
    members: dict[tuple, list[int]] = {}
    for i, key in enumerate(keys):
        members.setdefault(key, []).append(i)
    return members


def _cycle_p_values(cycles: list[list[float]], keys: list[tuple]) -> list[float | None]:
    """Two-sided Mann–Whitney U p-value of each rep's cycles against their teammates' (one test per rep)."""
    arrays = [np.asarray(c, dtype=float) for c in cycles]
    out: list[float | None] = [None] * len(arrays)
    for members in _teams(keys).values():
        for i in members:
            rest = [arrays[j] for j in members if j != i]
            pooled = np.concatenate(rest) if rest else np.array([])
            if len(arrays[i]) and len(pooled):
                out[i] = float(mannwhitneyu(arrays[i], pooled, alternative="two-sided").pvalue)
    return out


def _rate_p_values(reps: pl.DataFrame, hits: str, trials: str, keys: list[tuple]) -> list[float | None]:
    """Fisher exact p-value of each rep's rate against their teammates' pooled rate."""
    k = reps.get_column(hits).fill_null(0).to_list()
    n = reps.get_column(trials).fill_null(0).to_list()
    out: list[float | None] = [None] * len(k)
    for members in _teams(keys).values():
        team_k, team_n = sum(k[j] for j in members), sum(n[j] for j in members)
        for i in members:
            rest_k, rest_n = team_k - k[i], team_n - n[i]
            if n[i] and rest_n:
                out[i] = float(fisher_exact([[k[i], n[i] - k[i]], [rest_k, rest_n - rest_k]]).pvalue)
    return out


def _adjusted(p_values: list[float | None], name: str) -> pl.Series:
    """Benjamini–Hochberg adjustment over the reps tested (many reps, many chances of a fluke)."""
    p = np.array([np.nan if v is None else v for v in p_values], dtype=float)
    tested = ~np.isnan(p)
    if tested.any():
        p[tested] = false_discovery_control(p[tested], method="bh")
    return pl.Series(name, p, dtype=pl.Float64).fill_nan(None)

"""Root causes: which attribute values go with a bad outcome, how strongly, and how surely.

For an outcome per case (a long sales cycle, a lost deal, a rule violation, a
late payment, or any boolean column) and every value of every attribute
(sales rep, region, lead source, discount band, ...), :func:`root_causes`
compares the cases having that value with all the other cases: outcome rate,
lift, excess cases, and a Fisher exact test with Benjamini–Hochberg correction
across every value tested. Numeric attributes are cut into bands first
(:data:`DISCOUNT_BANDS`, :data:`AMOUNT_BANDS`, quartiles for anything else).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import polars as pl
from scipy.stats import false_discovery_control, fisher_exact

from analysis import columns as C
from analysis.log import EventLog, as_event_log

#: Discount % band edges (percent, 0-100). Bands are right-closed: ``0%`` (no
#: discount), ``0-10%`` (0 < d <= 10), ``10-20%``, ``20-30%``, ``over 30%``.
#: 20 % is the default approval policy, so "above policy" starts at ``20-30%``.
DISCOUNT_BANDS: tuple[float, ...] = (0, 10, 20, 30)
#: Amount band edges (currency units). Right-closed: ``up to 10k``, ``10k-50k``,
#: ``50k-100k``, ``100k-250k``, ``over 250k``.
AMOUNT_BANDS: tuple[float, ...] = (10_000, 50_000, 100_000, 250_000)
#: Attributes examined when none are named (those present in the cases frame).
DEFAULT_ATTRIBUTES = (
    C.OWNER_NAME, C.TEAM, C.REGION, C.INDUSTRY, "customer_segment", C.LEAD_SOURCE, C.PRODUCT_CATEGORY,
    C.OPPORTUNITY_TYPE, C.DISCOUNT_PCT, C.AMOUNT,
)
#: Named outcomes understood by :func:`root_causes` (besides any boolean column).
OUTCOMES = ("long_cycle", "lost", "non_conformant", "late_payment")
MISSING = "(missing)"


# --------------------------------------------------------------------------- bands


def _number(value: float, unit: str) -> str:
    if unit == "%":
        return f"{value:g}%"
    for size, suffix in ((1e9, "bn"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:g}{suffix}"
    return f"{value:g}"


def band_labels(edges: Sequence[float], unit: str = "") -> list[str]:
    """Labels of the right-closed bands cut by ``edges``: ``len(edges) + 1`` labels.

    >>> band_labels([0, 10, 20], unit="%")
    ['0%', '0-10%', '10-20%', 'over 20%']
    >>> band_labels([10_000, 50_000])
    ['up to 10k', '10k-50k', 'over 50k']
    """
    edges = list(edges)
    first = f"{_number(edges[0], unit)}" if unit == "%" and edges[0] == 0 else f"up to {_number(edges[0], unit)}"
    middle = [f"{_number(lo, unit).rstrip('%')}-{_number(hi, unit)}" if unit == "%" else
              f"{_number(lo, unit)}-{_number(hi, unit)}" for lo, hi in zip(edges, edges[1:], strict=False)]
    return [first, *middle, f"over {_number(edges[-1], unit)}"]


def band(column: str, edges: Sequence[float], unit: str = "", alias: str | None = None) -> pl.Expr:
    """A String expression naming the band of ``column`` (null stays null); bands are right-closed."""
    edges = sorted({float(e) for e in edges})
    labels = band_labels(edges, unit)
    expr = pl.when(pl.col(column) <= edges[0]).then(pl.lit(labels[0]))
    for hi, label in zip(edges[1:], labels[1:-1], strict=False):
        expr = expr.when(pl.col(column) <= hi).then(pl.lit(label))
    expr = expr.when(pl.col(column).is_not_null()).then(pl.lit(labels[-1])).otherwise(pl.lit(None, dtype=pl.String))
    return expr.alias(alias or column)


def band_order(edges: Sequence[float], unit: str = "") -> dict[str, int]:
    """Label → position (0 = lowest band), for sorting bands."""
    return {label: i for i, label in enumerate(band_labels(sorted({float(e) for e in edges}), unit))}


def _edges_for(frame: pl.DataFrame, column: str, bands: Mapping[str, Sequence[float]]) -> tuple[list[float], str]:
    if column in bands:
        return list(bands[column]), "%" if column == C.DISCOUNT_PCT else ""
    if column == C.DISCOUNT_PCT:
        return list(DISCOUNT_BANDS), "%"
    if column == C.AMOUNT:
        return list(AMOUNT_BANDS), ""
    values = frame.get_column(column).drop_nulls().cast(pl.Float64)
    edges = sorted({values.quantile(q, "linear") for q in (0.25, 0.5, 0.75)} - {None}) if len(values) else []
    return edges, ""


# --------------------------------------------------------------------------- outcomes


def case_durations(cases: pl.DataFrame | None = None, log: EventLog | pl.DataFrame | None = None) -> pl.DataFrame:
    """``case_id``, ``cycle_days`` (Float64): the sales cycle of each case that has one.

    With a cases frame holding ``created_at`` and ``closed_at``: the sales
    cycle, created → closed, of **won** cases (``is_won``; of closed cases when
    the frame has no ``is_won``). The time it takes to lose a deal is not a
    sales cycle, and mixing the two makes a rep who loses fast look quick.
    Otherwise, with a log: first to last event of every case. Otherwise
    ``first_event_at`` → ``last_event_at`` of the cases frame.
    """
    days = 86_400_000_000
    if cases is not None and {C.CREATED_AT, C.CLOSED_AT} <= set(cases.columns):
        done = pl.col(C.CLOSED_AT).is_not_null()
        if C.IS_WON in cases.columns:
            done = done & pl.col(C.IS_WON).fill_null(False)
        elif C.IS_CLOSED in cases.columns:
            done = done & pl.col(C.IS_CLOSED).fill_null(False)
        return cases.filter(done).select(
            pl.col(C.CASE_ID).cast(pl.String),
            ((pl.col(C.CLOSED_AT) - pl.col(C.CREATED_AT)).dt.total_microseconds() / days).alias("cycle_days"),
        )
    if log is not None:
        events = as_event_log(log).events
        return events.group_by(C.CASE_ID).agg(
            ((pl.col(C.TIMESTAMP).max() - pl.col(C.TIMESTAMP).min()).dt.total_microseconds() / days)
            .alias("cycle_days"))
    if cases is not None and {C.FIRST_EVENT_AT, C.LAST_EVENT_AT} <= set(cases.columns):
        return cases.select(
            pl.col(C.CASE_ID).cast(pl.String),
            ((pl.col(C.LAST_EVENT_AT) - pl.col(C.FIRST_EVENT_AT)).dt.total_microseconds() / days).alias("cycle_days"),
        )
    raise ValueError(
        "cycle times need cases with created_at/closed_at (or first_event_at/last_event_at), or log="
    )


def case_outcome(
    cases: pl.DataFrame,
    outcome: str,
    *,
    log: EventLog | pl.DataFrame | None = None,
    checks: pl.DataFrame | None = None,
    invoices: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """``case_id``, ``outcome`` (Boolean; null = the case does not take part).

    Outcomes: ``long_cycle`` (cycle in the slowest quartile: above the 75th
    percentile, linear interpolation, of :func:`case_durations`; cases without
    a cycle, e.g. lost or open deals, are null), ``lost``
    (closed and not won; open cases are null), ``non_conformant`` (violates at
    least one rule in ``checks``, the output of :func:`analysis.conformance`),
    ``late_payment`` (at least one invoice late, from ``invoices`` or
    :func:`analysis.days_to_pay` of ``log``; cases without a dated invoice are
    null), or the name of any Boolean column of ``cases``.
    """
    ids = cases.select(pl.col(C.CASE_ID).cast(pl.String)).unique(maintain_order=True)
    if outcome == "long_cycle":
        durations = case_durations(cases, log)
        threshold = durations.get_column("cycle_days").quantile(0.75, "linear")
        flags = durations.select(C.CASE_ID, (pl.col("cycle_days") > threshold).alias("outcome"))
    elif outcome == "lost":
        _require(cases, [C.IS_WON], outcome)
        closed = pl.col(C.IS_CLOSED) if C.IS_CLOSED in cases.columns else pl.lit(True)
        flags = cases.select(pl.col(C.CASE_ID).cast(pl.String),
                             pl.when(closed).then(~pl.col(C.IS_WON).fill_null(False)).alias("outcome"))
    elif outcome == "non_conformant":
        if checks is None:
            raise ValueError("outcome 'non_conformant' needs checks=analysis.conformance(log, cases)")
        flags = checks.group_by(C.CASE_ID).agg(pl.col("violated").any().alias("outcome"))
        return ids.join(flags, on=C.CASE_ID, how="left").with_columns(pl.col("outcome").fill_null(False))
    elif outcome == "late_payment":
        if invoices is None:
            if log is None:
                raise ValueError("outcome 'late_payment' needs log= (with Invoice Posted / Payment Received) "
                                 "or invoices=analysis.days_to_pay(log)")
            from analysis.payments import days_to_pay

            invoices = days_to_pay(log)
        from analysis.payments import late_payment_by_case

        flags = late_payment_by_case(invoices).rename({"late_payment": "outcome"})
    elif outcome in cases.columns:
        if cases.schema[outcome] != pl.Boolean:
            raise ValueError(f"outcome column {outcome!r} must be Boolean, it is {cases.schema[outcome]}")
        flags = cases.select(pl.col(C.CASE_ID).cast(pl.String), pl.col(outcome).alias("outcome"))
    else:
        raise ValueError(f"unknown outcome {outcome!r}: use one of {', '.join(OUTCOMES)} or a Boolean column "
                         f"of cases (available: {', '.join(cases.columns)})")
    return ids.join(flags.unique(C.CASE_ID), on=C.CASE_ID, how="left")


def _require(frame: pl.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} needs column(s) {missing} in cases (available: {', '.join(frame.columns)})")


def _case_attributes(log: EventLog) -> pl.DataFrame:
    """Per case, the event attributes that never vary within a case (pm4py's ``case:`` attributes)."""
    events = log.events
    skip = {C.EVENT_ID, C.CASE_ID, C.ACTIVITY, C.TIMESTAMP, C.ACTIVITY_ORDER}
    candidates = [c for c in events.columns if c not in skip]
    if not candidates:
        return events.select(pl.col(C.CASE_ID).unique(maintain_order=True))
    spread = events.group_by(C.CASE_ID).agg(pl.col(candidates).drop_nulls().n_unique())
    constant = [c for c in candidates if spread.get_column(c).max() <= 1]
    return events.group_by(C.CASE_ID, maintain_order=True).agg(pl.col(constant).drop_nulls().first())


# --------------------------------------------------------------------------- the analysis


def root_causes(
    data: pl.DataFrame | EventLog,
    outcome: str,
    attributes: Sequence[str] | None = None,
    *,
    log: EventLog | pl.DataFrame | None = None,
    checks: pl.DataFrame | None = None,
    invoices: pl.DataFrame | None = None,
    bands: Mapping[str, Sequence[float]] | None = None,
    min_cases: int = 5,
    alpha: float = 0.05,
) -> pl.DataFrame:
    """Rank attribute values by how much more often their cases end in ``outcome``.

    Args:
        data: a cases frame (one row per ``case_id``, e.g. ``l2c.cases``) or an
            event log, whose case-level attributes (constant within a case) are used.
        outcome: ``long_cycle``, ``lost``, ``non_conformant``, ``late_payment``
            (see :func:`case_outcome`) or any Boolean column of the cases.
        attributes: columns to examine (default: :data:`DEFAULT_ATTRIBUTES`
            present in the data). Numeric columns are banded.
        log, checks, invoices: the event log, conformance checks or invoices the
            outcome needs (``long_cycle`` without dates, ``non_conformant``,
            ``late_payment``).
        bands: band edges per numeric column, overriding the defaults.
        min_cases: attribute values with fewer cases are left out.
        alpha: false-discovery rate for ``significant``.

    Returns:
        One row per attribute value: ``outcome``, ``attribute``, ``value``
        (text; ``(missing)`` for nulls), ``cases``, ``outcome_cases``,
        ``outcome_rate``, ``rest_cases``, ``rest_outcome_cases``,
        ``rest_outcome_rate`` (all other cases with a known outcome),
        ``overall_rate``, ``lift`` (rate / rest rate; null when the rest rate is
        0), ``impact`` (excess outcome cases: outcome_cases - cases × rest rate),
        ``p_value`` (two-sided Fisher exact test of the 2×2 table),
        ``p_adjusted`` (Benjamini–Hochberg over all values tested),
        ``significant`` (p_adjusted < alpha) and ``rank``: values whose outcome
        rate exceeds the rest's come first, ordered by p-value (strongest
        evidence first), then by impact; then the under-represented values.
        Cases whose outcome is null are left out entirely.

    >>> import polars as pl
    >>> from analysis.root_causes import root_causes
    >>> cases = pl.DataFrame({"case_id": [str(i) for i in range(8)],
    ...                       "region": ["EMEA"] * 4 + ["APAC"] * 4,
    ...                       "is_late": [True, True, True, False, False, False, False, True]})
    >>> root_causes(cases, "is_late", ["region"], min_cases=1).select("value", "outcome_rate", "lift").rows()
    [('EMEA', 0.75, 3.0), ('APAC', 0.25, 0.3333333333333333)]
    """
    if isinstance(data, EventLog):
        log = data if log is None else log
        cases = _case_attributes(data)
    else:
        cases = data
        _require(cases, [C.CASE_ID], "root_causes")
    cases = cases.with_columns(pl.col(C.CASE_ID).cast(pl.String))
    bands = dict(bands or {})
    if attributes is None:
        attributes = [a for a in DEFAULT_ATTRIBUTES if a in cases.columns]
        if isinstance(data, EventLog):
            attributes = [c for c in cases.columns if c != C.CASE_ID]
    missing = [a for a in attributes if a not in cases.columns]
    if missing:
        raise ValueError(f"root_causes: attribute(s) {missing} not found (available: {', '.join(cases.columns)})")

    flags = case_outcome(cases, outcome, log=log, checks=checks, invoices=invoices)
    frame = cases.join(flags, on=C.CASE_ID, how="inner").filter(pl.col("outcome").is_not_null())
    values = []
    for attribute in attributes:
        dtype = frame.schema[attribute]
        if dtype.is_numeric() and dtype != pl.Boolean:
            edges, unit = _edges_for(frame, attribute, bands)
            value = band(attribute, edges, unit, alias="value") if edges else pl.col(attribute).cast(pl.String)
        else:
            value = pl.col(attribute).cast(pl.String)
        values.append(frame.select(pl.lit(attribute).alias("attribute"),
                                   value.fill_null(MISSING).alias("value"), "outcome"))
    schema = {"attribute": pl.String, "value": pl.String, "outcome": pl.Boolean}
    long = pl.concat(values) if values else pl.DataFrame(schema=schema)
    total = frame.height
    total_outcome = int(frame.get_column("outcome").sum()) if total else 0
    counts = (
        long.group_by("attribute", "value")
        .agg(pl.len().cast(pl.Int64).alias("cases"), pl.col("outcome").sum().cast(pl.Int64).alias("outcome_cases"))
        .filter(pl.col("cases") >= min_cases)
        .with_columns(
            (pl.lit(total, dtype=pl.Int64) - pl.col("cases")).alias("rest_cases"),
            (pl.lit(total_outcome, dtype=pl.Int64) - pl.col("outcome_cases")).alias("rest_outcome_cases"),
        )
        .with_columns(
            (pl.col("outcome_cases") / pl.col("cases")).alias("outcome_rate"),
            pl.when(pl.col("rest_cases") > 0).then(pl.col("rest_outcome_cases") / pl.col("rest_cases"))
            .alias("rest_outcome_rate"),
            pl.lit(total_outcome / total if total else None, dtype=pl.Float64).alias("overall_rate"),
        )
        .with_columns(
            pl.when(pl.col("rest_outcome_rate") > 0).then(pl.col("outcome_rate") / pl.col("rest_outcome_rate"))
            .alias("lift"),
            (pl.col("outcome_cases") - pl.col("cases") * pl.col("rest_outcome_rate")).alias("impact"),
        )
    )
    counts = _significance(counts, alpha)
    # Over-represented values first, the surest (smallest p) first: a big group with a modest
    # excess should not outrank a smaller segment where the outcome is nearly certain.
    return (
        counts.with_columns((pl.col("outcome_rate") > pl.col("rest_outcome_rate")).fill_null(False).alias("__over"))
        .sort(["__over", "p_value", "impact", "attribute", "value"], descending=[True, False, True, False, False],
              nulls_last=True)
        .drop("__over")
        .with_row_index("rank", offset=1)
        .with_columns(pl.col("rank").cast(pl.Int64), pl.lit(outcome).alias("outcome"))
        .select("outcome", "attribute", "value", "cases", "outcome_cases", "outcome_rate", "rest_cases",
                "rest_outcome_cases", "rest_outcome_rate", "overall_rate", "lift", "impact", "p_value",
                "p_adjusted", "significant", "rank")
    )


def _significance(counts: pl.DataFrame, alpha: float) -> pl.DataFrame:
    """Fisher exact p-values (one call per attribute value, not per case) and BH adjustment."""
    a = counts.get_column("outcome_cases").to_numpy()
    n = counts.get_column("cases").to_numpy()
    b = counts.get_column("rest_outcome_cases").to_numpy()
    m = counts.get_column("rest_cases").to_numpy()
    p = np.full(len(counts), np.nan)
    for i in range(len(counts)):
        if m[i] > 0:
            p[i] = fisher_exact([[a[i], n[i] - a[i]], [b[i], m[i] - b[i]]]).pvalue
    tested = ~np.isnan(p)
    adjusted = np.full(len(counts), np.nan)
    if tested.any():
        adjusted[tested] = false_discovery_control(np.minimum(p[tested], 1.0), method="bh")
    return counts.with_columns(
        pl.Series("p_value", p).fill_nan(None),
        pl.Series("p_adjusted", adjusted).fill_nan(None),
    ).with_columns((pl.col("p_adjusted") < alpha).fill_null(False).alias("significant"))

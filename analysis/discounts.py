"""Discount bands against win rate, deal size and payment: does discounting pay?

Cases are cut into discount bands (:data:`analysis.root_causes.DISCOUNT_BANDS`
by default: ``0%``, ``0-10%``, ``10-20%``, ``20-30%``, ``over 30%``) and each
band gets its win rate, median amounts and, when invoices are known, how long
its customers take to pay.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from analysis import columns as C
from analysis.log import EventLog
from analysis.root_causes import DISCOUNT_BANDS, band, band_labels


def discounts(
    cases: pl.DataFrame,
    log: EventLog | pl.DataFrame | None = None,
    *,
    invoices: pl.DataFrame | None = None,
    bands: Sequence[float] = DISCOUNT_BANDS,
) -> pl.DataFrame:
    """One row per discount band (all bands listed, empty ones with 0 cases).

    Args:
        cases: one row per case with ``discount_pct`` (percent, 0-100),
            ``amount``, ``is_won`` and ``is_closed``.
        log: the event log, for days to pay (:func:`analysis.days_to_pay`).
        invoices: :func:`analysis.days_to_pay` output, instead of ``log``.
        bands: band edges in percent (right-closed bands).

    Returns:
        ``discount_band``, ``band_order`` (0 = lowest), ``cases``,
        ``closed_cases``, ``won_cases``, ``win_rate`` (won / closed),
        ``mean_discount_pct``, ``median_amount`` (all cases of the band),
        ``median_won_amount``, ``invoices``, ``median_days_to_pay`` (paid
        invoices of the band's cases), ``late_payment_rate`` (late invoices /
        invoices with a due date). Cases without a discount are in ``(missing)``
        (listed last, only when there are such cases).

    >>> import polars as pl
    >>> from analysis.discounts import discounts
    >>> cases = pl.DataFrame({"case_id": ["a", "b", "c"], "discount_pct": [0.0, 25.0, 22.0],
    ...                       "amount": [100.0, 80.0, 60.0], "is_won": [True, True, False],
    ...                       "is_closed": [True, True, True]})
    >>> discounts(cases).select("discount_band", "cases", "win_rate", "median_amount").rows()[::3]
    [('0%', 1, 1.0, 100.0), ('20-30%', 2, 0.5, 70.0)]
    """
    missing = [c for c in (C.CASE_ID, C.DISCOUNT_PCT, C.IS_WON) if c not in cases.columns]
    if missing:
        raise ValueError(f"discounts needs column(s) {missing} in cases (available: {', '.join(cases.columns)})")
    edges = sorted({float(e) for e in bands})
    labels = band_labels(edges, "%")
    frame = cases.with_columns(
        pl.col(C.CASE_ID).cast(pl.String),
        band(C.DISCOUNT_PCT, edges, "%", alias="discount_band").fill_null("(missing)"),
        (pl.col(C.IS_CLOSED).fill_null(False) if C.IS_CLOSED in cases.columns
         else pl.col(C.IS_WON).is_not_null()).alias("__closed"),
        (pl.col(C.AMOUNT) if C.AMOUNT in cases.columns else pl.lit(None, dtype=pl.Float64)).alias("__amount"),
    )
    if invoices is None and log is not None:
        from analysis.payments import days_to_pay

        invoices = days_to_pay(log)
    per_band = frame.group_by("discount_band").agg(
        pl.len().cast(pl.Int64).alias("cases"),
        pl.col("__closed").sum().cast(pl.Int64).alias("closed_cases"),
        (pl.col(C.IS_WON).fill_null(False) & pl.col("__closed")).sum().cast(pl.Int64).alias("won_cases"),
        pl.col(C.DISCOUNT_PCT).mean().alias("mean_discount_pct"),
        pl.col("__amount").median().alias("median_amount"),
        pl.col("__amount").filter(pl.col(C.IS_WON).fill_null(False)).median().alias("median_won_amount"),
    )
    if invoices is not None:
        paying = invoices.join(frame.select(C.CASE_ID, "discount_band"), on=C.CASE_ID, how="inner")
        per_band = per_band.join(paying.group_by("discount_band").agg(
            pl.len().cast(pl.Int64).alias("invoices"),
            pl.col("days_to_pay").median().alias("median_days_to_pay"),
            pl.col("is_late").mean().alias("late_payment_rate"),
        ), on="discount_band", how="left")
    else:
        per_band = per_band.with_columns(
            pl.lit(None, dtype=pl.Int64).alias("invoices"),
            pl.lit(None, dtype=pl.Float64).alias("median_days_to_pay"),
            pl.lit(None, dtype=pl.Float64).alias("late_payment_rate"),
        )
    order = {label: i for i, label in enumerate(labels)}
    listed = pl.DataFrame({"discount_band": labels, "band_order": list(range(len(labels)))},
                          schema={"discount_band": pl.String, "band_order": pl.Int64})
    if "(missing)" in per_band.get_column("discount_band").to_list():
        listed = pl.concat([listed, pl.DataFrame({"discount_band": ["(missing)"], "band_order": [len(order)]},
                                                 schema=listed.schema)])
    out = listed.join(per_band, on="discount_band", how="left").with_columns(
        pl.col("cases", "closed_cases", "won_cases").fill_null(0),
        pl.col("invoices").fill_null(0) if invoices is not None else pl.col("invoices"),
    ).with_columns(
        pl.when(pl.col("closed_cases") > 0).then(pl.col("won_cases") / pl.col("closed_cases")).alias("win_rate"),
    )
    return out.sort("band_order").select(
        "discount_band", "band_order", "cases", "closed_cases", "won_cases", "win_rate", "mean_discount_pct",
        "median_amount", "median_won_amount", "invoices", "median_days_to_pay", "late_payment_rate",
    )

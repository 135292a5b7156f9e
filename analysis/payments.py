"""Invoice-to-cash: days to pay per invoice, lateness against the due date, and summaries.

Invoices and payments arrive in the event log as ``Invoice Posted`` and
``Payment Received`` events. What this module needs from the log:

* ``Invoice Posted`` events with the invoice id in ``invoice_id`` (the dbt
  event log) or ``source_id`` (the event id is used when both are missing)
  and, for lateness, a ``due_date`` event attribute (Date, Datetime or ISO
  text);
* ``Payment Received`` events, linked to their invoice by an ``invoice_id``
  column (the dbt event log has one: a payment allocated to several invoices
  is one event per invoice). A payment without one (a log without the column,
  such as most imported files, or a null value) falls back to order: the k-th
  unlinked payment of a case pays the k-th invoice of that case that no
  linked payment names, in time order. A linked payment whose invoice is not
  in the log pays nothing else.

The last payment of an invoice marks it paid (partial payments are not netted
against amounts). Everything is vectorised: one group-by per table.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import polars as pl

from analysis import columns as C
from analysis.calendar import BusinessCalendar
from analysis.log import EventLog, as_event_log

INVOICE_POSTED = "Invoice Posted"
PAYMENT_RECEIVED = "Payment Received"
DUE_DATE = C.DUE_DATE
INVOICE_ID = C.INVOICE_ID

_US_PER_DAY = 86_400_000_000

#: Lateness buckets (``aging_bucket``), in report order.
AGING_BUCKETS = (
    "paid on time", "paid 1-30 days late", "paid 31-60 days late", "paid over 60 days late",
    "open, not yet due", "open, 1-30 days overdue", "open, 31-60 days overdue", "open, over 60 days overdue",
    "paid, no due date", "open, no due date",
)


def days_to_pay(
    log: EventLog | pl.DataFrame,
    cases: pl.DataFrame | None = None,
    *,
    by: Sequence[str] = (),
    as_of: datetime | None = None,
    calendar: BusinessCalendar | None = None,
    invoice_activity: str = INVOICE_POSTED,
    payment_activity: str = PAYMENT_RECEIVED,
) -> pl.DataFrame:
    """One row per invoice: when it was posted, due and paid, and how late.

    Args:
        log: an :class:`~analysis.EventLog` or a frame with the canonical columns.
        cases: case attributes; the columns named in ``by`` are joined on ``case_id``.
        by: case attributes to carry on every invoice row (e.g. ``["industry"]``).
        as_of: the moment open invoices are judged at (default: the log's last event).
        calendar: also report ``business_days_to_pay`` in this working calendar;
            its time zone also decides the local date a payment falls on.
        invoice_activity, payment_activity: the two activity names.

    Returns:
        ``case_id``, ``invoice_id``, ``posted_at``, ``due_date`` (Date, null when
        unknown), ``paid_at`` (last payment, null when open), ``payments``,
        ``is_paid``, ``days_to_pay`` (Float64 days posted → paid),
        [``business_days_to_pay``], ``days_after_due`` (Int64: payment date, or
        ``as_of`` for open invoices, minus due date; negative = early),
        ``is_late`` (paid after the due date, or open and past it; null without
        a due date), ``aging_bucket`` (one of :data:`AGING_BUCKETS`), then the
        ``by`` columns. Sorted by case and posting time.

    >>> import polars as pl, analysis
    >>> from analysis.payments import days_to_pay
    >>> log = analysis.read_event_log(pl.DataFrame({
    ...     "case_id": ["o1", "o1"], "activity": ["Invoice Posted", "Payment Received"],
    ...     "timestamp": ["2024-01-02 10:00", "2024-02-12 10:00"], "source_id": ["inv1", "pay1"],
    ...     "due_date": ["2024-02-01", None]}))
    >>> days_to_pay(log).select("invoice_id", "days_to_pay", "days_after_due", "aging_bucket").rows()
    [('inv1', 41.0, 11, 'paid 1-30 days late')]
    """
    log = as_event_log(log)
    events = log.events
    tz = calendar.timezone if calendar is not None else "UTC"
    if as_of is None:
        as_of = events.get_column(C.TIMESTAMP).max() if events.height else datetime(1970, 1, 1)
    invoice_id = pl.coalesce(_text(events, INVOICE_ID), _text(events, C.SOURCE_ID), pl.col(C.EVENT_ID))
    invoices = (
        events.filter(pl.col(C.ACTIVITY) == invoice_activity)
        .with_columns(invoice_id.alias(INVOICE_ID), _due_date(events).alias(DUE_DATE))
        .group_by(C.CASE_ID, INVOICE_ID)
        .agg(pl.col(C.TIMESTAMP).min().alias("posted_at"), pl.col(DUE_DATE).drop_nulls().first())
    )
    out = _pay_invoices(invoices, events.filter(pl.col(C.ACTIVITY) == payment_activity))
    out = out.with_columns(
        ((pl.col("paid_at") - pl.col("posted_at")).dt.total_microseconds() / _US_PER_DAY).alias("days_to_pay"))
    if calendar is not None:
        business = calendar.business_duration(out.get_column("posted_at"), out.get_column("paid_at"))
        out = out.with_columns(calendar.business_days(business).alias("business_days_to_pay"))
    judged_on = pl.coalesce(pl.col("paid_at"), pl.lit(as_of).cast(pl.Datetime("us", "UTC")))
    out = out.with_columns(
        (judged_on.dt.convert_time_zone(tz).dt.date() - pl.col(DUE_DATE)).dt.total_days().cast(pl.Int64)
        .alias("days_after_due"),
    ).with_columns((pl.col("days_after_due") > 0).alias("is_late"), _aging_bucket())
    columns = [C.CASE_ID, INVOICE_ID, "posted_at", DUE_DATE, "paid_at", "payments", "is_paid", "days_to_pay"]
    if calendar is not None:
        columns.append("business_days_to_pay")
    columns += ["days_after_due", "is_late", "aging_bucket"]
    out = out.select(columns)
    if by:
        if cases is None:
            raise ValueError(f"days_to_pay(by={list(by)!r}) needs cases= with those columns")
        missing = [b for b in by if b not in cases.columns]
        if missing:
            raise ValueError(f"days_to_pay: column(s) {missing} not in cases (available: {', '.join(cases.columns)})")
        out = out.join(cases.select(pl.col(C.CASE_ID).cast(pl.String), *by).unique(C.CASE_ID), on=C.CASE_ID,
                       how="left")
    return out.sort(C.CASE_ID, "posted_at", INVOICE_ID)


def _pay_invoices(invoices: pl.DataFrame, payments: pl.DataFrame) -> pl.DataFrame:
    """``invoices`` with ``paid_at`` (last payment) and ``payments`` (how many paid it).

    A payment naming its invoice in ``invoice_id`` pays that invoice. The
    others pay by order: the k-th of a case pays the case's k-th invoice
    (by posting time) that no named payment pays.
    """
    payments = payments.select(C.CASE_ID, C.TIMESTAMP, _text(payments, INVOICE_ID).alias("__pays"))
    named = (
        payments.filter(pl.col("__pays").is_not_null())
        .group_by(pl.col("__pays").alias(INVOICE_ID))
        .agg(pl.col(C.TIMESTAMP).max().alias("paid_at"), pl.len().cast(pl.Int64).alias("payments"))
    )
    out = invoices.join(named, on=INVOICE_ID, how="left")
    by_name = out.filter(pl.col("payments").is_not_null())
    rank = pl.int_range(pl.len()).over(C.CASE_ID).alias("__k")
    unnamed = (
        payments.filter(pl.col("__pays").is_null())
        .select(C.CASE_ID, pl.col(C.TIMESTAMP).alias("paid_at"))
        .with_columns(rank)
    )
    by_order = (
        out.filter(pl.col("payments").is_null())
        .drop("paid_at", "payments")
        .sort(C.CASE_ID, "posted_at", INVOICE_ID)
        .with_columns(rank)
        .join(unnamed, on=[C.CASE_ID, "__k"], how="left")
        .drop("__k")
        .with_columns(pl.col("paid_at").is_not_null().cast(pl.Int64).alias("payments"))
    )
    return pl.concat([by_name, by_order.select(by_name.columns)]).with_columns(
        pl.col("paid_at").is_not_null().alias("is_paid"))


def _text(events: pl.DataFrame, column: str) -> pl.Expr:
    """The column as text, or nulls when the log has no such column."""
    if column in events.columns:
        return pl.col(column).cast(pl.String)
    return pl.lit(None, dtype=pl.String)


def _due_date(events: pl.DataFrame) -> pl.Expr:
    if DUE_DATE not in events.columns:
        return pl.lit(None, dtype=pl.Date)
    dtype = events.schema[DUE_DATE]
    if dtype == pl.Date:
        return pl.col(DUE_DATE)
    if isinstance(dtype, pl.Datetime):
        return pl.col(DUE_DATE).dt.date()
    return pl.col(DUE_DATE).cast(pl.String).str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False)


def _aging_bucket() -> pl.Expr:
    late = pl.col("days_after_due")
    paid = pl.col("is_paid")
    return (
        pl.when(late.is_null() & paid).then(pl.lit("paid, no due date"))
        .when(late.is_null()).then(pl.lit("open, no due date"))
        .when(paid & (late <= 0)).then(pl.lit("paid on time"))
        .when(paid & (late <= 30)).then(pl.lit("paid 1-30 days late"))
        .when(paid & (late <= 60)).then(pl.lit("paid 31-60 days late"))
        .when(paid).then(pl.lit("paid over 60 days late"))
        .when(late <= 0).then(pl.lit("open, not yet due"))
        .when(late <= 30).then(pl.lit("open, 1-30 days overdue"))
        .when(late <= 60).then(pl.lit("open, 31-60 days overdue"))
        .otherwise(pl.lit("open, over 60 days overdue"))
        .alias("aging_bucket")
    )


def days_to_pay_summary(invoices: pl.DataFrame, by: Sequence[str] = ()) -> pl.DataFrame:
    """Distribution of :func:`days_to_pay` overall or per ``by`` group.

    Returns ``by`` columns, ``invoices``, ``paid_invoices``, ``mean_days_to_pay``,
    ``p25_days_to_pay``, ``median_days_to_pay``, ``p75_days_to_pay``,
    ``p90_days_to_pay`` (linear interpolation, over paid invoices),
    ``late_invoices``, ``late_rate`` (late / invoices with a due date) and
    ``median_days_late`` (over late invoices). Sorted by ``late_rate`` descending.
    """
    d = pl.col("days_to_pay")
    aggs = [
        pl.len().cast(pl.Int64).alias("invoices"),
        pl.col("is_paid").sum().cast(pl.Int64).alias("paid_invoices"),
        d.mean().alias("mean_days_to_pay"),
        d.quantile(0.25, "linear").alias("p25_days_to_pay"),
        d.median().alias("median_days_to_pay"),
        d.quantile(0.75, "linear").alias("p75_days_to_pay"),
        d.quantile(0.9, "linear").alias("p90_days_to_pay"),
        pl.col("is_late").sum().cast(pl.Int64).alias("late_invoices"),
        pl.col("is_late").mean().alias("late_rate"),
        pl.col("days_after_due").filter(pl.col("is_late")).median().alias("median_days_late"),
    ]
    if by:
        return invoices.group_by(list(by)).agg(aggs).sort(["late_rate", *by], descending=[True] + [False] * len(by),
                                                          nulls_last=True)
    return invoices.select(aggs)


def late_payment_by_case(invoices: pl.DataFrame) -> pl.DataFrame:
    """``case_id``, ``late_payment`` (any invoice late; null when no invoice had a due date)."""
    return invoices.group_by(C.CASE_ID).agg(
        pl.when(pl.col("is_late").is_not_null().any()).then(pl.col("is_late").any()).alias("late_payment")
    )

"""Everything the report shows, read from the DuckDB marts (read-only) in one place.

The key figures come from the dbt marts (``l2c.cases``, ``l2c.event_log``,
``l2c.lead_event_log``) and the analysis marts in ``l2c_analysis`` written by
:func:`analysis.marts.write_analysis_marts`; :data:`KPI_DEFINITIONS` and
``docs/report.md`` say exactly how. Every analysis table is optional: a
missing one makes its section say so instead of failing the report; figures
the analysis marts also hold (milestone durations) are recomputed from the
event log with the same definition when they are absent.

DuckDB names a file's catalog after the file, so ``l2c.duckdb`` has a catalog
``l2c`` *and* a schema ``l2c``; every table is therefore addressed as
``"<catalog>"."<schema>"."<table>"``. Durations arrive as float days
(``<name>_days`` columns); ``INTERVAL`` columns, which polars cannot import,
are converted to float days too.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from l2c.config import ANALYSIS_SCHEMA, MARTS_SCHEMA

LEAD_CONVERTED = "Lead Converted"
ALL = "(all)"

#: Sub-processes measured first occurrence → first occurrence: (milestone name in
#: ``l2c_analysis.throughput_milestones``, from activity, to activities). The same
#: definitions as ``analysis.marts.MILESTONES``; used when that table is absent.
MILESTONES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("sales_cycle", "Opportunity Created", ("Closed Won", "Closed Lost")),
    ("opportunity_to_won", "Opportunity Created", ("Closed Won",)),
    ("opportunity_to_contract", "Opportunity Created", ("Contract Activated",)),
    ("quote_to_contract", "Quote Created", ("Contract Activated",)),
    ("order_to_invoice", "Order Activated", ("Invoice Posted",)),
    ("invoice_to_payment", "Invoice Posted", ("Payment Received",)),
)
_MILESTONE = {name: (start, ends) for name, start, ends in MILESTONES}

#: Per (opportunity, rule) conformance checks: only summarised in SQL (it has cases × rules rows).
CONFORMANCE_CHECKS = "conformance_cases"
#: Example opportunities shown per violated rule.
EXAMPLE_CASES = 3

#: The analysis marts the report reads whole (section key → table in ``l2c_analysis``); each is optional.
ANALYSIS_TABLES = {
    "variants": "variants",
    "process_map": "process_map_edges",
    "throughput_milestones": "throughput_milestones",
    "bottlenecks": "bottlenecks",
    "rework": "rework",
    "rework_stage_moves": "rework_stage_moves",
    "conformance_rules": "conformance_rules",
    "fitness": "conformance_fitness",
    "deviations": "conformance_deviations",
    "root_causes": "root_causes",
    "rep_performance": "rep_performance",
    "discounts": "discount_bands",
    "days_to_pay": "days_to_pay",
    "lead_funnel": "lead_funnel",
}

#: Tables that grow with the log are read in part: (order by, rows) for ranked tables, the columns
#: needed for per-invoice rows. Everything else is small (per activity, rule, rep, band).
_READ_TOP = {"variants": ("rank", 10), "bottlenecks": ("rank_by_total", 15)}
_READ_COLUMNS = {"days_to_pay": ("days_to_pay", "aging_bucket")}

#: How each key figure is computed (shown as a tooltip on the figure and in docs/report.md).
KPI_DEFINITIONS = {
    "cases": "number of opportunities in l2c.cases",
    "win_rate": "Closed Won ÷ closed opportunities in l2c.cases (is_won and is_closed ÷ is_closed)",
    "sales_cycle": (
        "median days from the first Opportunity Created to the first Closed Won or Closed Lost event, over "
        "opportunities that reached either (l2c_analysis.throughput_milestones, milestone sales_cycle)"
    ),
    "quote_to_contract": (
        "median days from the first Quote Created to the first Contract Activated event, over opportunities "
        "that reached both (l2c_analysis.throughput_milestones, milestone quote_to_contract)"
    ),
    "days_to_pay": "median days from Invoice Posted to Payment Received over paid invoices (l2c_analysis.days_to_pay)",
    "conformance_rate": (
        "opportunities without any rule violation ÷ opportunities checked (l2c_analysis.conformance_cases)"
    ),
    "lead_conversion": "leads with a Lead Converted event ÷ all leads in l2c.lead_event_log",
}


class ReportDataError(RuntimeError):
    """The database cannot be read for the report (missing file, missing marts, locked)."""


@dataclass
class Table:
    """A mart as polars; ``duration_columns`` are those stored as INTERVAL, now float days."""

    name: str
    frame: pl.DataFrame
    duration_columns: frozenset[str] = frozenset()
    total_rows: int | None = None  # rows in the database, when only the first ones were read


@dataclass
class Kpi:
    key: str
    value: float | int | None
    kind: str  # "count", "share" (0..1) or "days"
    definition: str


@dataclass
class ActivityStats:
    frequency: int
    cases: int
    mean_position: float


@dataclass
class ReportData:
    db_path: Path
    kpis: list[Kpi]
    first_event: datetime | None
    last_event: datetime | None
    activities: dict[str, ActivityStats]
    tables: dict[str, Table | None]
    conformance_examples: pl.DataFrame | None = None
    sales_cycle_days: list[float] = field(default_factory=list)
    milestones: pl.DataFrame | None = None
    days_to_pay_values: list[float] = field(default_factory=list)

    def table(self, key: str) -> Table | None:
        return self.tables.get(key)

    def kpi(self, key: str) -> Kpi:
        return next(k for k in self.kpis if k.key == key)


def connect_read_only(db_path: str | os.PathLike) -> duckdb.DuckDBPyConnection:
    """Open the DuckDB file read-only, with a message saying what to do when that is impossible."""
    path = Path(db_path)
    if not path.exists():
        raise ReportDataError(f"DuckDB file {path} does not exist; run the pipeline first (l2c demo or l2c run)")
    try:
        return duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        raise ReportDataError(
            f"cannot open DuckDB file {path} read-only ({exc}); is another process writing to it?"
        ) from exc


class _Marts:
    """Fully qualified access to the marts of one read-only connection."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con
        self.catalog = con.execute("select current_database()").fetchall()[0][0]

    def name(self, schema: str, table: str) -> str:
        return ".".join(_quote(part) for part in (self.catalog, schema, table))

    def exists(self, schema: str, table: str) -> bool:
        return bool(self.con.execute(
            "select count(*) from information_schema.tables "
            "where table_catalog = ? and table_schema = ? and table_name = ?",
            [self.catalog, schema, table],
        ).fetchall()[0][0])

    def read(self, schema: str, table: str, *, columns: Sequence[str] | None = None,
             order_by: str | None = None, limit: int | None = None) -> Table | None:
        """The table as polars (INTERVAL columns as float days), or None when it does not exist.

        ``columns`` keeps only those that exist; ``order_by`` + ``limit`` read the first rows of a ranked
        table (``Table.total_rows`` still counts them all).
        """
        if not self.exists(schema, table):
            return None
        name = self.name(schema, table)
        described = self.con.execute(f"describe {name}").fetchall()
        select, durations = [], set()
        for column, column_type, *_ in described:
            if columns is not None and column not in columns:
                continue
            if str(column_type).upper() == "INTERVAL":
                select.append(f"epoch({_quote(column)}) / 86400.0 as {_quote(column)}")
                durations.add(column)
            else:
                select.append(_quote(column))
        query = f"select {', '.join(select) or '*'} from {name}"
        if order_by in {row[0] for row in described} and limit is not None:
            query += f" order by {_quote(order_by)} limit {int(limit)}"
        total = self.scalar(f"select count(*) from {name}")
        return Table(table, self.con.sql(query).pl(), frozenset(durations), total)

    def scalar(self, sql: str, params: list[Any] | dict[str, Any] | None = None) -> Any:
        return self.con.execute(sql, params or []).fetchall()[0][0]


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def load_report_data(db_path: str | os.PathLike) -> ReportData:
    """Read the marts the report needs; fails only when the event log or the cases mart is missing."""
    path = Path(db_path)
    con = connect_read_only(path)
    try:
        marts = _Marts(con)
        for required in ("event_log", "cases"):
            if not marts.exists(MARTS_SCHEMA, required):
                raise ReportDataError(
                    f"{path}: table {MARTS_SCHEMA}.{required} is missing; build the marts first (l2c transform)"
                )
        tables = {
            key: marts.read(ANALYSIS_SCHEMA, name, columns=_READ_COLUMNS.get(key),
                            order_by=_READ_TOP.get(key, (None, None))[0], limit=_READ_TOP.get(key, (None, None))[1])
            for key, name in ANALYSIS_TABLES.items()
        }
        first_event, last_event = con.execute(
            f"select min(timestamp), max(timestamp) from {marts.name(MARTS_SCHEMA, 'event_log')}"
        ).fetchall()[0]
        milestones = milestone_bands(marts, tables.get("throughput_milestones"))
        return ReportData(
            db_path=path,
            kpis=compute_kpis(marts, tables, milestones),
            first_event=first_event,
            last_event=last_event,
            activities=activity_stats(marts),
            tables=tables,
            conformance_examples=conformance_examples(marts),
            sales_cycle_days=milestone_days(marts, "sales_cycle"),
            milestones=milestones,
            days_to_pay_values=days_to_pay_values(tables.get("days_to_pay")),
        )
    finally:
        con.close()


# --------------------------------------------------------------------------- key figures


def compute_kpis(marts: _Marts, tables: dict[str, Table | None], milestones: pl.DataFrame) -> list[Kpi]:
    cases = marts.name(MARTS_SCHEMA, "cases")
    n_cases = marts.scalar(f"select count(*) from {cases}")
    win_rate = marts.scalar(
        f"select count(*) filter (where is_won and is_closed) / nullif(count(*) filter (where is_closed), 0) "
        f"from {cases}"
    )

    def median_of(milestone: str) -> float | None:
        row = milestones.filter(pl.col("milestone") == milestone)
        return row.get_column("median").item() if row.height else None

    return [
        Kpi("cases", n_cases, "count", KPI_DEFINITIONS["cases"]),
        Kpi("win_rate", win_rate, "share", KPI_DEFINITIONS["win_rate"]),
        Kpi("sales_cycle", median_of("sales_cycle"), "days", KPI_DEFINITIONS["sales_cycle"]),
        Kpi("quote_to_contract", median_of("quote_to_contract"), "days", KPI_DEFINITIONS["quote_to_contract"]),
        Kpi("days_to_pay", _median(days_to_pay_values(tables.get("days_to_pay"))), "days",
            KPI_DEFINITIONS["days_to_pay"]),
        Kpi("conformance_rate", conformance_rate(marts), "share",
            KPI_DEFINITIONS["conformance_rate"]),
        Kpi("lead_conversion", lead_conversion_rate(marts), "share", KPI_DEFINITIONS["lead_conversion"]),
    ]


def _median(values: list[float]) -> float | None:
    return pl.Series(values, dtype=pl.Float64).median() if values else None


def conformance_rate(marts: _Marts) -> float | None:
    """The same figure as the Dagster conformance check: 1 − violating ÷ checked opportunities."""
    if not marts.exists(ANALYSIS_SCHEMA, CONFORMANCE_CHECKS):
        return None
    checked, violating = marts.con.execute(
        f"select count(distinct case_id), count(distinct case_id) filter (where violated) "
        f"from {marts.name(ANALYSIS_SCHEMA, CONFORMANCE_CHECKS)}"
    ).fetchall()[0]
    return 1.0 - violating / checked if checked else None


def conformance_examples(marts: _Marts) -> pl.DataFrame | None:
    """Up to :data:`EXAMPLE_CASES` violating opportunities per rule (lowest ids first): ``rule``, ``case_id``,
    ``name`` (opportunity name and account, when ``l2c.cases`` has them) and ``explanation``."""
    if not marts.exists(ANALYSIS_SCHEMA, CONFORMANCE_CHECKS):
        return None
    case_columns = {row[0] for row in marts.con.execute(f"describe {marts.name(MARTS_SCHEMA, 'cases')}").fetchall()}
    opportunity = next((c for c in ("opportunity_name", "name", "case_name") if c in case_columns), None)
    if opportunity is None:
        name = "null"
    elif "account_name" in case_columns:
        name = (f"case when c.account_name is null then c.{_quote(opportunity)} "
                f"else concat(c.{_quote(opportunity)}, ' (', c.account_name, ')') end")
    else:
        name = f"c.{_quote(opportunity)}"
    return marts.con.sql(f"""
        select x.rule, cast(x.case_id as varchar) as case_id, cast({name} as varchar) as name,
               cast(x.explanation as varchar) as explanation
        from (select rule, case_id, explanation,
                     row_number() over (partition by rule order by case_id) as n
              from {marts.name(ANALYSIS_SCHEMA, CONFORMANCE_CHECKS)} where violated) as x
        left join {marts.name(MARTS_SCHEMA, 'cases')} as c on cast(c.case_id as varchar) = cast(x.case_id as varchar)
        where x.n <= {EXAMPLE_CASES}
        order by x.rule, x.case_id
    """).pl()


def lead_conversion_rate(marts: _Marts) -> float | None:
    if not marts.exists(MARTS_SCHEMA, "lead_event_log"):
        return None
    return marts.scalar(
        f"select count(distinct case_id) filter (where activity = ?) / nullif(count(distinct case_id), 0) "
        f"from {marts.name(MARTS_SCHEMA, 'lead_event_log')}",
        [LEAD_CONVERTED],
    )


# --------------------------------------------------------------------------- durations


def _milestone_sql(marts: _Marts) -> str:
    """Per opportunity having ``$from_activity``: days from its first occurrence to the first of ``$to_activities``
    (null when none occurred yet), like ``analysis.throughput``."""
    return f"""
        select case_id,
               epoch(min(timestamp) filter (where list_contains($to_activities, activity))
                     - min(timestamp) filter (where activity = $from_activity)) / 86400.0 as days
        from {marts.name(MARTS_SCHEMA, 'event_log')}
        group by case_id
        having count(*) filter (where activity = $from_activity) > 0
    """


def milestone_days(marts: _Marts, milestone: str) -> list[float]:
    """Days of every opportunity that completed the milestone pair (the population of its median)."""
    start, ends = _MILESTONE[milestone]
    rows = marts.con.execute(
        f"select days from ({_milestone_sql(marts)}) where days is not null order by case_id",
        {"from_activity": start, "to_activities": list(ends)},
    ).fetchall()
    return [r[0] for r in rows]


_BAND_COLUMNS = ("p10", "p25", "median", "p75", "p90")


def milestone_bands(marts: _Marts, summary: Table | None) -> pl.DataFrame:
    """Per milestone pair: ``milestone``, ``from_activity``, ``to_activity``, ``cases`` (completed) and
    the 10/25/50/75/90th percentiles in days; from ``throughput_milestones`` (overall rows) when present."""
    schema = {"milestone": pl.String, "from_activity": pl.String, "to_activity": pl.String, "cases": pl.Int64,
              **{c: pl.Float64 for c in _BAND_COLUMNS}}
    if summary is not None and {"milestone", "group_by", "completed", "median_days"} <= set(summary.frame.columns):
        frame = summary.frame.filter(pl.col("group_by") == ALL)
        return frame.select(
            "milestone", "from_activity", "to_activity", pl.col("completed").cast(pl.Int64).alias("cases"),
            *[pl.col(f"{c}_days" if f"{c}_days" in frame.columns else c).cast(pl.Float64).alias(c)
              for c in _BAND_COLUMNS],
        ).cast(schema)
    rows = []
    for name, start, ends in MILESTONES:
        count, percentiles = marts.con.execute(
            f"select count(days), quantile_cont(days, [0.1, 0.25, 0.5, 0.75, 0.9]) "
            f"from ({_milestone_sql(marts)}) where days is not null",
            {"from_activity": start, "to_activities": list(ends)},
        ).fetchall()[0]
        if not count:
            continue
        rows.append({"milestone": name, "from_activity": start, "to_activity": " / ".join(ends), "cases": count,
                     **dict(zip(_BAND_COLUMNS, percentiles, strict=True))})
    return pl.DataFrame(rows, schema=schema)


def days_to_pay_values(invoices: Table | None) -> list[float]:
    """Days to pay of every paid invoice."""
    if invoices is None or "days_to_pay" not in invoices.frame.columns:
        return []
    return invoices.frame.get_column("days_to_pay").drop_nulls().cast(pl.Float64).to_list()


def activity_stats(marts: _Marts) -> dict[str, ActivityStats]:
    """Per activity: events, opportunities, and the mean position (0 = first event) of its first occurrence
    in each case — the process map's top-to-bottom order. The first occurrence, because repeats (rework)
    would otherwise drag an early activity below the steps it precedes."""
    rows = marts.con.execute(f"""
        select activity, sum(occurrences), count(*), avg(first_position) from (
            select case_id, activity, count(*) as occurrences, min(position) as first_position from (
                select case_id, activity,
                       row_number() over (partition by case_id order by timestamp, activity_order, event_id) - 1
                           as position
                from {marts.name(MARTS_SCHEMA, 'event_log')})
            group by case_id, activity)
        group by activity
    """).fetchall()
    return {activity: ActivityStats(int(n), int(c), float(p)) for activity, n, c, p in rows}

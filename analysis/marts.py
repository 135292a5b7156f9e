"""Run every analysis on the dbt marts of a DuckDB file and write the results back for BI.

:func:`write_analysis_marts` reads ``l2c.event_log``, ``l2c.cases`` and (when
present) ``l2c.lead_event_log`` and ``l2c.activities`` (only the columns the
analyses use: memory is the limit at scale), computes every analysis and
writes one table per result into schema ``l2c_analysis``. Each table is
replaced atomically (``CREATE OR REPLACE`` inside a transaction), so a reader
sees the previous or the new version, never a half-written one; a failure in
one analysis leaves the tables already written intact.

The tables are shaped for BI tools: List columns become text (activity
sequences joined with ``' → '``, other lists with ``', '``) and Duration
columns become Float64 days named ``<column>_days``. The Dagster assets and
``l2c analyze`` are thin wrappers around this function.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import duckdb
import polars as pl

from analysis import columns as C
from analysis.calendar import BusinessCalendar
from analysis.log import EventLog, read_event_log

#: Schemas (as in ``l2c.config``; repeated here so ``analysis`` imports nothing from the pipeline).
MARTS_SCHEMA = "l2c"
ANALYSIS_SCHEMA = "l2c_analysis"
SEQUENCE_SEPARATOR = " → "
LIST_SEPARATOR = ", "
_US_PER_DAY = 86_400_000_000
_US_PER_HOUR = 3_600_000_000

#: Milestone pairs of ``throughput_milestones``: (name, from activity, to activity/activities).
MILESTONES: tuple[tuple[str, str, str | tuple[str, ...]], ...] = (
    ("lead_to_opportunity", "Lead Created", "Opportunity Created"),
    ("sales_cycle", "Opportunity Created", ("Closed Won", "Closed Lost")),
    ("opportunity_to_won", "Opportunity Created", "Closed Won"),
    ("opportunity_to_contract", "Opportunity Created", "Contract Activated"),
    ("quote_to_contract", "Quote Created", "Contract Activated"),
    ("contract_approval", "Contract Created", "Contract Activated"),
    ("order_to_invoice", "Order Activated", "Invoice Posted"),
    ("invoice_to_payment", "Invoice Posted", "Payment Received"),
)
#: Case attributes that throughput, days to pay and root causes are broken down by (when present).
BREAKDOWN_ATTRIBUTES = (C.REGION, C.TEAM, C.INDUSTRY, "customer_segment", C.PRODUCT_CATEGORY, C.LEAD_SOURCE,
                        C.OWNER_NAME)
#: Outcomes written to ``root_causes``.
ROOT_CAUSE_OUTCOMES = ("long_cycle", "lost", "non_conformant", "late_payment")

#: Every table :func:`write_analysis_marts` can write, in writing order (one Dagster asset each).
ANALYSIS_TABLES: tuple[str, ...] = (
    "variants", "process_map_edges", "throughput_cases", "throughput_milestones", "bottlenecks", "rework",
    "rework_cases", "rework_stage_moves", "conformance_cases", "conformance_rules", "conformance_fitness",
    "conformance_deviations", "root_causes", "rep_performance", "discount_bands", "days_to_pay", "lead_funnel",
)
#: Tables written only when their inputs exist: pm4py installed (fitness, deviations), the cases
#: columns they need (reps: owner_id and is_won; discounts: discount_pct and is_won), a lead log.
OPTIONAL_ANALYSIS_TABLES: frozenset[str] = frozenset({
    "conformance_fitness", "conformance_deviations", "root_causes", "rep_performance", "discount_bands",
    "lead_funnel",
})

Progress = Callable[[str], None]


def write_analysis_marts(
    db_path: str | os.PathLike,
    calendar: BusinessCalendar | None = None,
    rules_path: str | os.PathLike | None = None,
    progress: Progress | None = print,
) -> dict[str, int]:
    """Compute every analysis from the dbt marts in ``db_path`` and write ``l2c_analysis.<table>``.

    Args:
        db_path: the DuckDB file holding the ``l2c`` marts.
        calendar: working calendar for the business-hours columns (none when None).
        rules_path: conformance rules YAML (default: the shipped Lead-to-Cash rules).
        progress: called with one line per table written (None: silent).

    Returns:
        ``{table name: rows written}`` for every table written, in order.
        Tables: ``variants``, ``process_map_edges``, ``throughput_cases``,
        ``throughput_milestones``, ``bottlenecks``, ``rework``, ``rework_cases``,
        ``rework_stage_moves``, ``conformance_cases``, ``conformance_rules``,
        ``conformance_fitness`` and ``conformance_deviations`` (won deals
        against the shipped happy path; only with pm4py installed), ``root_causes``, ``rep_performance``,
        ``discount_bands``, ``days_to_pay``, ``lead_funnel`` (only when
        ``l2c.lead_event_log`` exists). Columns: ``docs/analysis.md``.

    Raises:
        FileNotFoundError: ``db_path`` does not exist.
        ValueError: ``l2c.event_log`` or ``l2c.cases`` is missing (run ``l2c transform`` first).
    """
    say = progress or (lambda _message: None)
    path = Path(db_path)
    if not path.exists():
        raise FileNotFoundError(f"DuckDB file not found: {path} (run the extraction and `l2c transform` first)")
    from analysis.conformance import load_rules

    rules = load_rules(rules_path)  # before the marts: their columns decide what is read
    log, cases, lead_log, catalog = _read_marts(path, rules)
    say(f"read {log.n_events} events of {log.n_cases} cases from {path}")

    written: dict[str, int] = {}
    for table, compute in _analyses(log, cases, lead_log, catalog, calendar, rules, rules_path is not None, say):
        frame = compute()
        if not frame.columns:
            say(f"{ANALYSIS_SCHEMA}.{table}: nothing to write")
            continue
        # One short write per table: DuckDB has one writer, and readers should not wait for the analyses.
        with duckdb.connect(str(path)) as con:
            written[table] = _replace_table(con, table, frame)
        del frame  # not held while the next analysis computes
        say(f"{ANALYSIS_SCHEMA}.{table}: {written[table]} rows")
    return written


def _analyses(log, cases, lead_log, catalog, calendar, rules, rules_given, say):
    """(table, thunk) pairs in writing order; thunks share results through ``memo``."""
    import analysis
    from analysis.conformance import conformance, conformance_rules
    from analysis.discounts import discounts
    from analysis.funnel import lead_funnel
    from analysis.payments import days_to_pay
    from analysis.performance import rep_performance
    from analysis.root_causes import root_causes

    attributes = [a for a in BREAKDOWN_ATTRIBUTES if a in cases.columns]
    memo: dict[str, pl.DataFrame] = {}

    rules = _rules(rules, rules_given, log, cases, catalog, say)

    def checks() -> pl.DataFrame:
        if "checks" not in memo:
            memo["checks"] = conformance(log, cases, rules, activities=catalog)
        return memo["checks"]

    def invoices() -> pl.DataFrame:
        if "invoices" not in memo:
            memo["invoices"] = days_to_pay(log, cases, by=attributes, calendar=calendar)
        return memo["invoices"]

    def rework_cases() -> pl.DataFrame:
        if "rework" not in memo:
            memo["rework"] = analysis.rework(log)
        return memo["rework"]

    yield "variants", lambda: analysis.variants(log, calendar=calendar)
    yield "process_map_edges", lambda: analysis.process_map(log, calendar=calendar)
    yield "throughput_cases", lambda: analysis.throughput(log, by=attributes or None, cases=cases,
                                                          calendar=calendar)
    yield "throughput_milestones", lambda: _milestones(log, cases, attributes, calendar)
    yield "bottlenecks", lambda: analysis.bottlenecks(log, calendar=calendar)
    yield "rework", lambda: analysis.rework(log, by="activity")
    yield "rework_cases", rework_cases
    yield "rework_stage_moves", lambda: analysis.rework(log, by="stage_move")
    yield "conformance_cases", checks
    yield "conformance_rules", lambda: conformance_rules(checks(), rules)
    fitness = _fitness(log, cases, say)
    if fitness is not None:
        yield "conformance_fitness", lambda: fitness.variants
        yield "conformance_deviations", lambda: fitness.deviations

    def all_root_causes() -> pl.DataFrame:
        parts = []
        for outcome in ROOT_CAUSE_OUTCOMES:
            if outcome == "lost" and C.IS_WON not in cases.columns:
                continue
            if outcome == "late_payment" and invoices().get_column("is_late").drop_nulls().is_empty():
                say("root_causes: no invoice with a due date, late_payment skipped")
                continue
            parts.append(root_causes(cases, outcome, log=log, checks=checks(), invoices=invoices()))
        return pl.concat(parts) if parts else pl.DataFrame()

    yield "root_causes", all_root_causes
    if C.OWNER_ID in cases.columns and C.IS_WON in cases.columns:
        yield "rep_performance", lambda: rep_performance(cases, log, checks=checks(), rework=rework_cases())
    # What is left needs neither the checks nor the rework (the checks are one row per case and rule).
    memo.pop("checks", None)
    memo.pop("rework", None)
    if C.DISCOUNT_PCT in cases.columns and C.IS_WON in cases.columns:
        yield "discount_bands", lambda: discounts(cases, invoices=invoices())
    yield "days_to_pay", invoices
    memo.pop("invoices", None)
    if lead_log is not None:
        by = C.LEAD_SOURCE if C.LEAD_SOURCE in lead_log.events.columns else None
        yield "lead_funnel", lambda: lead_funnel(lead_log, by=by, cases=cases)
    else:
        say(f"{MARTS_SCHEMA}.lead_event_log not found: lead_funnel skipped")


def _rules(rules: list, rules_given: bool, log: EventLog, cases: pl.DataFrame, catalog: list[str],
           say: Progress):
    """The rules to check: a user's file as it is (errors name the rule); the shipped defaults only where they apply.

    The shipped rules speak of Lead-to-Cash activities and case attributes; on an
    imported log of another process (or an org without quotes) the rules that
    name something the data lacks are skipped with a notice instead of failing.
    """
    if rules_given:
        return rules
    known = set(log.events.get_column(C.ACTIVITY).unique().to_list()) | set(catalog)
    kept = []
    for rule in rules:
        names = {name for group in (*rule.activities, rule.since) for name in group}
        missing = sorted(names - known)
        missing += [c.column for c in rule.when if c.column not in cases.columns]
        missing += [c.column for conds in rule.where.values() for c in conds if c.column not in log.events.columns]
        if missing:
            say(f"conformance: default rule {rule.id} skipped, the data has no {', '.join(missing)}")
        else:
            kept.append(rule)
    return kept


def _milestones(log: EventLog, cases: pl.DataFrame, attributes: list[str],
                calendar: BusinessCalendar | None) -> pl.DataFrame:
    """Throughput summaries per milestone pair: overall and per breakdown attribute (long format)."""
    import analysis

    present = set(log.events.get_column(C.ACTIVITY).unique().to_list())
    parts = []
    for name, start, end in MILESTONES:
        ends = [end] if isinstance(end, str) else list(end)
        if start not in present or not present.intersection(ends):
            continue
        label = {"milestone": name, "from_activity": start, "to_activity": " / ".join(ends)}
        overall = analysis.throughput_summary(log, start, ends, calendar=calendar)
        parts.append(overall.with_columns(pl.lit("(all)").alias("group_by"), pl.lit("(all)").alias("group_value"),
                                          **{k: pl.lit(v) for k, v in label.items()}))
        for attribute in attributes:
            grouped = analysis.throughput_summary(log, start, ends, by=attribute, cases=cases, calendar=calendar)
            parts.append(grouped.with_columns(
                pl.lit(attribute).alias("group_by"),
                pl.col(attribute).cast(pl.String).fill_null("(missing)").alias("group_value"),
                **{k: pl.lit(v) for k, v in label.items()},
            ).drop(attribute))
    if not parts:
        return pl.DataFrame(schema={"milestone": pl.String})
    out = pl.concat(parts, how="diagonal_relaxed")
    first = ["milestone", "from_activity", "to_activity", "group_by", "group_value"]
    return out.select(first + [c for c in out.columns if c not in first])


def _fitness(log: EventLog, cases: pl.DataFrame, say: Progress):
    """Alignment fitness of the won deals against the shipped happy path, or None without pm4py.

    The happy path ends in payment: lost and open deals deviate from it by
    definition, and would bury the deviations of the won ones (the rules cover them).
    """
    from analysis.conformance import fitness

    if C.IS_WON in cases.columns:
        won = cases.filter(pl.col(C.IS_WON).fill_null(False)).select(C.CASE_ID)
        log = EventLog(log.events.join(won, on=C.CASE_ID, how="semi", maintain_order="left"))
    try:
        return fitness(log, only_model_activities=True)
    except ImportError:
        say("pm4py is not installed: conformance_fitness and conformance_deviations skipped "
            "(pip install 'l2c[pm4py]')")
        return None


# --------------------------------------------------------------------------- DuckDB I/O


#: The columns the analyses read from each mart (those it has); the rest are never loaded, which
#: at 1M opportunities (12 M events) is most of the memory. Conformance rules add the columns they name.
EVENT_LOG_READ = (C.EVENT_ID, C.CASE_ID, C.ACTIVITY, C.TIMESTAMP, C.ACTIVITY_ORDER,
                  C.SOURCE_ID, C.INVOICE_ID, C.DUE_DATE)  # days_to_pay: invoice id, due date
LEAD_LOG_READ = (C.EVENT_ID, C.CASE_ID, C.ACTIVITY, C.TIMESTAMP, C.ACTIVITY_ORDER,
                 C.LEAD_SOURCE, "opportunity_id", "converted_opportunity_id")  # lead_funnel
#: Cases: outcomes and dates, reps, discounts, and the breakdowns (root_causes.DEFAULT_ATTRIBUTES are added).
CASES_READ = (C.CASE_ID, C.IS_WON, C.IS_CLOSED, C.CREATED_AT, C.CLOSED_AT, C.FIRST_EVENT_AT, C.LAST_EVENT_AT,
              C.OWNER_ID, C.OWNER_NAME, C.DISCOUNT_PCT, C.AMOUNT, *BREAKDOWN_ATTRIBUTES)


def _read_marts(path: Path, rules: list) -> tuple[EventLog, pl.DataFrame, EventLog | None, list[str]]:
    """The marts the analyses use, with only the columns they read.

    The logs are read as they are stored and sorted by ``read_event_log`` as before: sorting them in DuckDB
    instead measured no lower at peak and would change the order of cases a log already holds contiguously.
    """
    from analysis.root_causes import DEFAULT_ATTRIBUTES

    with duckdb.connect(str(path), read_only=True) as con:
        catalog_name = _catalog(con)
        marts: dict[str, list[str]] = {}  # table: its columns in order
        for name, column in con.execute(
                "select table_name, column_name from information_schema.columns "
                "where table_catalog = ? and table_schema = ? order by ordinal_position",
                [catalog_name, MARTS_SCHEMA]).fetchall():
            marts.setdefault(name, []).append(column)
    for needed in ("event_log", "cases"):
        if needed not in marts:
            raise ValueError(f"{MARTS_SCHEMA}.{needed} not found in {path}: build the dbt marts first "
                             "(`l2c transform`)")

    def table(name: str, wanted: set[str]) -> pl.DataFrame:
        columns = ", ".join(f'"{c}"' for c in marts[name] if c in wanted)
        if not columns:
            return pl.DataFrame()
        # A connection per table: DuckDB gives back the memory of a read only when it is closed.
        with duckdb.connect(str(path), read_only=True) as con:
            return con.sql(f'select {columns} from "{catalog_name}"."{MARTS_SCHEMA}"."{name}"').pl()

    where = {c.column for rule in rules for conds in rule.where.values() for c in conds}
    when = {c.column for rule in rules for c in rule.when}
    log = read_event_log(table("event_log", {*EVENT_LOG_READ, *where}))
    cases = table("cases", {*CASES_READ, *DEFAULT_ATTRIBUTES, *when}).with_columns(pl.col(C.CASE_ID).cast(pl.String))
    lead_log = None
    if "lead_event_log" in marts:
        lead_log = read_event_log(table("lead_event_log", set(LEAD_LOG_READ)))
    catalog: list[str] = []
    if "activities" in marts:
        activities = table("activities", {"activity", "activity_name", "name"})
        column = next((c for c in ("activity", "activity_name", "name") if c in activities.columns), None)
        if column:
            catalog = activities.get_column(column).drop_nulls().cast(pl.String).to_list()
    return log, cases, lead_log, catalog


def _catalog(con: duckdb.DuckDBPyConnection) -> str:
    """The database's catalog name, to qualify tables fully.

    DuckDB names the catalog after the file, so ``data/l2c.duckdb`` has a
    catalog ``l2c`` as well as a schema ``l2c``: a bare ``l2c.event_log`` is ambiguous.
    """
    return con.execute("select current_database()").fetchone()[0]


def for_bi(frame: pl.DataFrame) -> pl.DataFrame:
    """Lists → text, Durations → Float64 ``<name>_days``, Null-typed columns → text.

    Working-time Durations (``business_*``) become ``<name>_hours``: in days of 24 hours they would read
    as business days, which they are not (``business_days`` columns are; a working day is the calendar's
    ``hours_per_day``).
    """
    columns = []
    for name, dtype in frame.schema.items():
        col = pl.col(name)
        if isinstance(dtype, pl.List):
            separator = SEQUENCE_SEPARATOR if name in ("activities", "log_moves", "model_moves") else LIST_SEPARATOR
            columns.append(col.list.eval(pl.element().cast(pl.String)).list.join(separator).alias(name))
        elif isinstance(dtype, pl.Duration) and name.startswith("business_"):
            columns.append((col.dt.total_microseconds() / _US_PER_HOUR).alias(f"{name}_hours"))
        elif isinstance(dtype, pl.Duration):
            target = name if name.endswith("_days") else f"{name}_days"
            if target != name and target in frame.columns:
                continue  # the same figure is already there in days
            columns.append((col.dt.total_microseconds() / _US_PER_DAY).alias(target))
        elif dtype == pl.Null:
            columns.append(col.cast(pl.String))
        else:
            columns.append(col)
    return frame.select(columns)


#: Rows converted for BI and handed to DuckDB at a time: the text and Arrow copies of a big table
#: (conformance_cases: 2.3 M rows at 300k opportunities) stay small instead of doubling it at once.
_WRITE_ROWS = 500_000


def _replace_table(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> int:
    """Replace ``l2c_analysis.<table>`` with ``frame`` in one transaction, a slice of rows at a time."""
    target = f'"{_catalog(con)}"."{ANALYSIS_SCHEMA}"'
    con.execute(f"create schema if not exists {target}")
    con.execute("begin transaction")
    try:
        for offset in range(0, max(frame.height, 1), _WRITE_ROWS):
            data = for_bi(frame.slice(offset, _WRITE_ROWS)).to_arrow()
            con.register("__l2c_analysis_frame", data)
            try:
                if offset == 0:
                    con.execute(f'create or replace table {target}."{table}" as select * from __l2c_analysis_frame')
                else:
                    con.execute(f'insert into {target}."{table}" select * from __l2c_analysis_frame')
            finally:
                con.unregister("__l2c_analysis_frame")
            del data
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return frame.height

"""Import an event-log file into DuckDB in the same contract as the Salesforce pipeline.

``import_event_log`` streams the file batch by batch (see ``readers``) into

- ``raw_import.event_log``: the file as read, one row per event, plus
  ``_l2c_row`` (the row number a user finds it under);
- ``l2c.event_log``: the canonical event log (``analysis.columns``), with a
  deterministic ``event_id``, an ``activity_order`` per case and every other
  column kept as an event attribute;
- ``l2c.cases``: one row per case with the case attributes the file has
  (sales rep, stage, amount, is won, discount %, ...; missing ones null) and
  ``case:`` columns (XES trace attributes) under their own names;
- ``l2c.activities``: the activities found, in typical process order;
- ``l2c.lead_event_log``: dropped (an imported log has no leads).

so every analysis and the report run on an imported log exactly as on a
Salesforce one. Each batch is validated with :func:`analysis.read_event_log`
(the same rules every analysis applies: required columns, empty values,
timestamps and time zones); problems from all batches are reported together,
naming column and rows. The file is read into scratch tables first (committed
batch by batch, so memory stays bounded), then one DuckDB transaction replaces
the raw table and the marts: a failed import leaves the database as it was.
"""

from __future__ import annotations

import json
import re
import zoneinfo
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from analysis import columns as C
from analysis.log import EventLogError, read_event_log
from l2c import config
from l2c.eventlog_io.duck import catalog, drop_relation, qualified, quote, relation_kind, schema_exists
from l2c.eventlog_io.errors import EventLogImportError, MappingError, ValidationError
from l2c.eventlog_io.mapping import (
    CASE_PREFIX,
    LIFECYCLE_COLUMN,
    ROW_COLUMN,
    ColumnMapping,
    detect_columns,
)
from l2c.eventlog_io.readers import Source, open_source
from l2c.eventlog_io.timeformats import OFFSET_PATTERN, detect_timestamp_format

#: Rows per batch: large enough to keep per-batch overhead small, small enough that
#: a batch (and its validated copy) stays around a hundred MB.
DEFAULT_BATCH_ROWS = 500_000
#: DuckDB's memory budget during an import; beyond it DuckDB spills to disk.
DEFAULT_MEMORY_LIMIT = "1GB"

#: Tables of schema ``raw_import``: the file as read, and one row per import.
RAW_TABLE = "event_log"
RUNS_TABLE = "import_runs"
#: Scratch tables of an import in progress (the file as read; its validated, normalised events).
_SCRATCH_RAW = "_l2c_import_raw"
_STAGING = "_l2c_import_staging"
_BATCH = "_l2c_import_batch"
_MAX_EXAMPLES = 5

#: ``l2c.cases`` as the dbt mart builds it: (column, role filling it on import, SQL type).
#: Columns without a role stay null; ``None`` marks the columns computed from the events.
CASES_COLUMNS: tuple[tuple[str, str | None, str], ...] = (
    (C.CASE_ID, None, "VARCHAR"), ("opportunity_name", "opportunity_name", "VARCHAR"),
    (C.OWNER_ID, "sales_rep", "VARCHAR"), (C.OWNER_NAME, "sales_rep", "VARCHAR"),
    (C.OWNER_ROLE, "owner_role", "VARCHAR"), (C.TEAM, "team", "VARCHAR"), (C.REGION, "region", "VARCHAR"),
    (C.INDUSTRY, "industry", "VARCHAR"), (C.LEAD_SOURCE, "lead_source", "VARCHAR"),
    (C.PRODUCT_CATEGORY, "product_category", "VARCHAR"), (C.OPPORTUNITY_TYPE, "opportunity_type", "VARCHAR"),
    (C.AMOUNT, "amount", "DOUBLE"), (C.CURRENCY, "currency", "VARCHAR"), (C.DISCOUNT_PCT, "discount_pct", "DOUBLE"),
    (C.IS_WON, None, "BOOLEAN"), (C.IS_CLOSED, None, "BOOLEAN"), ("stage_name", "stage", "VARCHAR"),
    (C.CREATED_AT, None, "TIMESTAMPTZ"), (C.CLOSED_AT, None, "TIMESTAMPTZ"), ("close_date", None, "DATE"),
    (C.FIRST_EVENT_AT, None, "TIMESTAMPTZ"), (C.LAST_EVENT_AT, None, "TIMESTAMPTZ"), (C.EVENT_COUNT, None, "BIGINT"),
    ("account_id", None, "VARCHAR"), ("account_name", "account_name", "VARCHAR"),
    ("customer_segment", "customer_segment", "VARCHAR"), ("lead_id", None, "VARCHAR"),
    ("deal_quote_id", None, "VARCHAR"),
)
_CASES_COLUMNS = frozenset(name for name, _, _ in CASES_COLUMNS)
#: The activity catalog seed: activities it marks as milestones are milestones in imports too.
ACTIVITY_CATALOG = config.DBT_PROJECT_DIR / "seeds" / "activity_catalog.csv"


@dataclass
class ImportSummary:
    """What an import wrote, for the CLI to print and tests to check."""

    source: Path
    format: str
    database: Path
    mapping: list[str]
    events: int
    cases: int
    activities: int
    first_event_at: datetime | None
    last_event_at: datetime | None
    variants: int
    duplicate_rows: int
    duplicate_examples: list[str] = field(default_factory=list)
    duplicates_dropped: bool = False
    notes: list[str] = field(default_factory=list)

    def to_text(self) -> str:
        span = "-"
        if self.first_event_at and self.last_event_at:
            days = (self.last_event_at - self.first_event_at).total_seconds() / 86400
            span = f"{self.first_event_at:%Y-%m-%d %H:%M:%S} to {self.last_event_at:%Y-%m-%d %H:%M:%S} UTC ({days:,.1f} days)"
        lines = [
            f"imported {self.source.name} ({self.format}) into {self.database}",
            f"  cases:      {self.cases:,}",
            f"  events:     {self.events:,}",
            f"  activities: {self.activities:,}",
            f"  variants:   {self.variants:,}",
            f"  time span:  {span}",
        ]
        if self.duplicate_rows:
            action = "dropped" if self.duplicates_dropped else "kept (pass --drop-duplicates to drop them)"
            examples = "; ".join(self.duplicate_examples)
            lines.append(f"  duplicates: {self.duplicate_rows:,} rows repeat an earlier row exactly, {action}: {examples}")
        else:
            lines.append("  duplicates: none")
        lines.append("  columns:")
        lines += [f"    {m}" for m in self.mapping]
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


def import_event_log(
    path: str | Path,
    db: str | Path | None = None,
    *,
    columns: Mapping[str, str | None] | None = None,
    timezone: str | None = None,
    timestamp_format: str | None = None,
    lifecycle: str = "keep",
    sheet: str | None = None,
    encoding: str | None = None,
    drop_duplicates: bool = False,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    memory_limit: str = DEFAULT_MEMORY_LIMIT,
) -> ImportSummary:
    """Import an event-log file (CSV, XLSX, Parquet, XES or XES.gz) into the DuckDB file ``db``.

    Args:
        path: the file; its type is taken from the suffix.
        db: the DuckDB file (default ``$L2C_DUCKDB_PATH`` or ``data/warehouse.duckdb``).
        columns: ``{role: column}`` overriding the detected mapping; roles as in
            :data:`l2c.eventlog_io.mapping.ROLES` (``case``, ``activity``,
            ``timestamp``, ``resource``, ``sales_rep``, ``stage``, ``amount``,
            ``is_won``, ``discount_pct``, ``lifecycle``, ...).
        timezone: IANA zone of timestamps without an offset (default UTC);
            timestamps with offsets are converted from their own offset.
        timestamp_format: strftime format of text timestamps; detected when omitted.
        lifecycle: ``"keep"`` (activity = name; the transition stays in
            ``lifecycle:transition``, pm4py's default classifier) or
            ``"combine"`` (activity = ``name+transition``).
        sheet: the Excel sheet (default ``event_log``, else the first).
        encoding: CSV encoding (default UTF-8).
        drop_duplicates: drop rows identical to an earlier row (default: keep, report).
        batch_rows: rows read, validated and written at a time.
        memory_limit: DuckDB's memory budget for the import.

    Raises:
        EventLogImportError: (or its subclasses ``SourceError``,
            ``MappingError``, ``ValidationError``) with a message naming the
            column and rows at fault; the database is left unchanged.
    """
    if lifecycle not in ("keep", "combine"):
        raise EventLogImportError(f"lifecycle must be 'keep' or 'combine', not {lifecycle!r}")
    _check_zone(timezone)
    source = open_source(path, sheet=sheet, encoding=encoding)
    try:
        mapping = detect_columns(source.columns, columns)
        if lifecycle == "combine" and not mapping.column("lifecycle"):
            raise MappingError(
                "--lifecycle combine needs a lifecycle column (e.g. lifecycle:transition) and the file has none; "
                f"pass --lifecycle-column COLUMN. The file's columns are: {', '.join(map(repr, source.columns))}"
            )
        database = config.duckdb_path(db)
        con = _connect(database, memory_limit=memory_limit, timezone=timezone)
        try:
            job = _Import(
                con, source, mapping, timezone=timezone, timestamp_format=timestamp_format,
                lifecycle=lifecycle, drop_duplicates=drop_duplicates, batch_rows=batch_rows,
            )
            summary = job.run(database)
        except duckdb.Error as exc:
            raise EventLogImportError(
                f"cannot import {source.path.name}: DuckDB failed ({exc}); nothing was imported, "
                "the database is unchanged"
            ) from exc
        finally:
            con.close()
    finally:
        source.close()
    return summary


def _check_zone(timezone: str | None) -> None:
    if timezone is None:
        return
    try:
        zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise EventLogImportError(
            f"unknown time zone {timezone!r}: use an IANA name such as 'Europe/Amsterdam', 'America/New_York' or 'UTC'"
        ) from exc


def _connect(database: Path, *, memory_limit: str, timezone: str | None) -> duckdb.DuckDBPyConnection:
    database.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(database))
    except duckdb.Error as exc:
        raise EventLogImportError(
            f"cannot open the DuckDB file {database} for writing: {exc} "
            "(is another process, e.g. the Dagster UI or a BI tool, holding it open?)"
        ) from exc
    con.execute(f"SET memory_limit = '{memory_limit}'")
    # The importer orders explicitly where order matters; not preserving insertion
    # order lets DuckDB stream CREATE TABLE AS without buffering.
    con.execute("SET preserve_insertion_order = false")
    # Naive text timestamps in attribute columns are read in the import's zone.
    con.execute(f"SET TimeZone = '{timezone or 'UTC'}'")
    return con


# --------------------------------------------------------------------------- the import job


class _Import:
    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        source: Source,
        mapping: ColumnMapping,
        *,
        timezone: str | None,
        timestamp_format: str | None,
        lifecycle: str,
        drop_duplicates: bool,
        batch_rows: int,
    ):
        self.con = con
        self.raw_table = qualified(con, config.IMPORT_SCHEMA, _SCRATCH_RAW)
        self.runs_table = qualified(con, config.IMPORT_SCHEMA, RUNS_TABLE)
        self.staging = qualified(con, config.IMPORT_SCHEMA, _STAGING)
        self.source = source
        self.mapping = mapping
        self.timezone = timezone
        self.timestamp_format = timestamp_format
        self.lifecycle = lifecycle
        self.drop_duplicates = drop_duplicates
        self.batch_rows = batch_rows
        self.problems = _Problems(source.row_label)
        self.rows = 0
        self._raw_created = False
        self._staging_created = False
        self._format_checked = timestamp_format is not None
        self._detected_format: str | None = None
        # Per batch: whether its text timestamps carried offsets ("aware") or not ("naive").
        self._zone_kinds: dict[str, int] = {}
        self._naive = False
        self.notes: list[str] = []

    # ---------------------------------------------------------------- driver

    def run(self, database: Path) -> ImportSummary:
        for schema in (config.IMPORT_SCHEMA, config.MARTS_SCHEMA):
            self.con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(catalog(self.con))}.{quote(schema)}")
        self._drop_scratch()  # left over by an interrupted import
        try:
            # 1. Read and validate into scratch tables. Each batch commits on its own:
            #    DuckDB keeps a transaction's appends in memory, one big transaction
            #    would hold the whole file. The user's tables are not touched yet.
            for batch in self.source.batches(self.batch_rows):
                self._load(batch)
            if self.rows == 0:
                raise ValidationError(f"cannot import {self.source.path.name}: it contains no events (only a header)")
            self._check_zone_consistency()
            self.problems.raise_if_any(self.source.path.name)
            types = self._staging_types()
            self._check_values(types)
            duplicates, examples = self._duplicates()
            if duplicates and self.drop_duplicates:
                self._drop_duplicates()
            attributes = self._attribute_expressions(types)
            # 2. Publish in one transaction: readers see the previous log or the new one, never a mix.
            self.con.execute("BEGIN TRANSACTION")
            try:
                self._write_event_log(attributes)
                self._write_cases(types)
                self._write_activities()
                self._drop_lead_log()
                drop_relation(self.con, config.IMPORT_SCHEMA, RAW_TABLE)
                self.con.execute(f"ALTER TABLE {self.raw_table} RENAME TO {quote(RAW_TABLE)}")
                summary = self._summary(database, duplicates, examples)
                self._record(summary)
                self.con.execute("COMMIT")
            except BaseException:
                self.con.execute("ROLLBACK")
                raise
        finally:
            self._drop_scratch()
        return summary

    def _drop_scratch(self) -> None:
        for table in (_SCRATCH_RAW, _STAGING):
            drop_relation(self.con, config.IMPORT_SCHEMA, table)

    # ---------------------------------------------------------------- batches

    def _load(self, raw: pl.DataFrame) -> None:
        self._append(self.raw_table, raw, create=not self._raw_created)
        self._raw_created = True
        self.rows += raw.height
        frame = self._prepare(raw)
        if frame is None:
            return
        m = self.mapping
        try:
            log = read_event_log(
                frame,
                case=m.roles["case"], activity=m.roles["activity"], timestamp=m.roles["timestamp"],
                activity_order=m.column("activity_order"),
                timezone=self.timezone or "UTC",
                timestamp_format=self.timestamp_format or self._detected_format,
            )
        except EventLogError as exc:
            self.problems.add(exc.problems, frame.get_column(ROW_COLUMN))
            return
        events = log.events
        if m.column("event_id") != C.EVENT_ID:
            events = events.drop(C.EVENT_ID)  # read_event_log numbered the rows; we make our own ids
        if m.column("activity_order") is None:
            events = events.drop(C.ACTIVITY_ORDER)
        self._append(self.staging, events, create=not self._staging_created)
        self._staging_created = True

    def _prepare(self, raw: pl.DataFrame) -> pl.DataFrame | None:
        """Rename reserved columns, blank → null for ids, combine lifecycle; None if the batch is rejected."""
        m = self.mapping
        frame = raw.rename(m.renamed) if m.renamed else raw
        case, activity, ts = m.roles["case"], m.roles["activity"], m.roles["timestamp"]
        exprs = [_text(case), _text(activity)]
        lifecycle = m.column("lifecycle")
        if self.lifecycle == "combine" and lifecycle:
            name, transition = _text(activity), _text(lifecycle)
            exprs[1] = (
                pl.when(transition.is_not_null()).then(name + "+" + transition).otherwise(name).alias(activity)
            )
        if frame.schema[ts] == pl.String:
            exprs.append(_text(ts))
        frame = frame.with_columns(exprs)
        if frame.schema[ts] == pl.String:
            if not self._format_checked:
                self._detected_format = detect_timestamp_format(frame.get_column(ts))
                self._format_checked = True
                if self._detected_format:
                    self.notes.append(f"timestamps read with format {self._detected_format!r}")
            if not self._track_zone_kind(frame, ts):
                return None
        elif _is_naive_time(frame.schema[ts]):
            self._naive = True
        return frame

    def _track_zone_kind(self, frame: pl.DataFrame, ts: str) -> bool:
        """Record whether this batch's text timestamps have offsets; reject a batch mixing both."""
        text = frame.get_column(ts)
        aware = text.str.contains(OFFSET_PATTERN)
        present = text.is_not_null()
        n_present = int(present.sum())
        n_aware = int((aware & present).sum())
        if 0 < n_aware < n_present:
            rows = frame.get_column(ROW_COLUMN)
            naive_rows = rows.filter(present & ~aware).head(_MAX_EXAMPLES).to_list()
            naive_values = text.filter(present & ~aware).head(_MAX_EXAMPLES).to_list()
            aware_row = rows.filter(aware).head(1).to_list()
            self.problems.add_rows(
                ts,
                "mixes timestamps with a time-zone offset (e.g. "
                f"{self.source.row_label(aware_row[0])}) and without one; give every timestamp an offset, "
                "or none and pass --timezone",
                n_present - n_aware, naive_rows, naive_values,
            )
            return False
        if n_present:
            kind = "aware" if n_aware else "naive"
            self._zone_kinds.setdefault(kind, int(frame.get_column(ROW_COLUMN)[0]))
            self._naive = self._naive or kind == "naive"
        return True

    def _check_zone_consistency(self) -> None:
        if len(self._zone_kinds) == 2:
            ts = self.mapping.roles["timestamp"]
            self.problems.add_rows(
                ts,
                "mixes timestamps with a time-zone offset (from "
                f"{self.source.row_label(self._zone_kinds['aware'])}) and without one (from "
                f"{self.source.row_label(self._zone_kinds['naive'])}); give every timestamp an offset, "
                "or none and pass --timezone",
                None, [], [],
            )

    def _append(self, table: str, frame: pl.DataFrame, *, create: bool) -> None:
        self.con.register(_BATCH, frame.to_arrow())
        try:
            if create:
                self.con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM {_BATCH}")
            else:
                self.con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM {_BATCH}")
        finally:
            self.con.unregister(_BATCH)

    # ---------------------------------------------------------------- value checks

    def mart(self, name: str) -> str:
        return qualified(self.con, config.MARTS_SCHEMA, name)

    def _staging_types(self) -> dict[str, str]:
        rows = self.con.execute(f"DESCRIBE {self.staging}").fetchall()
        return {r[0]: r[1] for r in rows}

    def _role_expression(self, role: str, types: Mapping[str, str]) -> str | None:
        """SQL turning the role's column into its canonical type, or None when the role is unmapped."""
        column = self.mapping.column(role)
        if column is None:
            return None
        q, dtype = quote(column), types[column]
        if role in ("amount", "discount_pct"):
            return _number_sql(q, dtype)
        if role in ("is_won", "is_closed"):
            return _boolean_sql(q, dtype)
        if role == "due_date":
            return _date_sql(q, dtype)
        return f"CAST({q} AS VARCHAR)"

    def _check_values(self, types: Mapping[str, str]) -> None:
        """Amounts and discounts must be numbers and is-won/is-closed yes/no: report every row that is not."""
        expected = {"amount": "a number", "discount_pct": "a number (percent, 0-100)",
                    "is_won": "true/false (or yes/no, 1/0)", "is_closed": "true/false (or yes/no, 1/0)",
                    "due_date": "a date (YYYY-MM-DD)"}
        for role, wanted in expected.items():
            column = self.mapping.column(role)
            if column is None:
                continue
            parsed = self._role_expression(role, types)
            if parsed is None:
                continue
            if parsed == "NULL":
                self.problems.add_rows(column, f"has type {types[column]}; expected {wanted}", None, [], [])
                continue
            q = quote(column)
            bad = self.con.execute(
                f"SELECT count(*) OVER (), {ROW_COLUMN}, CAST({q} AS VARCHAR) FROM {self.staging} "
                f"WHERE {q} IS NOT NULL AND ({parsed}) IS NULL ORDER BY {ROW_COLUMN} LIMIT {_MAX_EXAMPLES}"
            ).fetchall()
            if bad:
                self.problems.add_rows(
                    column, f"is not {wanted}", bad[0][0], [r[1] for r in bad], [r[2] for r in bad]
                )
        self.problems.raise_if_any(self.source.path.name)

    def _data_columns(self) -> list[str]:
        return [c for c in self._staging_types() if c != ROW_COLUMN]

    def _duplicates(self) -> tuple[int, list[str]]:
        """Rows equal to an earlier row in every column: how many, and the first few as 'row B repeats row A'."""
        cols = ", ".join(quote(c) for c in self._data_columns())
        total = self.con.execute(
            f"SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM {self.staging} GROUP BY {cols} HAVING n > 1)"
        ).fetchall()[0][0]
        if not total:
            return 0, []
        pairs = self.con.execute(
            f"SELECT rows[1], rows[2] FROM (SELECT list({ROW_COLUMN} ORDER BY {ROW_COLUMN}) AS rows FROM {self.staging} "
            f"GROUP BY {cols} HAVING count(*) > 1) ORDER BY rows[2] LIMIT {_MAX_EXAMPLES}"
        ).fetchall()
        label = self.source.row_label
        return int(total), [f"{label(b)} repeats {label(a)}" for a, b in pairs]

    def _drop_duplicates(self) -> None:
        cols = ", ".join(quote(c) for c in self._data_columns())
        self.con.execute(
            f"DELETE FROM {self.staging} WHERE {ROW_COLUMN} IN (SELECT unnest(list({ROW_COLUMN} ORDER BY {ROW_COLUMN})[2:]) "
            f"FROM {self.staging} GROUP BY {cols} HAVING count(*) > 1)"
        )

    # ---------------------------------------------------------------- columns

    def _attribute_columns(self, types: Mapping[str, str]) -> tuple[list[str], list[str]]:
        """(event attribute columns, case attribute columns) of the staging table."""
        used = {C.CASE_ID, C.ACTIVITY, C.TIMESTAMP, C.ACTIVITY_ORDER, C.EVENT_ID, ROW_COLUMN}
        used |= {c for role, c in self.mapping.roles.items() if role not in ("case", "activity", "timestamp")}
        events, cases = [], []
        for column in types:
            if column in used:
                continue
            (cases if column.startswith(CASE_PREFIX) else events).append(column)
        return events, cases

    def _attribute_expressions(self, types: Mapping[str, str]) -> dict[str, str]:
        """SQL per attribute column: typed as inferred (CSV, Excel text) or declared (XES dates)."""
        events, cases = self._attribute_columns(types)
        columns = events + cases
        exprs = {c: quote(c) for c in columns}
        for c in columns:
            if c in self.source.date_columns:
                exprs[c] = f"TRY_CAST({quote(c)} AS TIMESTAMPTZ)"
        if self.source.text_values:
            text = [c for c in columns if types[c] == "VARCHAR"]
            exprs.update(_inferred_casts(self.con, self.staging, text))
        return exprs

    # ---------------------------------------------------------------- marts

    def _write_event_log(self, attributes: Mapping[str, str]) -> None:
        m = self.mapping
        types = self._staging_types()
        events, _ = self._attribute_columns(types)
        order = [quote(C.TIMESTAMP)]
        if m.column("activity_order"):
            order.append(f"{C.ACTIVITY_ORDER} NULLS LAST")
        order.append(ROW_COLUMN)
        resource = self._role_expression("resource", types) or self._role_expression("sales_rep", types) or "NULL"
        source_id = self._role_expression("event_id", types) or f"CAST({ROW_COLUMN} AS VARCHAR)"
        select = [
            f"md5(concat_ws('|', case_id, activity, CAST(epoch_us({quote(C.TIMESTAMP)}) AS VARCHAR), "
            f"CAST({ROW_COLUMN} AS VARCHAR))) AS event_id",
            "case_id", "activity", quote(C.TIMESTAMP),
            f"row_number() OVER (PARTITION BY case_id ORDER BY {', '.join(order)}) AS activity_order",
            f"CAST({resource} AS VARCHAR) AS resource",
            f"CAST({resource} AS VARCHAR) AS resource_name",
            f"CAST({self._role_expression('resource_role', types) or 'NULL'} AS VARCHAR) AS resource_role",
            "'import' AS source_object",
            f"{source_id} AS source_id",
            f"CAST({self._role_expression('stage', types) or 'NULL'} AS VARCHAR) AS stage",
            f"CAST({self._role_expression('amount', types) or 'NULL'} AS DOUBLE) AS amount",
            "CAST(NULL AS VARCHAR) AS old_value",
            "CAST(NULL AS VARCHAR) AS new_value",
            f"{self._role_expression('due_date', types) or 'CAST(NULL AS DATE)'} AS due_date",
            f"CAST({self._role_expression('invoice_id', types) or 'NULL'} AS VARCHAR) AS invoice_id",
            f"activity IN ({_sql_list(_catalog_milestones())}) AS is_milestone",
            "false AS is_before_case_created",
        ]
        lifecycle = self._role_expression("lifecycle", types)
        if lifecycle:
            select.append(f"{lifecycle} AS {quote(LIFECYCLE_COLUMN)}")
        select += [f"{attributes[c]} AS {quote(c)}" for c in events]
        drop_relation(self.con, config.MARTS_SCHEMA, "event_log")
        self.con.execute(
            f"CREATE TABLE {self.mart('event_log')} AS SELECT {', '.join(select)} FROM {self.staging} "
            f"ORDER BY case_id, {quote(C.TIMESTAMP)}, activity_order"
        )
        self._case_attribute_sql = {c: attributes[c] for c in attributes if c not in events}

    def _write_cases(self, types: Mapping[str, str]) -> None:
        """One row per case, columns as the dbt ``cases`` mart: each role's last known value, the event span."""
        key = f"({quote(C.TIMESTAMP)}, {ROW_COLUMN})"

        def last(expr: str | None) -> str:
            if expr is None:
                return "NULL"
            return f"arg_max({expr}, {key}) FILTER (WHERE ({expr}) IS NOT NULL)"

        stage = self._role_expression("stage", types)
        closed_event = "activity ILIKE 'closed%'" + (f" OR ({stage}) ILIKE 'closed%'" if stage else "")
        aggregates = ["case_id"]
        for name, role, sql_type in CASES_COLUMNS:
            if role is not None and name != C.OWNER_ID:
                aggregates.append(f"CAST({last(self._role_expression(role, types))} AS {sql_type}) AS {name}")
        aggregates += [
            f"CAST({last(self._role_expression('is_won', types))} AS BOOLEAN) AS given_is_won",
            f"CAST({last(self._role_expression('is_closed', types))} AS BOOLEAN) AS given_is_closed",
            f"min({quote(C.TIMESTAMP)}) AS first_event_at",
            f"max({quote(C.TIMESTAMP)}) AS last_event_at",
            "count(*) AS event_count",
            f"min({quote(C.TIMESTAMP)}) FILTER (WHERE {closed_event}) AS first_closed_event_at",
        ]
        extra = _case_attribute_names(self._case_attribute_sql)
        aggregates += [f"{last(self._case_attribute_sql[c])} AS {quote(name)}" for c, name in extra.items()]
        # Without an is-won column, a closed stage tells the outcome; an open stage leaves it unknown.
        is_won = (
            "coalesce(given_is_won, CASE WHEN stage_name ILIKE 'closed won%' THEN true "
            "WHEN stage_name ILIKE 'closed%' THEN false END)"
        )
        is_closed = (
            "coalesce(given_is_closed, CASE WHEN given_is_won THEN true "
            "WHEN stage_name IS NOT NULL THEN stage_name ILIKE 'closed%' END)"
        )
        computed = {
            C.OWNER_ID: f"{C.OWNER_NAME}",
            C.IS_WON: is_won,
            C.IS_CLOSED: is_closed,
            C.CREATED_AT: "first_event_at",
            C.CLOSED_AT: f"CASE WHEN {is_closed} THEN coalesce(first_closed_event_at, last_event_at) END",
        }
        select = []
        for name, role, sql_type in CASES_COLUMNS:
            if name in computed:
                select.append(f"CAST({computed[name]} AS {sql_type}) AS {name}")
            elif role is None and name not in ("case_id", C.FIRST_EVENT_AT, C.LAST_EVENT_AT, C.EVENT_COUNT):
                select.append(f"CAST(NULL AS {sql_type}) AS {name}")
            else:
                select.append(name)
        select += [quote(name) for name in extra.values()]
        drop_relation(self.con, config.MARTS_SCHEMA, "cases")
        self.con.execute(
            f"CREATE TABLE {self.mart('cases')} AS "
            f"WITH per_case AS (SELECT {', '.join(aggregates)} FROM {self.staging} GROUP BY case_id) "
            f"SELECT {', '.join(select)} FROM per_case ORDER BY case_id"
        )


    def _write_activities(self) -> None:
        """The activity catalog of the imported log, in typical order (mean position in its cases)."""
        source_field = self.mapping.roles["activity"].replace("'", "''")
        description = f"Imported from {self.source.path.name}".replace("'", "''")
        drop_relation(self.con, config.MARTS_SCHEMA, "activities")
        self.con.execute(f"""
            CREATE TABLE {self.mart("activities")} AS
            WITH positions AS (
                SELECT activity, case_id, activity_order,
                       (activity_order - 1) / greatest(count(*) OVER (PARTITION BY case_id) - 1, 1) AS position
                FROM {self.mart("event_log")}
            ),
            per_activity AS (
                SELECT activity, avg(activity_order) AS mean_order, avg(position) AS mean_position, count(*) AS events,
                       count(DISTINCT case_id) AS cases
                FROM positions GROUP BY activity
            )
            SELECT activity,
                   CAST(10 * row_number() OVER (ORDER BY mean_order, mean_position, activity) AS INTEGER) AS sort_order,
                   'import' AS source_object, '{source_field}' AS source_field,
                   CAST(NULL AS VARCHAR) AS source_value,
                   activity IN ({_sql_list(_catalog_milestones())}) AS is_milestone,
                   '{description}' AS description, events AS event_count, cases AS case_count
            FROM per_activity ORDER BY sort_order
        """)
        self._add_catalog_activities()

    def _add_catalog_activities(self) -> None:
        """Append the catalog's activities the file lacks (no events), after the imported ones.

        The conformance rules name Lead-to-Cash activities; listed here, a rule
        about an activity the imported log never has is known (and simply not
        observed) rather than an unknown name.
        """
        catalog = _catalog()
        if catalog.is_empty():
            return
        table = self.mart("activities")
        self.con.register("_l2c_catalog", catalog.to_arrow())
        try:
            self.con.execute(f"""
                INSERT INTO {table}
                SELECT c.activity,
                       CAST((SELECT coalesce(max(sort_order), 0) FROM {table})
                            + 10 * row_number() OVER (ORDER BY c.sort_order, c.activity) AS INTEGER),
                       c.source_object, c.source_field, c.source_value, c.is_milestone, c.description, 0, 0
                FROM _l2c_catalog AS c
                WHERE c.activity NOT IN (SELECT activity FROM {table})
            """)
        finally:
            self.con.unregister("_l2c_catalog")

    def _drop_lead_log(self) -> None:
        """An imported log has no leads: a Salesforce ``l2c.lead_event_log`` left beside it would describe
        another process, so it goes (the analyses and the report skip the lead funnel without it)."""
        if relation_kind(self.con, config.MARTS_SCHEMA, "lead_event_log") is not None:
            drop_relation(self.con, config.MARTS_SCHEMA, "lead_event_log")
            self.notes.append("l2c.lead_event_log dropped: an imported log has no leads")

    # ---------------------------------------------------------------- summary

    def _summary(self, database: Path, duplicates: int, examples: list[str]) -> ImportSummary:
        events, first, last = self.con.execute(
            f"SELECT count(*), min({quote(C.TIMESTAMP)}), max({quote(C.TIMESTAMP)}) FROM {self.mart('event_log')}"
        ).fetchall()[0]
        cases = self.con.execute(f"SELECT count(*) FROM {self.mart('cases')}").fetchall()[0][0]
        activities = self.con.execute(f"SELECT count(DISTINCT activity) FROM {self.mart('event_log')}").fetchall()[0][0]
        variants = self.con.execute(
            f"SELECT count(DISTINCT trace) FROM (SELECT list(activity ORDER BY activity_order) AS trace "
            f"FROM {self.mart('event_log')} GROUP BY case_id)"
        ).fetchall()[0][0]
        notes = list(self.notes)
        if self._naive:
            zone = self.timezone or "UTC"
            hint = "" if self.timezone else " (pass --timezone to read them in another zone)"
            notes.append(f"timestamps have no time-zone offset: read as wall-clock time in {zone}{hint}")
        lifecycle = self.mapping.column("lifecycle")
        if lifecycle and self.lifecycle == "keep":
            notes.append(
                f"activity is the activity name alone; the lifecycle transition is kept in column "
                f"{LIFECYCLE_COLUMN!r} (pass --lifecycle combine for 'name+transition')"
            )
        for old, new in {**self.source.renamed, **self.mapping.renamed}.items():
            notes.append(f"column {old!r} renamed {new!r} (its name is taken by a canonical column)")
        if schema_exists(self.con, config.ANALYSIS_SCHEMA):
            notes.append(f"{config.ANALYSIS_SCHEMA} tables describe the previous log until the analyses run again")
        return ImportSummary(
            source=self.source.path, format=self.source.format, database=database,
            mapping=self.mapping.describe(), events=events, cases=cases, activities=activities,
            first_event_at=first.astimezone(UTC) if first else None,
            last_event_at=last.astimezone(UTC) if last else None,
            variants=variants, duplicate_rows=duplicates, duplicate_examples=examples,
            duplicates_dropped=bool(duplicates and self.drop_duplicates), notes=notes,
        )

    def _record(self, summary: ImportSummary) -> None:
        self.con.execute(f"""
            CREATE TABLE IF NOT EXISTS {self.runs_table} (
                imported_at TIMESTAMPTZ, source_file VARCHAR, format VARCHAR, columns JSON,
                timezone VARCHAR, lifecycle VARCHAR, events BIGINT, cases BIGINT, activities BIGINT,
                duplicate_rows BIGINT, duplicates_dropped BOOLEAN
            )
        """)
        self.con.execute(
            f"INSERT INTO {self.runs_table} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                datetime.now(UTC), str(summary.source.resolve()), summary.format,
                json.dumps(self.mapping.roles), self.timezone or "UTC", self.lifecycle,
                summary.events, summary.cases, summary.activities, summary.duplicate_rows,
                summary.duplicates_dropped,
            ],
        )


# --------------------------------------------------------------------------- problems


class _Problems:
    """Validation findings of all batches, merged per column and kind, with the first rows of each."""

    def __init__(self, row_label: Callable[[int], str]):
        self.row_label = row_label
        self.items: dict[tuple[str, str], dict[str, Any]] = {}

    def add(self, problems: Iterable[Mapping[str, Any]], rows: pl.Series) -> None:
        """Problems from :class:`analysis.EventLogError`, whose rows index this batch."""
        for p in problems:
            message = _flag_hints(p["message"])
            counted = re.search(r" in (\d+) rows", message)
            message = re.sub(r" in \d+ rows", "", message)
            batch_rows = list(p.get("rows") or [])
            examples = list(p.get("examples") or [None] * len(batch_rows))
            self.add_rows(
                p["column"], message, int(counted.group(1)) if counted else None,
                [int(rows[r]) for r in batch_rows], examples,
            )

    def add_rows(self, column: str, message: str, count: int | None, rows: list[int], examples: list[Any]) -> None:
        entry = self.items.setdefault(
            (column, message), {"column": column, "message": message, "count": 0, "rows": []}
        )
        if count is not None:
            entry["count"] += count
        for row, example in zip(rows, examples, strict=False):
            if len(entry["rows"]) < _MAX_EXAMPLES:
                label = self.row_label(row)
                entry["rows"].append(label if example is None else f"{label} ({example!r})")

    def raise_if_any(self, file_name: str) -> None:
        if not self.items:
            return
        lines = [f"cannot import {file_name}: nothing was imported, the database is unchanged"]
        for p in self.items.values():
            where = ""
            if p["count"]:
                where = f" in {p['count']:,} row{'s' if p['count'] != 1 else ''}"
            if p["rows"]:
                where += (": " if where else " at ") + ", ".join(p["rows"]) + (", ..." if p["count"] > len(p["rows"]) else "")
            lines.append(f"  - column {p['column']!r}: {p['message']}{where}")
        raise ValidationError("\n".join(lines), list(self.items.values()))


def _flag_hints(message: str) -> str:
    """analysis' messages name keyword arguments; the import is driven by CLI flags."""
    return (
        message.replace("(pass timestamp_format=)", "(pass --timestamp-format, e.g. '%m/%d/%Y %H:%M')")
        .replace("pass timezone=", "pass --timezone")
        .replace("with format ", "with --timestamp-format ")
    )


# --------------------------------------------------------------------------- SQL helpers


def _is_naive_time(dtype: pl.DataType) -> bool:
    return dtype == pl.Date or (isinstance(dtype, pl.Datetime) and dtype.time_zone is None)


def _text(column: str) -> pl.Expr:
    """A column as trimmed text, blank → null (a blank case id is as missing as an empty one)."""
    text = pl.col(column).cast(pl.String).str.strip_chars()
    return pl.when(text == "").then(None).otherwise(text).alias(column)


_NUMERIC = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
            "UBIGINT", "FLOAT", "DOUBLE", "REAL")


def _is_numeric(dtype: str) -> bool:
    return dtype.startswith("DECIMAL") or dtype in _NUMERIC


def _number_sql(q: str, dtype: str) -> str:
    """A number from a numeric column or from text such as '48,000.50', '€ 1200' or '12.5%'."""
    if _is_numeric(dtype):
        return f"CAST({q} AS DOUBLE)"
    if dtype != "VARCHAR":
        return "NULL"
    cleaned = f"regexp_replace(trim({q}), '[\\s$€£¥%]', '', 'g')"
    # Thousands separators only when unambiguous (1,234,567.89); '12,5' stays invalid.
    return (
        f"TRY_CAST(CASE WHEN regexp_full_match({cleaned}, '[+-]?[0-9]{{1,3}}(,[0-9]{{3}})+([.][0-9]+)?') "
        f"THEN replace({cleaned}, ',', '') ELSE {cleaned} END AS DOUBLE)"
    )


def _date_sql(q: str, dtype: str) -> str:
    if dtype == "DATE":
        return q
    if dtype.startswith("TIMESTAMP"):
        return f"CAST({q} AS DATE)"
    if dtype != "VARCHAR":
        return "NULL"
    return f"coalesce(TRY_CAST(trim({q}) AS DATE), CAST(TRY_CAST(trim({q}) AS TIMESTAMP) AS DATE))"


_TRUE = "('true', 't', 'yes', 'y', '1', 'won', 'x')"
_FALSE = "('false', 'f', 'no', 'n', '0', 'lost')"


def _boolean_sql(q: str, dtype: str) -> str:
    if dtype == "BOOLEAN":
        return q
    if _is_numeric(dtype):
        return f"({q} <> 0)"
    if dtype != "VARCHAR":
        return "NULL"
    value = f"lower(trim({q}))"
    return f"CASE WHEN {value} IN {_TRUE} THEN true WHEN {value} IN {_FALSE} THEN false END"


def _inferred_casts(con: duckdb.DuckDBPyConnection, table: str, columns: list[str]) -> dict[str, str]:
    """For text columns whose every value is an integer / number / boolean / ISO timestamp: the cast to it.

    One scan of the table counts, per column, the values each type reads.
    Numbers with leading zeros (ids such as '007') keep the column text.
    """
    if not columns:
        return {}
    parts = []
    for c in columns:
        q = quote(c)
        parts += [
            f"count({q})",
            # Digits only: DuckDB would cast '1.5' to BIGINT 2.
            f"count(*) FILTER (WHERE regexp_full_match(trim({q}), '[+-]?[0-9]{{1,18}}'))",
            f"count(TRY_CAST({q} AS DOUBLE)) FILTER (WHERE NOT regexp_matches({q}, '^\\s*[+-]?0[0-9]'))",
            f"count(*) FILTER (WHERE lower(trim({q})) IN ('true', 'false'))",
            f"count(TRY_CAST({q} AS TIMESTAMPTZ)) FILTER (WHERE regexp_matches({q}, '^\\s*[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}'))",
        ]
    counts = con.execute(f"SELECT {', '.join(parts)} FROM {table}").fetchall()[0]
    casts = {}
    for i, c in enumerate(columns):
        n, n_int, n_float, n_bool, n_ts = counts[5 * i: 5 * i + 5]
        q = quote(c)
        if n == 0:
            continue
        if n_int == n and n_float == n:
            casts[c] = f"TRY_CAST({q} AS BIGINT)"
        elif n_float == n:
            casts[c] = f"TRY_CAST({q} AS DOUBLE)"
        elif n_bool == n:
            casts[c] = f"(lower(trim({q})) = 'true')"
        elif n_ts == n:
            casts[c] = f"TRY_CAST({q} AS TIMESTAMPTZ)"
    return casts


def _sql_list(values: Iterable[str]) -> str:
    """A SQL list of string literals (never empty: ``IN ()`` is not SQL)."""
    literals = ["'" + v.replace("'", "''") + "'" for v in values]
    return ", ".join(literals) or "NULL"


def _catalog() -> pl.DataFrame:
    """The dbt activity catalog's rows with exact activity names (templated ``{value}`` rows skipped)."""
    if not ACTIVITY_CATALOG.is_file():
        return pl.DataFrame()
    catalog = pl.read_csv(ACTIVITY_CATALOG, infer_schema=False)
    return (
        catalog.filter(~pl.col("activity").str.contains("{", literal=True))
        .unique("activity", keep="first", maintain_order=True)
        .select(
            "activity", pl.col("sort_order").cast(pl.Int64), "source_object", "source_field", "source_value",
            pl.col("is_milestone").str.to_lowercase().eq("true"), "description",
        )
    )


def _catalog_milestones() -> list[str]:
    """Activities the dbt activity catalog marks as milestones."""
    catalog = _catalog()
    if catalog.is_empty():
        return []
    return sorted(catalog.filter("is_milestone").get_column("activity").to_list())


def _case_attribute_names(columns: Iterable[str]) -> dict[str, str]:
    """``case:<name>`` columns → their ``l2c.cases`` names: the prefix dropped unless that name is taken."""
    out: dict[str, str] = {}
    used = {c.lower() for c in _CASES_COLUMNS}
    for column in columns:
        name = column[len(CASE_PREFIX):] if column.startswith(CASE_PREFIX) else column
        if not name or name.lower() in used:
            name = column
        used.add(name.lower())
        out[column] = name
    return out

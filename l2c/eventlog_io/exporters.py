"""Export the l2c event log to the formats other process-mining tools read.

``export_event_log`` reads ``l2c.event_log`` and ``l2c.cases`` (read-only)
and writes

- ``csv`` / ``parquet``: one row per event, the case attributes alongside as
  ``case:<name>`` columns (pm4py's convention), sorted by case and time;
- ``xes``: IEEE 1849-2016 XES (``.xes`` or gzip ``.xes.gz``), case attributes
  as trace attributes and every event column as a typed event attribute,
  readable by pm4py and ProM;
- ``ocel-json`` / ``ocel-sqlite``: OCEL 2.0, see :mod:`l2c.eventlog_io.ocel`.

The XES writer streams batches and builds each batch's XML with vectorised
polars string expressions, so exporting millions of events does not loop in
Python per event.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import duckdb
import polars as pl

from analysis import columns as C
from l2c import config
from l2c.eventlog_io.duck import qualified, quote, relation_kind
from l2c.eventlog_io.errors import EventLogImportError
from l2c.eventlog_io.mapping import LIFECYCLE_COLUMN

EXPORT_FORMATS = ("csv", "parquet", "xes", "ocel-json", "ocel-sqlite")
#: Case columns that describe the events rather than the case; not exported as case attributes.
_DERIVED_CASE_COLUMNS = (C.CASE_ID, C.FIRST_EVENT_AT, C.LAST_EVENT_AT, C.EVENT_COUNT)
_BATCH_ROWS = 50_000
#: DuckDB's memory budget while exporting (sorting and grouping spill to disk beyond it).
MEMORY_LIMIT = "1GB"


class ExportError(EventLogImportError):
    """The event log cannot be exported (no database, no event log, unknown format...)."""


@dataclass
class ExportSummary:
    path: Path
    format: str
    events: int
    cases: int
    objects: int | None = None
    relations: int | None = None

    def to_text(self) -> str:
        text = f"wrote {self.path} ({self.format}): {self.events:,} events, {self.cases:,} cases"
        if self.objects is not None:
            text += f", {self.objects:,} objects, {self.relations:,} relations"
        return text


def format_for(path: Path, explicit: str | None) -> str:
    """The export format: ``explicit``, else from the file's suffix."""
    if explicit:
        if explicit not in EXPORT_FORMATS:
            raise ExportError(f"unknown export format {explicit!r}; choose one of {', '.join(EXPORT_FORMATS)}")
        return explicit
    name = path.name.lower()
    for suffix, fmt in ((".csv", "csv"), (".parquet", "parquet"), (".xes", "xes"), (".xes.gz", "xes"),
                        (".jsonocel", "ocel-json"), (".json", "ocel-json"), (".sqlite", "ocel-sqlite"),
                        (".sqlite3", "ocel-sqlite"), (".db", "ocel-sqlite")):
        if name.endswith(suffix):
            return fmt
    raise ExportError(f"cannot tell the export format from {path.name!r}: pass --format ({', '.join(EXPORT_FORMATS)})")


def export_event_log(out: str | Path, db: str | Path | None = None, *, format: str | None = None) -> ExportSummary:
    """Write the event log of DuckDB file ``db`` to ``out`` as ``format`` (default: from the suffix).

    Raises:
        ExportError: no such database, no ``l2c.event_log`` in it, or an unknown format.
    """
    out = Path(out)
    fmt = format_for(out, format)
    database = config.duckdb_path(db)
    if not database.is_file():
        raise ExportError(f"no DuckDB file at {database}: run the pipeline or `l2c import` first")
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(database), read_only=True)
    except duckdb.Error as exc:
        raise ExportError(f"cannot open {database} to read: {exc} (is a pipeline run writing to it?)") from exc
    with con:
        con.execute("SET TimeZone = 'UTC'")
        con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
        for name in ("event_log", "cases"):
            if relation_kind(con, config.MARTS_SCHEMA, name) is None:
                raise ExportError(
                    f"{config.MARTS_SCHEMA}.{name} not found in {database}: build the marts "
                    "(`l2c transform`) or import a log (`l2c import FILE`) first"
                )
        if fmt in ("ocel-json", "ocel-sqlite"):
            from l2c.eventlog_io.ocel import export_ocel

            return export_ocel(con, out, fmt)
        log = _LogColumns(con)
        if fmt == "xes":
            _write_xes(con, log, out)
        else:
            _copy_flat(con, log, out, fmt)
        return ExportSummary(out, fmt, log.events, log.cases)


class _LogColumns:
    """The event-log and case columns worth exporting (those not null everywhere), with their types."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.event_log = qualified(con, config.MARTS_SCHEMA, "event_log")
        self.cases_table = qualified(con, config.MARTS_SCHEMA, "cases")
        self.event_types = _non_null_columns(con, self.event_log)
        self.case_types = {
            k: v for k, v in _non_null_columns(con, self.cases_table).items() if k not in _DERIVED_CASE_COLUMNS
        }
        self.events = con.execute(f"SELECT count(*) FROM {self.event_log}").fetchall()[0][0]
        self.cases = con.execute(f"SELECT count(DISTINCT case_id) FROM {self.event_log}").fetchall()[0][0]

    def joined(self, event_names: dict[str, str] | None = None, case_prefix: str = "case:") -> str:
        """SELECT of events with their case's attributes, in case/time order."""
        event_names = event_names or {}
        select = [f"e.{quote(c)} AS {quote(event_names.get(c, c))}" for c in self.event_types]
        select += [f"c.{quote(c)} AS {quote(case_prefix + c)}" for c in self.case_types]
        return (
            f"SELECT {', '.join(select)} FROM {self.event_log} AS e "
            f"LEFT JOIN {self.cases_table} AS c ON c.case_id = e.case_id "
            f"ORDER BY e.case_id, e.{quote(C.TIMESTAMP)}, e.activity_order, e.event_id"
        )


def _non_null_columns(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    """{column: DuckDB type} of the columns of ``table`` holding at least one value, in table order."""
    columns = con.execute(f"SELECT column_name, column_type FROM (DESCRIBE {table})").fetchall()
    if not columns:
        return {}
    counts = con.execute(
        "SELECT " + ", ".join(f"count({quote(name)})" for name, _ in columns) + f" FROM {table}"
    ).fetchall()[0]
    keep = {C.CASE_ID, C.ACTIVITY, C.TIMESTAMP, C.EVENT_ID}
    return {name: dtype for (name, dtype), n in zip(columns, counts, strict=True) if n or name in keep}


def _copy_flat(con: duckdb.DuckDBPyConnection, log: _LogColumns, out: Path, fmt: str) -> None:
    query = log.joined()
    if fmt == "csv":
        # ISO 8601 with an explicit UTC offset, which every CSV reader (and `l2c import`) understands.
        types = {**log.event_types, **{"case:" + k: v for k, v in log.case_types.items()}}
        outer = ", ".join(
            f"strftime({quote(c)}, '%Y-%m-%d %H:%M:%S.%f') || '+00:00' AS {quote(c)}"
            if types.get(c, "").startswith("TIMESTAMP WITH TIME ZONE") else quote(c)
            for c in (*log.event_types, *("case:" + k for k in log.case_types))
        )
        query = f"SELECT {outer} FROM ({query})"
        options = "FORMAT csv, HEADER true"
    else:
        options = "FORMAT parquet, COMPRESSION zstd"
    con.execute(f"COPY ({query}) TO '{_sql_path(out)}' ({options})")


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


# --------------------------------------------------------------------------- XES

#: Canonical event-log columns written under the XES standard extensions' keys.
XES_EVENT_KEYS = {
    C.ACTIVITY: "concept:name",
    C.TIMESTAMP: "time:timestamp",
    C.RESOURCE_NAME: "org:resource",
    C.RESOURCE_ROLE: "org:role",
    C.EVENT_ID: "identity:id",
    LIFECYCLE_COLUMN: "lifecycle:transition",
}
_XES_EXTENSIONS = (
    ("Concept", "concept", "http://www.xes-standard.org/concept.xesext"),
    ("Time", "time", "http://www.xes-standard.org/time.xesext"),
    ("Organizational", "org", "http://www.xes-standard.org/org.xesext"),
    ("Lifecycle", "lifecycle", "http://www.xes-standard.org/lifecycle.xesext"),
    ("Identity", "identity", "http://www.xes-standard.org/identity.xesext"),
)


def _write_xes(con: duckdb.DuckDBPyConnection, log: _LogColumns, out: Path) -> None:
    event_keys = _xes_event_keys(con, log)
    case_keys = {c: c for c in log.case_types}
    select = [f"e.{quote(c)} AS {quote('e:' + c)}" for c in event_keys]
    select += [f"c.{quote(c)} AS {quote('c:' + c)}" for c in case_keys]
    query = (
        f"SELECT e.case_id AS {quote('t:case_id')}, {', '.join(select)} FROM {log.event_log} AS e "
        f"LEFT JOIN {log.cases_table} AS c ON c.case_id = e.case_id "
        f"ORDER BY e.case_id, e.{quote(C.TIMESTAMP)}, e.activity_order, e.event_id"
    )
    with _open_text(out) as handle:
        handle.write(_xes_header(has_lifecycle=LIFECYCLE_COLUMN in event_keys))
        previous: str | None = None
        for batch in _batches(con, query):
            lines, previous = _xes_lines(batch, event_keys, case_keys, previous)
            if lines:
                handle.write(lines)
                handle.write("\n")
        if previous is not None:
            handle.write("\t</trace>\n")
        handle.write("</log>\n")


def _xes_event_keys(con: duckdb.DuckDBPyConnection, log: _LogColumns) -> dict[str, str]:
    """{event-log column: XES key}. The resource is written by name (``org:resource``);
    the id goes to ``org:resource_id`` only where it differs from the name."""
    keys: dict[str, str] = {}
    taken = set(XES_EVENT_KEYS.values())
    for column in log.event_types:
        if column == C.CASE_ID:
            continue
        if column == C.RESOURCE:
            if C.RESOURCE_NAME not in log.event_types:
                keys[column] = "org:resource"
            elif con.execute(
                f"SELECT count(*) FROM {log.event_log} WHERE resource IS DISTINCT FROM resource_name"
            ).fetchall()[0][0]:
                keys[column] = "org:resource_id"
            continue
        key = XES_EVENT_KEYS.get(column, column)
        if column not in XES_EVENT_KEYS and key in taken:
            continue  # e.g. an imported column literally named concept:name next to the mapped activity
        keys[column] = key
    return keys


def _xes_header(*, has_lifecycle: bool) -> str:
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             '<log xes.version="1849-2016" xes.features="" xmlns="http://www.xes-standard.org/">']
    lines += [f'\t<extension name="{n}" prefix="{p}" uri="{u}"/>' for n, p, u in _XES_EXTENSIONS]
    lines.append('\t<classifier name="Activity" keys="concept:name"/>')
    if has_lifecycle:
        lines.append('\t<classifier name="Activity and lifecycle" keys="concept:name lifecycle:transition"/>')
    lines.append('\t<string key="concept:name" value="l2c event log"/>')
    return "\n".join(lines) + "\n"


def _xes_lines(
    batch: pl.DataFrame, event_keys: dict[str, str], case_keys: dict[str, str], previous: str | None
) -> tuple[str, str | None]:
    """The XML of a batch of events (opening and closing traces as the case changes)."""
    if batch.is_empty():
        return "", previous
    case = pl.col("t:case_id")
    first_of_case = case.ne_missing(case.shift(1, fill_value=pl.lit(previous, dtype=pl.String)))
    trace_attributes = [_xes_attribute(key, pl.col("c:" + c), batch.schema["c:" + c]) for c, key in case_keys.items()]
    open_trace = pl.concat_str(
        [
            pl.lit("\t<trace>"),
            pl.concat_str([pl.lit('<string key="concept:name" value="'), _escape(case), pl.lit('"/>')]),
            *trace_attributes,
        ],
        ignore_nulls=True,
    )
    # Every trace after the first closes the previous one.
    first_row = pl.int_range(pl.len()) == 0
    close_previous = pl.when(first_row & pl.lit(previous is None)).then(pl.lit("")).otherwise(pl.lit("\t</trace>\n"))
    trace_prefix = pl.when(first_of_case).then(pl.concat_str([close_previous, open_trace, pl.lit("\n")]))
    attributes = [_xes_attribute(key, pl.col("e:" + c), batch.schema["e:" + c]) for c, key in event_keys.items()]
    line = pl.concat_str(
        [trace_prefix, pl.lit("\t\t<event>"), *attributes, pl.lit("</event>")], ignore_nulls=True
    )
    text = batch.select(line.alias("xml")).get_column("xml").str.join("\n").item()
    return text, batch.get_column("t:case_id")[-1]


def _xes_attribute(key: str, value: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """``<type key="key" value="..."/>`` per row, null where the value is null."""
    tag, text = _xes_typed(value, dtype)
    return pl.concat_str([pl.lit(f'<{tag} key="{_escape_text(key)}" value="'), text, pl.lit('"/>')])


def _xes_typed(value: pl.Expr, dtype: pl.DataType) -> tuple[str, pl.Expr]:
    if dtype == pl.Boolean:
        return "boolean", pl.when(value).then(pl.lit("true")).otherwise(pl.lit("false"))
    if dtype.is_integer():
        return "int", value.cast(pl.String)
    if dtype.is_float() or isinstance(dtype, pl.Decimal):
        number = value.cast(pl.Float64)
        return "float", pl.when(number.is_finite()).then(number.cast(pl.String))
    if isinstance(dtype, pl.Datetime):
        utc = value.dt.convert_time_zone("UTC") if dtype.time_zone else value.dt.replace_time_zone("UTC")
        return "date", utc.dt.strftime("%Y-%m-%dT%H:%M:%S%.3f+00:00")
    if dtype == pl.Date:
        return "date", value.dt.strftime("%Y-%m-%dT00:00:00.000+00:00")
    return "string", _escape(value.cast(pl.String))


def _escape(text: pl.Expr) -> pl.Expr:
    """XML-escape an attribute value; drop characters XML 1.0 cannot hold; keep line breaks as references."""
    return (
        text.str.replace_all(r"[\x00-\x08\x0B\x0C\x0E-\x1F]", "")
        .str.replace_all("&", "&amp;", literal=True)
        .str.replace_all("<", "&lt;", literal=True)
        .str.replace_all(">", "&gt;", literal=True)
        .str.replace_all('"', "&quot;", literal=True)
        .str.replace_all("\n", "&#10;", literal=True)
        .str.replace_all("\r", "&#13;", literal=True)
        .str.replace_all("\t", "&#9;", literal=True)
    )


def _escape_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _batches(con: duckdb.DuckDBPyConnection, query: str) -> Iterator[pl.DataFrame]:
    for batch in con.sql(query).to_arrow_reader(_BATCH_ROWS):
        yield pl.from_arrow(batch)


def _open_text(path: Path) -> IO[str]:
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "wt", encoding="utf-8")
    return path.open("w", encoding="utf-8")

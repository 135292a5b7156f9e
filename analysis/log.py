"""Read and validate an event log: the one entry point every analysis starts from.

``read_event_log`` accepts whatever an analyst has at hand (a polars or pandas
frame, a polars LazyFrame, a DuckDB relation or table, a Parquet/CSV file),
maps the user's column names to the canonical ones of ``analysis.columns``,
normalises timestamps to UTC and sorts the events once. Every verb
(``variants``, ``process_map``, ...) then relies on that order instead of
re-sorting, and on the guarantees checked here instead of re-checking.

Problems are collected and raised together as one ``EventLogError`` that names
the column at fault and the first offending rows, so a bad file is fixed in
one round trip rather than one error at a time.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import polars as pl

from analysis import columns as C

#: Timestamps of a validated log: microseconds (DuckDB's TIMESTAMPTZ precision), UTC.
TIMESTAMP_DTYPE = pl.Datetime("us", "UTC")

_ROW = "__l2c_source_row"
_MAX_ROWS_SHOWN = 5
# A string timestamp carries an explicit offset if its time of day ends in Z, +hh, +hhmm or +hh:mm.
_OFFSET_PATTERN = r"\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:[zZ]|(?:UTC|GMT)?[+-]\d{2}(?::?\d{2})?)$"


class EventLogError(ValueError):
    """An event log that cannot be analysed; ``problems`` lists every finding.

    Each problem is a dict with ``column`` (the column as named in the source),
    ``message`` and ``rows`` (0-based row numbers in the source, first few only).
    """

    def __init__(self, problems: Sequence[Mapping[str, Any]], source: str = "event log"):
        self.problems = [dict(p) for p in problems]
        lines = [f"invalid {source}:"]
        for p in self.problems:
            where = f" (first offending rows: {_format_rows(p['rows'], p.get('examples'))})" if p.get("rows") else ""
            lines.append(f"  - column {p['column']!r}: {p['message']}{where}")
        super().__init__("\n".join(lines))


def _format_rows(rows: Sequence[int], examples: Sequence[Any] | None) -> str:
    if examples is None:
        return ", ".join(str(r) for r in rows)
    return ", ".join(f"{r} ({e!r})" for r, e in zip(rows, examples, strict=False))


class EventLog:
    """A validated event log: a polars DataFrame with canonical column names, sorted.

    Guarantees (checked by :func:`read_event_log`):

    - ``case_id`` (String), ``activity`` (String), ``timestamp``
      (Datetime("us", "UTC")) are present and never null;
    - ``event_id`` (String) is present: the source's event id, or the source
      row number when the source has none;
    - ``activity_order`` (Int64) is present (null when the source has none);
    - rows are sorted by ``case_id``, ``timestamp``, ``activity_order``,
      ``event_id`` and finally the source row order, so the events of a case
      are contiguous and in the order the analyses use;
    - every other source column is kept unchanged (event and case attributes).

    Build one with :func:`read_event_log`; the constructor trusts its input.

    >>> import polars as pl, analysis
    >>> log = analysis.read_event_log(pl.DataFrame({
    ...     "case_id": ["a", "a"], "activity": ["Lead Created", "Lead Converted"],
    ...     "timestamp": ["2024-01-05 10:00:00", "2024-01-06 09:30:00"]}))
    >>> log.n_cases, log.n_events
    (1, 2)
    """

    __slots__ = ("_cache", "_events")

    def __init__(self, events: pl.DataFrame):
        self._events = events
        # Per-log memo for derived tables several verbs share (case index, variants, ...);
        # safe because the events never change after construction.
        self._cache: dict[str, Any] = {}

    @property
    def events(self) -> pl.DataFrame:
        """The events (read-only: build a new log with :func:`read_event_log` to change them)."""
        return self._events

    @property
    def n_events(self) -> int:
        return self.events.height

    @property
    def n_cases(self) -> int:
        return self.events.get_column(C.CASE_ID).n_unique() if self.events.height else 0

    @property
    def attributes(self) -> list[str]:
        """Columns beyond the canonical ``case_id``/``activity``/``timestamp``/``event_id``/``activity_order``."""
        core = {C.CASE_ID, C.ACTIVITY, C.TIMESTAMP, C.EVENT_ID, C.ACTIVITY_ORDER}
        return [c for c in self.events.columns if c not in core]

    def case_index(self) -> pl.Series:
        """Per event, the 0-based number of its case in log order (UInt32): a cheap integer group key."""
        if "case_index" not in self._cache:
            self._cache["case_index"] = self.events.get_column(C.CASE_ID).rle_id().alias("case_index")
        return self._cache["case_index"]

    def case_starts(self) -> pl.Series:
        """Row number of the first event of each case, in log order (one entry per case)."""
        if "case_starts" not in self._cache:
            index = self.case_index()
            first = index.ne_missing(index.shift(1)).fill_null(True) if len(index) else index.cast(pl.Boolean)
            self._cache["case_starts"] = first.arg_true().alias("case_start")
        return self._cache["case_starts"]

    def activity_codes(self) -> tuple[pl.Series, list[str]]:
        """Per event, a small integer code of its activity, and the activity names by code (sorted)."""
        if "activity_codes" not in self._cache:
            activity = self.events.get_column(C.ACTIVITY)
            names = activity.unique().sort().to_list()
            codes = activity.cast(pl.Enum(names)).to_physical().cast(pl.UInt32).alias("activity_code")
            self._cache["activity_codes"] = (codes, names)
        return self._cache["activity_codes"]

    def lazy(self) -> pl.LazyFrame:
        return self.events.lazy()

    def to_polars(self) -> pl.DataFrame:
        return self.events

    def to_pandas(self):
        """The events as a pandas DataFrame (needs pandas and pyarrow)."""
        return self.events.to_pandas()

    def __len__(self) -> int:
        return self.events.height

    def __repr__(self) -> str:
        return f"EventLog({self.n_cases} cases, {self.n_events} events, columns={self.events.columns})"


def read_event_log(
    source: Any,
    case: str = C.CASE_ID,
    activity: str = C.ACTIVITY,
    timestamp: str = C.TIMESTAMP,
    *,
    event_id: str | None = None,
    activity_order: str | None = None,
    resource: str | None = None,
    rename: Mapping[str, str] | None = None,
    timezone: str = "UTC",
    timestamp_format: str | None = None,
    con: Any = None,
    db: str | os.PathLike | None = None,
) -> EventLog:
    """Read, validate and normalise an event log.

    Args:
        source: a polars DataFrame or LazyFrame, a pandas DataFrame, a pyarrow
            Table, a DuckDB relation, a ``(duckdb_connection, "schema.table")``
            tuple, a table name together with ``con=`` (a DuckDB connection) or
            ``db=`` (a DuckDB file, opened read-only), a path to a ``.parquet``
            or ``.csv`` file, or an :class:`EventLog` (returned unchanged).
        case, activity, timestamp: the source's column names for the case id,
            activity name and event time (pm4py's ``case:concept:name``,
            ``concept:name``, ``time:timestamp`` for a pm4py frame).
        event_id, activity_order, resource: optional source columns mapped to
            ``event_id``, ``activity_order`` and ``resource``; by default the
            canonical names are used when present.
        rename: further ``{source_column: new_name}`` renames for attributes.
        timezone: the zone of naive timestamps (no offset); aware timestamps
            are converted from their own offset. Default UTC.
        timestamp_format: a strftime format for string timestamps; inferred
            when omitted.

    Returns:
        An :class:`EventLog` with UTC timestamps, sorted by case, timestamp,
        activity_order, event_id.

    Raises:
        EventLogError: one error listing every problem found (missing columns,
            null case ids/activities/timestamps, unparseable timestamps, naive
            and aware timestamps mixed), each naming the column and first rows.

    >>> import polars as pl, analysis
    >>> df = pl.DataFrame({
    ...     "case:concept:name": ["1", "1", "2"],
    ...     "concept:name": ["register", "decide", "register"],
    ...     "time:timestamp": ["2024-03-30 09:00:00+01:00", "2024-04-02 10:00:00+02:00",
    ...                        "2024-03-31 08:00:00+01:00"]})
    >>> log = analysis.read_event_log(df, case="case:concept:name", activity="concept:name",
    ...                               timestamp="time:timestamp")
    >>> log.events.select("case_id", "activity", "timestamp").rows()[0]
    ('1', 'register', datetime.datetime(2024, 3, 30, 8, 0, tzinfo=zoneinfo.ZoneInfo(key='UTC')))
    """
    if isinstance(source, EventLog):
        return source
    frame, label = _to_polars(source, con=con, db=db)
    mapping = {case: C.CASE_ID, activity: C.ACTIVITY, timestamp: C.TIMESTAMP}
    for canonical, given in ((C.EVENT_ID, event_id), (C.ACTIVITY_ORDER, activity_order), (C.RESOURCE, resource)):
        if given is not None:
            mapping[given] = canonical
    mapping.update(rename or {})
    return _validate(frame, mapping, timezone=timezone, timestamp_format=timestamp_format, label=label)


def as_event_log(source: Any, **keys: Any) -> EventLog:
    """``source`` itself when it is an :class:`EventLog`, else ``read_event_log(source, **keys)``.

    The verbs call this so they accept a validated log or any frame with the
    canonical column names.
    """
    if isinstance(source, EventLog):
        return source
    return read_event_log(source, **keys)


# --------------------------------------------------------------------------- sources


def _to_polars(source: Any, *, con: Any, db: str | os.PathLike | None) -> tuple[pl.DataFrame, str]:
    """Materialise any supported source as a polars DataFrame plus a label for error messages."""
    if isinstance(source, pl.DataFrame):
        return source, "event log"
    if isinstance(source, pl.LazyFrame):
        return source.collect(), "event log"
    if isinstance(source, tuple) and len(source) == 2 and isinstance(source[1], str):
        return _duckdb_table(source[0], source[1]), f"event log (table {source[1]})"
    if isinstance(source, (str, os.PathLike)) and (con is not None or db is not None):
        name = str(source)
        if con is not None:
            return _duckdb_table(con, name), f"event log (table {name})"
        import duckdb

        with duckdb.connect(str(db), read_only=True) as connection:
            return _duckdb_table(connection, name), f"event log (table {name} in {db})"
    if isinstance(source, (str, os.PathLike)):
        return _read_file(Path(source)), f"event log ({source})"
    module = type(source).__module__
    if module.startswith("pandas"):
        return _from_pandas(source), "event log"
    if module.startswith("pyarrow"):
        return pl.from_arrow(source), "event log"
    if module.startswith("duckdb") and hasattr(source, "pl"):
        return source.pl(), "event log (DuckDB relation)"
    raise TypeError(
        f"read_event_log cannot read a {type(source).__name__}: pass a polars/pandas DataFrame, a polars "
        "LazyFrame, a DuckDB relation, (connection, table), a table name with con=/db=, or a .parquet/.csv path"
    )


def _duckdb_table(con: Any, name: str) -> pl.DataFrame:
    try:
        relation = con.table(name)
    except Exception as exc:  # duckdb raises CatalogException/BinderException; name the table either way
        # "l2c.event_log" in a file named l2c.duckdb is ambiguous (catalog l2c or schema l2c):
        # the schema in the current database is what is meant.
        if "Ambiguous reference" in str(exc) and name.count(".") == 1:
            database = con.sql("select current_database()").fetchall()[0][0]
            return _duckdb_table(con, f'"{database}".{name}')
        raise EventLogError([{"column": "-", "message": f"table {name!r} not found in DuckDB: {exc}"}]) from exc
    return relation.pl()


def _read_file(path: Path) -> pl.DataFrame:
    if not path.exists():
        raise FileNotFoundError(f"event log file not found: {path}")
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".parquet":
        return pl.read_parquet(path)
    if ".csv" in suffixes:
        # Timestamps stay strings here: their parsing (offsets, zones) is ours to check.
        return pl.read_csv(path, try_parse_dates=False, infer_schema_length=10_000)
    raise ValueError(f"unsupported event log file {path.name}: expected .parquet or .csv (XES: see docs/import.md)")


def _from_pandas(df: Any) -> pl.DataFrame:
    # Object columns of Python datetimes with differing tzinfo do not convert;
    # strings keep their offsets and go through the same parser as CSV text.
    df = df.copy()
    for name in df.columns:
        if str(df[name].dtype) == "object":
            sample = df[name].dropna()
            if len(sample) and not isinstance(sample.iloc[0], str):
                df[name] = df[name].map(lambda v: None if v is None or v != v else str(v))
    return pl.from_pandas(df)


# --------------------------------------------------------------------------- validation


def _validate(
    frame: pl.DataFrame, mapping: dict[str, str], *, timezone: str, timestamp_format: str | None, label: str
) -> EventLog:
    problems: list[dict[str, Any]] = []
    missing = [src for src in mapping if src not in frame.columns]
    keyword = {C.CASE_ID: "case", C.ACTIVITY: "activity", C.TIMESTAMP: "timestamp"}
    for src in missing:
        hint = f"pass {keyword[mapping[src]]}=<column>" if mapping[src] in keyword else f"mapped to {mapping[src]!r}"
        problems.append({
            "column": src,
            "message": f"missing ({hint}); available columns: {', '.join(frame.columns) or 'none'}",
        })
    if missing:
        raise EventLogError(problems, label)
    clashes = [
        new for src, new in mapping.items()
        if new in frame.columns and new not in mapping and src != new
    ]
    for new in clashes:
        problems.append({
            "column": new,
            "message": f"exists in the source but another column is mapped to {new!r}; rename or drop one of them",
        })
    if clashes:
        raise EventLogError(problems, label)

    source_name = {v: k for k, v in mapping.items()}
    df = frame.rename({k: v for k, v in mapping.items() if k != v}).with_row_index(_ROW)

    for column in (C.CASE_ID, C.ACTIVITY):
        if df.schema[column] != pl.String:
            df = df.with_columns(pl.col(column).cast(pl.String))
    for column in (C.CASE_ID, C.ACTIVITY, C.TIMESTAMP):
        problems += _null_problems(df, column, source_name.get(column, column), "is empty (null)")

    ts_src = source_name.get(C.TIMESTAMP, C.TIMESTAMP)
    parsed, ts_problems = _parse_timestamps(df, ts_src, timezone, timestamp_format)
    problems += ts_problems
    if problems:
        raise EventLogError(problems, label)
    df = df.with_columns(parsed.alias(C.TIMESTAMP))

    if C.ACTIVITY_ORDER in df.columns:
        if not df.schema[C.ACTIVITY_ORDER].is_integer():
            problems += _cast_problems(df, C.ACTIVITY_ORDER, source_name.get(C.ACTIVITY_ORDER, C.ACTIVITY_ORDER))
            if problems:
                raise EventLogError(problems, label)
        df = df.with_columns(pl.col(C.ACTIVITY_ORDER).cast(pl.Int64))
    else:
        df = df.with_columns(pl.lit(None, dtype=pl.Int64).alias(C.ACTIVITY_ORDER))
    has_event_id = C.EVENT_ID in df.columns

    run = df.get_column(C.CASE_ID).rle_id()
    if not _in_case_order(df, run, has_event_id):
        keys = [C.CASE_ID, C.TIMESTAMP, C.ACTIVITY_ORDER] + ([C.EVENT_ID] if has_event_id else []) + [_ROW]
        df = df.sort(keys, nulls_last=True)
        run = df.get_column(C.CASE_ID).rle_id()
    event_ids = pl.col(C.EVENT_ID if has_event_id else _ROW).cast(pl.String)
    df = df.with_columns(event_ids.alias(C.EVENT_ID))

    head = [C.EVENT_ID, C.CASE_ID, C.ACTIVITY, C.TIMESTAMP, C.ACTIVITY_ORDER]
    rest = [c for c in df.columns if c not in head and c != _ROW]
    log = EventLog(df.select(head + rest))
    log._cache["case_index"] = run.alias("case_index")
    return log


def _null_problems(df: pl.DataFrame, column: str, shown_as: str, message: str) -> list[dict[str, Any]]:
    bad = df.filter(pl.col(column).is_null())
    if bad.is_empty():
        return []
    rows = bad.get_column(_ROW).head(_MAX_ROWS_SHOWN).to_list()
    return [{"column": shown_as, "message": f"{message} in {bad.height} rows", "rows": rows}]


def _cast_problems(df: pl.DataFrame, column: str, shown_as: str) -> list[dict[str, Any]]:
    cast = pl.col(column).cast(pl.Int64, strict=False)
    bad = df.filter(cast.is_null() & pl.col(column).is_not_null())
    if bad.is_empty():
        return []
    return [{
        "column": shown_as,
        "message": f"is not an integer in {bad.height} rows",
        "rows": bad.get_column(_ROW).head(_MAX_ROWS_SHOWN).to_list(),
        "examples": bad.get_column(column).head(_MAX_ROWS_SHOWN).to_list(),
    }]


def _in_case_order(df: pl.DataFrame, run: pl.Series, has_event_id: bool) -> bool:
    """Whether each case's events are already contiguous and ordered: an O(n) check that usually saves a sort.

    ``run`` numbers the runs of equal case ids; the cases are contiguous when
    there are as many runs as distinct ids. Within a run, rows must not go back
    in (timestamp, activity_order, event_id) order, nulls last.
    """
    if df.height < 2:
        return True
    case = df.get_column(C.CASE_ID)
    # Sorted ids are contiguous; otherwise count distinct ids (a hash pass, several times slower).
    if not case.is_sorted() and run[-1] + 1 != case.n_unique():
        return False
    big = pl.lit(2**63 - 1, dtype=pl.Int64)
    ts = pl.col(C.TIMESTAMP).to_physical()
    order = pl.col(C.ACTIVITY_ORDER).fill_null(big)
    same_case = pl.col("run") == pl.col("run").shift(1)
    checks = df.select(
        run.alias("run"), ts.alias("ts"), order.alias("order")
    ).select(
        back=same_case & ((pl.col("ts") < pl.col("ts").shift(1)) | (
            (pl.col("ts") == pl.col("ts").shift(1)) & (pl.col("order") < pl.col("order").shift(1)))),
        tie=same_case & (pl.col("ts") == pl.col("ts").shift(1)) & (pl.col("order") == pl.col("order").shift(1)),
    )
    if checks.get_column("back").any():
        return False
    if not has_event_id:
        return True
    # Full ties fall back to event_id: compare just those rows with their predecessors.
    tied = checks.get_column("tie").fill_null(False).arg_true()
    if tied.len() == 0:
        return True
    ids = df.get_column(C.EVENT_ID)
    current, previous = ids.gather(tied), ids.gather(tied - 1)
    back = (current < previous).fill_null(False) | (previous.is_null() & current.is_not_null())
    return not back.any()


def _parse_timestamps(
    df: pl.DataFrame, shown_as: str, timezone: str, timestamp_format: str | None
) -> tuple[pl.Series, list[dict[str, Any]]]:
    """The timestamp column as Datetime(us, UTC), or the problems that prevent it."""
    values = df.get_column(C.TIMESTAMP)
    dtype = values.dtype
    if dtype == pl.Null:  # an empty log, or one whose nulls were reported already
        return values.cast(TIMESTAMP_DTYPE), []
    if dtype == pl.Date:
        values = values.cast(pl.Datetime("us"))
        dtype = values.dtype
    if isinstance(dtype, pl.Datetime):
        if dtype.time_zone is None:
            return _localise(df, values.dt.cast_time_unit("us"), shown_as, timezone)
        return values.dt.convert_time_zone("UTC").dt.cast_time_unit("us"), []
    if dtype != pl.String:
        return values, [{
            "column": shown_as,
            "message": f"has type {dtype}; expected a datetime or text such as '2024-01-05 10:00:00+01:00'",
        }]

    frame = df.select(_ROW, values.str.strip_chars().alias("text"))
    frame = frame.with_columns(pl.col("text").str.contains(_OFFSET_PATTERN).alias("aware"))
    present = frame.filter(pl.col("text").is_not_null())
    n_aware = present.get_column("aware").sum()
    if 0 < n_aware < present.height:
        aware = present.filter(pl.col("aware")).head(_MAX_ROWS_SHOWN)
        naive = present.filter(~pl.col("aware")).head(_MAX_ROWS_SHOWN)
        return values, [{
            "column": shown_as,
            "message": (
                f"mixes timestamps with a time-zone offset ({n_aware} rows, e.g. rows "
                f"{_format_rows(aware.get_column(_ROW).to_list(), aware.get_column('text').to_list())}) and "
                f"without one ({present.height - n_aware} rows); give every timestamp an offset, or none and "
                "pass timezone="
            ),
            "rows": naive.get_column(_ROW).to_list(),
            "examples": naive.get_column("text").to_list(),
        }]
    text = frame.get_column("text")
    # Polars infers one format from the first value; parse the leftovers again in
    # a few passes so logs mixing e.g. "…T…" and "… …" or with/without fractions work.
    parsed = _to_datetime(text, timestamp_format)
    for _ in range(3 if timestamp_format is None else 0):
        failed = parsed.is_null() & text.is_not_null()
        if not failed.any():
            break
        retry = _to_datetime(text.filter(failed), None)
        if retry.is_null().all():
            break
        parsed = parsed.scatter(failed.arg_true(), retry)
    failed = parsed.is_null() & text.is_not_null()
    if failed.any():
        bad = frame.filter(failed)
        fmt = f"with format {timestamp_format!r}" if timestamp_format else "(pass timestamp_format=)"
        return values, [{
            "column": shown_as,
            "message": f"cannot be parsed as a timestamp {fmt} in {bad.height} rows",
            "rows": bad.get_column(_ROW).head(_MAX_ROWS_SHOWN).to_list(),
            "examples": bad.get_column("text").head(_MAX_ROWS_SHOWN).to_list(),
        }]
    if n_aware:
        return parsed, []
    return _localise(df, parsed, shown_as, timezone)


def _to_datetime(text: pl.Series, fmt: str | None) -> pl.Series:
    try:
        out = text.str.to_datetime(format=fmt, strict=False, time_unit="us")
    except pl.exceptions.PolarsError:
        return pl.Series(text.name, [None] * text.len(), dtype=TIMESTAMP_DTYPE)
    if out.dtype.time_zone is None:  # type: ignore[union-attr]
        return out.dt.replace_time_zone("UTC")
    return out.dt.convert_time_zone("UTC")


def _localise(df: pl.DataFrame, naive: pl.Series, shown_as: str, timezone: str) -> tuple[pl.Series, list]:
    """Naive wall-clock times read in ``timezone``; times skipped by a DST change are reported."""
    if naive.dtype.time_zone is not None:  # type: ignore[union-attr]
        naive = naive.dt.replace_time_zone(None)
    try:
        local = naive.dt.replace_time_zone(timezone, ambiguous="earliest", non_existent="null")
    except pl.exceptions.PolarsError as exc:
        return naive, [{"column": shown_as, "message": f"cannot be read in time zone {timezone!r}: {exc}"}]
    gap = local.is_null() & naive.is_not_null()
    if gap.any():
        rows = df.get_column(_ROW).filter(gap).head(_MAX_ROWS_SHOWN).to_list()
        return naive, [{
            "column": shown_as,
            "message": f"has wall-clock times that do not exist in {timezone} (skipped by a DST change)",
            "rows": rows,
            "examples": [str(v) for v in naive.filter(gap).head(_MAX_ROWS_SHOWN).to_list()],
        }]
    return local.dt.convert_time_zone("UTC"), []

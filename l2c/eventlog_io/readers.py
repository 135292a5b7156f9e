"""Read event-log files (CSV, Excel, Parquet, XES) as a stream of polars batches.

Every reader yields frames of at most ``batch_rows`` rows with the file's own
column names plus ``_l2c_row``, the number under which a user finds the row in
the file, so a large file never has to fit in memory and every error can name
its row. CSV and Excel values stay text (the importer parses timestamps and
infers the other types over the whole file); Parquet keeps its types; XES
attributes get their declared types, except dates, which stay text until the
importer parses them with the same rules as every other timestamp.
"""

from __future__ import annotations

import datetime as dt
import gzip
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import polars as pl

from l2c.eventlog_io.errors import SourceError
from l2c.eventlog_io.mapping import CASE_PREFIX, ROW_COLUMN

#: File formats and the suffixes that select them.
FORMATS = {
    "csv": (".csv", ".tsv", ".txt", ".csv.gz", ".tsv.gz"),
    "xlsx": (".xlsx", ".xlsm"),
    "parquet": (".parquet", ".pq"),
    "xes": (".xes", ".xes.gz"),
}


def detect_format(path: Path) -> str:
    name = path.name.lower()
    for fmt, suffixes in FORMATS.items():
        if name.endswith(suffixes):
            return fmt
    known = ", ".join(s for suffixes in FORMATS.values() for s in suffixes)
    raise SourceError(f"cannot import {path.name}: unsupported file type (expected one of {known})")


def open_source(path: str | Path, *, sheet: str | None = None, encoding: str | None = None) -> Source:
    """The right reader for ``path`` by its suffix; raises :class:`SourceError` if it cannot be read."""
    path = Path(path)
    if not path.is_file():
        raise SourceError(f"file not found: {path}")
    fmt = detect_format(path)
    if sheet is not None and fmt != "xlsx":
        raise SourceError(f"--sheet applies to Excel files only, not to {path.name}")
    if encoding is not None and fmt != "csv":
        raise SourceError(f"--encoding applies to CSV files only, not to {path.name}")
    if fmt == "csv":
        return CsvSource(path, encoding=encoding)
    if fmt == "xlsx":
        return ExcelSource(path, sheet=sheet)
    if fmt == "parquet":
        return ParquetSource(path)
    return XesSource(path)


class Source:
    """A readable event-log file: its columns and a stream of batches."""

    format: str = ""
    #: Whether values are untyped text (CSV, Excel): the importer then infers column types.
    text_values: bool = False

    def __init__(self, path: Path):
        self.path = path
        self.columns: list[str] = []
        #: Columns holding XES dates as text, to be parsed as timestamps by the importer.
        self.date_columns: set[str] = set()
        #: Source columns renamed because DuckDB compares names case-insensitively.
        self.renamed: dict[str, str] = {}

    def batches(self, batch_rows: int) -> Iterator[pl.DataFrame]:
        raise NotImplementedError

    def row_label(self, row: int) -> str:
        """How a user finds row ``row`` (a ``_l2c_row`` value) in the file."""
        return f"row {row}"

    def close(self) -> None:  # noqa: B027 - optional hook
        pass

    def _set_columns(self, names: list[str]) -> None:
        """Record the columns, renaming blank names and names equal but for case (DuckDB would reject them)."""
        seen: set[str] = set()
        out = []
        for i, name in enumerate(names):
            new = name if name and name.strip() else f"column{i}"
            base, n = new, 2
            while new.lower() in seen or new == ROW_COLUMN:
                new, n = f"{base}_{n}", n + 1
            seen.add(new.lower())
            if new != name:
                self.renamed[name] = new
            out.append(new)
        self.columns = out


class CsvSource(Source):
    """CSV (any delimiter DuckDB's sniffer detects, optionally gzip-compressed), read all-text, streamed."""

    format = "csv"
    text_values = True

    def __init__(self, path: Path, *, encoding: str | None = None):
        super().__init__(path)
        import duckdb

        # A private in-memory DuckDB streams the file; it holds one batch at a time.
        self._con = duckdb.connect()
        self._con.execute("SET memory_limit = '512MB'")
        options: dict[str, Any] = {"header": True, "all_varchar": True}
        if encoding:
            options["encoding"] = encoding
        try:
            self._relation = self._con.read_csv(str(path), **options)
            names = list(self._relation.columns)
        except duckdb.Error as exc:
            raise SourceError(f"cannot read {path.name} as CSV: {_first_line(exc)}") from exc
        self._set_columns(names)
        self._names = names

    def batches(self, batch_rows: int) -> Iterator[pl.DataFrame]:
        import duckdb

        offset = 0
        try:
            reader = self._relation.to_arrow_reader(batch_rows)
            for batch in _rebatch((pl.from_arrow(b) for b in reader), batch_rows):
                frame = batch.rename(dict(zip(self._names, self.columns, strict=True)))
                # The header is row 1, as a spreadsheet shows the file.
                yield _with_rows(frame, offset + 2)
                offset += batch.height
        except duckdb.Error as exc:
            raise SourceError(f"cannot read {self.path.name} as CSV: {_first_line(exc)}") from exc

    def close(self) -> None:
        self._con.close()


class ExcelSource(Source):
    """An .xlsx sheet (the template's ``event_log`` sheet, else the first one), streamed with openpyxl."""

    format = "xlsx"
    text_values = True

    def __init__(self, path: Path, *, sheet: str | None = None):
        super().__init__(path)
        import openpyxl

        try:
            self._book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises zipfile/KeyError/InvalidFileException variants
            raise SourceError(f"cannot read {path.name} as an Excel workbook: {exc}") from exc
        names = self._book.sheetnames
        if sheet is None:
            sheet = "event_log" if "event_log" in names else names[0]
        elif sheet not in names:
            raise SourceError(f"{path.name} has no sheet {sheet!r}; its sheets are: {', '.join(names)}")
        self.sheet = sheet
        self._sheet = self._book[sheet]
        self._sheet.reset_dimensions()  # some writers store wrong dimensions; read what is there
        self._rows = self._sheet.iter_rows(values_only=True)
        self._header_row = 0
        for number, values in enumerate(self._rows, start=1):
            if any(v is not None and str(v).strip() for v in values):
                self._header_row = number
                header = list(values)
                while header and (header[-1] is None or not str(header[-1]).strip()):
                    header.pop()
                self._set_columns(["" if v is None else str(v).strip() for v in header])
                break
        else:
            raise SourceError(f"sheet {sheet!r} of {path.name} is empty: expected a header row and events")

    def batches(self, batch_rows: int) -> Iterator[pl.DataFrame]:
        width = len(self.columns)
        schema = dict.fromkeys(self.columns, pl.String)
        rows: list[tuple] = []
        numbers: list[int] = []
        for number, values in enumerate(self._rows, start=self._header_row + 1):
            cells = tuple(_cell_text(v) for v in values[:width])
            if all(c is None for c in cells):
                continue  # Excel keeps formatted but empty rows; they are not events
            rows.append(cells + (None,) * (width - len(cells)))
            numbers.append(number)
            if len(rows) >= batch_rows:
                yield _excel_frame(rows, numbers, schema)
                rows, numbers = [], []
        if rows:
            yield _excel_frame(rows, numbers, schema)

    def close(self) -> None:
        self._book.close()


def _excel_frame(rows: list[tuple], numbers: list[int], schema: dict) -> pl.DataFrame:
    frame = pl.DataFrame(rows, schema=schema, orient="row")
    return frame.with_columns(pl.Series(ROW_COLUMN, numbers, dtype=pl.Int64))


def _cell_text(value: Any) -> str | None:
    """An Excel cell as the text a CSV export of it would hold (dates in ISO 8601, no zone)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    text = str(value)
    return text if text.strip() else None


class ParquetSource(Source):
    """A Parquet file, streamed row group by row group with its own types."""

    format = "parquet"

    def __init__(self, path: Path):
        super().__init__(path)
        import pyarrow.parquet as pq

        try:
            self._file = pq.ParquetFile(path)
        except Exception as exc:  # pyarrow raises ArrowInvalid/OSError for non-Parquet bytes
            raise SourceError(f"cannot read {path.name} as Parquet: {exc}") from exc
        self._names = list(self._file.schema_arrow.names)
        self._set_columns(self._names)

    def batches(self, batch_rows: int) -> Iterator[pl.DataFrame]:
        offset = 0
        batches = (pl.from_arrow(b) for b in self._file.iter_batches(batch_size=batch_rows))
        for batch in _rebatch(batches, batch_rows):
            frame = batch.rename(dict(zip(self._names, self.columns, strict=True)))
            yield _with_rows(frame, offset + 1)
            offset += batch.height

    def close(self) -> None:
        self._file.close()


# --------------------------------------------------------------------------- XES

#: XES attribute elements and the polars type of their values (dates: see module docstring).
_XES_TYPES = {
    "string": pl.String, "id": pl.String, "date": pl.String,
    "int": pl.Int64, "float": pl.Float64, "boolean": pl.Boolean,
}


class XesSource(Source):
    """An XES (IEEE 1849-2016) log, plain or gzip, parsed with ``iterparse`` one trace at a time.

    Events become rows; trace attributes are repeated on each of their events
    under ``case:<key>`` as pm4py does; nested attributes, lists and log-level
    attributes are skipped. A first pass collects the attribute keys and types,
    the second yields the rows, so memory stays at one batch however large the log.
    """

    format = "xes"

    def __init__(self, path: Path):
        super().__init__(path)
        types: dict[str, str] = {}
        for trace, events in self._traces():
            for key, (kind, _) in trace.items():
                _merge_type(types, CASE_PREFIX + key, kind)
            for event in events:
                for key, (kind, _) in event.items():
                    _merge_type(types, key, kind)
        # Event attributes first, then case attributes, each in first-seen order.
        names = [k for k in types if not k.startswith(CASE_PREFIX)] + [k for k in types if k.startswith(CASE_PREFIX)]
        self._types = {k: types[k] for k in names}
        self._set_columns(names)
        self._rename = dict(zip(names, self.columns, strict=True))
        self.date_columns = {self._rename[k] for k, kind in self._types.items() if kind == "date"}

    def row_label(self, row: int) -> str:
        return f"event {row}"

    def batches(self, batch_rows: int) -> Iterator[pl.DataFrame]:
        schema = dict.fromkeys(self._types, pl.String)
        rows: list[dict[str, str]] = []
        offset = 1
        for trace, events in self._traces():
            case = {CASE_PREFIX + k: v for k, (_, v) in trace.items()}
            for event in events:
                row = {k: v for k, (_, v) in event.items()}
                row.update(case)
                rows.append(row)
            if len(rows) >= batch_rows:
                yield self._frame(rows, schema, offset)
                offset += len(rows)
                rows = []
        if rows or offset == 1:
            yield self._frame(rows, schema, offset)

    def _frame(self, rows: list[dict], schema: dict, offset: int) -> pl.DataFrame:
        frame = pl.from_dicts(rows, schema=schema) if rows else pl.DataFrame(schema=schema)
        casts = []
        for key, kind in self._types.items():
            if kind == "boolean":
                casts.append(pl.col(key).str.to_lowercase().str.strip_chars().eq("true").alias(key))
            elif _XES_TYPES.get(kind, pl.String) != pl.String:
                casts.append(pl.col(key).str.strip_chars().cast(_XES_TYPES[kind], strict=False))
        frame = frame.with_columns(casts).rename(self._rename)
        return _with_rows(frame, offset)

    def _traces(self) -> Iterator[tuple[dict, list[dict]]]:
        """(trace attributes, [event attributes]) per trace; attributes as ``{key: (type, text)}``."""
        with _open_maybe_gzip(self.path) as handle:
            root = None
            events: list[dict] = []
            try:
                for kind, elem in ET.iterparse(handle, events=("start", "end")):
                    if kind == "start":
                        if root is None:
                            root = elem
                            if _local(elem.tag) != "log":
                                raise SourceError(
                                    f"{self.path.name} is not an XES log: its root element is "
                                    f"<{_local(elem.tag)}>, expected <log>"
                                )
                        continue
                    tag = _local(elem.tag)
                    if tag == "event":
                        events.append(_attributes(elem))
                        elem.clear()
                    elif tag == "trace":
                        yield _attributes(elem), events
                        events = []
                        root.clear()  # drop the finished trace; memory stays at one trace
            except ET.ParseError as exc:
                raise SourceError(f"{self.path.name} is not valid XES (XML error: {exc})") from exc
            except (OSError, EOFError) as exc:  # truncated or corrupt gzip
                raise SourceError(f"cannot read {self.path.name}: {exc}") from exc
            if root is None:
                raise SourceError(f"{self.path.name} is empty: expected an XES <log>")


def _attributes(elem: ET.Element) -> dict[str, tuple[str, str | None]]:
    out = {}
    for child in elem:
        kind = _local(child.tag)
        if kind in _XES_TYPES:
            key = child.get("key")
            if key is not None:
                out[key] = (kind, child.get("value"))
    return out


def _merge_type(types: dict[str, str], key: str, kind: str) -> None:
    seen = types.get(key)
    if seen is None:
        types[key] = kind
    elif seen != kind:
        # int and float mix to float; any other disagreement keeps the text.
        types[key] = "float" if {seen, kind} == {"int", "float"} else "string"


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _open_maybe_gzip(path: Path) -> BinaryIO:
    with path.open("rb") as probe:
        magic = probe.read(2)
    return gzip.open(path, "rb") if magic == b"\x1f\x8b" else path.open("rb")


# --------------------------------------------------------------------------- helpers


def _with_rows(frame: pl.DataFrame, first: int) -> pl.DataFrame:
    return frame.with_columns(pl.int_range(first, first + frame.height, dtype=pl.Int64).alias(ROW_COLUMN))


def _rebatch(frames: Iterator[pl.DataFrame], batch_rows: int) -> Iterator[pl.DataFrame]:
    """Regroup small frames (DuckDB and pyarrow yield ~100k-row pieces) into batches of about ``batch_rows``."""
    pending: list[pl.DataFrame] = []
    size = 0
    for frame in frames:
        pending.append(frame)
        size += frame.height
        if size >= batch_rows:
            yield pl.concat(pending, how="vertical_relaxed", rechunk=True)
            pending, size = [], 0
    if pending:
        yield pl.concat(pending, how="vertical_relaxed", rechunk=True)


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__

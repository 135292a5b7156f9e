"""Record pages in Salesforce's wire formats: REST JSON and Bulk 2.0 CSV, written by polars.

REST: datetimes ``2024-01-05T10:00:00.000+0000``, dates ``2024-01-05``,
nulls as JSON ``null``, each record led by ``attributes`` {type, url}.
Bulk 2.0 CSV: every value quoted, header of field names, empty for null,
booleans ``true``/``false``, datetimes ``2024-01-05T10:00:00.000Z``.
Both are produced column-wise (no Python loop per record).
"""

from __future__ import annotations

import json

import polars as pl

JSON_DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%3f+0000"
CSV_DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%3fZ"
DATE_FORMAT = "%Y-%m-%d"

#: Bulk 2.0 ``columnDelimiter`` names and ``lineEnding`` values.
DELIMITERS = {"COMMA": ",", "TAB": "\t", "PIPE": "|", "SEMICOLON": ";", "CARET": "^", "BACKQUOTE": "`"}
LINE_ENDINGS = {"LF": "\n", "CRLF": "\r\n"}


def _formatted(frame: pl.DataFrame, datetime_format: str) -> pl.DataFrame:
    exprs = []
    for name, dtype in frame.schema.items():
        if isinstance(dtype, pl.Datetime):
            exprs.append(pl.col(name).dt.convert_time_zone("UTC").dt.strftime(datetime_format))
        elif dtype == pl.Date:
            exprs.append(pl.col(name).dt.strftime(DATE_FORMAT))
        else:
            exprs.append(pl.col(name))
    return frame.select(exprs) if exprs else frame


def records_json(frame: pl.DataFrame, object_name: str, api_version: str) -> str:
    """A JSON array of records, each ``{"attributes": {...}, <field>: <value>, ...}``."""
    if frame.height == 0:
        return "[]"
    body = _formatted(frame, JSON_DATETIME_FORMAT)
    url_prefix = f"/services/data/v{api_version}/sobjects/{object_name}/"
    if "Id" in frame.columns:
        url = pl.concat_str([pl.lit(url_prefix), pl.col("Id")])
    else:
        url = pl.lit(None, dtype=pl.String)
    attributes = pl.struct(pl.lit(object_name).alias("type"), url.alias("url")).alias("attributes")
    return body.select(attributes, *body.columns).write_json()


def query_page(total_size: int, done: bool, next_records_url: str | None, records: str) -> bytes:
    """The body of a ``query/`` answer, with the records array already serialised."""
    head = {"totalSize": total_size, "done": done}
    if next_records_url:
        head["nextRecordsUrl"] = next_records_url
    return (json.dumps(head)[:-1] + ', "records": ' + records + "}").encode()


def records_csv(frame: pl.DataFrame, column_delimiter: str = "COMMA", line_ending: str = "LF") -> bytes:
    """Bulk 2.0 query results: a CSV page with a header row, all values quoted, empty for null."""
    body = _formatted(frame, CSV_DATETIME_FORMAT)
    return body.write_csv(
        separator=DELIMITERS[column_delimiter],
        line_terminator=LINE_ENDINGS[line_ending],
        quote_style="always",
        null_value="",
    ).encode()

"""Reading records from the org in pages, as Arrow tables: REST ``queryAll`` and Bulk API 2.0.

Both readers are generators that yield one Arrow table per page (REST pages
are gathered into batches of ``rest_batch_rows``), so the caller streams
them into DuckDB and never holds a whole object in memory. Every request goes
through :meth:`OrgConnection.call` and is retried on its own: a failed
``nextRecordsUrl`` page or Bulk results page (located by ``Sforce-Locator``)
is fetched again, not the whole query.

Values keep their JSON types where Arrow can hold them (booleans, numbers);
datetimes and dates stay text and are cast by DuckDB when staged. Bulk CSV
columns are all text, also cast by DuckDB.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import queue
import threading
import time
from collections.abc import Iterator

import pyarrow as pa
import pyarrow.csv as pacsv
from simple_salesforce import Salesforce
from simple_salesforce.bulk2 import Operation
from simple_salesforce.util import call_salesforce

from l2c.extract.connection import OrgConnection, TruncatedResponse
from l2c.extract.errors import BulkFailed
from l2c.extract.fields import SelectedField
from l2c.extract.settings import SyncSettings

log = logging.getLogger("l2c.extract")

_BOOL_TYPES = {"boolean"}
_INT_TYPES = {"int", "long"}
_FLOAT_TYPES = {"double", "currency", "percent"}


def _text(value: object) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(value, separators=(",", ":"))


def _arrow_type(sf_type: str) -> pa.DataType | None:
    """The Arrow type a REST value of this describe type arrives as (None: decided per column)."""
    if sf_type in _BOOL_TYPES:
        return pa.bool_()
    if sf_type in _FLOAT_TYPES:
        return pa.float64()
    if sf_type in _INT_TYPES or sf_type == "anyType":
        return None
    return pa.string()


def _column(values: list, sf_type: str) -> pa.Array:
    """One column of a REST page as Arrow, typed where JSON already typed it."""
    try:
        if sf_type in _INT_TYPES:
            # Inferred, not forced to int64: Arrow would silently truncate 1.5; the writer rejects it instead.
            array = pa.array(values)
            if pa.types.is_integer(array.type) or pa.types.is_floating(array.type) or pa.types.is_null(array.type):
                return array
            raise TypeError(array.type)
        arrow_type = _arrow_type(sf_type)
        if arrow_type is None:
            raise TypeError(sf_type)
        return pa.array(values, arrow_type)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        # Unexpected JSON types (an anyType history value, a number for a text field): keep the text,
        # DuckDB's cast reports values that do not fit the column.
        return pa.array([_text(v) for v in values], pa.string())


def records_to_arrow(records: list[dict], fields: list[SelectedField]) -> pa.Table:
    """REST records (dicts keyed by API name) → an Arrow table with one column per selected field."""
    typed = [f for f in fields if _arrow_type(f.sf_type) is not None]
    try:
        # One C++ pass over the page for the columns whose JSON type is known.
        table = pa.Table.from_pylist(records, schema=pa.schema([(f.name, _arrow_type(f.sf_type)) for f in typed]))
        columns = {f.name: table.column(f.name) for f in typed}
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        columns = {}
    for f in fields:
        if f.name not in columns:
            columns[f.name] = _column([r.get(f.name) for r in records], f.sf_type)
    return pa.table({f.name: columns[f.name] for f in fields})


def rest_pages(conn: OrgConnection, object_name: str, soql: str, fields: list[SelectedField],
               settings: SyncSettings) -> Iterator[pa.Table]:
    """``queryAll`` (deleted records included) page by page, yielded as Arrow batches of ``rest_batch_rows``."""
    batch_rows = settings.rest_batch_rows
    headers = {"Sforce-Query-Options": f"batchSize={settings.rest_page_size}"}
    page = 1
    result = conn.call(f"{object_name}: REST queryAll page 1",
                       lambda sf: sf.query(soql, include_deleted=True, headers=headers))
    pending: list[dict] = []
    while True:
        pending.extend(result["records"])
        if len(pending) >= batch_rows:
            yield records_to_arrow(pending, fields)
            pending = []
        if result.get("done", True) or not result.get("nextRecordsUrl"):
            break
        page += 1
        url = result["nextRecordsUrl"]
        result = conn.call(
            f"{object_name}: REST queryAll page {page}",
            lambda sf, url=url: sf.query_more(url, identifier_is_url=True, headers=headers),
        )
    if pending or page == 1:
        yield records_to_arrow(pending, fields)


_DONE = object()


def prefetched(pages: Iterator[pa.Table], depth: int = 1) -> Iterator[pa.Table]:
    """Fetch the next page in a background thread while the caller stores the current one.

    At most ``depth`` pages wait in the queue, so memory stays bounded; an error in the fetching thread
    is raised here, in the caller's thread, and closing this generator stops the fetching thread.
    """
    box: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for page in pages:
                while not stop.is_set():
                    try:
                        box.put(page, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            box.put(_DONE)
        except BaseException as exc:  # handed to the consumer, which re-raises it
            box.put(exc)

    thread = threading.Thread(target=produce, name="l2c-extract-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item = box.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while thread.is_alive():
            with contextlib.suppress(queue.Empty):
                box.get(timeout=0.1)
        thread.join()


def count_records(conn: OrgConnection, object_name: str, where: str) -> int:
    """``SELECT COUNT()`` over ``queryAll`` (deleted records count too): one API call."""
    soql = f"SELECT COUNT() FROM {object_name}{where}"
    result = conn.call(f"{object_name}: COUNT()", lambda sf: sf.query(soql, include_deleted=True))
    return int(result["totalSize"])


# --- Bulk API 2.0 ------------------------------------------------------------------


def _bulk_client(sf: Salesforce, object_name: str):
    # The handler is rebuilt from sf on each call, so a re-authenticated session is picked up.
    return getattr(sf.bulk2, object_name)._client


def _results_page(sf: Salesforce, job_id: str, locator: str, max_records: int) -> tuple[bytes, int, str]:
    """One Bulk results page: CSV bytes, the record count Salesforce announced, and the next locator."""
    params: dict[str, object] = {"maxRecords": max_records}
    if locator:
        params["locator"] = locator
    headers = {
        "Authorization": "Bearer " + sf.session_id,
        "Content-Type": "application/json",
        "Accept": "text/csv",
    }
    response = call_salesforce(
        url=f"{sf.bulk2_url}query/{job_id}/results", method="GET", session=sf.session, headers=headers,
        params=params,
    )
    body = response.content
    announced = response.headers.get("Sforce-NumberOfRecords")
    next_locator = response.headers.get("Sforce-Locator", "")
    if next_locator == "null":
        next_locator = ""
    return body, int(announced) if announced is not None else -1, next_locator


def csv_to_arrow(body: bytes, fields: list[SelectedField]) -> pa.Table:
    """A Bulk CSV page → Arrow, every column text, empty values null, columns named like the fields."""
    if not body.strip():
        return pa.table({f.name: pa.array([], pa.string()) for f in fields})
    if b"\x00" in body:
        body = body.replace(b"\x00", b"")
    table = pacsv.read_csv(
        io.BytesIO(body),
        parse_options=pacsv.ParseOptions(newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(
            column_types={f.name: pa.string() for f in fields},
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
            null_values=[""],
        ),
    )
    by_lower = {name.lower(): name for name in table.column_names}
    missing = [f.name for f in fields if f.name.lower() not in by_lower]
    if missing:
        raise TruncatedResponse(f"Bulk results page lacks columns {', '.join(missing)}")
    return pa.table({f.name: table.column(by_lower[f.name.lower()]).cast(pa.string()) for f in fields})


def _wait_for_job(conn: OrgConnection, object_name: str, job_id: str, settings: SyncSettings) -> None:
    delay = settings.bulk_poll_seconds
    deadline = time.monotonic() + settings.bulk_timeout_seconds
    while True:
        info = conn.call(f"{object_name}: Bulk job status",
                         lambda sf: _bulk_client(sf, object_name).get_job(job_id, True))
        state = info.get("state")
        if state == "JobComplete":
            return
        if state in ("Failed", "Aborted"):
            raise BulkFailed(f"{object_name}: Bulk API 2.0 job {job_id} ended {state}: "
                             f"{info.get('errorMessage') or 'no error message'}")
        if time.monotonic() > deadline:
            raise BulkFailed(f"{object_name}: Bulk API 2.0 job {job_id} still {state} after "
                             f"{settings.bulk_timeout_seconds:.0f}s")
        time.sleep(delay)
        delay = min(delay * 2, settings.bulk_poll_max_seconds)


def bulk_pages(conn: OrgConnection, object_name: str, soql: str, fields: list[SelectedField],
               settings: SyncSettings) -> Iterator[pa.Table]:
    """A Bulk API 2.0 ``queryAll`` job, its results yielded page by page (``maxRecords`` each)."""
    job = conn.call(
        f"{object_name}: create Bulk API 2.0 queryAll job",
        lambda sf: _bulk_client(sf, object_name).create_job(Operation.query_all, soql),
    )
    job_id = job["id"]
    _wait_for_job(conn, object_name, job_id, settings)

    def fetch(sf: Salesforce, locator: str) -> tuple[pa.Table, str]:
        body, announced, next_locator = _results_page(sf, job_id, locator, settings.bulk_page_size)
        try:
            table = csv_to_arrow(body, fields)
        except pa.ArrowInvalid as exc:
            raise TruncatedResponse(f"unreadable CSV ({exc})") from None
        if announced >= 0 and table.num_rows != announced:
            raise TruncatedResponse(
                f"Bulk results page has {table.num_rows} records, Sforce-NumberOfRecords says {announced}"
            )
        return table, next_locator

    locator = ""
    page = 1
    while True:
        table, locator = conn.call(
            f"{object_name}: Bulk results page {page}", lambda sf, loc=locator: fetch(sf, loc)
        )
        yield table
        if not locator:
            return
        page += 1

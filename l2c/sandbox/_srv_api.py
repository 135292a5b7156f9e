"""The sandbox org's HTTP API, independent of the transport: one request in, one response out.

Routes (paths may carry a ``/<anything>.salesforce.com`` prefix, which is how
simple-salesforce's ``domain`` parameter reaches the login endpoints of a
local server — see docs/sandbox.md):

* ``POST /services/Soap/u/<ver>`` SOAP login; ``POST /services/oauth2/token`` OAuth;
* ``GET /services/data/`` versions; ``GET /services/data/v<ver>/`` resources;
* ``sobjects/`` global describe, ``sobjects/<O>/`` basic info, ``sobjects/<O>/describe/``,
  ``sobjects/<O>/<Id>``, ``sobjects/<O>/updated/`` and ``sobjects/<O>/deleted/`` (replication);
* ``query/``, ``queryAll/`` and their ``nextRecordsUrl`` pages;
* ``limits/``;
* Bulk API 2.0 query jobs: ``jobs/query`` (create, list), ``jobs/query/<id>``
  (state, abort, delete), ``jobs/query/<id>/results`` (CSV pages).

Every ``/services/data/v<ver>/...`` request needs a valid session, counts
against the daily request budget (403 ``REQUEST_LIMIT_EXCEEDED`` once spent)
and is answered with ``Sforce-Limit-Info: api-usage=N/M``. Faults from
:mod:`l2c.sandbox.faults` are applied here; the transport carries out the ones
that concern the connection itself (drop, truncate, slow).
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import polars as pl

from l2c.sandbox import describe
from l2c.sandbox._srv_auth import Credentials, Sessions, oauth_token, soap_login
from l2c.sandbox._srv_render import (
    DELIMITERS,
    LINE_ENDINGS,
    query_page,
    records_csv,
    records_json,
)
from l2c.sandbox._srv_state import DATETIME_DTYPE, OrgState
from l2c.sandbox.faults import FaultInjector
from l2c.sandbox.soql import SoqlError, SoqlQuery, parse_soql

#: API versions the org answers, as ``GET /services/data/`` lists them.
API_VERSIONS = tuple(f"{v}.0" for v in range(40, 63))
DEFAULT_API_VERSION = "59.0"
#: Records per ``query/`` page; Salesforce's default and maximum.
QUERY_PAGE_SIZE = 2000
DEFAULT_BULK_MAX_RECORDS = 50_000
_OPEN_CURSORS = 200
#: Bulk jobs kept (with their results) before the oldest are forgotten, as Salesforce purges old jobs.
_RETAINED_JOBS = 200

_LOGIN_HOST_PREFIX = re.compile(r"^/[^/]+\.salesforce\.com(?=/)")
_API_PATH = re.compile(r"^/services/data/v(?P<version>\d+\.\d)(?P<rest>/.*)?$")
_BATCH_SIZE = re.compile(r"batchSize\s*=\s*(\d+)", re.IGNORECASE)

JSON_TYPE = "application/json;charset=UTF-8"
CSV_TYPE = "text/csv"
XML_TYPE = "text/xml;charset=UTF-8"


def release_label(version: str) -> str:
    """``59.0`` → ``Winter '24`` (three releases a year; v53 was Winter '22)."""
    offset = int(float(version)) - 53
    season = ("Winter", "Spring", "Summer")[offset % 3]
    return f"{season} '{22 + offset // 3:02d}"


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes = b""

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        for k, v in self.headers.items():
            if k.lower() == lowered:
                return v
        return None


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = JSON_TYPE
    headers: dict[str, str] = field(default_factory=dict)
    #: Transport-level fault to carry out: "drop" or "truncate".
    fault: str | None = None
    #: Seconds to hold the response back (the "slow" fault).
    delay: float = 0.0


def json_response(status: int, payload: object, **headers: str) -> Response:
    return Response(status, json.dumps(payload).encode(), JSON_TYPE, dict(headers))


def api_error(status: int, error_code: str, message: str) -> Response:
    return json_response(status, [{"message": message, "errorCode": error_code}])


def not_found() -> Response:
    return api_error(404, "NOT_FOUND", "The requested resource does not exist")


def _format_datetime(moment: datetime) -> str:
    """Salesforce's JSON datetime format: ``2024-01-05T10:00:00.000+0000``."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}+0000"


@dataclass
class _Cursor:
    query: SoqlQuery
    records: pl.DataFrame
    endpoint: str


@dataclass
class BulkJob:
    """One Bulk 2.0 query job; its result is computed when it is created (a snapshot at that clock)."""

    id: str
    operation: str
    object: str
    query: str
    created: datetime
    created_monotonic: float
    column_delimiter: str
    line_ending: str
    api_version: str
    created_by: str
    records: pl.DataFrame | None = None
    state: str = "UploadComplete"
    error_message: str | None = None

    def info(self, processing_seconds: float, full: bool = True) -> dict:
        state = self.state
        if state == "UploadComplete" and full:
            done = time.monotonic() - self.created_monotonic >= processing_seconds
            state = "JobComplete" if done else "InProgress"
        body = {
            "id": self.id,
            "operation": self.operation,
            "object": self.object,
            "createdById": self.created_by,
            "createdDate": _format_datetime(self.created),
            "systemModstamp": _format_datetime(self.created),
            "state": state,
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": float(self.api_version),
            "lineEnding": self.line_ending,
            "columnDelimiter": self.column_delimiter,
        }
        if full:
            body.update({
                "jobType": "V2Query",
                "numberRecordsProcessed": self.records.height if state == "JobComplete" and self.records is not None else 0,
                "retries": 0,
                "totalProcessingTime": int(processing_seconds * 1000),
                "isPkChunkingSupported": True,
            })
            if self.error_message:
                body["errorMessage"] = self.error_message
        return body


class ApiUsage:
    """API requests counted per org-clock instant; usage is what fell in the last 24 hours of org time."""

    def __init__(self, daily_limit: int):
        self.daily_limit = daily_limit
        self._by_clock: dict[datetime, int] = {}
        self._lock = threading.Lock()

    def used(self, clock: datetime) -> int:
        start = clock - timedelta(days=1)
        with self._lock:
            return sum(n for t, n in self._by_clock.items() if start < t <= clock)

    def try_count(self, clock: datetime) -> tuple[bool, int]:
        """Count one request if the budget allows; returns (allowed, usage after)."""
        with self._lock:
            start = clock - timedelta(days=1)
            used = sum(n for t, n in self._by_clock.items() if start < t <= clock)
            if used >= self.daily_limit:
                return False, used
            self._by_clock[clock] = self._by_clock.get(clock, 0) + 1
            return True, used + 1


class SandboxApi:
    """Answers requests for one sandbox org. Thread-safe."""

    def __init__(self, state: OrgState, faults: FaultInjector, creds: Credentials, sessions: Sessions,
                 instance_url: str, bulk_processing_seconds: float = 0.0):
        self.state = state
        self.faults = faults
        self.creds = creds
        self.sessions = sessions
        self.instance_url = instance_url
        self.bulk_processing_seconds = bulk_processing_seconds
        self.usage = ApiUsage(faults.spec.daily_limit)
        self._lock = threading.Lock()
        self._cursors: OrderedDict[str, _Cursor] = OrderedDict()
        self._jobs: dict[str, BulkJob] = {}
        self._counter = 0
        self.request_count = 0
        self.request_log: deque[tuple[str, str, int | str]] = deque(maxlen=2000)

    def _next_id(self, prefix: str) -> str:
        with self._lock:
            self._counter += 1
            return f"{prefix}SB{self._counter:010d}AAA"

    # --- entry point --------------------------------------------------------------------------
    def handle(self, req: Request) -> Response:
        with self._lock:
            self.request_count += 1
        path = _LOGIN_HOST_PREFIX.sub("", req.path)
        is_api = path.startswith("/services/data/v")
        fault = self.faults.draw(path, is_api)
        if fault == "drop":
            resp = Response(0, fault="drop")
        elif fault == "500":
            resp = api_error(500, "UNKNOWN_EXCEPTION", "An unexpected error occurred. Please include this ErrorId "
                             "if you contact support: 1234567890-12345 (-1234567890)")
        elif fault == "503":
            resp = api_error(503, "SERVER_UNAVAILABLE", "Server temporarily unavailable; please retry your request")
        else:
            resp = self._route(req, path, fault)
            if fault == "truncate":
                resp.fault = "truncate"
            elif fault == "slow":
                resp.delay = self.faults.spec.slow_seconds
        self.request_log.append((req.method, req.path, resp.fault or resp.status))
        return resp

    def _route(self, req: Request, path: str, fault: str | None) -> Response:
        if path.startswith("/services/Soap/u/"):
            if req.method != "POST":
                return _method_not_allowed(req.method, "POST")
            version = path.split("/")[4] if len(path.split("/")) > 4 else DEFAULT_API_VERSION
            status, body = soap_login(req.body, self.creds, self.sessions, self.instance_url, version)
            return Response(status, body, XML_TYPE)
        if path.rstrip("/") == "/services/oauth2/token":
            if req.method != "POST":
                return _method_not_allowed(req.method, "POST")
            status, body = oauth_token(req.body, req.header("Authorization"), self.creds, self.sessions,
                                       self.instance_url)
            return Response(status, body, JSON_TYPE)
        if path.rstrip("/") == "/services/data":
            return json_response(200, [
                {"label": release_label(v), "url": f"/services/data/v{v}", "version": v} for v in API_VERSIONS
            ])
        m = _API_PATH.match(path)
        if m is None:
            return not_found()
        resp = self._authorised_api(req, m.group("version"), (m.group("rest") or "/").rstrip("/") or "/", fault)
        resp.headers.setdefault(
            "Sforce-Limit-Info", f"api-usage={self.usage.used(self.state.clock)}/{self.usage.daily_limit}"
        )
        return resp

    def _session_id(self, req: Request) -> str | None:
        auth = req.header("Authorization") or ""
        scheme, _, token = auth.partition(" ")
        if scheme.lower() in ("bearer", "oauth") and token.strip():
            return token.strip()
        return req.header("X-SFDC-Session")

    def _authorised_api(self, req: Request, version: str, rest: str, fault: str | None) -> Response:
        sid = self._session_id(req)
        if fault == "expire":
            self.sessions.invalidate(sid)
        if sid is None:
            return api_error(401, "INVALID_AUTH_HEADER", "INVALID_HEADER_TYPE")
        if not self.sessions.is_valid(sid):
            return api_error(401, "INVALID_SESSION_ID", "Session expired or invalid")
        if version not in API_VERSIONS:
            return not_found()
        self.usage.daily_limit = self.faults.spec.daily_limit
        clock = self.state.clock
        if fault == "limit":
            allowed = False
        else:
            allowed, _ = self.usage.try_count(clock)
        if not allowed:
            return api_error(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
        try:
            return self._api(req, version, rest)
        except SoqlError as exc:
            return api_error(400, exc.error_code, exc.message)

    # --- REST API -----------------------------------------------------------------------------
    def _api(self, req: Request, version: str, rest: str) -> Response:
        parts = [p for p in rest.split("/") if p]
        head = parts[0] if parts else ""
        if not parts:
            return self._only(req, "GET") or json_response(200, {
                name: f"/services/data/v{version}/{name}"
                for name in ("sobjects", "query", "queryAll", "limits", "jobs/query", "search")
            })
        if head == "sobjects":
            return self._only(req, "GET") or self._sobjects(req, version, parts[1:])
        if head in ("query", "queryAll"):
            if req.method != "GET":
                return _method_not_allowed(req.method, "GET")
            if len(parts) == 1:
                return self._query(req, version, head)
            if len(parts) == 2:
                return self._query_more(req, version, head, parts[1])
            return not_found()
        if head == "limits" and len(parts) == 1:
            return self._only(req, "GET") or self._limits()
        if head == "jobs" and len(parts) >= 2 and parts[1] == "query":
            return self._jobs_api(req, version, parts[2:])
        return not_found()

    @staticmethod
    def _only(req: Request, method: str) -> Response | None:
        if req.method != method:
            return _method_not_allowed(req.method, method)
        return None

    def _sobjects(self, req: Request, version: str, parts: list[str]) -> Response:
        if not parts:
            return json_response(200, describe.global_describe(version, self.instance_url))
        obj = describe.find_object(parts[0])
        if obj is None:
            return not_found()
        if len(parts) == 1:
            return json_response(200, describe.sobject_basic_info(obj.name, version, self.instance_url))
        action = parts[1]
        if len(parts) == 2 and action == "describe":
            return json_response(200, describe.object_describe(obj.name, version, self.instance_url))
        if len(parts) == 2 and action in ("updated", "deleted"):
            return self._replication(req, obj.name, action)
        if len(parts) == 2:
            return self._record(req, version, obj.name, action)
        return not_found()

    def _record(self, req: Request, version: str, object_name: str, record_id: str) -> Response:
        fields = req.param("fields")
        obj = describe.find_object(object_name)
        assert obj is not None
        select = fields or ", ".join(f.name for f in obj.fields)
        escaped = record_id.replace("\\", "\\\\").replace("'", "\\'")
        query = parse_soql(f"SELECT {select} FROM {object_name} WHERE Id = '{escaped}'", now=self.state.clock)
        found = query.run(self.state.snapshot(object_name))
        if found.height == 0:
            return not_found()
        return Response(200, records_json(found, object_name, version)[1:-1].encode(), JSON_TYPE)

    def _replication(self, req: Request, object_name: str, action: str) -> Response:
        try:
            start = datetime.fromisoformat(req.param("start") or "")
            end = datetime.fromisoformat(req.param("end") or "")
        except ValueError:
            return api_error(400, "INVALID_REPLICATION_DATE", "start and end must be ISO 8601 date-times")
        if start.tzinfo is None or end.tzinfo is None:
            return api_error(400, "INVALID_REPLICATION_DATE", "start and end need a time-zone offset")
        obj = describe.find_object(object_name)
        assert obj is not None
        if "SystemModstamp" not in obj.field_names:
            return api_error(400, "INVALID_TYPE", f"{object_name} is not replicable through getUpdated/getDeleted")
        window = pl.col("SystemModstamp").is_between(pl.lit(start.astimezone(UTC), dtype=DATETIME_DTYPE),
                                                     pl.lit(end.astimezone(UTC), dtype=DATETIME_DTYPE))
        latest = _format_datetime(min(end, self.state.clock))
        if action == "updated":
            ids = self.state.snapshot(object_name).filter(window).get_column("Id").to_list()
            return json_response(200, {"ids": ids, "latestDateCovered": latest})
        deleted = self.state.snapshot(object_name, include_deleted=True)
        if "IsDeleted" in deleted.columns:
            deleted = deleted.filter(window & pl.col("IsDeleted"))
        else:
            deleted = deleted.clear()
        records = [{"deletedDate": _format_datetime(d), "id": i}
                   for i, d in zip(deleted.get_column("Id").to_list(),
                                   deleted.get_column("SystemModstamp").to_list(), strict=True)]
        earliest = _format_datetime(self.state.clock - timedelta(days=15))
        return json_response(200, {"deletedRecords": records, "earliestDateAvailable": earliest,
                                   "latestDateCovered": latest})

    def _query(self, req: Request, version: str, endpoint: str) -> Response:
        text = req.param("q")
        if not text:
            return api_error(400, "MALFORMED_QUERY", "A query string has to be specified")
        query = parse_soql(text, now=self.state.clock)
        records = self.state.snapshot(query.object_name, include_deleted=endpoint == "queryAll")
        if query.is_count:
            return Response(200, query_page(query.filter(records).height, True, None, "[]"))
        result = query.run(records)
        page_size = self._page_size(req)
        cursor_id = None
        if result.height > page_size:
            cursor_id = self._next_id("01g")
            with self._lock:
                self._cursors[cursor_id] = _Cursor(query, result, endpoint)
                while len(self._cursors) > _OPEN_CURSORS:
                    self._cursors.popitem(last=False)
        return self._page(version, endpoint, query, result, 0, page_size, cursor_id)

    def _page(self, version: str, endpoint: str, query: SoqlQuery, result: pl.DataFrame, offset: int,
              page_size: int, cursor_id: str | None) -> Response:
        page = result.slice(offset, page_size)
        end = offset + page.height
        done = end >= result.height
        next_url = None if done else f"/services/data/v{version}/{endpoint}/{cursor_id}-{end}"
        body = query_page(result.height, done, next_url, records_json(page, query.object_name, version))
        return Response(200, body)

    @staticmethod
    def _page_size(req: Request) -> int:
        m = _BATCH_SIZE.search(req.header("Sforce-Query-Options") or "")
        if not m:
            return QUERY_PAGE_SIZE
        return min(max(int(m.group(1)), 200), QUERY_PAGE_SIZE)

    def _query_more(self, req: Request, version: str, endpoint: str, locator: str) -> Response:
        cursor_id, _, offset_text = locator.rpartition("-")
        with self._lock:
            cursor = self._cursors.get(cursor_id)
            if cursor is not None:
                self._cursors.move_to_end(cursor_id)
        if cursor is None or not offset_text.isdigit() or int(offset_text) > cursor.records.height:
            return api_error(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        return self._page(version, endpoint, cursor.query, cursor.records, int(offset_text),
                          self._page_size(req), cursor_id)

    def _limits(self) -> Response:
        clock = self.state.clock
        used = self.usage.used(clock)
        limit = self.usage.daily_limit
        with self._lock:
            jobs_today = sum(1 for j in self._jobs.values() if clock - j.created < timedelta(days=1))

        def pair(maximum: int, remaining: int) -> dict:
            return {"Max": maximum, "Remaining": max(remaining, 0)}

        return json_response(200, {
            "ConcurrentAsyncGetReportInstances": pair(200, 200),
            "DailyApiRequests": pair(limit, limit - used),
            "DailyAsyncApexExecutions": pair(250000, 250000),
            "DailyBulkApiBatches": pair(15000, 15000),
            "DailyBulkV2QueryFileStorageMB": pair(976562, 976562),
            "DailyBulkV2QueryJobs": pair(10000, 10000 - jobs_today),
            "DataStorageMB": pair(1024, 1024),
            "FileStorageMB": pair(20480, 20480),
            "HourlyTimeBasedWorkflow": pair(1000, 1000),
        })

    # --- Bulk API 2.0 query jobs ---------------------------------------------------------------
    def _jobs_api(self, req: Request, version: str, parts: list[str]) -> Response:
        if not parts:
            if req.method == "POST":
                return self._create_job(req, version)
            if req.method == "GET":
                with self._lock:
                    jobs = list(self._jobs.values())
                return json_response(200, {
                    "done": True,
                    "records": [j.info(self.bulk_processing_seconds, full=False) for j in jobs],
                    "nextRecordsUrl": None,
                })
            return _method_not_allowed(req.method, "GET, POST")
        with self._lock:
            job = self._jobs.get(parts[0])
        if job is None:
            return api_error(404, "NOT_FOUND", f"The requested resource does not exist: job {parts[0]}")
        if len(parts) == 1:
            if req.method == "GET":
                return json_response(200, job.info(self.bulk_processing_seconds))
            if req.method == "PATCH":
                return self._patch_job(req, job)
            if req.method == "DELETE":
                with self._lock:
                    self._jobs.pop(job.id, None)
                return Response(204, b"", JSON_TYPE)
            return _method_not_allowed(req.method, "GET, PATCH, DELETE")
        if len(parts) == 2 and parts[1] == "results":
            return self._only(req, "GET") or self._job_results(req, job)
        return not_found()

    def _create_job(self, req: Request, version: str) -> Response:
        try:
            payload = json.loads(req.body or b"{}")
        except json.JSONDecodeError as exc:
            return api_error(400, "JSON_PARSER_ERROR", f"The request body is not valid JSON: {exc}")
        if not isinstance(payload, dict):
            return api_error(400, "JSON_PARSER_ERROR", "The request body must be a JSON object")
        operation = payload.get("operation")
        if operation not in ("query", "queryAll"):
            return api_error(400, "INVALIDJOB", f"Invalid operation for a query job: {operation!r} "
                             "(use query or queryAll)")
        delimiter = payload.get("columnDelimiter") or "COMMA"
        line_ending = payload.get("lineEnding") or "LF"
        if delimiter not in DELIMITERS:
            return api_error(400, "INVALIDJOB", f"Invalid columnDelimiter: {delimiter}")
        if line_ending not in LINE_ENDINGS:
            return api_error(400, "INVALIDJOB", f"Invalid lineEnding: {line_ending}")
        text = payload.get("query")
        if not text:
            return api_error(400, "INVALIDJOB", "A query job needs a query")
        clock = self.state.clock
        # Salesforce validates the SOQL when the job is created and answers 400, as for REST.
        query = parse_soql(text, now=clock)
        if query.is_count:
            return api_error(400, "INVALIDJOB", "Aggregate queries (COUNT()) are not supported by Bulk API 2.0 query")
        if query.compound_fields:
            return api_error(400, "FUNCTIONALITY_NOT_ENABLED", "Selecting compound data not supported in Bulk Query "
                             f"(compound fields: {', '.join(query.compound_fields)})")
        job = BulkJob(
            id=self._next_id("750"), operation=operation, object=query.object_name, query=text, created=clock,
            created_monotonic=time.monotonic(), column_delimiter=delimiter, line_ending=line_ending,
            api_version=version, created_by=self.creds.user_id,
        )
        if self.faults.take_job_failure():
            job.state = "Failed"
            job.error_message = "InternalServerError: the query job failed while processing; create it again"
        else:
            job.records = query.run(self.state.snapshot(query.object_name, include_deleted=operation == "queryAll"))
        with self._lock:
            self._jobs[job.id] = job
            while len(self._jobs) > _RETAINED_JOBS:
                self._jobs.pop(next(iter(self._jobs)))
        return json_response(200, job.info(self.bulk_processing_seconds, full=False))

    def _patch_job(self, req: Request, job: BulkJob) -> Response:
        try:
            state = json.loads(req.body or b"{}").get("state")
        except (json.JSONDecodeError, AttributeError):
            return api_error(400, "JSON_PARSER_ERROR", "The request body is not valid JSON")
        if state != "Aborted":
            return api_error(400, "INVALIDJOBSTATE", f"A query job can only be set to Aborted, not {state!r}")
        current = job.info(self.bulk_processing_seconds)["state"]
        if current in ("JobComplete", "Failed", "Aborted"):
            return api_error(400, "INVALIDJOBSTATE", f"Job {job.id} is already {current}")
        job.state = "Aborted"
        job.records = None
        return json_response(200, job.info(self.bulk_processing_seconds, full=False))

    def _job_results(self, req: Request, job: BulkJob) -> Response:
        state = job.info(self.bulk_processing_seconds)["state"]
        if state != "JobComplete" or job.records is None:
            return api_error(400, "INVALIDJOBSTATE", f"Job {job.id} has no results: its state is {state}")
        try:
            max_records = int(req.param("maxRecords") or DEFAULT_BULK_MAX_RECORDS)
            offset = _decode_locator(req.param("locator"))
        except ValueError:
            return api_error(400, "INVALID_PARAMETER_VALUE", "maxRecords must be a positive integer and locator "
                             "a value from a previous Sforce-Locator header")
        if max_records < 1 or offset > job.records.height:
            return api_error(400, "INVALID_PARAMETER_VALUE", "maxRecords must be positive and locator valid")
        page = job.records.slice(offset, max_records)
        end = offset + page.height
        next_locator = _encode_locator(end) if end < job.records.height else "null"
        return Response(200, records_csv(page, job.column_delimiter, job.line_ending), CSV_TYPE, {
            "Sforce-Locator": next_locator,
            "Sforce-NumberOfRecords": str(page.height),
        })


def _encode_locator(offset: int) -> str:
    # Salesforce's Bulk 2.0 locators are base64 of the record offset, without padding.
    return base64.b64encode(str(offset).encode()).decode().rstrip("=")


def _decode_locator(locator: str | None) -> int:
    if not locator or locator == "null":
        return 0
    padded = locator + "=" * (-len(locator) % 4)
    try:
        return int(base64.b64decode(padded, validate=True).decode())
    except (ValueError, UnicodeDecodeError):
        raise ValueError(f"invalid locator {locator!r}") from None


def _method_not_allowed(method: str, allowed: str) -> Response:
    return api_error(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{method}' not allowed. Allowed are {allowed}")

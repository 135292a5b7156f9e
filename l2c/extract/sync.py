"""Sync objects from an org into the raw layer: describe → plan fields → count → fetch → commit.

:func:`sync_objects` is the one code path behind ``l2c extract``, ``l2c
extract --demo`` and the Dagster assets. Per object it

1. skips objects the org lacks (not in global describe) with a notice;
2. plans the fields from describe and compares them with the raw table
   (new field → new column; vanished field → column kept, reported; type
   change → reported, values land in the existing type or the load fails
   clearly);
3. reads from the watermark minus a look-back (``>=``; everything on the
   first run or with ``full_refresh``) through ``queryAll``, so deletions
   arrive;
4. decides REST or Bulk API 2.0 from a ``SELECT COUNT()`` of that delta,
   falling back to REST when a Bulk job fails;
5. streams pages into a staging table and commits new versions and the new
   watermark in one transaction.

A :class:`~l2c.extract.errors.ObjectFailed` ends only that object (rolled
back, retried by the next run); a :class:`~l2c.extract.errors.RunStopped`
(API budget, authentication) ends the run after rolling back the current
object.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

from l2c.config import duckdb_path
from l2c.extract.connection import OrgConnection, scrub
from l2c.extract.errors import BulkFailed, ConfigurationError, ExtractError, ObjectFailed, RunStopped
from l2c.extract.fetch import bulk_pages, count_records, prefetched, rest_pages
from l2c.extract.fields import FieldPlan, plan_fields, select_statement, split_fields, where_clause
from l2c.extract.settings import ObjectList, ObjectSpec, SyncSettings, load_object_list
from l2c.extract.writer import ObjectLoad, compare_schema, ensure_raw_schema, quote, read_state
from l2c.salesforce_schema import snake_case

log = logging.getLogger("l2c.extract")

REST, BULK = "REST", "Bulk"


@dataclass
class ObjectResult:
    """What happened to one object in one run."""

    object_name: str
    table: str
    #: ``loaded``, ``skipped`` (the org lacks it) or ``failed`` (rolled back; the next run retries).
    status: str
    mode: str | None = None
    incremental: bool = False
    records_fetched: int = 0
    new_versions: int = 0
    deletions: int = 0
    api_calls: int = 0
    total_rows: int = 0
    duration_seconds: float = 0.0
    watermark: datetime | None = None
    notices: list[str] = field(default_factory=list)
    error: str | None = None

    def summary(self) -> str:
        """One aligned line per object, as ``l2c extract`` prints it and the Dagster run logs it."""
        name = f"{self.object_name:<34}"
        if self.status == "skipped":
            return f"{name} skipped: {'; '.join(self.notices)}"
        if self.status == "failed":
            return f"{name} FAILED ({self.duration_seconds:.1f}s): {self.error}"
        kind = "incremental" if self.incremental else "full"
        return (
            f"{name} {self.records_fetched:>9,} records  {self.mode:<4} {kind:<11} "
            f"{self.new_versions:>9,} new  {self.deletions:>6,} deleted  {self.api_calls:>4} calls  "
            f"{self.duration_seconds:>6.1f}s"
        )


@dataclass
class RunResult:
    """What happened in one run."""

    run_id: str
    objects: list[ObjectResult] = field(default_factory=list)
    #: Why the run stopped early (API budget, authentication), else None.
    stopped: str | None = None
    api_calls: int = 0
    duration_seconds: float = 0.0

    @property
    def failed(self) -> list[ObjectResult]:
        return [o for o in self.objects if o.status == "failed"]

    @property
    def ok(self) -> bool:
        return self.stopped is None and not self.failed

    def summary(self) -> str:
        """The run in one line: objects loaded, skipped and failed, time and API calls."""
        count = {status: sum(o.status == status for o in self.objects) for status in ("loaded", "skipped", "failed")}
        return (f"{count['loaded']} loaded, {count['skipped']} skipped, {count['failed']} failed in "
                f"{self.duration_seconds:.1f}s with {self.api_calls} API calls (run {self.run_id})")


def new_run_id() -> str:
    return uuid.uuid4().hex


def open_database(path: str | os.PathLike | None = None, memory_limit: str | None = None) -> duckdb.DuckDBPyConnection:
    """Open (creating if needed) the DuckDB file for writing; a clear error if another writer holds it.

    ``memory_limit`` caps DuckDB's memory: staged pages beyond it spill to a temporary directory next to
    the file, so extracting a large object does not grow memory with the object.
    """
    file = Path(path) if path else duckdb_path()
    file.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(file))
    except duckdb.IOException as exc:
        raise ConfigurationError(f"cannot open DuckDB file {file} for writing: {exc}") from None
    if memory_limit:
        con.execute(f"SET memory_limit = '{memory_limit}'")
    # Loads de-duplicate by key; row order does not matter, and not keeping it saves memory.
    con.execute("SET preserve_insertion_order = false")
    return con


def available_objects(conn: OrgConnection) -> dict[str, dict]:
    """Objects in the org's global describe, keyed by lower-cased API name."""
    result = conn.call("global describe", lambda sf: sf.describe())
    return {o["name"].lower(): o for o in (result or {}).get("sobjects", [])}


def _schema_notices(plan: FieldPlan, changes) -> list[str]:
    notices = []
    if changes.added:
        notices.append(
            "new field(s) " + ", ".join(f.name for f in changes.added) + " added as column(s) "
            + ", ".join(f.column for f in changes.added)
        )
    if changes.vanished:
        notices.append(
            f"column(s) {', '.join(changes.vanished)} of raw_salesforce.{plan.table} have no visible field in "
            f"{plan.object_name}'s describe any more (field deleted, or hidden by field-level security for this "
            "user): columns kept, new versions get NULL there"
        )
    if changes.unselected:
        notices.append(
            f"column(s) {', '.join(changes.unselected)} of raw_salesforce.{plan.table} are kept from earlier syncs "
            "but their fields are no longer selected (see the object list): new versions get NULL there"
        )
    for f, have, wanted in changes.retyped:
        notices.append(
            f"{plan.object_name}.{f.name} changed type: describe says {f.sf_type} ({wanted}) but "
            f"raw_salesforce.{plan.table}.{f.column} is {have}; new values are stored as {have} "
            "if they fit without loss, otherwise the object's load fails and loads nothing"
        )
    if plan.not_visible:
        notices.append(
            "field(s) " + ", ".join(plan.not_visible) + f" named in the object list are not visible in "
            f"{plan.object_name}'s describe (field deleted, or hidden by field-level security for this user)"
        )
    return notices


class _ObjectSync:
    """Syncs one object; split out of :func:`sync_object` for readability."""

    def __init__(self, conn: OrgConnection, con: duckdb.DuckDBPyConnection, plan: FieldPlan, settings: SyncSettings,
                 since: datetime | None, run_id: str):
        self.conn, self.con, self.plan, self.settings = conn, con, plan, settings
        self.since, self.run_id = since, run_id
        where_max = where_clause(plan.replication_key, since, datetime(2000, 1, 1, tzinfo=UTC))
        self.chunks = split_fields(plan, where_max, settings.max_soql_length)
        if len(self.chunks) > 1 and not plan.replication_column:
            raise ConfigurationError(f"{plan.object_name} is too wide for one query and has no replication key "
                                     "to re-join split queries by; exclude some fields in the object list.")
        self.fields_by_name = {f.name: f for f in plan.fields}

    def where(self) -> str:
        return where_clause(self.plan.replication_key, self.since)

    def fetch(self, load: ObjectLoad, mode: str) -> None:
        """Stream every chunk's pages into the staging tables."""
        until = None
        for i, names in enumerate(self.chunks):
            soql = select_statement(self.plan.object_name, names, where_clause(self.plan.replication_key,
                                                                               self.since, until))
            fields = [self.fields_by_name[n] for n in names]
            if mode == BULK:
                pages = bulk_pages(self.conn, self.plan.object_name, soql, fields, self.settings)
            else:
                pages = rest_pages(self.conn, self.plan.object_name, soql, fields, self.settings)
            for page in prefetched(pages):
                load.append(i, page)
            if i == 0 and len(self.chunks) > 1:
                # Later parts read only up to what the first part saw, so all parts describe the same versions;
                # a record changed in between is re-read by the next run (its new timestamp is past the watermark).
                until = self.con.execute(
                    f"SELECT max({quote(self.plan.replication_column)}) FROM {load.stage_name(0)}"
                ).fetchall()[0][0]
                if until is None:
                    return


def sync_object(conn: OrgConnection, con: duckdb.DuckDBPyConnection, spec: ObjectSpec, settings: SyncSettings,
                available: dict[str, dict], run_id: str, full_refresh: bool = False) -> ObjectResult:
    """Sync one object; never raises :class:`ObjectFailed` (it becomes a ``failed`` result)."""
    started = time.monotonic()
    calls_before = conn.usage.requests
    result = ObjectResult(spec.name, snake_case(spec.name), status="failed")

    def finish(status: str) -> ObjectResult:
        result.status = status
        result.api_calls = conn.usage.requests - calls_before
        result.duration_seconds = time.monotonic() - started
        return result

    info = available.get(spec.name.lower())
    if info is None:
        result.notices.append(f"{spec.name} is not in this org (not in global describe"
                              + ("; is the Salesforce Billing package installed?)" if spec.name.lower().startswith("blng__") else ")"))
        return finish("skipped")
    if not info.get("queryable", True):
        result.notices.append(f"{spec.name} is not queryable for this user")
        return finish("skipped")
    object_name = info["name"]
    result.object_name, result.table = object_name, snake_case(object_name)

    load: ObjectLoad | None = None
    try:
        describe = conn.call(f"{object_name}: describe", lambda sf: getattr(sf, object_name).describe())
        plan = plan_fields(describe, spec)
        state = read_state(con, object_name)
        changes, stage_types = compare_schema(con, plan)
        result.notices.extend(_schema_notices(plan, changes))
        since = None
        if not full_refresh and state is not None and state.watermark is not None and plan.replication_key:
            since = state.watermark - timedelta(seconds=settings.lookback_seconds)
        if changes.added and since is not None:
            # Re-read everything once so stored versions get the new columns' values (matched by key).
            since = None
            result.notices.append("re-read every record to fill the new column(s) for the versions already stored")
        result.incremental = since is not None
        job = _ObjectSync(conn, con, plan, settings, since, run_id)

        mode = {"rest": REST, "bulk": BULK}.get(spec.mode)
        if mode is None:
            count = count_records(conn, object_name, job.where())
            mode = BULK if count >= settings.bulk_threshold else REST

        load = ObjectLoad.open(con, plan, run_id, changes, stage_types, job.chunks)
        try:
            job.fetch(load, mode)
        except (BulkFailed, ObjectFailed) as exc:
            if mode != BULK:
                raise
            result.notices.append(f"Bulk API 2.0 failed ({scrub(exc)}); fell back to REST")
            log.warning("%s: Bulk API 2.0 failed (%s); falling back to REST", object_name, scrub(exc))
            load.reset()
            mode = REST
            job.fetch(load, mode)
        result.mode = mode
        result.api_calls = conn.usage.requests - calls_before
        new, deleted, total, watermark = load.commit(
            synced_at=datetime.now(UTC),
            previous_watermark=None if state is None else state.watermark,
            mode=mode,
            api_calls=result.api_calls,
            duration_seconds=time.monotonic() - started,
        )
        result.records_fetched = load.fetched
        result.new_versions, result.deletions, result.total_rows, result.watermark = new, deleted, total, watermark
        return finish("loaded")
    except RunStopped as exc:
        if load is not None:
            load.rollback()
        result.error = scrub(exc)
        exc.result = finish("failed")  # type: ignore[attr-defined]  # reported by sync_objects
        raise
    except (ExtractError, duckdb.Error) as exc:
        if load is not None:
            load.rollback()
        result.error = scrub(exc)
        return finish("failed")
    except BaseException:
        if load is not None:
            load.rollback()
        raise


def sync_objects(
    conn: OrgConnection,
    con: duckdb.DuckDBPyConnection,
    objects: ObjectList | None = None,
    *,
    full_refresh: bool = False,
    run_id: str | None = None,
) -> Iterator[ObjectResult]:
    """Sync each object of ``objects`` in order, yielding its result as soon as it is committed.

    Raises :class:`RunStopped` (after yielding the current object's ``failed`` result) when the run must stop.
    """
    objects = objects or load_object_list()
    run_id = run_id or new_run_id()
    ensure_raw_schema(con)
    available = available_objects(conn)
    for spec in objects.objects:
        try:
            result = sync_object(conn, con, spec, objects.settings, available, run_id, full_refresh)
        except RunStopped as exc:
            failed = getattr(exc, "result", None) or ObjectResult(spec.name, snake_case(spec.name), "failed")
            failed.error = scrub(exc)
            _log_result(failed)
            yield failed
            raise
        _log_result(result)
        yield result


def _log_result(result: ObjectResult) -> None:
    if result.status == "failed":
        log.error("%s", result.summary())
    else:
        log.info("%s", result.summary())
    for notice in result.notices if result.status != "skipped" else ():
        log.warning("%s: %s", result.object_name, notice)


def run_sync(
    conn: OrgConnection,
    database: str | os.PathLike | None = None,
    objects: ObjectList | None = None,
    *,
    full_refresh: bool = False,
    run_id: str | None = None,
    on_result: Callable[[ObjectResult], None] | None = None,
) -> RunResult:
    """Sync every object into ``database`` (default :func:`l2c.config.duckdb_path`) and sum up the run."""
    run = RunResult(run_id=run_id or new_run_id())
    try:
        for result in stream_run(conn, run, database, objects, full_refresh=full_refresh):
            if on_result:
                on_result(result)
    except RunStopped as exc:
        run.stopped = scrub(exc)
    return run


def stream_run(
    conn: OrgConnection,
    run: RunResult,
    database: str | os.PathLike | None = None,
    objects: ObjectList | None = None,
    *,
    full_refresh: bool = False,
) -> Iterator[ObjectResult]:
    """Sync every object into ``database``, yielding each result when committed and adding it to ``run``.

    ``run``'s API calls and duration are set when the generator finishes, also when it raises
    :class:`RunStopped`.
    """
    started = time.monotonic()
    calls_before = conn.usage.requests
    objects = objects or load_object_list()
    con = open_database(database, objects.settings.duckdb_memory_limit)
    try:
        for result in sync_objects(conn, con, objects, full_refresh=full_refresh, run_id=run.run_id):
            run.objects.append(result)
            yield result
    finally:
        con.close()
        run.api_calls = conn.usage.requests - calls_before
        run.duration_seconds = time.monotonic() - started

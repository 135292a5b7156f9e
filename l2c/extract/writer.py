"""The raw layer in DuckDB: append-only tables per object, staged loads, and the sync state.

Contract (see ``docs/extraction.md``): schema ``raw_salesforce``, one table per
object named ``snake_case(object)``, one column per field ``snake_case(field)``
typed by ``duckdb_type()``, plus ``_l2c_synced_at`` and ``_l2c_run_id``. Every
version of a record seen is kept; a version is identified by its key columns
(``id`` + ``system_modstamp`` (+ ``is_deleted``); history objects ``id``).

One object's load is one DuckDB transaction: pages are staged into a temporary
table, then the versions not yet in the raw table are appended and the sync
state (watermark included) is updated, and only then committed. Anything that
fails or is killed before the commit leaves the raw table and its watermark as
they were.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from datetime import datetime

import duckdb
import pyarrow as pa

from l2c.config import RAW_SCHEMA, RUN_ID_COLUMN, SYNC_STATE_TABLE, SYNCED_AT_COLUMN
from l2c.extract.errors import SchemaConflict
from l2c.extract.fields import FieldPlan, SelectedField
from l2c.salesforce_schema import snake_case


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


RAW = quote(RAW_SCHEMA)
STATE = f"{RAW}.{quote(SYNC_STATE_TABLE)}"

STATE_COLUMNS = """
    object_name VARCHAR PRIMARY KEY,
    table_name VARCHAR NOT NULL,
    replication_key VARCHAR,
    watermark TIMESTAMPTZ,
    mode VARCHAR,
    records_fetched BIGINT,
    new_versions BIGINT,
    deletions BIGINT,
    api_calls BIGINT,
    total_rows BIGINT,
    run_id VARCHAR,
    synced_at TIMESTAMPTZ,
    duration_seconds DOUBLE,
    fields JSON
"""


@dataclass
class SyncState:
    """The sync state of one object after its last committed load."""

    object_name: str
    table_name: str
    replication_key: str | None
    watermark: datetime | None
    mode: str | None
    records_fetched: int
    new_versions: int
    deletions: int
    api_calls: int
    total_rows: int
    run_id: str
    synced_at: datetime
    duration_seconds: float
    fields: list[str]


def ensure_raw_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {RAW}")
    con.execute(f"CREATE TABLE IF NOT EXISTS {STATE} ({STATE_COLUMNS})")


def read_state(con: duckdb.DuckDBPyConnection, object_name: str) -> SyncState | None:
    row = con.execute(
        f"SELECT object_name, table_name, replication_key, watermark, mode, records_fetched, new_versions, "
        f"deletions, api_calls, total_rows, run_id, synced_at, duration_seconds, fields "
        f"FROM {STATE} WHERE lower(object_name) = lower(?)",
        [object_name],
    ).fetchall()
    if not row:
        return None
    values = list(row[0])
    values[-1] = json.loads(values[-1]) if values[-1] else []
    return SyncState(*values)


_CANONICAL_TYPES: dict[str, str] = {}


def _canonical_type(con: duckdb.DuckDBPyConnection, type_sql: str) -> str:
    """How DuckDB spells a type in its catalog (``TIMESTAMPTZ`` → ``TIMESTAMP WITH TIME ZONE``)."""
    if type_sql not in _CANONICAL_TYPES:
        _CANONICAL_TYPES[type_sql] = con.execute(f"SELECT typeof(CAST(NULL AS {type_sql}))").fetchall()[0][0]
    return _CANONICAL_TYPES[type_sql]


def table_columns(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    """Column name → DuckDB type of a raw table ({} if it does not exist yet)."""
    rows = con.execute(
        "SELECT column_name, data_type FROM duckdb_columns() "
        "WHERE schema_name = ? AND table_name = ? AND database_name = current_database() ORDER BY column_index",
        [RAW_SCHEMA, table],
    ).fetchall()
    return dict(rows)


@dataclass
class SchemaChanges:
    """How the object's fields compare with its raw table's columns."""

    added: list[SelectedField] = field(default_factory=list)
    #: Columns whose field is no longer visible in describe (deleted, or hidden by field-level security).
    vanished: list[str] = field(default_factory=list)
    #: Columns whose field describe still shows but the object list (or the API) now leaves out.
    unselected: list[str] = field(default_factory=list)
    #: (field, column type in DuckDB, type describe now implies).
    retyped: list[tuple[SelectedField, str, str]] = field(default_factory=list)


def compare_schema(con: duckdb.DuckDBPyConnection, plan: FieldPlan) -> tuple[SchemaChanges, dict[str, str]]:
    """Schema drift between describe and the existing raw table, and the column types to stage into."""
    existing = table_columns(con, plan.table)
    changes = SchemaChanges()
    stage_types: dict[str, str] = {}
    for f in plan.fields:
        wanted = f.duckdb_type
        have = existing.get(f.column)
        if have is None:
            if existing:
                changes.added.append(f)
            stage_types[f.column] = wanted
        elif have != _canonical_type(con, wanted):
            # Values are parsed as describe says now and must fit the existing column without loss.
            changes.retyped.append((f, have, _canonical_type(con, wanted)))
            stage_types[f.column] = wanted
        else:
            stage_types[f.column] = wanted
    selected = {f.column for f in plan.fields}
    left_out = {snake_case(name) for name in plan.skipped}
    for column in existing:
        if column in selected or column in (SYNCED_AT_COLUMN, RUN_ID_COLUMN):
            continue
        (changes.unselected if column in left_out else changes.vanished).append(column)
    return changes, stage_types


class ObjectLoad:
    """One object's load inside one transaction. Use :meth:`open`, then ``append`` pages, then ``commit``."""

    def __init__(self, con: duckdb.DuckDBPyConnection, plan: FieldPlan, run_id: str, stage_types: dict[str, str],
                 chunks: list[list[str]], retyped: list[tuple[SelectedField, str, str]] | None = None):
        self.con = con
        self.retyped = retyped or []
        #: Columns added in this load whose values are filled in for versions already stored.
        self.backfill: list[str] = []
        self.plan = plan
        self.run_id = run_id
        self.stage_types = stage_types
        self.chunks = chunks
        self.fields_by_name = {f.name: f for f in plan.fields}
        self.fetched = 0

    def stage_name(self, chunk: int) -> str:
        return quote(f"_l2c_stage_{self.plan.table}_{chunk}")

    @classmethod
    def open(cls, con: duckdb.DuckDBPyConnection, plan: FieldPlan, run_id: str, changes: SchemaChanges,
             stage_types: dict[str, str], chunks: list[list[str]]) -> ObjectLoad:
        """Begin the transaction, create or widen the raw table, create the staging tables."""
        con.execute("BEGIN TRANSACTION")
        load = cls(con, plan, run_id, stage_types, chunks, changes.retyped)
        target = f"{RAW}.{quote(plan.table)}"
        columns = ", ".join(f"{quote(f.column)} {stage_types[f.column]}" for f in plan.fields)
        con.execute(
            f"CREATE TABLE IF NOT EXISTS {target} ({columns}, "
            f"{quote(SYNCED_AT_COLUMN)} TIMESTAMPTZ, {quote(RUN_ID_COLUMN)} VARCHAR)"
        )
        for f in changes.added:
            con.execute(f"ALTER TABLE {target} ADD COLUMN IF NOT EXISTS {quote(f.column)} {f.duckdb_type}")
        load.backfill = [f.column for f in changes.added]
        for i, names in enumerate(chunks):
            cols = ", ".join(
                f"{quote(load.fields_by_name[n].column)} {stage_types[load.fields_by_name[n].column]}" for n in names
            )
            con.execute(f"CREATE OR REPLACE TEMP TABLE {load.stage_name(i)} ({cols})")
        return load

    def reset(self) -> None:
        """Empty the staging tables (a Bulk job failed half-way and REST starts over)."""
        for i in range(len(self.chunks)):
            self.con.execute(f"DELETE FROM {self.stage_name(i)}")
        self.fetched = 0

    def append(self, chunk: int, page: pa.Table) -> None:
        """Cast one page into the staging table; a value that does not fit its column fails clearly."""
        if page.num_rows == 0:
            return
        names = self.chunks[chunk]
        casts = ", ".join(
            f"CAST({quote(n)} AS {self.stage_types[self.fields_by_name[n].column]})" for n in names
        )
        self.con.register("_l2c_page", page)
        try:
            self._check_whole_numbers(names)
            self.con.execute(f"INSERT INTO {self.stage_name(chunk)} SELECT {casts} FROM _l2c_page")
        except duckdb.ConversionException as exc:
            raise self._conversion_error(page, names, exc) from None
        finally:
            self.con.unregister("_l2c_page")
        if chunk == 0:
            self.fetched += page.num_rows

    def _check_whole_numbers(self, names: list[str]) -> None:
        """Integer columns must get whole numbers: DuckDB's cast would silently round 1.5 to 2."""
        for n in names:
            column_type = self.stage_types[self.fields_by_name[n].column]
            if column_type not in ("BIGINT", "INTEGER"):
                continue
            text = f"CAST({quote(n)} AS VARCHAR)"
            bad = self.con.execute(
                f"SELECT Id, {text} FROM _l2c_page WHERE {quote(n)} IS NOT NULL AND "
                f"TRY_CAST({text} AS DECIMAL(38,9)) IS DISTINCT FROM "
                f"CAST(TRY_CAST({text} AS {column_type}) AS DECIMAL(38,9)) LIMIT 1"
            ).fetchall()
            if bad:
                record, value = bad[0]
                raise SchemaConflict(
                    f"{self.plan.object_name}.{n} of record {record}: value {value[:80]!r} is not a whole number, "
                    f"but the raw column {RAW_SCHEMA}.{self.plan.table}.{self.fields_by_name[n].column} is "
                    f"{column_type}; nothing of this object was loaded. Migrate the column or add {n} to "
                    "exclude_fields in the object list."
                )

    def _conversion_error(self, page: pa.Table, names: list[str], exc: Exception) -> SchemaConflict:
        """Name the field, record and value that do not fit, instead of DuckDB's bare cast message."""
        self.con.register("_l2c_bad", page)
        try:
            for n in names:
                column_type = self.stage_types[self.fields_by_name[n].column]
                bad = self.con.execute(
                    f"SELECT Id, CAST({quote(n)} AS VARCHAR) FROM _l2c_bad "
                    f"WHERE {quote(n)} IS NOT NULL AND TRY_CAST({quote(n)} AS {column_type}) IS NULL LIMIT 1"
                ).fetchall()
                if bad:
                    bad = bad[0]
                    return SchemaConflict(
                        f"{self.plan.object_name}.{n} of record {bad[0]}: value {bad[1][:80]!r} does not fit the "
                        f"raw column {RAW_SCHEMA}.{self.plan.table}.{self.fields_by_name[n].column} ({column_type}). "
                        "The field's type changed in the org; nothing of this object was loaded. Migrate the column "
                        f"(ALTER TABLE ... ALTER ... TYPE) or add {n} to exclude_fields in the object list."
                    )
        finally:
            self.con.unregister("_l2c_bad")
        return SchemaConflict(f"{self.plan.object_name}: a value does not fit its raw column: {exc}")

    def _check_retyped(self, staged: str) -> None:
        """A field whose type changed may only land in its old column if every value survives the round trip."""
        for f, have, wanted in self.retyped:
            col = quote(f.column)
            bad = self.con.execute(
                f"SELECT id, CAST({col} AS VARCHAR) FROM {staged} AS s WHERE {col} IS NOT NULL AND "
                f"(TRY_CAST({col} AS {have}) IS NULL OR CAST(TRY_CAST({col} AS {have}) AS {wanted}) <> {col}) LIMIT 1"
            ).fetchall()
            if bad:
                bad = bad[0]
                raise SchemaConflict(
                    f"{self.plan.object_name}.{f.name} changed type to {f.sf_type} ({wanted}) but the raw column "
                    f"{RAW_SCHEMA}.{self.plan.table}.{f.column} is {have}: value {bad[1][:80]!r} of record {bad[0]} "
                    f"cannot be stored as {have} without loss, so nothing of {self.plan.object_name} was loaded. "
                    f"Migrate the column (ALTER TABLE {RAW_SCHEMA}.{self.plan.table} ALTER {f.column} TYPE {wanted}) "
                    f"or add {f.name} to exclude_fields in the object list."
                )

    def _staged_select(self) -> str:
        """The staged versions, de-duplicated, with split queries re-joined by Id and replication key."""
        if len(self.chunks) == 1:
            source = self.stage_name(0)
        else:
            anchors = [quote(c) for c in ["id", self.plan.replication_column] if c]
            joins = " ".join(
                f"JOIN {self.stage_name(i)} AS s{i} USING ({', '.join(anchors)})" for i in range(1, len(self.chunks))
            )
            source = f"(SELECT * FROM {self.stage_name(0)} AS s0 {joins})"
        keys = ", ".join(quote(c) for c in self.plan.key_columns)
        # The APIs return each version once, so the costly DISTINCT ON is only needed if the cheap check finds
        # a key twice (it guards the append-only contract, e.g. against a server repeating a page).
        repeated = self.con.execute(
            f"SELECT 1 FROM {source} AS s GROUP BY {keys} HAVING count(*) > 1 LIMIT 1").fetchall()
        return f"(SELECT DISTINCT ON ({keys}) * FROM {source})" if repeated else source

    def _key_equal(self, column: str) -> str:
        # Id and the replication key are never null: plain equality lets DuckDB use its fastest hash join.
        if column in ("id", self.plan.replication_column):
            return f"t.{quote(column)} = s.{quote(column)}"
        return f"t.{quote(column)} IS NOT DISTINCT FROM s.{quote(column)}"

    def commit(self, synced_at: datetime, previous_watermark: datetime | None, mode: str, api_calls: int,
               duration_seconds: float) -> tuple[int, int, int, datetime | None]:
        """Append new versions, update the sync state, commit. Returns (new versions, deletions, rows, watermark)."""
        con, plan = self.con, self.plan
        target = f"{RAW}.{quote(plan.table)}"
        staged = self._staged_select()
        self._check_retyped(staged)
        columns = [f.column for f in plan.fields]
        col_list = ", ".join(quote(c) for c in columns)
        key_match = " AND ".join(self._key_equal(k) for k in plan.key_columns)
        if self.backfill:
            # New columns of versions already stored: the re-read version with the same key has their values.
            sets = ", ".join(f"{quote(c)} = s.{quote(c)}" for c in self.backfill)
            con.execute(f"UPDATE {target} AS t SET {sets} FROM {staged} AS s WHERE {key_match}")
        con.execute(
            f"INSERT INTO {target} ({col_list}, {quote(SYNCED_AT_COLUMN)}, {quote(RUN_ID_COLUMN)}) "
            f"SELECT {', '.join('s.' + quote(c) for c in columns)}, ?::TIMESTAMPTZ, ? FROM {staged} AS s "
            f"WHERE NOT EXISTS (SELECT 1 FROM {target} AS t WHERE {key_match})",
            [synced_at, self.run_id],
        )
        deleted = "is_deleted" if "is_deleted" in columns else "false"
        new_versions, deletions, total_rows = con.execute(
            f"SELECT count(*) FILTER (WHERE {quote(RUN_ID_COLUMN)} = $run), "
            f"count(*) FILTER (WHERE {quote(RUN_ID_COLUMN)} = $run AND {deleted}), count(*) FROM {target}",
            {"run": self.run_id},
        ).fetchall()[0]
        watermark = previous_watermark
        if plan.replication_column:
            seen = con.execute(f"SELECT max({quote(plan.replication_column)}) FROM {self.stage_name(0)}").fetchall()[0][0]
            if seen is not None and (watermark is None or seen > watermark):
                watermark = seen
        con.execute(
            f"INSERT OR REPLACE INTO {STATE} VALUES (?, ?, ?, ?::TIMESTAMPTZ, ?, ?, ?, ?, ?, ?, ?, ?::TIMESTAMPTZ, ?, ?)",
            [plan.object_name, plan.table, plan.replication_key, watermark, mode, self.fetched, new_versions,
             deletions, api_calls, total_rows, self.run_id, synced_at, duration_seconds, json.dumps(plan.names)],
        )
        for i in range(len(self.chunks)):
            con.execute(f"DROP TABLE IF EXISTS {self.stage_name(i)}")
        con.execute("COMMIT")
        return new_versions, deletions, total_rows, watermark

    def rollback(self) -> None:
        with contextlib.suppress(duckdb.Error):
            self.con.execute("ROLLBACK")

"""OCEL 2.0 export: the Lead-to-Cash log as an object-centric event log (JSON or SQLite).

Objects are the Salesforce records the process moves through: leads,
opportunities, quotes, contracts, orders, invoices and payments. They come
from the dbt staging views (schema ``l2c_staging``, latest version of each
record) and, for opportunities, from ``l2c.cases`` with every case attribute.
Each event of ``l2c.event_log`` is related (E2O) to its case's opportunity and
to the record it comes from (``source_object``/``source_id``; an approval step
to the quote or contract it approves; a payment also to the invoice it pays,
``invoice_id``). Leads that never became an opportunity
bring their events from ``l2c.lead_event_log``. Objects are related to each other (O2O)
through Salesforce's lookups: lead → converted opportunity, quote →
opportunity, opportunity → contract, order → opportunity and contract,
invoice → order, payment → invoice (through payment allocations).

A log imported from a file has no Salesforce objects: its cases become objects
of type ``Case`` and every event relates to its case.

Object attributes are written as their values at export time (OCEL's initial
values, time 1970-01-01); event attributes are the event log's columns. The
JSON is built by DuckDB (``to_json``) and streamed; the SQLite file follows the
OCEL 2.0 relational schema with its primary and foreign keys.
"""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import duckdb

from analysis import columns as C
from l2c import config
from l2c.eventlog_io.duck import qualified, quote, relation_kind

STAGING_SCHEMA = "l2c_staging"
EPOCH = "1970-01-01T00:00:00Z"
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
_BATCH_ROWS = 50_000


@dataclass(frozen=True)
class ObjectSource:
    """One Salesforce object type: its staging view, id column, attributes and the events it sources."""

    type: str
    view: str
    id_column: str
    attributes: tuple[str, ...]
    source_objects: tuple[str, ...]


OBJECT_SOURCES: tuple[ObjectSource, ...] = (
    ObjectSource("Lead", "stg_salesforce__lead", "lead_id", (
        "lead_status", "lead_source", "industry", "rating", "region", "is_converted", "converted_date", "created_at",
    ), ("Lead",)),
    ObjectSource("Quote", "stg_salesforce__quote", "quote_id", (
        "quote_number", "quote_status", "discount_pct", "subtotal", "grand_total", "expiration_date", "is_syncing",
        "created_at",
    ), ("Quote",)),
    ObjectSource("Contract", "stg_salesforce__contract", "contract_id", (
        "contract_number", "contract_status", "start_date", "end_date", "contract_term", "activated_at", "created_at",
    ), ("Contract",)),
    ObjectSource("Order", "stg_salesforce__order", "order_id", (
        "order_number", "order_status", "order_type", "effective_date", "activated_at", "total_amount", "created_at",
    ), ("Order",)),
    ObjectSource("Invoice", "stg_salesforce__invoice", "invoice_id", (
        "invoice_number", "invoice_status", "payment_status", "invoice_date", "due_date", "total_amount", "balance",
        "currency", "created_at",
    ), ("blng__Invoice__c",)),
    ObjectSource("Payment", "stg_salesforce__payment", "payment_id", (
        "payment_number", "payment_status", "payment_type", "payment_date", "amount", "currency", "created_at",
    ), ("blng__Payment__c",)),
)

#: O2O relations: (view, source id column, target id column, qualifier).
O2O_SOURCES: tuple[tuple[str, str, str, str], ...] = (
    ("stg_salesforce__lead", "lead_id", "converted_opportunity_id", "converted to"),
    ("stg_salesforce__quote", "quote_id", "opportunity_id", "quote for"),
    ("stg_salesforce__opportunity", "opportunity_id", "contract_id", "contract"),
    ("stg_salesforce__order", "order_id", "opportunity_id", "order for"),
    ("stg_salesforce__order", "order_id", "contract_id", "under contract"),
    ("stg_salesforce__invoice", "invoice_id", "order_id", "invoice for"),
    ("stg_salesforce__payment_allocation", "payment_id", "invoice_id", "pays"),
)

#: Event-log columns that are the OCEL event's identity, type, time or relations rather than attributes.
_NOT_EVENT_ATTRIBUTES = {
    C.EVENT_ID, C.CASE_ID, C.ACTIVITY, C.TIMESTAMP, C.ACTIVITY_ORDER, C.SOURCE_OBJECT, C.SOURCE_ID, C.RESOURCE,
    "is_milestone", "is_before_case_created", "opportunity_id",
}
_CASE_DERIVED = {C.CASE_ID, C.FIRST_EVENT_AT, C.LAST_EVENT_AT, C.EVENT_COUNT}


def ocel_type(duckdb_type: str) -> str:
    """OCEL 2.0 attribute type of a DuckDB column type."""
    t = duckdb_type.upper()
    if t == "BOOLEAN":
        return "boolean"
    if t in ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT"):
        return "integer"
    if t in ("FLOAT", "DOUBLE", "REAL") or t.startswith("DECIMAL"):
        return "float"
    if t.startswith("TIMESTAMP") or t == "DATE":
        return "time"
    return "string"


@dataclass
class _Attributes:
    """Attributes of one table: {name: OCEL type} and the SQL giving each value (as JSON-ready SQL)."""

    types: dict[str, str]

    def value_sql(self, name: str, alias: str = "") -> str:
        column = f"{alias}{quote(name)}"
        if self.types[name] == "time":
            return f"strftime(CAST({column} AS TIMESTAMPTZ), '{_TIME_FORMAT}')"
        if self.types[name] == "float":
            return f"CAST({column} AS DOUBLE)"
        return column


class OcelModel:
    """The OCEL built as temporary DuckDB tables on a (read-only) connection.

    ``ocel_event(id, type, time, <attributes>)``, ``ocel_object(id, type)``,
    ``ocel_object_<n>(id, <attributes>)`` per object type, ``ocel_e2o(event_id,
    object_id, qualifier)`` and ``ocel_o2o(source_id, target_id, qualifier)``.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con
        self.event_log = qualified(con, config.MARTS_SCHEMA, "event_log")
        self.cases = qualified(con, config.MARTS_SCHEMA, "cases")
        self.object_types: dict[str, _Attributes] = {}
        self.object_tables: dict[str, str] = {}
        self.event_attributes = _Attributes({})
        self.event_type_attributes: dict[str, list[str]] = {}
        self.salesforce = self._has_salesforce_objects()
        self._build_objects()
        self._build_events()
        self._build_e2o()
        self._build_o2o()

    # ---------------------------------------------------------------- building

    def _view(self, name: str) -> str | None:
        if relation_kind(self.con, STAGING_SCHEMA, name) is None:
            return None
        return qualified(self.con, STAGING_SCHEMA, name)

    def _columns(self, table: str) -> dict[str, str]:
        return dict(self.con.execute(f"SELECT column_name, column_type FROM (DESCRIBE {table})").fetchall())

    def _has_salesforce_objects(self) -> bool:
        known = {s for source in OBJECT_SOURCES for s in source.source_objects} | {"Opportunity", "OpportunityStage"}
        present = {r[0] for r in self.con.execute(f"SELECT DISTINCT source_object FROM {self.event_log}").fetchall()}
        return bool(present & known) and self._view("stg_salesforce__opportunity") is not None

    def _build_objects(self) -> None:
        self.con.execute("CREATE OR REPLACE TEMP TABLE ocel_object (id VARCHAR, type VARCHAR)")
        case_type = "Opportunity" if self.salesforce else "Case"
        self.case_type = case_type
        case_columns = {c: t for c, t in self._columns(self.cases).items() if c not in _CASE_DERIVED}
        self._add_object_type(case_type, self.cases, "case_id", case_columns)
        if not self.salesforce:
            return
        for source in OBJECT_SOURCES:
            view = self._view(source.view)
            if view is None:
                continue
            columns = self._columns(view)
            attributes = {a: columns[a] for a in source.attributes if a in columns}
            self._add_object_type(source.type, view, source.id_column, attributes)

    def _add_object_type(self, type_name: str, table: str, id_column: str, columns: dict[str, str]) -> None:
        temp = f"ocel_object_{len(self.object_tables)}"
        select = ", ".join([f"CAST({quote(id_column)} AS VARCHAR) AS id"] + [quote(c) for c in columns])
        # Objects already present under another type keep their first type (ids are unique in Salesforce).
        self.con.execute(
            f"CREATE OR REPLACE TEMP TABLE {temp} AS SELECT DISTINCT ON (id) * FROM (SELECT {select} FROM {table}) "
            f"WHERE id IS NOT NULL AND id NOT IN (SELECT id FROM ocel_object) ORDER BY id"
        )
        self.con.execute(f"INSERT INTO ocel_object SELECT id, '{_sql_text(type_name)}' FROM {temp}")
        counts = self.con.execute(
            "SELECT " + ", ".join([f"count({quote(c)})" for c in columns] or ["0"]) + f" FROM {temp}"
        ).fetchall()[0]
        self.object_types[type_name] = _Attributes(
            {c: ocel_type(t) for (c, t), n in zip(columns.items(), counts, strict=False) if n}
        )
        self.object_tables[type_name] = temp

    def _events_source(self) -> str:
        """The events: ``l2c.event_log`` plus, from ``l2c.lead_event_log``, the events of leads that
        never became an opportunity's case (a converted lead's events are in the event log already)."""
        lead_log = qualified(self.con, config.MARTS_SCHEMA, "lead_event_log")
        if not self.salesforce or relation_kind(self.con, config.MARTS_SCHEMA, "lead_event_log") is None:
            return self.event_log
        return (
            f"(SELECT * FROM {self.event_log} UNION ALL BY NAME SELECT * FROM {lead_log} "
            f"WHERE case_id NOT IN (SELECT source_id FROM {self.event_log} WHERE source_object = 'Lead'))"
        )

    def _build_events(self) -> None:
        source = self._events_source()
        columns = dict(self.con.execute(f"SELECT column_name, column_type FROM (DESCRIBE {source})").fetchall())
        attributes = {c: t for c, t in columns.items() if c not in _NOT_EVENT_ATTRIBUTES}
        if C.RESOURCE_NAME not in attributes and C.RESOURCE in columns:
            attributes[C.RESOURCE] = columns[C.RESOURCE]
        names = {c: ("resource" if c in (C.RESOURCE_NAME, C.RESOURCE) else c) for c in attributes}
        select = ", ".join(
            ["event_id AS id", "activity AS type", f"{quote(C.TIMESTAMP)} AS time", "case_id", "source_object",
             "source_id"] + [f"{quote(c)} AS {quote(names[c])}" for c in attributes]
        )
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE ocel_event AS SELECT {select} FROM {source}")
        typed = {names[c]: ocel_type(t) for c, t in attributes.items()}
        self.event_attributes = _Attributes(typed)
        # Each event type declares the attributes that any of its events has.
        if typed:
            counts = self.con.execute(
                "SELECT type, " + ", ".join(f"count({quote(a)})" for a in typed) + " FROM ocel_event GROUP BY type"
            ).fetchall()
        else:
            counts = self.con.execute("SELECT type FROM ocel_event GROUP BY type").fetchall()
        for row in counts:
            self.event_type_attributes[row[0]] = [a for a, n in zip(typed, row[1:], strict=True) if n]

    def _build_e2o(self) -> None:
        qualifier = self.case_type.lower()
        parts = [
            f"SELECT e.id AS event_id, e.case_id AS object_id, '{qualifier}' AS qualifier FROM ocel_event AS e "
            f"JOIN ocel_object AS o ON o.id = e.case_id AND o.type = '{_sql_text(self.case_type)}'"
        ]
        if self.salesforce:
            for source in OBJECT_SOURCES:
                objects = ", ".join(f"'{s}'" for s in source.source_objects)
                parts.append(
                    f"SELECT id, source_id, '{source.type.lower()}' FROM ocel_event WHERE source_object IN ({objects})"
                )
            if C.INVOICE_ID in self.event_attributes.types:
                # A payment event is about the invoice it pays too (one event per allocated invoice).
                parts.append(f"SELECT id, {C.INVOICE_ID}, 'invoice' FROM ocel_event WHERE {C.INVOICE_ID} IS NOT NULL")
            steps, instances = self._view("stg_salesforce__process_instance_step"), self._view(
                "stg_salesforce__process_instance"
            )
            if steps and instances:
                parts.append(
                    "SELECT e.id, i.target_object_id, 'approval of' FROM ocel_event AS e "
                    f"JOIN {steps} AS s ON s.process_instance_step_id = e.source_id "
                    f"JOIN {instances} AS i ON i.process_instance_id = s.process_instance_id "
                    "WHERE e.source_object = 'ProcessInstanceStep'"
                )
        union = " UNION ALL ".join(parts)
        self.con.execute(
            "CREATE OR REPLACE TEMP TABLE ocel_e2o AS SELECT DISTINCT r.event_id, r.object_id, r.qualifier "
            f"FROM ({union}) AS r(event_id, object_id, qualifier) "
            "WHERE r.object_id IN (SELECT id FROM ocel_object)"
        )

    def _build_o2o(self) -> None:
        parts = []
        if self.salesforce:
            for view_name, source, target, qualifier in O2O_SOURCES:
                view = self._view(view_name)
                if view is None or not {source, target} <= set(self._columns(view)):
                    continue
                parts.append(
                    f"SELECT CAST({quote(source)} AS VARCHAR), CAST({quote(target)} AS VARCHAR), "
                    f"'{qualifier}' FROM {view}"
                )
        union = " UNION ALL ".join(parts) or "SELECT NULL, NULL, NULL WHERE false"
        self.con.execute(
            "CREATE OR REPLACE TEMP TABLE ocel_o2o AS SELECT DISTINCT r.source_id, r.target_id, r.qualifier "
            f"FROM ({union}) AS r(source_id, target_id, qualifier) "
            "WHERE r.source_id IN (SELECT id FROM ocel_object) AND r.target_id IN (SELECT id FROM ocel_object)"
        )

    # ---------------------------------------------------------------- counts

    def count(self, table: str) -> int:
        return self.con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]


# --------------------------------------------------------------------------- writers


def export_ocel(con: duckdb.DuckDBPyConnection, out: Path, fmt: str):
    from l2c.eventlog_io.exporters import ExportSummary

    model = OcelModel(con)
    if fmt == "ocel-json":
        write_json(model, out)
    else:
        write_sqlite(model, out)
    cases = con.execute(f"SELECT count(DISTINCT case_id) FROM {model.event_log}").fetchall()[0][0]
    return ExportSummary(
        out, fmt, model.count("ocel_event"), cases, objects=model.count("ocel_object"),
        relations=model.count("ocel_e2o") + model.count("ocel_o2o"),
    )


def write_json(model: OcelModel, out: Path) -> None:
    """OCEL 2.0 JSON, streamed: types first, then objects and events, each built by DuckDB's ``to_json``."""
    con = model.con
    object_types = [
        {"name": t, "attributes": [{"name": a, "type": k} for a, k in attrs.types.items()]}
        for t, attrs in model.object_types.items()
    ]
    event_types = [
        {"name": t, "attributes": [{"name": a, "type": model.event_attributes.types[a]} for a in attrs]}
        for t, attrs in sorted(model.event_type_attributes.items())
    ]
    with out.open("w", encoding="utf-8") as handle:
        handle.write('{\n"objectTypes": ' + json.dumps(object_types, ensure_ascii=False))
        handle.write(',\n"eventTypes": ' + json.dumps(event_types, ensure_ascii=False))
        handle.write(',\n"objects": [\n')
        first = True
        for type_name, table in model.object_tables.items():
            attrs = model.object_types[type_name]
            attribute_list = _json_attribute_list(attrs, alias="o.", with_time=True)
            query = (
                f"SELECT to_json({{'id': o.id, 'type': '{_sql_text(type_name)}', 'attributes': {attribute_list}, "
                "'relationships': coalesce(r.relationships, [])}) "
                f"FROM {table} AS o LEFT JOIN (SELECT source_id, list({{'objectId': target_id, 'qualifier': qualifier}} "
                "ORDER BY target_id, qualifier) AS relationships FROM ocel_o2o GROUP BY source_id) AS r "
                "ON r.source_id = o.id ORDER BY o.id"
            )
            first = _stream_json(con, query, handle, first)
        handle.write('\n],\n"events": [\n')
        attribute_list = _json_attribute_list(model.event_attributes, alias="e.", with_time=False)
        query = (
            f"SELECT to_json({{'id': e.id, 'type': e.type, 'time': strftime(e.time, '{_TIME_FORMAT}'), "
            f"'attributes': {attribute_list}, 'relationships': coalesce(r.relationships, [])}}) "
            "FROM ocel_event AS e LEFT JOIN (SELECT event_id, list({'objectId': object_id, 'qualifier': qualifier} "
            "ORDER BY object_id, qualifier) AS relationships FROM ocel_e2o GROUP BY event_id) AS r "
            "ON r.event_id = e.id ORDER BY e.time, e.id"
        )
        _stream_json(con, query, handle, True)
        handle.write("\n]\n}\n")


def _json_attribute_list(attrs: _Attributes, *, alias: str, with_time: bool) -> str:
    """SQL for the OCEL attribute list of a row, nulls left out."""
    if not attrs.types:
        return "[]"
    time = f"'time': '{EPOCH}', " if with_time else ""
    items = ", ".join(
        f"{{'name': '{_sql_text(a)}', {time}'value': to_json({attrs.value_sql(a, alias)})}}" for a in attrs.types
    )
    return f"list_filter([{items}], lambda x: x.value IS NOT NULL)"


def _stream_json(con: duckdb.DuckDBPyConnection, query: str, handle, first: bool) -> bool:
    for batch in con.sql(query).to_arrow_reader(_BATCH_ROWS):
        rows = batch.column(0).to_pylist()
        if not rows:
            continue
        handle.write(("" if first else ",\n") + ",\n".join(rows))
        first = False
    return first


_SQLITE_TYPES = {"string": "TEXT", "integer": "INTEGER", "float": "REAL", "boolean": "BOOLEAN", "time": "TIMESTAMP"}


def write_sqlite(model: OcelModel, out: Path) -> None:
    """OCEL 2.0 SQLite: the type-independent tables plus one table per event and object type, with keys."""
    out.unlink(missing_ok=True)
    con = model.con
    db = sqlite3.connect(out)
    try:
        db.execute("PRAGMA foreign_keys = ON")
        db.executescript("""
            CREATE TABLE event_map_type (ocel_type TEXT PRIMARY KEY, ocel_type_map TEXT);
            CREATE TABLE object_map_type (ocel_type TEXT PRIMARY KEY, ocel_type_map TEXT);
            CREATE TABLE event (ocel_id TEXT PRIMARY KEY, ocel_type TEXT,
                FOREIGN KEY (ocel_type) REFERENCES event_map_type (ocel_type));
            CREATE TABLE object (ocel_id TEXT PRIMARY KEY, ocel_type TEXT,
                FOREIGN KEY (ocel_type) REFERENCES object_map_type (ocel_type));
            CREATE TABLE event_object (ocel_event_id TEXT, ocel_object_id TEXT, ocel_qualifier TEXT,
                PRIMARY KEY (ocel_event_id, ocel_object_id, ocel_qualifier),
                FOREIGN KEY (ocel_event_id) REFERENCES event (ocel_id),
                FOREIGN KEY (ocel_object_id) REFERENCES object (ocel_id));
            CREATE TABLE object_object (ocel_source_id TEXT, ocel_target_id TEXT, ocel_qualifier TEXT,
                PRIMARY KEY (ocel_source_id, ocel_target_id, ocel_qualifier),
                FOREIGN KEY (ocel_source_id) REFERENCES object (ocel_id),
                FOREIGN KEY (ocel_target_id) REFERENCES object (ocel_id));
        """)
        event_maps = _table_names(model.event_type_attributes, reserved={"object", "map_type"})
        object_maps = _table_names(model.object_types, reserved={"object", "map_type"})
        db.executemany("INSERT INTO event_map_type VALUES (?, ?)", event_maps.items())
        db.executemany("INSERT INTO object_map_type VALUES (?, ?)", object_maps.items())

        _copy(con, db, "SELECT id, type FROM ocel_object ORDER BY id", "object", 2)
        _copy(con, db, "SELECT id, type FROM ocel_event ORDER BY time, id", "event", 2)
        _copy(con, db, "SELECT event_id, object_id, qualifier FROM ocel_e2o", "event_object", 3)
        _copy(con, db, "SELECT source_id, target_id, qualifier FROM ocel_o2o", "object_object", 3)

        for type_name, attrs in model.object_types.items():
            table = f"object_{object_maps[type_name]}"
            _create_type_table(db, table, attrs, parent="object", with_changed_field=True)
            values = [f"'{EPOCH}'", "NULL"] + [_sqlite_value(attrs, a) for a in attrs.types]
            _copy(con, db, f"SELECT id, {', '.join(values)} FROM {model.object_tables[type_name]} ORDER BY id",
                  table, 3 + len(attrs.types))
        for type_name, names in model.event_type_attributes.items():
            table = f"event_{event_maps[type_name]}"
            attrs = _Attributes({a: model.event_attributes.types[a] for a in names})
            _create_type_table(db, table, attrs, parent="event", with_changed_field=False)
            values = [f"strftime(time, '{_TIME_FORMAT}')"] + [_sqlite_value(attrs, a) for a in names]
            _copy(con, db, f"SELECT id, {', '.join(values)} FROM ocel_event WHERE type = '{_sql_text(type_name)}' "
                  "ORDER BY time, id", table, 2 + len(names))
        db.commit()
    finally:
        db.close()


def _create_type_table(db: sqlite3.Connection, table: str, attrs: _Attributes, *, parent: str,
                       with_changed_field: bool) -> None:
    columns = ["ocel_id TEXT" + (" PRIMARY KEY" if parent == "event" else ""), "ocel_time TIMESTAMP"]
    if with_changed_field:
        columns.append("ocel_changed_field TEXT")
    columns += [f"{quote(a)} {_SQLITE_TYPES[t]}" for a, t in attrs.types.items()]
    columns.append(f"FOREIGN KEY (ocel_id) REFERENCES {parent} (ocel_id)")
    db.execute(f"CREATE TABLE {quote(table)} ({', '.join(columns)})")


def _sqlite_value(attrs: _Attributes, name: str) -> str:
    if attrs.types[name] == "boolean":
        return f"CAST({quote(name)} AS INTEGER)"
    return attrs.value_sql(name)


def _copy(con: duckdb.DuckDBPyConnection, db: sqlite3.Connection, query: str, table: str, width: int) -> None:
    placeholders = ", ".join("?" * width)
    for batch in con.sql(query).to_arrow_reader(_BATCH_ROWS):
        rows = list(zip(*(column.to_pylist() for column in batch.columns), strict=True))
        db.executemany(f"INSERT INTO {quote(table)} VALUES ({placeholders})", rows)


def _table_names(types, reserved: set[str]) -> dict[str, str]:
    """Type name → a SQLite-safe, unique (case-insensitively) table suffix, as pm4py strips names."""
    out: dict[str, str] = {}
    used = {r.casefold() for r in reserved}
    for name in types:
        base = re.sub(r"[^0-9A-Za-z]+", "", name) or "Type"
        candidate, n = base, 2
        while candidate.casefold() in used:
            candidate, n = f"{base}_{n}", n + 1
        used.add(candidate.casefold())
        out[name] = candidate
    return out


def _sql_text(text: str) -> str:
    return text.replace("'", "''")


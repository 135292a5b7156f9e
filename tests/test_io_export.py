"""``l2c export``: CSV, Parquet and XES round trips (through pm4py and back through ``l2c import``),
and OCEL 2.0 JSON/SQLite checked against pm4py's readers and the standard's constraints."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from pathlib import Path

import duckdb
import polars as pl
import pytest

from l2c.cli import main
from l2c.eventlog_io import import_event_log
from l2c.eventlog_io.duck import qualified
from l2c.eventlog_io.exporters import ExportError, export_event_log
from l2c.eventlog_io.template import write_template

pm4py = pytest.importorskip("pm4py", reason="pm4py (optional extra) is the reference reader")

EVENTLOGS = Path(__file__).parents[1].parent / "shared" / "data" / "eventlogs"
needs_shared = pytest.mark.skipif(not EVENTLOGS.is_dir(), reason=f"reference logs not found at {EVENTLOGS}")


def frame(db: Path, table: str, order: str) -> pl.DataFrame:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.sql(f"SELECT * FROM {qualified(con, 'l2c', table)} ORDER BY {order}").pl()


@pytest.fixture(scope="module")
def template_db(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("export")
    xlsx, _ = write_template(folder)
    db = folder / "l2c.duckdb"
    import_event_log(xlsx, db, timezone="Europe/Rome")
    return db


# --------------------------------------------------------------------------- XES


def test_xes_export_round_trips_cases_events_and_attributes_through_pm4py(template_db, tmp_path, capsys):
    out = tmp_path / "log.xes"
    assert main(["export", "--db", str(template_db), "--format", "xes", "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == f"wrote {out} (xes): 14 events, 2 cases"
    df = pm4py.read_xes(str(out))
    events = frame(template_db, "event_log", "case_id, activity_order")
    assert len(df) == 14 and df["case:concept:name"].nunique() == 2
    assert list(df["case:concept:name"]) == events.get_column("case_id").to_list()
    assert list(df["concept:name"]) == events.get_column("activity").to_list()
    assert list(df["time:timestamp"]) == events.get_column("timestamp").to_list()
    assert list(df["org:resource"]) == events.get_column("resource").to_list()
    assert list(df["stage"]) == events.get_column("stage").to_list()
    assert list(df["amount"]) == events.get_column("amount").to_list()
    assert list(df["identity:id"]) == events.get_column("event_id").to_list()
    cases = df.groupby("case:concept:name").first()
    assert cases.loc["006EXAMPLE000001AAA", ["case:owner_name", "case:stage_name", "case:amount", "case:discount_pct",
                                            "case:is_won"]].tolist() == ["Maria Rossi", "Closed Won", 52000.0, 10.0, True]
    assert cases.loc["006EXAMPLE000002AAA", "case:is_won"] == False  # noqa: E712 - numpy bool
    assert {tuple(v) for v in pm4py.get_variants(df)} == {
        tuple(events.filter(pl.col("case_id") == c).get_column("activity")) for c in events.get_column("case_id").unique()
    }


def test_xes_gz_export_imports_back_as_the_same_log(template_db, tmp_path):
    out = tmp_path / "log.xes.gz"
    export_event_log(out, template_db)
    assert out.read_bytes()[:2] == b"\x1f\x8b"
    again = tmp_path / "again.duckdb"
    import_event_log(out, again)
    core = ["case_id", "activity", "timestamp", "resource", "stage", "amount"]
    order = "case_id, activity_order"
    assert frame(again, "event_log", order).select(core).equals(frame(template_db, "event_log", order).select(core))
    case_columns = ["case_id", "owner_name", "stage_name", "amount", "discount_pct", "is_won", "is_closed"]
    assert frame(again, "cases", "case_id").select(case_columns).equals(
        frame(template_db, "cases", "case_id").select(case_columns)
    )


def test_xes_escapes_markup_and_keeps_unicode(tmp_path):
    source = tmp_path / "odd.csv"
    source.write_text(
        'case,activity,timestamp,note\n'
        'A&B,"Quote ""A"" <draft> & co",2024-01-01 10:00:00,"line 1\nline 2\tend"\n'
        'A&B,Zahlung eingegangen ✓,2024-01-02 10:00:00,Ünïcødé\n',
        encoding="utf-8",
    )
    db = tmp_path / "l2c.duckdb"
    import_event_log(source, db)
    out = tmp_path / "odd.xes"
    export_event_log(out, db)
    df = pm4py.read_xes(str(out))
    assert list(df["case:concept:name"]) == ["A&B", "A&B"]
    assert list(df["concept:name"]) == ['Quote "A" <draft> & co', "Zahlung eingegangen ✓"]
    assert list(df["note"]) == ["line 1\nline 2\tend", "Ünïcødé"]


@needs_shared
def test_receipt_xes_export_keeps_variants_durations_and_attributes(tmp_path):
    db = tmp_path / "l2c.duckdb"
    import_event_log(EVENTLOGS / "receipt.csv", db)
    out = tmp_path / "receipt.xes"
    export_event_log(out, db)
    ours = pm4py.read_xes(str(out))
    reference = _pm4py_csv(EVENTLOGS / "receipt.csv")
    assert len(ours) == len(reference) == 8577
    assert pm4py.get_variants(ours) == pm4py.get_variants(reference)
    assert sorted(pm4py.get_all_case_durations(ours)) == pytest.approx(sorted(pm4py.get_all_case_durations(reference)))
    for column in ("org:group", "org:resource", "lifecycle:transition", "concept:instance"):
        assert Counter(ours[column]) == Counter(reference[column]), column
    for column in ("case:channel", "case:department", "case:responsible"):
        assert ours.groupby("case:concept:name")[column].first().to_dict() == \
            reference.groupby("case:concept:name")[column].first().to_dict(), column


def _pm4py_csv(path: Path):
    import pandas as pd

    return pm4py.format_dataframe(pd.read_csv(path))


# --------------------------------------------------------------------------- CSV and Parquet


def test_csv_export_imports_back_as_the_same_log(template_db, tmp_path):
    out = tmp_path / "log.csv"
    summary = export_event_log(out, template_db)
    assert (summary.format, summary.events, summary.cases) == ("csv", 14, 2)
    header = out.read_text().splitlines()[0].split(",")
    assert header[:4] == ["event_id", "case_id", "activity", "timestamp"]
    assert {"case:owner_name", "case:is_won", "case:discount_pct"} <= set(header)
    again = tmp_path / "again.duckdb"
    import_event_log(out, again)
    core = ["case_id", "activity", "timestamp", "resource", "stage", "amount"]
    order = "case_id, activity_order"
    assert frame(again, "event_log", order).select(core).equals(frame(template_db, "event_log", order).select(core))
    assert frame(again, "cases", "case_id").select("owner_name", "is_won", "discount_pct").rows() == [
        ("Maria Rossi", True, 10.0), ("John Smith", False, 25.0),
    ]


def test_parquet_export_keeps_types(template_db, tmp_path):
    out = tmp_path / "log.parquet"
    export_event_log(out, template_db)
    exported = pl.read_parquet(out)
    assert exported.height == 14
    assert exported.schema["timestamp"] == pl.Datetime("us", "UTC")
    assert exported.schema["amount"] == pl.Float64
    assert exported.schema["case:is_won"] == pl.Boolean
    assert exported.select("case_id", "activity").rows() == frame(template_db, "event_log", "case_id, activity_order") \
        .select("case_id", "activity").rows()


@pytest.mark.parametrize(
    ("setup", "out", "message"),
    [
        ("none", "log.csv", "no DuckDB file at"),
        ("empty", "log.csv", "l2c.event_log not found in"),
        ("template", "log.txt", "cannot tell the export format from 'log.txt': pass --format"),
    ],
)
def test_export_errors_are_clear(tmp_path, template_db, setup, out, message):
    db = template_db if setup == "template" else tmp_path / "l2c.duckdb"
    if setup == "empty":
        duckdb.connect(str(db)).close()
    with pytest.raises(ExportError, match=message):
        export_event_log(tmp_path / out, db)


# --------------------------------------------------------------------------- OCEL 2.0


def check_ocel_json(doc: dict) -> Counter:
    """The OCEL 2.0 constraints on a JSON log; returns counts (events, objects, e2o, o2o)."""
    event_types = {t["name"]: {a["name"]: a["type"] for a in t["attributes"]} for t in doc["eventTypes"]}
    object_types = {t["name"]: {a["name"]: a["type"] for a in t["attributes"]} for t in doc["objectTypes"]}
    allowed = {"string", "integer", "float", "boolean", "time"}
    assert all(set(t.values()) <= allowed for t in (*event_types.values(), *object_types.values()))
    objects = {o["id"]: o for o in doc["objects"]}
    assert len(objects) == len(doc["objects"]), "object ids are unique"
    events = {e["id"] for e in doc["events"]}
    assert len(events) == len(doc["events"]), "event ids are unique"
    counts = Counter(events=len(events), objects=len(objects))
    for o in doc["objects"]:
        assert o["type"] in object_types
        assert {a["name"] for a in o["attributes"]} <= set(object_types[o["type"]])
        for r in o["relationships"]:
            assert r["objectId"] in objects and r["qualifier"]
        counts["o2o"] += len(o["relationships"])
    for e in doc["events"]:
        assert e["type"] in event_types
        assert {a["name"] for a in e["attributes"]} <= set(event_types[e["type"]])
        for r in e["relationships"]:
            assert r["objectId"] in objects and r["qualifier"]
        counts["e2o"] += len(e["relationships"])
    return counts


def check_ocel_sqlite(path: Path) -> None:
    from pm4py.objects.ocel.validation import ocel20_rel_validation

    satisfied, unsatisfied = ocel20_rel_validation.apply(str(path))
    assert unsatisfied == [] and len(satisfied) == 24
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA foreign_keys = ON")
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []


def test_ocel_export_of_an_imported_log_relates_each_event_to_its_case(template_db, tmp_path):
    json_out, sqlite_out = tmp_path / "log.jsonocel", tmp_path / "log.sqlite"
    summary = export_event_log(json_out, template_db, format="ocel-json")
    assert (summary.events, summary.objects, summary.relations) == (14, 2, 14)
    export_event_log(sqlite_out, template_db, format="ocel-sqlite")
    doc = json.loads(json_out.read_text())
    assert check_ocel_json(doc) == Counter(events=14, objects=2, e2o=14)
    assert [t["name"] for t in doc["objectTypes"]] == ["Case"]
    check_ocel_sqlite(sqlite_out)
    for ocel in (pm4py.read_ocel2_json(str(json_out)), pm4py.read_ocel2_sqlite(str(sqlite_out))):
        assert (len(ocel.events), len(ocel.objects), len(ocel.relations)) == (14, 2, 14)
        assert set(ocel.objects["ocel:type"]) == {"Case"}
        won = ocel.objects.set_index("ocel:oid").loc["006EXAMPLE000001AAA"]
        assert (won["owner_name"], won["stage_name"], won["amount"]) == ("Maria Rossi", "Closed Won", 52000.0)


SALESFORCE_TYPES = {
    "Lead": "stg_salesforce__lead", "Quote": "stg_salesforce__quote", "Contract": "stg_salesforce__contract",
    "Order": "stg_salesforce__order", "Invoice": "stg_salesforce__invoice", "Payment": "stg_salesforce__payment",
}


def test_ocel_export_of_the_salesforce_log_has_its_objects_and_relations(dbt_demo_build, tmp_path):
    db = dbt_demo_build.db
    json_out, sqlite_out = tmp_path / "l2c.jsonocel", tmp_path / "l2c.sqlite"
    export_event_log(json_out, db, format="ocel-json")
    export_event_log(sqlite_out, db, format="ocel-sqlite")
    with duckdb.connect(str(db), read_only=True) as con:
        def count(sql: str) -> int:
            return con.execute(sql.format(**{
                k: qualified(con, "l2c_staging", v) for k, v in SALESFORCE_TYPES.items()
            }, event_log=qualified(con, "l2c", "event_log"), cases=qualified(con, "l2c", "cases"),
               lead_log=qualified(con, "l2c", "lead_event_log"),
               allocation=qualified(con, "l2c_staging", "stg_salesforce__payment_allocation"))).fetchall()[0][0]

        expected_objects = {t: count(f"SELECT count(DISTINCT {v.split('__')[1]}_id) FROM {{{t}}}")
                            for t, v in SALESFORCE_TYPES.items()}
        expected_objects["Opportunity"] = count("SELECT count(*) FROM {cases}")
        # The event log, plus the events of leads that never became a case (from the lead log).
        events = count("SELECT count(*) FROM {event_log}") + count(
            "SELECT count(*) FROM {lead_log} WHERE case_id NOT IN "
            "(SELECT source_id FROM {event_log} WHERE source_object = 'Lead')"
        )
        quote_links = count("SELECT count(*) FROM {Quote} WHERE opportunity_id IN (SELECT case_id FROM {cases})")
        payment_links = count("SELECT count(DISTINCT (payment_id, invoice_id)) FROM {allocation} "
                              "WHERE payment_id IN (SELECT payment_id FROM {Payment}) "
                              "AND invoice_id IN (SELECT invoice_id FROM {Invoice})")
    doc = json.loads(json_out.read_text())
    counts = check_ocel_json(doc)
    assert counts["events"] == events
    assert Counter(o["type"] for o in doc["objects"]) == Counter(expected_objects)
    assert all(n > 0 for n in expected_objects.values())
    # Every event relates to its opportunity, or to its lead before any opportunity exists;
    # events of a quote/contract/order/... relate to that record too.
    assert all(any(r["qualifier"] in ("opportunity", "lead") for r in e["relationships"]) for e in doc["events"])
    qualifiers = Counter(r["qualifier"] for e in doc["events"] for r in e["relationships"])
    assert {"opportunity", "lead", "quote", "contract", "order", "invoice", "payment"} <= set(qualifiers)
    # A payment event relates to the invoice it pays (its invoice_id) as well as to the payment.
    payments = [e for e in doc["events"] if e["type"] == "Payment Received"]
    paid = {a["value"] for e in payments for a in e["attributes"] if a["name"] == "invoice_id"}
    assert payments and len(paid) > 1
    assert all({r["qualifier"] for r in e["relationships"]} >= {"payment", "invoice"} for e in payments)
    assert {r["objectId"] for e in payments for r in e["relationships"] if r["qualifier"] == "invoice"} == paid
    o2o = Counter(r["qualifier"] for o in doc["objects"] for r in o["relationships"])
    assert o2o["quote for"] == quote_links
    assert o2o["pays"] == payment_links
    assert {"converted to", "order for", "invoice for"} <= set(o2o)

    check_ocel_sqlite(sqlite_out)
    for ocel in (pm4py.read_ocel2_json(str(json_out)), pm4py.read_ocel2_sqlite(str(sqlite_out))):
        assert len(ocel.events) == events
        assert Counter(ocel.objects["ocel:type"]) == Counter(expected_objects)
        assert len(ocel.relations) == counts["e2o"]
        assert len(ocel.o2o) == counts["o2o"]

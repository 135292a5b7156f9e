"""Schema drift and wide objects: new, vanished and retyped fields; SOQL split into several queries."""

from __future__ import annotations

from datetime import timedelta

import duckdb
import polars as pl
import pytest
from _extract_helpers import assert_matches_org, object_list, raw_versions, session_connection

from l2c.extract import ObjectSpec, run_sync
from l2c.extract.errors import SchemaConflict
from l2c.extract.fields import plan_fields, split_fields, where_clause
from l2c.extract.writer import read_state


def _columns(db) -> dict[str, list[str]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute("SELECT table_name, column_name FROM duckdb_columns() WHERE schema_name = 'raw_salesforce' "
                           "ORDER BY column_index").fetchall()
    finally:
        con.close()
    out: dict[str, list[str]] = {}
    for table, column in rows:
        out.setdefault(table, []).append(column)
    return out


def test_a_newly_visible_field_becomes_a_new_column(new_sandbox_org, tmp_path):
    org = new_sandbox_org()
    db = tmp_path / "l2c.duckdb"
    conn = session_connection(org)
    run_sync(conn, db, object_list(ObjectSpec("Opportunity", exclude_fields=("Competitor__c", "Probability"))))
    assert "competitor_c" not in _columns(db)["opportunity"]

    org.advance(timedelta(days=20))
    run = run_sync(conn, db, object_list("Opportunity"))

    assert run.ok
    assert run.objects[0].notices == [
        "new field(s) Probability, Competitor__c added as column(s) probability, competitor_c",
        "re-read every record to fill the new column(s) for the versions already stored",
    ]
    assert not run.objects[0].incremental
    assert _columns(db)["opportunity"][-2:] == ["probability", "competitor_c"]  # appended after the metadata
    # the current version of every record has the new fields' values, stored or new
    assert_matches_org(db, org, "Opportunity")
    versions = raw_versions(db, "Opportunity", with_meta=True)
    assert versions.filter(pl.col("_l2c_run_id") == run.run_id).height == run.objects[0].new_versions > 0
    # versions the org no longer shows cannot be re-read: their new columns stay unknown
    current = org.snapshot("Opportunity", include_deleted=True).select(
        pl.col("Id").alias("id"), pl.col("SystemModstamp").alias("system_modstamp"))
    superseded = versions.join(current, on=["id", "system_modstamp"], how="anti")
    assert superseded.height > 0
    assert superseded["probability"].null_count() == superseded.height
    assert versions.height - superseded.height == current.height


def test_a_field_gone_from_describe_keeps_its_column_and_is_reported(new_sandbox_org, tmp_path):
    org = new_sandbox_org()
    db = tmp_path / "l2c.duckdb"
    conn = session_connection(org)
    run_sync(conn, db, object_list("Opportunity"))
    # a field an earlier sync saw, now hidden by field-level security (or deleted) in the org
    con = duckdb.connect(str(db))
    con.execute("ALTER TABLE raw_salesforce.opportunity ADD COLUMN margin_c DOUBLE")
    con.execute("UPDATE raw_salesforce.opportunity SET margin_c = 0.25")
    con.close()

    org.advance(timedelta(days=20))
    run = run_sync(conn, db, object_list(ObjectSpec("Opportunity", exclude_fields=("Description",)),
                                         ObjectSpec("Quote", fields=("Status", "Margin__c"))))

    assert run.ok
    opportunity, quote = run.objects
    assert any("margin_c of raw_salesforce.opportunity have no visible field" in n and "field-level security" in n
               for n in opportunity.notices)
    assert any("description of raw_salesforce.opportunity are kept from earlier syncs" in n
               for n in opportunity.notices)
    assert any("Margin__c named in the object list are not visible in Quote's describe" in n for n in quote.notices)
    versions = raw_versions(db, "Opportunity")
    new = versions.filter(pl.col("margin_c").is_null())
    assert new.height == opportunity.new_versions > 0
    assert versions.filter(pl.col("margin_c") == 0.25).height == versions.height - new.height
    assert set(_columns(db)["quote"]) == {"id", "status", "is_deleted", "system_modstamp", "_l2c_synced_at",
                                          "_l2c_run_id"}


def test_a_type_change_that_fits_the_old_column_is_reported_and_loaded(new_sandbox_org, tmp_path):
    org = new_sandbox_org()
    db = tmp_path / "l2c.duckdb"
    conn = session_connection(org)
    run_sync(conn, db, object_list("Opportunity"))
    con = duckdb.connect(str(db))
    con.execute("ALTER TABLE raw_salesforce.opportunity ALTER probability TYPE BIGINT")  # once an integer field
    con.close()

    org.advance(timedelta(days=20))
    run = run_sync(conn, db, object_list("Opportunity"))

    assert run.ok
    assert any("Opportunity.Probability changed type: describe says percent (DECIMAL(18,4)) but "
               "raw_salesforce.opportunity.probability is BIGINT" in n for n in run.objects[0].notices)
    assert run.objects[0].new_versions > 0
    assert_matches_org(db, org, "Opportunity")


def test_a_type_change_that_would_lose_data_fails_the_object_and_changes_nothing(new_sandbox_org, tmp_path):
    org = new_sandbox_org()
    db = tmp_path / "l2c.duckdb"
    conn = session_connection(org)
    run_sync(conn, db, object_list("Quote"))
    con = duckdb.connect(str(db))
    con.execute("ALTER TABLE raw_salesforce.quote ALTER discount TYPE BIGINT")  # once an integer field
    con.close()
    before = raw_versions(db, "Quote", with_meta=True)

    run = run_sync(conn, db, object_list("Quote", "Opportunity"), full_refresh=True)

    quote, opportunity = run.objects
    assert (quote.status, opportunity.status) == ("failed", "loaded")
    assert quote.error.startswith("Quote.Discount changed type to percent (DECIMAL(18,4)) but the raw column "
                                  "raw_salesforce.quote.discount is BIGINT: value '")
    assert "cannot be stored as BIGINT without loss, so nothing of Quote was loaded" in quote.error
    assert "exclude_fields" in quote.error
    assert raw_versions(db, "Quote", with_meta=True).equals(before)


@pytest.mark.parametrize("mode", ["rest", "bulk"])
def test_objects_too_wide_for_one_query_are_split_and_rejoined(new_sandbox_org, tmp_path, mode):
    org = new_sandbox_org()
    db = tmp_path / "l2c.duckdb"
    conn = session_connection(org)
    settings = {"max_soql_length": 260}
    names = [ObjectSpec("Opportunity", mode=mode), ObjectSpec("Lead", mode=mode)]
    describe = conn.call("describe", lambda sf: sf.Opportunity.describe())
    plan = plan_fields(describe, ObjectSpec("Opportunity"))
    chunks = split_fields(plan, where_clause("SystemModstamp", org.clock, org.clock), 260)
    assert len(chunks) >= 3
    assert all(chunk[:2] == ["Id", "SystemModstamp"] for chunk in chunks)
    assert sorted(n for chunk in chunks for n in chunk[2:]) == sorted(set(plan.names) - {"Id", "SystemModstamp"})

    run_sync(conn, db, object_list(*names, **settings))
    assert_matches_org(db, org, "Opportunity")
    assert_matches_org(db, org, "Lead")
    org.advance(timedelta(days=20))
    run = run_sync(conn, db, object_list(*names, **settings))

    assert run.ok and run.objects[0].new_versions > 0
    assert_matches_org(db, org, "Opportunity")
    assert_matches_org(db, org, "Lead")
    con = duckdb.connect(str(db), read_only=True)
    assert read_state(con, "Opportunity").watermark == raw_versions(db, "Opportunity")["system_modstamp"].max()
    con.close()


def test_a_fraction_in_an_integer_field_is_refused_not_rounded(tmp_path):
    from l2c.extract.fetch import records_to_arrow
    from l2c.extract.sync import open_database
    from l2c.extract.writer import ObjectLoad, compare_schema, ensure_raw_schema

    describe = {"name": "Account", "fields": [{"name": "Id", "type": "id"}, {"name": "SystemModstamp", "type": "datetime"},
                                              {"name": "NumberOfEmployees", "type": "int"}]}
    plan = plan_fields(describe, ObjectSpec("Account"))
    records = [{"Id": "001A", "SystemModstamp": "2024-01-05T10:00:00.000+0000", "NumberOfEmployees": 12},
               {"Id": "001B", "SystemModstamp": "2024-01-05T10:00:00.000+0000", "NumberOfEmployees": 12.5}]
    con = open_database(tmp_path / "l2c.duckdb")
    ensure_raw_schema(con)
    changes, stage_types = compare_schema(con, plan)
    load = ObjectLoad.open(con, plan, "run-1", changes, stage_types, [plan.names])
    with pytest.raises(SchemaConflict) as err:
        load.append(0, records_to_arrow(records, plan.fields))
    load.rollback()
    assert str(err.value).startswith("Account.NumberOfEmployees of record 001B: value '12.5' is not a whole number, "
                                     "but the raw column raw_salesforce.account.number_of_employees is BIGINT")
    assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'account'").fetchall() == [(0,)]


def test_a_version_staged_twice_is_stored_once(tmp_path):
    from datetime import UTC, datetime

    from l2c.extract.fetch import records_to_arrow
    from l2c.extract.sync import open_database
    from l2c.extract.writer import ObjectLoad, compare_schema, ensure_raw_schema

    describe = {"name": "Lead", "fields": [{"name": "Id", "type": "id"}, {"name": "IsDeleted", "type": "boolean"},
                                           {"name": "SystemModstamp", "type": "datetime"},
                                           {"name": "Status", "type": "picklist"}]}
    plan = plan_fields(describe, ObjectSpec("Lead"))
    page = records_to_arrow([
        {"Id": "00QA", "IsDeleted": False, "SystemModstamp": "2024-01-05T10:00:00.000+0000", "Status": "Open"},
        {"Id": "00QA", "IsDeleted": True, "SystemModstamp": "2024-01-05T10:00:00.000+0000", "Status": "Open"},
        {"Id": "00QB", "IsDeleted": False, "SystemModstamp": "2024-01-06T10:00:00.000+0000", "Status": "Open"},
    ], plan.fields)
    con = open_database(tmp_path / "l2c.duckdb")
    ensure_raw_schema(con)
    changes, stage_types = compare_schema(con, plan)
    load = ObjectLoad.open(con, plan, "run-1", changes, stage_types, [plan.names])
    load.append(0, page)
    load.append(0, page)  # e.g. a server repeating a page
    new, deleted, total, watermark = load.commit(datetime.now(UTC), None, "REST", 1, 0.1)

    assert (new, deleted, total) == (3, 1, 3)
    assert watermark == datetime(2024, 1, 6, 10, tzinfo=UTC)
    rows = con.execute("SELECT id, is_deleted FROM raw_salesforce.lead ORDER BY id, is_deleted").fetchall()
    assert rows == [("00QA", False), ("00QA", True), ("00QB", False)]

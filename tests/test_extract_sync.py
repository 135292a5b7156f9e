"""Extraction into the raw layer: full loads, incremental syncs, deletions, history purges (real HTTPS, real DuckDB)."""

from __future__ import annotations

from datetime import timedelta

import duckdb
import pytest
from _extract_helpers import (
    assert_matches_org,
    object_list,
    org_version_keys,
    raw_versions,
    session_connection,
    version_keys,
)

from l2c.extract import ObjectSpec, run_sync
from l2c.salesforce_schema import OBJECTS


def test_full_load_equals_the_org_object_by_object(sandbox_org, tmp_path):
    db = tmp_path / "l2c.duckdb"
    run = run_sync(session_connection(sandbox_org), db, object_list(*[o.name for o in OBJECTS]))

    assert run.ok, run.failed
    assert [o.status for o in run.objects] == ["loaded"] * len(OBJECTS)
    for obj in OBJECTS:
        records = assert_matches_org(db, sandbox_org, obj.name)
        result = next(r for r in run.objects if r.object_name == obj.name)
        assert (result.records_fetched, result.new_versions, result.mode) == (records, records, "REST")
    # queryAll: deleted records arrive, flagged
    deleted = sandbox_org.snapshot("Lead", include_deleted=True).filter("IsDeleted").height
    assert deleted > 0
    assert raw_versions(db, "Lead").filter("is_deleted").height == deleted


def test_raw_tables_follow_the_raw_layer_contract(new_sandbox_org, tmp_path):
    org = new_sandbox_org()
    db = tmp_path / "l2c.duckdb"
    run = run_sync(session_connection(org), db, object_list("Opportunity", "blng__Invoice__c", "Account"))
    assert run.ok

    con = duckdb.connect(str(db), read_only=True)
    columns = dict(con.execute(
        "SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name = 'raw_salesforce' "
        "AND table_name = 'opportunity'").fetchall())
    assert columns["stage_name"] == "VARCHAR"
    assert columns["amount"] == "DECIMAL(18,2)"
    assert columns["close_date"] == "DATE"
    assert columns["system_modstamp"] == "TIMESTAMP WITH TIME ZONE"
    assert columns["is_won"] == "BOOLEAN"
    assert columns["fiscal_year"] == "BIGINT"
    assert columns["competitor_c"] == "VARCHAR"
    assert columns["_l2c_synced_at"] == "TIMESTAMP WITH TIME ZONE"
    assert columns["_l2c_run_id"] == "VARCHAR"
    invoice_columns = {r[0] for r in con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE table_name = 'blng_invoice_c'").fetchall()}
    assert {"blng_due_date_c", "blng_account_c", "blng_total_amount_c"} <= invoice_columns
    # compound address fields are skipped, their components kept
    account_columns = {r[0] for r in con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE table_name = 'account'").fetchall()}
    assert "billing_address" not in account_columns and "billing_city" in account_columns
    run_ids = con.execute("SELECT DISTINCT _l2c_run_id FROM raw_salesforce.opportunity").fetchall()
    assert run_ids == [(run.run_id,)]
    state = con.execute(
        "SELECT object_name, table_name, replication_key, mode, records_fetched, new_versions, run_id, "
        "watermark = (SELECT max(system_modstamp) FROM raw_salesforce.opportunity) "
        "FROM raw_salesforce._l2c_sync_state WHERE object_name = 'Opportunity'").fetchall()
    n = org.snapshot("Opportunity", include_deleted=True).height
    assert state == [("Opportunity", "opportunity", "SystemModstamp", "REST", n, n, run.run_id, True)]


def test_bulk_load_equals_the_org(new_sandbox_org, tmp_path):
    org = new_sandbox_org()
    db = tmp_path / "l2c.duckdb"
    names = ["Account", "Lead", "OpportunityFieldHistory", "Task", "Opportunity"]
    run = run_sync(session_connection(org), db, object_list(*names, bulk_threshold=1, bulk_page_size=100))

    assert run.ok, run.failed
    assert {o.mode for o in run.objects} == {"Bulk"}
    for name in names:
        assert_matches_org(db, org, name)


def test_incremental_sync_adds_exactly_the_new_versions(new_sandbox_org, tmp_path):
    org = new_sandbox_org()
    db = tmp_path / "l2c.duckdb"
    names = ["Opportunity", "OpportunityFieldHistory", "Quote", "Lead"]
    conn = session_connection(org)
    run_sync(conn, db, object_list(*names))
    before = {n: org_version_keys(org, n) for n in names}

    org.advance(timedelta(days=30))
    run = run_sync(conn, db, object_list(*names))

    for name in names:
        now = org_version_keys(org, name)
        result = next(r for r in run.objects if r.object_name == name)
        assert result.incremental
        assert version_keys(db, name) == before[name] | now, name
        assert result.new_versions == len(now - before[name]), name
        assert result.records_fetched < len(now), f"{name}: an incremental sync re-read everything"
        assert_matches_org(db, org, name)
    assert run.objects[0].new_versions > 0 and run.objects[1].new_versions > 0


def test_rerun_without_org_activity_adds_nothing(new_sandbox_org, tmp_path):
    org = new_sandbox_org()
    db = tmp_path / "l2c.duckdb"
    conn = session_connection(org)
    names = ["Opportunity", "OpportunityFieldHistory", "User"]
    first = run_sync(conn, db, object_list(*names))
    rows = {n: raw_versions(db, n).height for n in names}

    again = run_sync(conn, db, object_list(*names))
    refresh = run_sync(conn, db, object_list(*names), full_refresh=True)

    assert [o.new_versions for o in again.objects] == [0, 0, 0]
    assert [o.new_versions for o in refresh.objects] == [0, 0, 0]
    assert [o.incremental for o in refresh.objects] == [False, False, False]
    assert {n: raw_versions(db, n).height for n in names} == rows
    assert [o.watermark for o in again.objects] == [o.watermark for o in first.objects]


@pytest.mark.parametrize("lookback_seconds", [0, 10 * 365 * 86400])
def test_lookback_rereads_are_deduplicated(new_sandbox_org, tmp_path, lookback_seconds):
    org = new_sandbox_org()
    db = tmp_path / "l2c.duckdb"
    conn = session_connection(org)
    run_sync(conn, db, object_list("Opportunity", lookback_seconds=lookback_seconds))
    org.advance(timedelta(days=10))
    second = run_sync(conn, db, object_list("Opportunity", lookback_seconds=lookback_seconds))

    # records at the watermark itself (>=) or far behind it (look-back) are re-read, never duplicated
    assert second.objects[0].records_fetched > second.objects[0].new_versions
    versions = raw_versions(db, "Opportunity")
    assert versions.select("id", "system_modstamp", "is_deleted").is_duplicated().sum() == 0
    assert_matches_org(db, org, "Opportunity")


def test_deletions_and_undeletions_are_kept_as_versions(new_sandbox_org, tmp_path):
    org = new_sandbox_org()
    db = tmp_path / "l2c.duckdb"
    conn = session_connection(org)
    run_sync(conn, db, object_list("Opportunity"))
    ids = org.snapshot("Opportunity").get_column("Id").to_list()[:3]

    org.advance(timedelta(minutes=1))
    org.delete("Opportunity", ids)
    deleted_run = run_sync(conn, db, object_list("Opportunity"))
    org.advance(timedelta(minutes=1))
    org.undelete("Opportunity", ids[:1])
    run_sync(conn, db, object_list("Opportunity"))

    assert deleted_run.objects[0].deletions == 3
    history = raw_versions(db, "Opportunity").filter(raw_versions(db, "Opportunity")["id"].is_in(ids))
    flags = history.group_by("id", maintain_order=True).agg("is_deleted").sort("id")
    expected = {ids[0]: [False, True, False], ids[1]: [False, True], ids[2]: [False, True]}
    assert {r["id"]: r["is_deleted"][-len(expected[r["id"]]):] for r in flags.iter_rows(named=True)} == expected
    assert_matches_org(db, org, "Opportunity")


def test_history_purged_in_the_org_is_kept_locally(new_sandbox_org, tmp_path):
    org = new_sandbox_org()
    db = tmp_path / "l2c.duckdb"
    conn = session_connection(org)
    names = ["OpportunityFieldHistory", "LeadHistory", "ContractHistory"]
    run_sync(conn, db, object_list(*names))
    kept = {n: set(raw_versions(db, n).get_column("id")) for n in names}

    org.advance(timedelta(days=5))
    org.purge_history(org.clock - timedelta(days=90))
    assert org.snapshot("OpportunityFieldHistory").height < len(kept["OpportunityFieldHistory"])
    run_sync(conn, db, object_list(*names))
    run_sync(conn, db, object_list(*names), full_refresh=True)

    for name in names:
        ids = raw_versions(db, name).get_column("id")
        assert kept[name] <= set(ids), name
        assert ids.is_duplicated().sum() == 0, name
        assert set(org.snapshot(name, include_deleted=True).get_column("Id")) <= set(ids), name


def test_objects_the_org_lacks_are_skipped_with_a_notice(new_sandbox_org, tmp_path):
    org = new_sandbox_org()
    db = tmp_path / "l2c.duckdb"
    run = run_sync(session_connection(org), db,
                   object_list("blng__CreditNote__c", "Opportunity", ObjectSpec("SBQQ__Quote__c")))

    assert run.ok
    assert [(o.object_name, o.status) for o in run.objects] == [
        ("blng__CreditNote__c", "skipped"), ("Opportunity", "loaded"), ("SBQQ__Quote__c", "skipped")]
    assert "blng__CreditNote__c is not in this org" in run.objects[0].notices[0]
    assert "Salesforce Billing" in run.objects[0].notices[0]
    con = duckdb.connect(str(db), read_only=True)
    tables = {r[0] for r in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'raw_salesforce'").fetchall()}
    assert tables == {"opportunity", "_l2c_sync_state"}

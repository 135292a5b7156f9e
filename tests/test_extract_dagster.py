"""The Salesforce assets in Dagster and the ``l2c extract`` command: metadata, failures, and no secrets anywhere."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from _extract_helpers import assert_matches_org

from l2c.cli import main
from l2c.extract import ObjectList, ObjectSpec, SyncSettings
from orchestration.salesforce import (
    GROUP,
    SalesforceResource,
    build_salesforce_assets,
    salesforce_assets,
    salesforce_job,
    salesforce_schedule,
)

PROJECT = Path(__file__).resolve().parents[1]
SESSION_ID_SHAPE = re.compile(r"00D[A-Za-z0-9]{12,15}![A-Za-z0-9._\-]{8,}")


def _objects(*names: str) -> ObjectList:
    return ObjectList(tuple(ObjectSpec(n) for n in names), SyncSettings(bulk_poll_seconds=0.01))


def test_one_asset_per_shipped_object_in_the_salesforce_group():
    keys = {key.to_user_string() for key in salesforce_assets.keys}
    assert len(keys) == 25
    assert {"raw_salesforce/opportunity", "raw_salesforce/opportunity_field_history",
            "raw_salesforce/blng_payment_allocation_invoice_c", "raw_salesforce/user"} <= keys
    assert set(salesforce_assets.group_names_by_key.values()) == {GROUP}
    assert salesforce_schedule.cron_schedule == "0 5 * * *"
    assert salesforce_schedule.job_name == salesforce_job.name == "salesforce_extract"
    assert salesforce_job.tags == {"l2c/duckdb": "writer"}


def test_materialize_reports_what_each_object_loaded(new_sandbox_org, tmp_path):
    org = new_sandbox_org()
    db = tmp_path / "l2c.duckdb"
    assets = build_salesforce_assets(_objects("Opportunity", "LeadHistory", "blng__CreditNote__c"))
    resource = SalesforceResource(instance_url=org.instance_url, session_id=org.session_id, ca_bundle=org.ca_bundle,
                                  duckdb_path=str(db))
    result = dg.materialize([assets], resources={"salesforce": resource})

    assert result.success
    metadata = {ev.asset_key.path[-1]: {k: v.value for k, v in ev.materialization.metadata.items()}
                for ev in result.get_asset_materialization_events()}
    opportunities = org.snapshot("Opportunity", include_deleted=True).height
    watermark = metadata["opportunity"].pop("watermark")
    assert watermark == org.snapshot("Opportunity", include_deleted=True)["SystemModstamp"].max().isoformat()
    assert metadata["opportunity"].pop("duration_seconds") > 0
    assert metadata["opportunity"] == {
        "status": "loaded", "table": "raw_salesforce.opportunity", "records_fetched": opportunities,
        "new_versions": opportunities, "deletions": 0, "api_calls": 3, "mode": "REST", "sync": "full",
        "dagster/row_count": opportunities,
    }
    assert metadata["lead_history"]["records_fetched"] == org.snapshot("LeadHistory").height
    assert metadata["blng_credit_note_c"]["status"] == "skipped"
    assert "not in this org" in metadata["blng_credit_note_c"]["notices"]
    assert_matches_org(db, org, "Opportunity")

    again = dg.materialize([assets], resources={"salesforce": resource},
                           selection=[dg.AssetKey(["raw_salesforce", "opportunity"])])
    (event,) = again.get_asset_materialization_events()
    assert (event.materialization.metadata["sync"].value, event.materialization.metadata["new_versions"].value) == (
        "incremental", 0)


def test_a_failing_object_fails_the_run_after_the_others_are_materialized(new_sandbox_org, tmp_path, monkeypatch):
    monkeypatch.setenv("L2C_SF_MAX_RETRIES", "1")
    monkeypatch.setenv("L2C_SF_BACKOFF_SECONDS", "0.001")
    org = new_sandbox_org()
    assets = build_salesforce_assets(_objects("Account", "Opportunity", "Lead"))
    resource = SalesforceResource(instance_url=org.instance_url, session_id=org.session_id, ca_bundle=org.ca_bundle,
                                  duckdb_path=str(tmp_path / "l2c.duckdb"))
    org.fail_next("503", n=2, path_contains="Opportunity/describe")
    result = dg.materialize([assets], resources={"salesforce": resource}, raise_on_error=False)

    assert not result.success
    assert sorted(ev.asset_key.path[-1] for ev in result.get_asset_materialization_events()) == ["account", "lead"]
    failure = next(ev for ev in result.all_events if ev.event_type_value == "STEP_FAILURE")
    assert ("failed: Opportunity. Their raw tables and watermarks are unchanged; the next run completes them. "
            "Opportunity: describe failed 2 times with transient errors") in str(failure.event_specific_data)


def test_no_secret_reaches_logs_metadata_errors_or_the_database(new_sandbox_org, tmp_path, caplog, monkeypatch):
    monkeypatch.setenv("L2C_SF_BACKOFF_SECONDS", "0.001")
    monkeypatch.setenv("L2C_SF_BACKOFF_MAX_SECONDS", "0.005")
    org = new_sandbox_org(faults="500:0.1,drop:0.05,expire:0.05")
    db = tmp_path / "l2c.duckdb"
    assets = build_salesforce_assets(_objects("Opportunity", "OpportunityFieldHistory", "Account"))
    resource = SalesforceResource(username=org.username, password=org.password, security_token=org.security_token,
                                  domain=org.login_domain, ca_bundle=org.ca_bundle, duckdb_path=str(db))
    with caplog.at_level(logging.DEBUG):
        result = dg.materialize([assets], resources={"salesforce": resource}, raise_on_error=False)
        org.expire_sessions()
        org.fail_next("500", n=50)  # an error message in the run failure, too
        failed = dg.materialize([assets], resources={"salesforce": resource}, raise_on_error=False)

    assert result.success and not failed.success
    secrets = [org.password, org.security_token, org.session_id, org.consumer_secret]
    texts = {
        "captured logs": caplog.text,
        "events": "\n".join(str(ev) for ev in [*result.all_events, *failed.all_events]),
        "metadata": "\n".join(str(ev.materialization.metadata) for ev in result.get_asset_materialization_events()),
        "database": db.read_bytes().decode("latin-1"),
    }
    assert "retry" in caplog.text  # the faults did happen
    for where, text in texts.items():
        for secret in secrets:
            assert secret not in text, f"a secret leaked into the {where}"
        assert not SESSION_ID_SHAPE.search(text), f"a session id leaked into the {where}"


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """``l2c`` in a new process, as a user runs it (the definitions load the object list of that run)."""
    return subprocess.run([sys.executable, "-m", "l2c.cli", *args], env={**os.environ, **env}, cwd=PROJECT,
                          capture_output=True, text=True, timeout=300)


def test_cli_extracts_from_the_demo_org_through_the_recorded_dagster_job(tmp_path):
    db, home = tmp_path / "demo.duckdb", tmp_path / "dagster_home"
    home.mkdir()
    objects_file = tmp_path / "objects.yml"
    objects_file.write_text("objects:\n  - Opportunity\n  - OpportunityFieldHistory\n  - blng__CreditNote__c\n"
                            "  - Account\n")
    args = ["extract", "--demo", "--opportunities", "40", "--seed", "5", "--db", str(db),
            "--objects-file", str(objects_file), "--objects", "Opportunity,OpportunityFieldHistory,blng__CreditNote__c"]
    env = {"DAGSTER_HOME": str(home)}

    first = _cli(*args, env=env)
    assert first.returncode == 0, first.stderr
    lines = first.stdout.splitlines()
    assert lines[0] == "starting the demo org (40 opportunities, seed 5) ..."
    assert lines[1].startswith("extracting 3 objects from https://127.0.0.1:") and lines[1].endswith(str(db))
    assert re.match(r"Opportunity +[\d,]+ records  REST full +[\d,]+ new +0 deleted +3 calls", lines[2])
    assert lines[4].startswith("blng__CreditNote__c") and "skipped: blng__CreditNote__c is not in this org" in lines[4]
    assert re.match(r"2 loaded, 1 skipped, 0 failed in [\d.]+s with \d+ API calls \(run [0-9a-f-]{36}\)$", lines[5])

    second = _cli(*args, "--full-refresh", env=env)
    assert second.returncode == 0, second.stderr
    lines = second.stdout.splitlines()
    # a full refresh re-reads every record and stores no version twice
    assert re.match(r"Opportunity +[\d,]+ records  REST full +0 new", lines[2])
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM raw_salesforce._l2c_sync_state").fetchall() == [(2,)]
        tables = {row[0] for row in con.execute("SELECT table_name FROM duckdb_tables() "
                                                 "WHERE schema_name = 'raw_salesforce'").fetchall()}
    assert "account" not in tables and {"opportunity", "opportunity_field_history"} <= tables  # only --objects

    # Both runs are in the Dagster instance of DAGSTER_HOME, as if launched from the UI.
    with dg.DagsterInstance.from_config(str(home)) as instance:
        runs = instance.get_runs()
        assert [(r.job_name, r.status) for r in runs] == [("salesforce_extract", dg.DagsterRunStatus.SUCCESS)] * 2
        assert runs[0].run_id in lines[-1]  # the newest run first: the summary line names the Dagster run
        materialized = instance.fetch_materializations(dg.AssetKey(["raw_salesforce", "opportunity"]), limit=10)
        assert len(materialized.records) == 2
        assert instance.fetch_materializations(dg.AssetKey(["raw_salesforce", "account"]), limit=10).records == []


def test_cli_refuses_an_object_the_list_does_not_name(tmp_path, capsys):
    assert main(["extract", "--db", str(tmp_path / "x.duckdb"), "--objects", "Opportunity,Invoice__c"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("l2c extract: error: Invoice__c is not in the object list ")
    assert "objects.yml; add it there (or pass --objects-file) to extract it. Listed: User, UserRole," in err
    assert not (tmp_path / "x.duckdb").exists()


def test_cli_without_configuration_says_what_to_set(tmp_path, capsys, monkeypatch):
    for var in ("USERNAME", "PASSWORD", "SECURITY_TOKEN", "CONSUMER_KEY", "CONSUMER_SECRET", "PRIVATE_KEY_FILE",
                "INSTANCE_URL", "SESSION_ID", "DOMAIN"):
        monkeypatch.delenv(f"SALESFORCE_{var}", raising=False)
    assert main(["extract", "--db", str(tmp_path / "x.duckdb")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("l2c extract: error: Salesforce connection is not configured. Set one of:")
    assert not (tmp_path / "x.duckdb").exists()


@pytest.mark.parametrize(("fault", "message"), [
    # the object list's order: Account comes first
    ("500", "l2c extract: error: 1 object(s) failed: Account. Their raw tables and watermarks are unchanged; "
            "the next run completes them. Account: COUNT() failed 1 times with transient errors; last: HTTP 500"),
    ("limit", "l2c extract: error: Salesforce extraction stopped: Stopped: Salesforce refused Account: COUNT() "
              "with REQUEST_LIMIT_EXCEEDED"),
])
def test_cli_exits_non_zero_with_a_clear_message(new_sandbox_org, tmp_path, capsys, monkeypatch, fault, message):
    org = new_sandbox_org()
    monkeypatch.setenv("SALESFORCE_INSTANCE_URL", org.instance_url)
    monkeypatch.setenv("SALESFORCE_SESSION_ID", org.session_id)
    monkeypatch.setenv("SALESFORCE_CA_BUNDLE", org.ca_bundle)
    monkeypatch.setenv("L2C_SF_MAX_RETRIES", "0")
    org.fail_next(fault, path_contains="/queryAll/")  # the first object's COUNT()

    code = main(["extract", "--db", str(tmp_path / "l2c.duckdb"), "--objects", "Opportunity,Account"])
    captured = capsys.readouterr()
    assert code == 1
    assert captured.err.startswith(message)
    assert org.session_id not in captured.err + captured.out

"""Faults from the sandbox org: retried, re-authenticated, stopped cleanly, or rolled back and resumed."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest
from _extract_helpers import (
    assert_matches_org,
    object_list,
    password_connection,
    raw_versions,
    session_connection,
)

from l2c.extract import ObjectSpec, run_sync
from l2c.extract.writer import read_state

PROJECT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("kind", ["500", "503", "drop", "truncate"])
@pytest.mark.parametrize("mode", ["rest", "bulk"])
def test_transient_faults_are_retried(new_sandbox_org, tmp_path, caplog, kind, mode):
    org = new_sandbox_org()
    db = tmp_path / "l2c.duckdb"
    # the second results page of either API fails twice, then succeeds
    page_two = "-200" if mode == "rest" else "/results"
    org.fail_next(kind, n=2, path_contains=page_two)
    with caplog.at_level(logging.WARNING, logger="l2c.extract"):
        run = run_sync(session_connection(org), db, object_list(
            ObjectSpec("OpportunityFieldHistory", mode=mode), rest_page_size=200, bulk_page_size=200))

    assert run.ok, run.failed
    assert run.objects[0].mode == mode.upper().replace("BULK", "Bulk")
    assert_matches_org(db, org, "OpportunityFieldHistory")
    retries = [r.getMessage() for r in caplog.records if "retry" in r.getMessage()]
    assert len(retries) == 2 and all("OpportunityFieldHistory" in m for m in retries)


def test_a_run_through_random_faults_still_equals_the_org(new_sandbox_org, tmp_path):
    org = new_sandbox_org(faults="500:0.04,503:0.04,drop:0.04,truncate:0.04,expire:0.03")
    db = tmp_path / "l2c.duckdb"
    names = ["Opportunity", "OpportunityFieldHistory", "Lead", "Quote", "Account"]
    conn = password_connection(org, max_retries=12)
    run_sync(conn, db, object_list(*names, rest_page_size=200))
    org.advance(timedelta(days=20))
    run = run_sync(conn, db, object_list(*names, bulk_threshold=50, bulk_page_size=100))

    assert run.ok, [o.error for o in run.failed]
    for name in names:
        assert_matches_org(db, org, name)
    faults = [entry[2] for entry in org.request_log if isinstance(entry[2], str) or entry[2] >= 500]
    assert len(faults) >= 5, "the fault spec should have hit this run several times"


def test_slow_responses_time_out_and_are_retried(new_sandbox_org, tmp_path):
    org = new_sandbox_org(faults="delay:4")
    db = tmp_path / "l2c.duckdb"
    org.fail_next("slow", path_contains="/query")
    run = run_sync(session_connection(org, request_timeout_seconds=1.0), db, object_list("Opportunity"))
    assert run.ok
    assert_matches_org(db, org, "Opportunity")


@pytest.mark.parametrize("mode", ["rest", "bulk"])
def test_expired_session_reauthenticates_once(new_sandbox_org, tmp_path, mode):
    org = new_sandbox_org()
    db = tmp_path / "l2c.duckdb"
    conn = password_connection(org)
    first_session = conn.sf.session_id
    org.fail_next("expire", path_contains="/query" if mode == "rest" else "/results")
    run = run_sync(conn, db, object_list(ObjectSpec("Opportunity", mode=mode)))

    assert run.ok
    assert conn.sf.session_id != first_session
    assert_matches_org(db, org, "Opportunity")


def test_expired_session_id_without_login_stops_the_run_clearly(new_sandbox_org, tmp_path):
    org = new_sandbox_org()
    db = tmp_path / "l2c.duckdb"
    conn = session_connection(org)
    run_sync(conn, db, object_list("Account"))
    org.expire_sessions()
    run = run_sync(conn, db, object_list("Opportunity", "Lead"))

    assert run.objects == []  # the very first request (global describe) already fails
    assert "rejected the session again after re-authenticating, during global describe" in run.stopped
    assert "Provide a fresh SALESFORCE_SESSION_ID" in run.stopped
    assert org.session_id not in run.stopped


def test_request_limit_exceeded_stops_the_run_cleanly(new_sandbox_org, tmp_path):
    org = new_sandbox_org()
    db = tmp_path / "l2c.duckdb"
    conn = session_connection(org)
    names = ["Account", "Opportunity", "Lead"]
    # Account loads; the first request about Opportunity (its describe) is refused
    org.fail_next("limit", path_contains="Opportunity")
    run = run_sync(conn, db, object_list(*names))

    assert [(o.object_name, o.status) for o in run.objects] == [("Account", "loaded"), ("Opportunity", "failed")]
    assert "REQUEST_LIMIT_EXCEEDED" in run.stopped and "Objects already loaded are kept" in run.stopped
    assert run.objects[1].error == run.stopped and run.objects[1].api_calls == 1  # its describe was refused
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT object_name FROM raw_salesforce._l2c_sync_state").fetchall() == [("Account",)]
    con.close()

    resumed = run_sync(conn, db, object_list(*names))
    assert resumed.ok
    for name in names:
        assert_matches_org(db, org, name)


def test_a_configured_share_of_the_daily_api_budget_stops_the_run(new_sandbox_org, tmp_path):
    org = new_sandbox_org(faults="limit:20")
    db = tmp_path / "l2c.duckdb"
    conn = session_connection(org, max_api_share=0.5)
    run = run_sync(conn, db, object_list("Account", "Opportunity", "Lead", "Quote", "Contract"))

    assert run.stopped is not None
    assert "of its 20 daily API requests" in run.stopped and "L2C_SF_MAX_API_SHARE" in run.stopped
    assert org.api_usage <= 10
    loaded = [o.object_name for o in run.objects if o.status == "loaded"]
    assert 1 <= len(loaded) < 5
    for name in loaded:
        assert_matches_org(db, org, name)


def test_failed_bulk_job_falls_back_to_rest(new_sandbox_org, tmp_path):
    org = new_sandbox_org()
    db = tmp_path / "l2c.duckdb"
    org.fail_next("job_failed")
    run = run_sync(session_connection(org), db, object_list(ObjectSpec("OpportunityHistory", mode="bulk")))

    assert run.ok
    assert run.objects[0].mode == "REST"
    assert "Bulk API 2.0 failed" in run.objects[0].notices[0]
    assert_matches_org(db, org, "OpportunityHistory")


def assert_same_raw_tables(db: Path, reference: Path, names: list[str]) -> None:
    for name in names:
        got, want = raw_versions(db, name), raw_versions(reference, name)
        assert got.equals(want), f"{name}: {got.height} rows vs {want.height} in the uninterrupted run"


NAMES = ["Opportunity", "OpportunityFieldHistory", "Lead"]


def test_object_failing_mid_way_is_rolled_back_and_the_next_run_completes_it(new_sandbox_org, tmp_path):
    org = new_sandbox_org(n_opportunities=120)
    uninterrupted, interrupted = tmp_path / "a.duckdb", tmp_path / "b.duckdb"
    settings = {"rest_page_size": 200}
    run_sync(session_connection(org), uninterrupted, object_list(*NAMES, **settings))

    # the third OpportunityFieldHistory page fails more often than the retries allow
    org.fail_next("500", n=3, path_contains="-400")
    failed = run_sync(session_connection(org, max_retries=2), interrupted, object_list(*NAMES, **settings))
    assert [(o.object_name, o.status) for o in failed.objects] == [
        ("Opportunity", "loaded"), ("OpportunityFieldHistory", "failed"), ("Lead", "loaded")]
    assert "failed 3 times with transient errors" in failed.objects[1].error
    con = duckdb.connect(str(interrupted), read_only=True)
    assert read_state(con, "OpportunityFieldHistory") is None
    assert not con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'opportunity_field_history'"
                           ).fetchall()[0][0]
    con.close()

    resumed = run_sync(session_connection(org), interrupted, object_list(*NAMES, **settings))
    assert [o.new_versions for o in resumed.objects][0::2] == [0, 0]
    assert_same_raw_tables(interrupted, uninterrupted, NAMES)


def test_incremental_load_failing_mid_way_leaves_table_and_watermark_as_before(new_sandbox_org, tmp_path):
    org = new_sandbox_org(n_opportunities=500)
    db = tmp_path / "l2c.duckdb"
    conn = session_connection(org, max_retries=1)
    run_sync(conn, db, object_list("OpportunityFieldHistory"))
    before = raw_versions(db, "OpportunityFieldHistory", with_meta=True)
    con = duckdb.connect(str(db), read_only=True)
    state_before = read_state(con, "OpportunityFieldHistory")
    con.close()

    org.advance(timedelta(days=120))  # over 200 new history rows: the delta has two REST pages
    org.fail_next("drop", n=2, path_contains="-200")
    failed = run_sync(conn, db, object_list("OpportunityFieldHistory", rest_page_size=200))

    assert failed.objects[0].status == "failed"
    assert raw_versions(db, "OpportunityFieldHistory", with_meta=True).equals(before)
    con = duckdb.connect(str(db), read_only=True)
    assert read_state(con, "OpportunityFieldHistory") == state_before
    con.close()
    run_sync(conn, db, object_list("OpportunityFieldHistory", rest_page_size=200))
    assert_matches_org(db, org, "OpportunityFieldHistory")


def test_killed_run_resumes_to_the_same_raw_tables(new_sandbox_org, tmp_path):
    org = new_sandbox_org(n_opportunities=120, faults="delay:60")
    uninterrupted, killed = tmp_path / "a.duckdb", tmp_path / "b.duckdb"
    run_sync(session_connection(org), uninterrupted, object_list(*NAMES, rest_page_size=200))

    objects_file = tmp_path / "objects.yml"
    objects_file.write_text("settings:\n  rest_page_size: 200\nobjects:\n" + "".join(f"  - {n}\n" for n in NAMES))
    env = {**os.environ, "SALESFORCE_INSTANCE_URL": org.instance_url, "SALESFORCE_SESSION_ID": org.session_id,
           "SALESFORCE_CA_BUNDLE": org.ca_bundle, "L2C_EXTRACT_OBJECTS": str(objects_file)}
    # the third OpportunityFieldHistory page hangs; the process is killed while waiting for it
    org.fail_next("slow", path_contains="-400")
    seen = len(org.request_log)
    proc = subprocess.Popen([sys.executable, "-m", "l2c.cli", "extract", "--db", str(killed)], env=env, cwd=PROJECT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while not any(path.endswith("-400") for _, path, _ in org.request_log[seen:]):
            assert time.monotonic() < deadline and proc.poll() is None, "the extract never reached page 3"
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    org.clear_faults()
    con = duckdb.connect(str(killed), read_only=True)
    assert [r[0] for r in con.execute("SELECT object_name FROM raw_salesforce._l2c_sync_state").fetchall()] == [
        "Opportunity"]
    con.close()

    run_sync(session_connection(org), killed, object_list(*NAMES, rest_page_size=200))
    assert_same_raw_tables(killed, uninterrupted, NAMES)

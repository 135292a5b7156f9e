"""The whole pipeline through the one Dagster ``Definitions``, and the CLI commands that drive it.

Arrange with the demo org; act through ``l2c demo`` / the other commands
(in-process, the same entry point as the console script); assert on the marts,
the analysis tables and the report.
"""

from __future__ import annotations

import duckdb
import pytest

from analysis.marts import ANALYSIS_TABLES, OPTIONAL_ANALYSIS_TABLES
from l2c.cli import main
from l2c.demo import DEMO_SYNC_INTERVAL
from l2c.extract import load_object_list
from l2c.salesforce_schema import snake_case
from l2c.sandbox.generator import generate_org

N_OPPORTUNITIES, SEED = 150, 11


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """``l2c demo`` on a small org: (DuckDB path, report dir, printed summary, generated org)."""
    root = tmp_path_factory.mktemp("pipeline")
    db, report = root / "warehouse.duckdb", root / "report"
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["demo", "--opportunities", str(N_OPPORTUNITIES), "--seed", str(SEED),
                     "--db", str(db), "--report", str(report)])
    assert code == 0, out.getvalue()
    clock = next(line for line in out.getvalue().splitlines() if "the whole pipeline at org time" in line)
    return db, report, out.getvalue(), generate_org(N_OPPORTUNITIES, seed=SEED), clock


def scalar(db, sql: str):
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchone()[0]


def test_definitions_hold_every_asset_and_check_in_one_lineage_graph():
    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    objects = [spec.name for spec in load_object_list().objects]
    assert {f"raw_salesforce/{snake_case(o)}" for o in objects} <= keys
    assert {"l2c/event_log", "l2c/cases", "l2c/activities", "l2c/lead_event_log"} <= keys
    assert {f"l2c_analysis/{t}" for t in ANALYSIS_TABLES} <= keys
    assert "l2c_report" in keys

    import dagster as dg

    # One graph: the report is downstream of the raw Salesforce opportunities, through dbt and the analyses.
    upstream = graph.get(dg.AssetKey("l2c_report")).parent_keys
    assert dg.AssetKey(["l2c_analysis", "variants"]) in upstream
    ancestors = dg.AssetSelection.assets(dg.AssetKey("l2c_report")).upstream().resolve(graph)
    assert dg.AssetKey(["raw_salesforce", "opportunity_field_history"]) in ancestors
    assert dg.AssetKey(["l2c", "event_log"]) in ancestors

    checks = {f"{k.asset_key.to_user_string()}:{k.name}" for k in graph.asset_check_keys}
    assert "l2c_analysis/conformance_cases:conformance_rate_check" in checks
    assert "l2c_analysis/variants:event_log_quality_check" in checks
    assert any(c.startswith("l2c/event_log:") for c in checks), "dbt tests appear as asset checks"
    jobs = {job.name for job in defs.resolve_all_job_defs()}
    assert {"l2c_daily", "l2c_refresh", "salesforce_extract", "l2c_transform", "l2c_analyze"} <= jobs
    assert [s.name for s in defs.schedules] == ["l2c_daily_schedule"]


def test_demo_runs_every_step_and_prints_the_summary(demo_run):
    db, report, printed, org, clock_line = demo_run
    # Four syncs a week apart: the marts describe the org as it was at the last one.
    at = org.now + 3 * DEMO_SYNC_INTERVAL
    assert f"org time {at:%Y-%m-%d}" in clock_line
    shown = org.snapshot("Opportunity", at=at)
    opportunities = shown.filter(~shown["IsDeleted"])
    cases = scalar(db, "select count(*) from l2c.cases")
    assert cases == opportunities.height
    assert f"cases (opportunities): {cases:,}" in printed
    events = scalar(db, "select count(*) from l2c.event_log")
    assert f"events:                {events:,}" in printed
    assert str(db) in printed and str(report / "index.html") in printed

    won = opportunities.filter(opportunities["IsWon"]).height
    assert scalar(db, "select count(*) from l2c.event_log where activity = 'Closed Won'") == won
    # Every case is in exactly one variant.
    assert scalar(db, "select sum(cases) from l2c_analysis.variants") == cases
    variants = scalar(db, "select count(*) from l2c_analysis.variants")
    assert f"variants:              {variants:,}" in printed
    top = scalar(db, "select source || ' → ' || target from l2c_analysis.bottlenecks order by rank_by_total limit 1")
    assert f"top bottleneck:        {top}" in printed
    # Successive syncs kept several versions of quotes, whose status Salesforce keeps no history of.
    versions, quotes = scalar(db, "select [count(*), count(distinct id)] from raw_salesforce.quote")
    assert versions > quotes


def test_demo_writes_every_analysis_table_and_the_report(demo_run):
    db, report, _, _, _ = demo_run
    with duckdb.connect(str(db), read_only=True) as con:
        tables = {name for (name,) in con.execute(
            "select table_name from information_schema.tables where table_schema = 'l2c_analysis'").fetchall()}
    assert set(ANALYSIS_TABLES) - OPTIONAL_ANALYSIS_TABLES <= tables
    html = (report / "index.html").read_text(encoding="utf-8")
    assert "<svg" in html and "http://" not in html.replace("http://www.w3.org", "")
    assert (report / "process_map.svg").exists()


def test_analyze_report_and_parquet_commands_rerun_on_the_demo_marts(demo_run, tmp_path, capsys):
    db, _, _, _, _ = demo_run
    copy = tmp_path / "copy.duckdb"
    copy.write_bytes(db.read_bytes())
    assert main(["analyze", "--db", str(copy)]) == 0
    assert "assets materialized" in capsys.readouterr().out
    assert main(["report", "--db", str(copy), "--out", str(tmp_path / "r"), "--language", "it"]) == 0
    assert (tmp_path / "r" / "index.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert main(["parquet", "--db", str(copy), "--out", str(tmp_path / "pq")]) == 0
    with duckdb.connect() as con:
        cases = con.execute(f"select count(*) from '{tmp_path / 'pq' / 'l2c' / 'cases.parquet'}'").fetchone()[0]
    assert cases == scalar(copy, "select count(*) from l2c.cases")


def test_run_without_a_configured_org_says_what_to_set(monkeypatch, tmp_path, capsys):
    import os

    for name in [n for n in os.environ if n.startswith("SALESFORCE_")]:
        monkeypatch.delenv(name)
    assert main(["run", "--db", str(tmp_path / "w.duckdb")]) == 1
    error = capsys.readouterr().err.strip().splitlines()[-1]  # Dagster's progress log comes first
    assert error.startswith("l2c run: error: step salesforce_raw failed:")
    assert "SALESFORCE_USERNAME" in error


def test_analyze_before_transform_fails_clearly(tmp_path, capsys):
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    assert main(["analyze", "--db", str(empty)]) == 1
    error = capsys.readouterr().err
    assert "l2c.event_log not found" in error and "l2c transform" in error


def test_parquet_and_demo_refuse_bad_arguments(tmp_path, capsys):
    assert main(["parquet", "--db", str(tmp_path / "missing.duckdb"), "--out", str(tmp_path)]) == 1
    assert "DuckDB file not found" in capsys.readouterr().err
    assert main(["demo", "--opportunities", "10"]) == 1
    assert "at least 50" in capsys.readouterr().err

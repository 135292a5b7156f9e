"""write_analysis_marts: every analysis from a DuckDB file's l2c marts into l2c_analysis tables."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import duckdb
import polars as pl
import pytest

from analysis.conformance import load_rules
from analysis.marts import ANALYSIS_TABLES, OPTIONAL_ANALYSIS_TABLES, write_analysis_marts

T0 = datetime(2024, 1, 8, 9, tzinfo=UTC)  # a Monday
HAPPY = ["Opportunity Created", "Quote Created", "Quote Presented", "Quote Accepted", "Contract Created",
         "Contract Activated", "Closed Won", "Order Created", "Order Activated", "Invoice Posted", "Payment Received"]
NO_QUOTE = [a for a in HAPPY if a != "Quote Accepted"]
LOST = ["Opportunity Created", "Quote Created", "Quote Presented", "Closed Lost"]
OPEN = ["Opportunity Created", "Quote Created"]
CATALOG = sorted(set(HAPPY + LOST) | {"Lead Created", "Lead Converted", "Quote Approval Requested",
                                      "Quote Approved", "Quote Rejected", "Quote Denied",
                                      "Order Reworked", "Amount Changed"})

# (case, trace, owner, region, industry, discount %, amount, days late paying (None: no invoice))
OPPORTUNITIES = [
    ("o01", HAPPY, "u1", "EMEA", "Technology", 5.0, 20_000.0, -5),
    ("o02", HAPPY, "u1", "EMEA", "Technology", 0.0, 40_000.0, -3),
    ("o03", HAPPY, "u2", "EMEA", "Public Sector", 10.0, 60_000.0, 25),
    ("o04", HAPPY, "u2", "AMER", "Public Sector", 25.0, 15_000.0, 40),
    ("o05", NO_QUOTE, "u3", "AMER", "Retail", 30.0, 12_000.0, 10),
    ("o06", NO_QUOTE, "u3", "AMER", "Retail", 0.0, 90_000.0, -1),
    ("o07", LOST, "u1", "EMEA", "Technology", 15.0, 30_000.0, None),
    ("o08", LOST, "u3", "AMER", "Retail", 35.0, 8_000.0, None),
    ("o09", OPEN, "u2", "EMEA", "Public Sector", 0.0, 50_000.0, None),
    ("o10", HAPPY[:3] + ["Amount Changed", "Amount Changed"] + HAPPY[3:], "u1", "EMEA", "Technology", 5.0,
     25_000.0, -2),
]


def build_marts(path) -> None:
    events, cases, leads = [], [], []
    for i, (case, trace, owner, region, industry, discount, amount, late) in enumerate(OPPORTUNITIES):
        start = posted = T0 + timedelta(days=3 * i)
        for k, activity in enumerate(trace):
            ts = start + timedelta(days=2 * k, hours=k % 3)
            invoice = activity in ("Invoice Posted", "Payment Received")
            if activity == "Payment Received":
                ts = posted + timedelta(days=30 + late)
            if activity == "Invoice Posted":
                posted = ts
            events.append({
                "event_id": f"{case}-{k:02d}", "case_id": case, "activity": activity, "timestamp": ts,
                "activity_order": CATALOG.index(activity), "resource": owner, "resource_name": owner.upper(),
                "resource_role": "Sales Rep", "source_object": "blng__Invoice__c" if invoice else "Opportunity",
                "source_id": f"inv-{case}" if activity == "Invoice Posted" else (
                    f"pay-{case}" if activity == "Payment Received" else case),
                "stage": None, "amount": amount, "old_value": None, "new_value": None,
                "due_date": (posted + timedelta(days=30)).date() if activity == "Invoice Posted" else None,
            })
        closed = [a for a in trace if a in ("Closed Won", "Closed Lost")]
        closed_at = start + timedelta(days=2 * trace.index(closed[0])) if closed else None
        cases.append({
            "case_id": case, "owner_id": owner, "owner_name": owner.upper(), "team": "Field",
            "region": region, "industry": industry, "lead_source": "Web" if i % 2 else "Partner",
            "product_category": "Software", "opportunity_type": "New Business", "currency": "EUR",
            "discount_pct": discount, "amount": amount, "is_won": closed == ["Closed Won"], "is_closed": bool(closed),
            "created_at": start, "closed_at": closed_at,
        })
        leads += [
            {"case_id": f"L{i}", "activity": "Lead Created", "timestamp": start - timedelta(days=5),
             "lead_source": "Web" if i % 2 else "Partner", "converted_opportunity_id": case},
            {"case_id": f"L{i}", "activity": "Lead Converted", "timestamp": start,
             "lead_source": "Web" if i % 2 else "Partner", "converted_opportunity_id": case},
        ]
    leads += [{"case_id": "L99", "activity": "Lead Created", "timestamp": T0, "lead_source": "Web",
               "converted_opportunity_id": None}]
    frames = {
        "event_log": pl.DataFrame(events, schema_overrides={"due_date": pl.Date}),
        "cases": pl.DataFrame(cases),
        "lead_event_log": pl.DataFrame(leads),
        "activities": pl.DataFrame({"activity": CATALOG, "sort_order": list(range(len(CATALOG)))}),
    }
    # The file is called l2c.duckdb like the default one, so its catalog "l2c" clashes with schema "l2c".
    with duckdb.connect(str(path)) as con:
        con.execute("create schema l2c.l2c")
        for name, frame in frames.items():
            con.register("frame", frame.to_arrow())
            con.execute(f"create table l2c.l2c.{name} as select * from frame")
            con.unregister("frame")


EXPECTED_TABLES = [
    "variants", "process_map_edges", "throughput_cases", "throughput_milestones", "bottlenecks", "rework",
    "rework_cases", "rework_stage_moves", "conformance_cases", "conformance_rules", "conformance_fitness",
    "conformance_deviations", "root_causes", "rep_performance", "discount_bands", "days_to_pay", "lead_funnel",
]


@pytest.fixture
def marts_db(tmp_path):
    path = tmp_path / "l2c.duckdb"
    build_marts(path)
    return path


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """The marts written once with the defaults: (path, row counts, progress messages)."""
    pytest.importorskip("pm4py")
    path = tmp_path_factory.mktemp("marts") / "l2c.duckdb"
    build_marts(path)
    messages: list[str] = []
    counts = write_analysis_marts(path, progress=messages.append)
    return path, counts, messages


def query(path, sql: str) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_every_analysis_is_written_with_its_row_count(written):
    marts_db, counts, messages = written
    assert list(counts) == EXPECTED_TABLES == list(ANALYSIS_TABLES)
    tables = dict(query(marts_db, "select table_name, estimated_size from duckdb_tables() "
                                  "where schema_name = 'l2c_analysis'"))
    assert set(tables) == set(EXPECTED_TABLES)
    for table, rows in counts.items():
        assert query(marts_db, f'select count(*) from l2c.l2c_analysis."{table}"') == [(rows,)], table

    # exact sizes known from the hand-made marts
    assert counts["variants"] == 5  # happy, no quote, lost, open, happy with amount changes
    assert counts["throughput_cases"] == 10
    assert counts["conformance_cases"] == 10 * len(load_rules()) - 7  # discount rule: 3 of 10 cases above 20%
    assert counts["conformance_rules"] == len(load_rules())
    assert counts["days_to_pay"] == 7
    assert counts["rep_performance"] == 3
    assert counts["discount_bands"] == 5
    assert counts["lead_funnel"] == 3 * 3  # (all), Partner, Web × Lead Created, Lead Converted, Won
    assert any("l2c_analysis.variants: 5 rows" in m for m in messages)


def test_tables_are_readable_by_bi_tools(written):
    marts_db = written[0]
    top = query(marts_db, "select activities, cases from l2c.l2c_analysis.variants order by rank limit 1")
    assert top == [(" → ".join(HAPPY), 4)]
    types = dict(query(marts_db, "select column_name, data_type from information_schema.columns "
                                 "where table_schema = 'l2c_analysis' and table_name = 'process_map_edges'"))
    assert types["median_days"] == "DOUBLE" and "median" not in types
    assert types["source"] == "VARCHAR"
    list_columns = query(marts_db, "select table_name, column_name from information_schema.columns "
                                   "where table_schema = 'l2c_analysis' and (data_type like '%[]' "
                                   "or data_type = 'INTERVAL')")
    assert list_columns == []


def test_marts_carry_the_findings(written):
    marts_db = written[0]
    rules = dict(query(marts_db, "select rule, violations from l2c.l2c_analysis.conformance_rules"))
    assert rules["closed_won_requires_accepted_quote"] == 2  # o05, o06
    assert rules["discount_above_policy_requires_approval"] == 1  # o04 (25%) accepted without approval
    late = query(marts_db, "select case_id, is_late, days_after_due from l2c.l2c_analysis.days_to_pay order by case_id")
    assert late == [("o01", False, -5), ("o02", False, -3), ("o03", True, 25), ("o04", True, 40),
                    ("o05", True, 10), ("o06", False, -1), ("o10", False, -2)]
    outcomes = query(marts_db, "select outcome, min(cases), count(*) from l2c.l2c_analysis.root_causes "
                               "group by outcome order by outcome")
    assert [o for o, _, _ in outcomes] == ["late_payment", "long_cycle", "lost", "non_conformant"]
    assert all(smallest >= 5 for _, smallest, _ in outcomes)  # groups under 5 cases are left out
    deviations = dict(query(marts_db, "select activity, model_moves from l2c.l2c_analysis.conformance_deviations"))
    # only won deals are aligned with the happy path: o05 and o06 skipped the accepted quote
    assert deviations == {"Quote Accepted": 2}
    fitting = query(marts_db, "select sum(cases) from l2c.l2c_analysis.conformance_fitness where is_fit")
    assert fitting == [(5,)]  # o01-o04 and o10, whose Amount Changed events are not model activities
    won = query(marts_db, "select step, reached, won from l2c.l2c_analysis.lead_funnel "
                          "where lead_source = '(all)' order by step_order")
    assert won == [("Lead Created", 11, 7), ("Lead Converted", 10, 7), ("Won", 7, 7)]
    milestones = query(marts_db, "select milestone, cases, completed from l2c.l2c_analysis.throughput_milestones "
                                 "where group_by = '(all)' order by milestone")
    assert ("invoice_to_payment", 7, 7) in milestones and ("sales_cycle", 10, 9) in milestones


def test_rerun_replaces_tables_and_business_hours_are_added(marts_db):
    pytest.importorskip("pm4py")
    from analysis.calendar import BusinessCalendar

    first = write_analysis_marts(marts_db, progress=None)
    second = write_analysis_marts(marts_db, calendar=BusinessCalendar(timezone="Europe/Rome"), progress=None)
    assert first == second
    columns = {c for (c,) in query(marts_db, "select column_name from information_schema.columns where "
                                             "table_schema = 'l2c_analysis' and table_name = 'days_to_pay'")}
    assert "business_days_to_pay" in columns
    # working time is in hours, business days in working days of 8 hours (9:00-17:00): never mixed up
    cases = query(marts_db, "select count(*), count(*) filter (where abs(business_duration_hours / 8 - business_days)"
                            " < 1e-9), count(*) filter (where business_duration_hours <= duration_days * 24) "
                            "from l2c.l2c_analysis.throughput_cases where business_days is not null")
    assert cases[0][0] > 0 and cases[0][0] == cases[0][1] == cases[0][2]
    edges = {c for (c,) in query(marts_db, "select column_name from information_schema.columns where "
                                           "table_schema = 'l2c_analysis' and table_name = 'process_map_edges'")}
    assert {"business_median_hours", "business_p90_hours", "median_days"} <= edges
    assert not {c for c in edges if c.startswith("business_") and c.endswith("_days")}


def test_user_rules_file_and_missing_marts(marts_db, tmp_path):
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n  - id: paid\n    template: response\n    activities: [Invoice Posted, Payment Received]\n")
    written = write_analysis_marts(marts_db, rules_path=rules, progress=None)
    assert set(ANALYSIS_TABLES) - set(written) <= OPTIONAL_ANALYSIS_TABLES
    assert query(marts_db, "select rule, cases_checked, violations from l2c.l2c_analysis.conformance_rules") == [
        ("paid", 10, 0)]

    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    with pytest.raises(ValueError, match=r"l2c.event_log not found .* build the dbt marts first"):
        write_analysis_marts(empty, progress=None)
    with pytest.raises(FileNotFoundError, match="DuckDB file not found"):
        write_analysis_marts(tmp_path / "nope.duckdb", progress=None)


def test_analysis_failure_keeps_tables_already_written(marts_db, tmp_path):
    pytest.importorskip("pm4py")
    write_analysis_marts(marts_db, progress=None)
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules:\n  - id: typo\n    template: init\n    activities: [Oportunity Created]\n")
    with pytest.raises(Exception, match="unknown activity 'Oportunity Created'"):
        write_analysis_marts(marts_db, rules_path=bad, progress=None)
    # tables before the failing analysis were rewritten, later ones still hold the previous run
    assert query(marts_db, "select count(*) from l2c.l2c_analysis.conformance_rules") == [(len(load_rules()),)]
    assert query(marts_db, "select count(*) from l2c.l2c_analysis.variants") == [(5,)]



def test_rules_read_the_mart_columns_they_name(marts_db, tmp_path):
    """The marts are read with only the columns the analyses use: a rule's when/where columns are added."""
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "rules:\n"
        "  - id: paid_from_invoice\n    template: response\n    activities: [Invoice Posted, Payment Received]\n"
        "    when: {currency: EUR}\n"  # a cases column no analysis reads by itself
        "    where: {Payment Received: {resource_role: Finance}}\n"  # nor this event column: no event matches
    )
    write_analysis_marts(marts_db, rules_path=rules, progress=None)
    assert query(marts_db, "select rule, cases_checked, violations from l2c.l2c_analysis.conformance_rules") == [
        ("paid_from_invoice", 10, 7)]

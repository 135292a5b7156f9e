"""End to end on the demo org: extract over HTTPS → dbt → analysis marts finds every planted behaviour.

The demo org's ground truth (``generate_org(...).ground_truth``) states each
planted effect and its measured size; the marts written by
``write_analysis_marts`` must recover them.
"""

from __future__ import annotations

import io

import duckdb
import polars as pl
import pytest

from analysis.marts import write_analysis_marts
from l2c.extract.command import extract_command
from l2c.sandbox.generator import generate_org
from l2c.transform import run_dbt

pytestmark = pytest.mark.slow

N_OPPORTUNITIES, SEED = 2000, 42
MARTS = ["+event_log", "+cases", "+lead_event_log", "+activities"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """(DuckDB path, ground truth) of the demo org after extraction, dbt and the analysis marts."""
    pytest.importorskip("pm4py")
    root = tmp_path_factory.mktemp("demo")
    db = root / "l2c.duckdb"
    extract_command(db=str(db), demo=True, n_opportunities=N_OPPORTUNITIES, seed=SEED, out=io.StringIO())
    # dbt's own data tests are the dbt suite's business: build the marts only.
    result = run_dbt("build", db, select=MARTS, target_path=root / "target", progress=None,
                     extra=["--exclude-resource-type", "test", "--exclude-resource-type", "unit_test"])
    assert result.success, result.exception
    write_analysis_marts(db, progress=None)
    truth = generate_org(N_OPPORTUNITIES, seed=SEED).ground_truth
    return db, truth["behaviours"]


def frame(db, sql: str) -> pl.DataFrame:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.sql(sql).pl()


def test_the_slow_rep_is_the_only_rep_flagged_slow(demo):
    db, truth = demo
    slow = frame(db, "select owner_id, owner_name, cycle_vs_team, flags from l2c_analysis.rep_performance "
                     "where list_contains(string_split(flags, ', '), 'slow')")
    assert slow.get_column("owner_id").to_list() == [truth["slow_rep"]["user_id"]]
    assert slow.get_column("owner_name").item() == truth["slow_rep"]["name"]
    assert slow.get_column("cycle_vs_team").item() >= 1.5


def test_discounts_above_policy_without_approval_recover_the_planted_share(demo):
    db, truth = demo
    planted = truth["discount_above_policy_without_approval"]
    found = frame(db, """
        select c.case_id from l2c_analysis.conformance_cases c
        join l2c.l2c.cases k using (case_id)
        where c.rule = 'discount_above_policy_requires_approval' and c.violated and k.is_won
    """).get_column("case_id")
    won = planted["measured"]["won_opportunities"]
    assert found.len() / won == pytest.approx(planted["measured"]["share_of_won"], abs=0.005)
    assert set(found) == set(planted["opportunity_ids"])


def test_deals_won_without_an_accepted_quote_are_exactly_the_planted_ones(demo):
    db, truth = demo
    found = frame(db, "select case_id from l2c_analysis.conformance_cases "
                      "where rule = 'closed_won_requires_accepted_quote' and violated").get_column("case_id")
    assert set(found) == set(truth["won_without_accepted_quote"]["opportunity_ids"])
    deviations = frame(db, "select activity, model_moves from l2c_analysis.conformance_deviations")
    skipped = deviations.filter(pl.col("activity") == "Quote Accepted").get_column("model_moves").item()
    assert skipped == truth["won_without_accepted_quote"]["measured"]["without_accepted_quote"]


def test_the_late_paying_segment_tops_the_root_causes_of_late_payment(demo):
    db, truth = demo
    top = frame(db, "select attribute, value, lift, significant from l2c_analysis.root_causes "
                    "where outcome = 'late_payment' and rank = 1").row(0, named=True)
    assert (top["attribute"], top["value"]) == ("customer_segment", truth["late_paying_segment"]["segment"])
    assert top["significant"] and top["lift"] > 1.3
    by_segment = frame(db, "select customer_segment, median(days_after_due) as late from l2c_analysis.days_to_pay "
                           "where is_paid group by 1 order by late desc")
    assert by_segment.get_column("customer_segment")[0] == truth["late_paying_segment"]["segment"]


def test_higher_discounts_go_with_later_payment(demo):
    db, truth = demo
    bands = frame(db, "select discount_band, median_days_to_pay, late_payment_rate from l2c_analysis.discount_bands "
                      "where invoices > 0 order by band_order")
    assert truth["discount_effects"]["measured"]["slope_days_late_per_discount_pct"] > 0
    days = bands.get_column("median_days_to_pay").to_list()
    assert days == sorted(days), bands
    rates = bands.get_column("late_payment_rate").to_list()
    assert rates == sorted(rates), bands


def test_lead_funnel_counts_the_planted_conversions(demo):
    db, truth = demo
    funnel = frame(db, "select step, reached from l2c_analysis.lead_funnel where lead_source = '(all)'")
    reached = dict(funnel.iter_rows())
    assert reached["Lead Created"] == truth["lead_conversion"]["leads"]
    assert reached["Lead Converted"] == truth["lead_conversion"]["converted"]
    by_source = frame(db, "select sum(reached) from l2c_analysis.lead_funnel "
                          "where lead_source <> '(all)' and step = 'Lead Created'").item()
    assert by_source == truth["lead_conversion"]["leads"]  # one funnel per lead source, adding up


def test_the_planted_bottleneck_ranks_first(demo):
    db, truth = demo
    top = frame(db, "select source, target from l2c_analysis.bottlenecks where rank_by_total = 1").row(0)
    assert top == (truth["bottleneck"]["from_activity"], truth["bottleneck"]["to_activity"])

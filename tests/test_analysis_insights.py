"""Root causes, rep performance, discounts, lead funnel and days to pay on hand-made data with known answers."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest
from scipy.stats import false_discovery_control, fisher_exact, mannwhitneyu

import analysis
from analysis.calendar import BusinessCalendar
from analysis.conformance import conformance, parse_rules
from analysis.discounts import discounts
from analysis.funnel import default_steps, lead_funnel
from analysis.payments import AGING_BUCKETS, days_to_pay, days_to_pay_summary, late_payment_by_case
from analysis.performance import rep_performance
from analysis.root_causes import band_labels, case_durations, case_outcome, root_causes

T0 = datetime(2024, 1, 1, 9)


def event_log(rows: list[tuple]) -> analysis.EventLog:
    frame = pl.DataFrame(rows, schema=["case_id", "activity", "timestamp", "source_id", "due_date"], orient="row")
    return analysis.read_event_log(frame)


# --------------------------------------------------------------------------- days to pay

BILLING = [
    ("A", "Opportunity Created", datetime(2024, 1, 1, 9), None, None),
    ("A", "Invoice Posted", datetime(2024, 1, 2, 10), "inv1", date(2024, 2, 1)),
    ("A", "Payment Received", datetime(2024, 1, 22, 10), "pay1", None),
    ("B", "Invoice Posted", datetime(2024, 1, 2, 10), "inv2", date(2024, 2, 1)),
    ("B", "Payment Received", datetime(2024, 2, 15, 10), "pay2", None),
    ("C", "Invoice Posted", datetime(2024, 1, 2, 10), "inv3", date(2024, 1, 15)),
    ("D", "Invoice Posted", datetime(2024, 1, 3, 10), "inv4a", None),
    ("D", "Invoice Posted", datetime(2024, 1, 4, 10), "inv4b", date(2024, 1, 10)),
    ("D", "Payment Received", datetime(2024, 1, 5, 10), "pay4a", None),
]


def test_days_to_pay_per_invoice():
    invoices = days_to_pay(event_log(BILLING))
    assert invoices.select("case_id", "invoice_id", "paid_at", "days_to_pay", "days_after_due", "is_late",
                           "aging_bucket").rows() == [
        ("A", "inv1", datetime(2024, 1, 22, 10, tzinfo=_utc()), 20.0, -10, False, "paid on time"),
        ("B", "inv2", datetime(2024, 2, 15, 10, tzinfo=_utc()), 44.0, 14, True, "paid 1-30 days late"),
        # open: judged at the log's last event, 2024-02-15
        ("C", "inv3", None, None, 31, True, "open, 31-60 days overdue"),
        # without an invoice link, the k-th payment pays the k-th invoice of the case
        ("D", "inv4a", datetime(2024, 1, 5, 10, tzinfo=_utc()), 2.0, None, None, "paid, no due date"),
        ("D", "inv4b", None, None, 36, True, "open, 31-60 days overdue"),
    ]
    assert set(invoices.get_column("aging_bucket")) <= set(AGING_BUCKETS)


def _utc():
    return UTC


def test_days_to_pay_in_business_days_and_as_of():
    invoices = days_to_pay(event_log(BILLING), calendar=BusinessCalendar(timezone="UTC"),
                           as_of=datetime(2024, 1, 20, tzinfo=_utc()))
    # Tue 2 Jan 10:00 → Mon 22 Jan 10:00: two working weeks plus Tue–Mon = 14 working days of 8 h.
    assert invoices.get_column("business_days_to_pay").to_list()[:2] == [14.0, 32.0]
    assert invoices.filter(pl.col("invoice_id") == "inv3").get_column("days_after_due").item() == 5


def test_days_to_pay_links_payments_to_invoices_by_invoice_id():
    frame = pl.DataFrame({
        "case_id": ["A", "A", "A", "A"],
        "activity": ["Invoice Posted", "Invoice Posted", "Payment Received", "Payment Received"],
        "timestamp": [T0, T0 + timedelta(days=1), T0 + timedelta(days=3), T0 + timedelta(days=4)],
        "source_id": ["i1", "i2", "p1", "p2"],
        # the first payment pays the second invoice; i1 gets the later one
        "invoice_id": [None, None, "i2", "i1"],
        "due_date": ["2024-01-03", "2024-01-30", None, None],
    })
    invoices = days_to_pay(analysis.read_event_log(frame))
    assert invoices.select("invoice_id", "days_to_pay", "is_late").rows() == [("i1", 4.0, True), ("i2", 2.0, False)]


# Two invoices of one case, paid out of order: a partial payment of i2, then i1 in
# full, then the rest of i2. Invoice rows name their invoice in invoice_id (their
# source_id is some other record id, as in an imported log).
TWO_INVOICES = pl.DataFrame({
    "case_id": ["A"] * 5,
    "activity": ["Invoice Posted", "Invoice Posted", "Payment Received", "Payment Received", "Payment Received"],
    "timestamp": [datetime(2024, 1, 1, 9), datetime(2024, 1, 2, 9), datetime(2024, 1, 10, 9),
                  datetime(2024, 1, 20, 9), datetime(2024, 2, 5, 9)],
    "source_id": ["e1", "e2", "p1", "p2", "p3"],
    "invoice_id": ["i1", "i2", "i2", "i1", "i2"],
    "due_date": ["2024-01-31", "2024-02-01", None, None, None],
})


def test_days_to_pay_pairs_each_invoice_with_its_own_payments():
    invoices = days_to_pay(analysis.read_event_log(TWO_INVOICES))

    assert invoices.select("invoice_id", "paid_at", "payments", "days_to_pay", "days_after_due",
                           "aging_bucket").rows() == [
        ("i1", datetime(2024, 1, 20, 9, tzinfo=_utc()), 1, 19.0, -11, "paid on time"),
        ("i2", datetime(2024, 2, 5, 9, tzinfo=_utc()), 2, 34.0, 4, "paid 1-30 days late"),
    ]


def test_days_to_pay_without_invoice_ids_pairs_by_order_and_gets_this_log_wrong():
    # The same log as an import without the link column: the k-th payment pays the k-th
    # invoice, so i1 looks paid by i2's partial payment and i2 by i1's payment.
    invoices = days_to_pay(analysis.read_event_log(TWO_INVOICES.drop("invoice_id")))

    assert invoices.select("invoice_id", "paid_at", "payments", "days_to_pay", "aging_bucket").rows() == [
        ("e1", datetime(2024, 1, 10, 9, tzinfo=_utc()), 1, 9.0, "paid on time"),
        ("e2", datetime(2024, 1, 20, 9, tzinfo=_utc()), 1, 18.0, "paid on time"),
    ]


def test_days_to_pay_falls_back_to_order_only_for_payments_without_invoice_id():
    frame = pl.DataFrame({
        "case_id": ["A", "A", "A", "A", "A", "A", "B", "B", "B"],
        "activity": ["Invoice Posted", "Invoice Posted", "Invoice Posted", "Payment Received", "Payment Received",
                     "Payment Received", "Invoice Posted", "Payment Received", "Payment Received"],
        "timestamp": [T0, T0 + timedelta(days=1), T0 + timedelta(days=2), T0 + timedelta(days=4),
                      T0 + timedelta(days=5), T0 + timedelta(days=8), T0, T0 + timedelta(days=1),
                      T0 + timedelta(days=3)],
        "source_id": ["i1", "i2", "i3", "pX", "pY", "pZ", "i4", "pG", "pB"],
        # pX names i2; pY and pZ name nothing and pay i1 and i3, the invoices no payment names.
        # pG names an invoice that is not in the log: it pays nothing else; pB pays i4.
        "invoice_id": [None, None, None, "i2", None, None, None, "ghost", None],
    })
    invoices = days_to_pay(analysis.read_event_log(frame))

    assert invoices.select("case_id", "invoice_id", "payments", "days_to_pay").rows() == [
        ("A", "i1", 1, 5.0), ("A", "i2", 1, 3.0), ("A", "i3", 1, 6.0), ("B", "i4", 1, 3.0),
    ]


def test_days_to_pay_summary_and_late_cases():
    invoices = days_to_pay(event_log(BILLING))
    summary = days_to_pay_summary(invoices).row(0, named=True)
    assert summary["invoices"] == 5 and summary["paid_invoices"] == 3
    assert summary["median_days_to_pay"] == 20.0 and summary["mean_days_to_pay"] == pytest.approx(22.0)
    assert summary["late_invoices"] == 3 and summary["late_rate"] == 0.75
    assert dict(late_payment_by_case(invoices).iter_rows()) == {"A": False, "B": True, "C": True, "D": True}
    cases = pl.DataFrame({"case_id": ["A", "B", "C", "D"], "industry": ["Tech", "Public Sector", "Public Sector",
                                                                        "Tech"]})
    by_industry = days_to_pay_summary(days_to_pay(event_log(BILLING), cases, by=["industry"]), by=["industry"])
    assert by_industry.select("industry", "invoices", "late_rate").rows() == [
        ("Public Sector", 2, 1.0), ("Tech", 3, 0.5)]


def test_days_to_pay_without_billing_events_is_empty():
    log = event_log([("A", "Opportunity Created", T0, None, None)])
    assert days_to_pay(log).is_empty()


# --------------------------------------------------------------------------- root causes


def test_root_causes_rates_lift_impact_and_significance():
    # Public Sector: 8 of 10 late; everyone else: 3 of 30 late.
    industry = ["Public Sector"] * 10 + ["Tech"] * 20 + ["Retail"] * 10
    late = [True] * 8 + [False] * 2 + [True] * 2 + [False] * 18 + [True] + [False] * 9
    cases = pl.DataFrame({"case_id": [f"c{i}" for i in range(40)], "industry": industry, "late": late})
    result = root_causes(cases, "late", ["industry"], min_cases=1)
    top = result.row(0, named=True)
    assert (top["attribute"], top["value"], top["cases"], top["outcome_cases"]) == ("industry", "Public Sector", 10, 8)
    assert top["outcome_rate"] == 0.8 and top["rest_outcome_rate"] == 0.1 and top["lift"] == pytest.approx(8.0)
    assert top["impact"] == pytest.approx(8 - 10 * 0.1)
    assert top["overall_rate"] == pytest.approx(11 / 40)
    expected_p = [fisher_exact(t).pvalue for t in ([[8, 2], [3, 27]], [[2, 18], [9, 11]], [[1, 9], [10, 20]])]
    got = {v: p for v, p in result.select("value", "p_value").iter_rows()}
    assert [got["Public Sector"], got["Tech"], got["Retail"]] == pytest.approx(expected_p, rel=1e-12)
    adjusted = dict(result.select("value", "p_adjusted").iter_rows())
    assert [adjusted["Public Sector"], adjusted["Tech"], adjusted["Retail"]] == pytest.approx(
        list(false_discovery_control(expected_p, method="bh")), rel=1e-12)
    # over-represented values first, then the others; each by p-value
    assert result.select("rank", "value", "significant").rows() == [
        (1, "Public Sector", True), (2, "Tech", True), (3, "Retail", False)]


def test_root_causes_bands_numeric_attributes_with_documented_edges():
    cases = pl.DataFrame({
        "case_id": [str(i) for i in range(7)],
        "discount_pct": [0.0, 5.0, 10.0, 15.0, 20.0, 25.0, None],
        "amount": [5_000.0, 10_000.0, 20_000.0, 60_000.0, 150_000.0, 300_000.0, 1.0],
        "flag": [False, False, False, False, True, True, False],
    })
    result = root_causes(cases, "flag", ["discount_pct", "amount"], min_cases=1)
    values = {(a, v): n for a, v, n in result.select("attribute", "value", "cases").iter_rows()}
    assert values == {
        ("discount_pct", "0%"): 1, ("discount_pct", "0-10%"): 2, ("discount_pct", "10-20%"): 2,
        ("discount_pct", "20-30%"): 1, ("discount_pct", "(missing)"): 1,
        ("amount", "up to 10k"): 3, ("amount", "10k-50k"): 1, ("amount", "50k-100k"): 1,
        ("amount", "100k-250k"): 1, ("amount", "over 250k"): 1,
    }
    custom = root_causes(cases, "flag", ["amount"], bands={"amount": [100_000]}, min_cases=1)
    assert set(custom.get_column("value")) == {"up to 100k", "over 100k"}
    assert band_labels([0, 10, 20, 30], "%") == ["0%", "0-10%", "10-20%", "20-30%", "over 30%"]


def test_root_causes_min_cases_drops_small_groups():
    cases = pl.DataFrame({"case_id": ["1", "2", "3"], "region": ["EMEA", "EMEA", "APAC"], "x": [True, False, True]})
    assert root_causes(cases, "x", ["region"], min_cases=2).get_column("value").to_list() == ["EMEA"]


def closed_cases(cycles: list[float], **columns) -> pl.DataFrame:
    created = [T0 + timedelta(days=i) for i in range(len(cycles))]
    return pl.DataFrame({
        "case_id": [f"c{i}" for i in range(len(cycles))],
        "created_at": created,
        "closed_at": [c + timedelta(days=d) for c, d in zip(created, cycles, strict=True)],
        "is_closed": [True] * len(cycles),
        **columns,
    }).with_columns(pl.col("created_at", "closed_at").dt.replace_time_zone("UTC"))


def test_long_cycle_is_the_slowest_quartile_of_closed_cases():
    cases = closed_cases([1, 2, 3, 4, 5, 6, 7, 8])
    cases = pl.concat([cases, pl.DataFrame({"case_id": ["open"], "created_at": [T0], "closed_at": [None],
                                            "is_closed": [False]}).cast(cases.schema)])
    outcome = dict(case_outcome(cases, "long_cycle").iter_rows())
    # 75th percentile (linear) of 1..8 days is 6.25: the 7- and 8-day cases are long; the open one takes no part
    assert outcome == {f"c{i}": i >= 6 for i in range(8)} | {"open": None}
    assert case_durations(cases).get_column("cycle_days").to_list() == [1, 2, 3, 4, 5, 6, 7, 8]


def test_lost_outcome_ignores_open_cases():
    cases = pl.DataFrame({"case_id": ["w", "l", "o"], "is_won": [True, False, False], "is_closed": [True, True, False]})
    assert dict(case_outcome(cases, "lost").iter_rows()) == {"w": False, "l": True, "o": None}


def test_non_conformant_and_late_payment_outcomes():
    log = event_log(BILLING)
    checks = conformance(log, rules=parse_rules([
        {"id": "paid", "template": "response", "activities": ["Invoice Posted", "Payment Received"]}]))
    cases = pl.DataFrame({"case_id": ["A", "B", "C", "D"]})
    assert dict(case_outcome(cases, "non_conformant", checks=checks).iter_rows()) == {
        "A": False, "B": False, "C": True, "D": False}
    assert dict(case_outcome(cases, "late_payment", log=log).iter_rows()) == {
        "A": False, "B": True, "C": True, "D": True}


def test_root_causes_on_an_event_log_uses_case_level_attributes():
    frame = pl.DataFrame({
        "case_id": ["1", "1", "2", "2", "3"], "activity": ["a", "b", "a", "b", "a"],
        "timestamp": [T0, T0 + timedelta(days=10), T0, T0 + timedelta(days=1), T0],
        "channel": ["web", "web", "mail", "mail", "mail"],
        "resource": ["x", "y", "x", "x", "x"],  # varies within case 1: not a case attribute
    })
    result = root_causes(analysis.read_event_log(frame), "long_cycle", min_cases=1)
    assert set(result.get_column("attribute")) == {"channel"}
    assert result.row(0, named=True)["value"] == "web"


def test_root_causes_errors_are_clear():
    cases = pl.DataFrame({"case_id": ["1"], "region": ["EMEA"], "amount": [1.0]})
    with pytest.raises(ValueError, match="unknown outcome 'slow'"):
        root_causes(cases, "slow", ["region"])
    with pytest.raises(ValueError, match="outcome column 'amount' must be Boolean"):
        root_causes(cases, "amount", ["region"])
    with pytest.raises(ValueError, match=r"attribute\(s\) \['country'\] not found"):
        root_causes(cases.with_columns(pl.lit(True).alias("x")), "x", ["country"])
    with pytest.raises(ValueError, match="needs checks="):
        root_causes(cases, "non_conformant", ["region"])


# --------------------------------------------------------------------------- reps


def test_rep_performance_flags_the_slow_rep_against_the_team_median():
    cycles = [10, 11, 12, 13, 14] * 2 + [30, 31, 32, 33, 34] + [20, 21, 22, 23, 24]
    owners = ["r1"] * 5 + ["r2"] * 5 + ["r3"] * 5 + ["r4"] * 5
    cases = closed_cases(
        cycles, owner_id=owners, owner_name=[o.upper() for o in owners],
        team=["East"] * 15 + ["West"] * 5, is_won=[True] * 20,
    )
    result = rep_performance(cases)
    east = {r["owner_id"]: r for r in result.filter(pl.col("team") == "East").iter_rows(named=True)}
    assert east["r3"]["median_cycle_days"] == 32.0 and east["r3"]["team_median_cycle_days"] == 12.0
    assert east["r3"]["cycle_vs_team"] == pytest.approx(32 / 12)
    # Mann–Whitney of each rep against teammates, Benjamini–Hochberg over the three East reps
    p = [mannwhitneyu(mine, rest, alternative="two-sided").pvalue for mine, rest in (
        ([10, 11, 12, 13, 14], [10, 11, 12, 13, 14] + [30, 31, 32, 33, 34]),
        ([10, 11, 12, 13, 14], [10, 11, 12, 13, 14] + [30, 31, 32, 33, 34]),
        ([30, 31, 32, 33, 34], [10, 11, 12, 13, 14] * 2))]
    adjusted = false_discovery_control(p, method="bh")
    assert [east[r]["cycle_p_adjusted"] for r in ("r1", "r2", "r3")] == pytest.approx(list(adjusted))
    assert east["r3"]["flags"] == ["slow"] and east["r3"]["is_outlier"]
    assert east["r1"]["flags"] == [] and east["r2"]["flags"] == []
    assert (east["r1"]["cases"], east["r1"]["closed_cases"], east["r1"]["won_cases"]) == (5, 5, 5)
    # r4 is alone in West: its own median, nothing to stand out from
    west = result.filter(pl.col("team") == "West").row(0, named=True)
    assert west["team_reps"] == 1 and west["flags"] == []
    # sorted by team, slowest first
    assert result.get_column("owner_id").to_list()[0] == "r3"

    everyone = rep_performance(cases, compare_within=None)
    assert "team" not in everyone.columns
    assert everyone.filter(pl.col("owner_id") == "r3").get_column("team_median_cycle_days").item() == 17.0


def test_rep_cycle_counts_won_deals_only():
    # r2 loses deals fast: that does not make its sales cycle short
    cases = closed_cases([10, 12, 14, 1, 1, 1, 11, 13], owner_id=["r1"] * 3 + ["r2"] * 5,
                         is_won=[True] * 3 + [False] * 3 + [True] * 2)
    result = {r["owner_id"]: r for r in rep_performance(cases, compare_within=None).iter_rows(named=True)}
    assert result["r2"]["median_cycle_days"] == 12.0 and result["r1"]["median_cycle_days"] == 12.0
    assert result["r2"]["win_rate"] == 0.4


def test_rep_performance_win_rate_conformance_and_rework():
    rows, owners, won = [], [], []
    for rep, n_won in (("r1", 5), ("r2", 5), ("r3", 1)):
        for i in range(5):
            case = f"{rep}-{i}"
            acts = ["Opportunity Created", "Quote Created", "Quote Accepted", "Closed Won"]
            if rep == "r3":  # same cycle length, but the quote is re-created and never accepted
                acts = ["Opportunity Created", "Quote Created", "Quote Created", "Closed Won"]
            rows += [(case, a, T0 + timedelta(days=j), None, None) for j, a in enumerate(acts)]
            owners.append(rep)
            won.append(i < n_won)
    log = event_log(rows)
    cases = pl.DataFrame({"case_id": [f"{o}-{i % 5}" for i, o in enumerate(owners)], "owner_id": owners,
                          "is_won": won, "is_closed": [True] * 15})
    checks = conformance(log, rules=parse_rules([
        {"id": "quote", "template": "precedence", "activities": ["Quote Accepted", "Closed Won"]}]))
    result = {r["owner_id"]: r for r in rep_performance(cases, log, checks=checks).iter_rows(named=True)}
    assert result["r3"]["win_rate"] == 0.2 and result["r3"]["team_win_rate"] == 1.0
    assert result["r3"]["conformance_rate"] == 0.0 and result["r1"]["conformance_rate"] == 1.0
    assert result["r3"]["rework_rate"] == 1.0 and result["r2"]["rework_rate"] == 0.0
    assert result["r3"]["flags"] == ["low_win_rate", "low_conformance", "high_rework"]
    assert result["r1"]["owner_name"] == "r1"  # no owner_name column: the id stands in


# --------------------------------------------------------------------------- discounts


def test_discount_bands_win_rate_amount_and_days_to_pay():
    cases = pl.DataFrame({
        "case_id": ["A", "B", "C", "D", "E", "F"],
        "discount_pct": [0.0, 5.0, 25.0, 25.0, 40.0, None],
        "amount": [100.0, 80.0, 50.0, 30.0, 20.0, 10.0],
        "is_won": [True, True, True, False, False, False],
        "is_closed": [True, True, True, True, False, True],
    })
    result = discounts(cases, event_log(BILLING))
    rows = {r["discount_band"]: r for r in result.iter_rows(named=True)}
    assert result.get_column("discount_band").to_list() == ["0%", "0-10%", "10-20%", "20-30%", "over 30%",
                                                            "(missing)"]
    assert rows["10-20%"]["cases"] == 0 and rows["10-20%"]["win_rate"] is None
    assert (rows["20-30%"]["cases"], rows["20-30%"]["won_cases"], rows["20-30%"]["win_rate"]) == (2, 1, 0.5)
    assert rows["20-30%"]["median_amount"] == 40.0 and rows["20-30%"]["median_won_amount"] == 50.0
    assert rows["over 30%"]["closed_cases"] == 0 and rows["over 30%"]["win_rate"] is None
    # invoices: A (0%) paid in 20 days on time; B (0-10%) 44 days late
    assert (rows["0%"]["median_days_to_pay"], rows["0%"]["late_payment_rate"]) == (20.0, 0.0)
    assert (rows["0-10%"]["median_days_to_pay"], rows["0-10%"]["late_payment_rate"]) == (44.0, 1.0)
    # C and D (20-30%): C's invoice is open, D has two invoices of which one was paid after 2 days
    assert (rows["20-30%"]["invoices"], rows["20-30%"]["median_days_to_pay"]) == (3, 2.0)
    assert discounts(cases).get_column("median_days_to_pay").null_count() == 6


# --------------------------------------------------------------------------- lead funnel


def lead_log() -> analysis.EventLog:
    journeys = {
        # lead: (source, activities)
        "L1": ("Web", ["Lead Created", "Lead Status: Working - Contacted", "Lead Converted"]),
        "L2": ("Web", ["Lead Created", "Lead Status: Working - Contacted", "Lead Converted"]),
        "L3": ("Web", ["Lead Created", "Lead Status: Working - Contacted", "Lead Status: Closed - Not Converted"]),
        "L4": ("Web", ["Lead Created"]),
        "L5": ("Partner", ["Lead Created", "Lead Converted"]),  # converted without the Working status
        "L6": ("Partner", ["Lead Created", "Lead Status: Closed - Not Converted"]),
    }
    rows = []
    for lead, (source, acts) in journeys.items():
        for i, act in enumerate(acts):
            rows.append({"case_id": lead, "activity": act, "timestamp": T0 + timedelta(days=i),
                         "lead_source": source,
                         "converted_opportunity_id": {"L1": "o1", "L2": "o2", "L5": "o5"}.get(lead)})
    return analysis.read_event_log(pl.DataFrame(rows))


def test_default_steps_skip_exits():
    assert default_steps(lead_log()) == ["Lead Created", "Lead Status: Working - Contacted", "Lead Converted"]


def test_default_steps_stop_at_conversion_then_the_win():
    # l2c.lead_event_log carries the opportunity's events for converted leads: they are not funnel steps
    frame = pl.DataFrame({
        "case_id": ["L1"] * 6 + ["L2"] * 2,
        "activity": ["Lead Created", "Lead Status: Working - Contacted", "Lead Converted", "Opportunity Created",
                     "Quote Approved", "Closed Won", "Lead Created", "Lead Status: Closed - Not Converted"],
        "timestamp": [T0 + timedelta(days=i) for i in range(6)] + [T0, T0 + timedelta(days=1)],
        "activity_order": [100, 110, 190, 200, 520, 700, 100, 110],
    })
    log = analysis.read_event_log(frame)
    assert default_steps(log) == ["Lead Created", "Lead Status: Working - Contacted", "Lead Converted", "Closed Won"]
    funnel = lead_funnel(log, by=None)
    assert funnel.select("step", "reached", "won").rows() == [
        ("Lead Created", 2, 1), ("Lead Status: Working - Contacted", 1, 1), ("Lead Converted", 1, 1),
        ("Closed Won", 1, 1)]


def test_lead_funnel_by_source_with_wins_from_cases():
    cases = pl.DataFrame({"case_id": ["o1", "o2", "o5"], "is_won": [True, False, True]})
    funnel = lead_funnel(lead_log(), cases=cases)
    web = funnel.filter(pl.col("lead_source") == "Web")
    assert web.select("step", "leads", "reached", "continued", "dropped", "converted", "won",
                      "is_biggest_drop").rows() == [
        # every step before the last loses one Web lead: the earliest is the biggest drop
        ("Lead Created", 4, 4, 3, 1, 2, 1, True),
        ("Lead Status: Working - Contacted", 4, 3, 2, 1, 2, 1, False),
        ("Lead Converted", 4, 2, 1, 1, 2, 1, False),
        ("Won", 4, 1, None, 1, 1, 1, False),
    ]
    rows = {r["step"]: r for r in web.iter_rows(named=True)}
    assert rows["Lead Created"]["step_conversion"] == 0.75 and rows["Won"]["step_conversion"] is None
    partner = {r["step"]: r for r in funnel.filter(pl.col("lead_source") == "Partner").iter_rows(named=True)}
    # L5 skipped the Working status but converted: it counts as having passed it
    assert [partner[s]["reached"] for s in ("Lead Created", "Lead Status: Working - Contacted", "Lead Converted",
                                            "Won")] == [2, 1, 1, 1]
    total = {r["step"]: r for r in funnel.filter(pl.col("lead_source") == "(all)").iter_rows(named=True)}
    assert total["Lead Created"]["leads"] == 6 and total["Lead Converted"]["reached"] == 3
    assert total["Won"]["won"] == 2
    assert funnel.get_column("lead_source").to_list()[:4] == ["(all)"] * 4  # largest group first


def test_lead_funnel_explicit_steps_single_funnel_and_errors():
    funnel = lead_funnel(lead_log(), steps=["Lead Created", "Lead Converted"], by=None)
    assert funnel.select("step", "reached", "dropped", "reached_share").rows() == [
        ("Lead Created", 6, 3, 1.0), ("Lead Converted", 3, 3, 0.5)]
    assert "lead_source" not in funnel.columns
    with pytest.raises(ValueError, match="lead attribute 'campaign'"):
        lead_funnel(lead_log(), by="campaign")


# --------------------------------------------------------------------------- edge cases

EMPTY = pl.DataFrame(schema={"case_id": pl.String, "activity": pl.String, "timestamp": pl.Datetime("us", "UTC")})


def test_empty_inputs_give_empty_results():
    empty_log = analysis.read_event_log(EMPTY)
    assert days_to_pay(empty_log).is_empty()
    assert days_to_pay_summary(days_to_pay(empty_log)).row(0, named=True)["invoices"] == 0
    no_cases = pl.DataFrame(schema={"case_id": pl.String, "owner_id": pl.String, "region": pl.String,
                                    "discount_pct": pl.Float64, "is_won": pl.Boolean, "is_closed": pl.Boolean})
    assert root_causes(no_cases, "lost", ["region"]).is_empty()
    assert rep_performance(no_cases).is_empty()
    assert discounts(no_cases, empty_log).get_column("cases").to_list() == [0, 0, 0, 0, 0]
    assert lead_funnel(empty_log, steps=["Lead Created"], by=None).is_empty()


def test_reps_without_dates_or_log_still_get_rates():
    cases = pl.DataFrame({"case_id": ["1", "2"], "owner_id": ["r1", "r1"], "is_won": [True, False],
                          "is_closed": [True, True]})
    row = rep_performance(cases).row(0, named=True)
    assert (row["win_rate"], row["median_cycle_days"], row["flags"]) == (0.5, None, [])


def test_days_to_pay_across_a_dst_change_in_business_days():
    # Posted Friday 2024-03-29 10:00 Rome (09:00 UTC, CET), paid Tuesday 2024-04-02 10:00 Rome (08:00 UTC, CEST):
    # Friday 10-17, Monday is Easter Monday (a holiday), Tuesday 9-10 → 8 working hours = 1 working day.
    log = event_log([
        ("A", "Invoice Posted", datetime(2024, 3, 29, 9, tzinfo=UTC), "i1", date(2024, 4, 1)),
        ("A", "Payment Received", datetime(2024, 4, 2, 8, tzinfo=UTC), "p1", None),
    ])
    calendar = BusinessCalendar(timezone="Europe/Rome", holidays=["2024-04-01"])
    row = days_to_pay(log, calendar=calendar).row(0, named=True)
    assert row["days_to_pay"] == pytest.approx(95 / 24)  # 4 days minus the hour lost to DST
    assert row["business_days_to_pay"] == 1.0
    assert (row["days_after_due"], row["is_late"]) == (1, True)


def test_one_event_cases_and_same_timestamp_payments():
    log = event_log([
        ("A", "Invoice Posted", T0, "i1", date(2024, 1, 1)),
        ("A", "Payment Received", T0, "p1", None),  # paid the same instant it was posted
        ("B", "Opportunity Created", T0, None, None),  # a one-event case
    ])
    invoices = days_to_pay(log)
    assert invoices.select("case_id", "days_to_pay", "is_late").rows() == [("A", 0.0, False)]
    cases = pl.DataFrame({"case_id": ["A", "B"], "x": [True, False]})
    assert root_causes(cases, "late_payment", ["x"], log=log, min_cases=1).get_column("cases").to_list() == [1]

"""variants, process_map, throughput, bottlenecks, rework on hand-written logs with hand-computed answers.

Edge cases from issue 5: one-event cases, same-timestamp events, cases spanning
a DST change, empty logs (empty results with the documented schema).
"""

from __future__ import annotations

import hashlib
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

import analysis

# benchmarks/ is not an installed package; `python -m pytest` finds it from the repo root, plain `pytest` not.
sys.path.insert(0, str(Path(__file__).parents[1]))
from benchmarks.synthetic import synthetic_log  # noqa: E402

H = timedelta(hours=1)
D = timedelta(days=1)


def log_of(rows: list[tuple], **columns) -> analysis.EventLog:
    """A log from (case, activity, "YYYY-MM-DD HH:MM") rows, plus optional extra columns."""
    case, activity, timestamp = zip(*rows, strict=True)
    return analysis.read_event_log(pl.DataFrame({
        "case_id": list(case), "activity": list(activity), "timestamp": list(timestamp), **columns,
    }))


# Three quote-to-cash cases:
#   A: Quote Created → Quote Approval Requested → Quote Approved → Quote Accepted
#   B: the same sequence, approval slower
#   C: Quote Created → Quote Accepted
#   D: a single event
SALES = [
    ("A", "Quote Created", "2024-01-01 09:00"),
    ("A", "Quote Approval Requested", "2024-01-01 10:00"),
    ("A", "Quote Approved", "2024-01-03 10:00"),
    ("A", "Quote Accepted", "2024-01-04 10:00"),
    ("B", "Quote Created", "2024-01-02 09:00"),
    ("B", "Quote Approval Requested", "2024-01-02 09:00"),
    ("B", "Quote Approved", "2024-01-08 09:00"),
    ("B", "Quote Accepted", "2024-01-08 12:00"),
    ("C", "Quote Created", "2024-01-05 09:00"),
    ("C", "Quote Accepted", "2024-01-06 09:00"),
    ("D", "Quote Created", "2024-01-07 09:00"),
]


@pytest.fixture
def sales() -> analysis.EventLog:
    # activity_order breaks B's same-minute tie the business way round.
    return log_of(SALES, activity_order=[1, 2, 3, 4, 1, 2, 3, 4, 1, 4, 1])


def empty_log() -> analysis.EventLog:
    return analysis.read_event_log(pl.DataFrame({"case_id": [], "activity": [], "timestamp": []}))


# --------------------------------------------------------------------------- variants


def test_variants_counts_shares_and_durations(sales):
    result = analysis.variants(sales)
    columns = ["activities", "length", "cases", "share"]
    assert result.select(columns).row(0) == (
        ["Quote Created", "Quote Approval Requested", "Quote Approved", "Quote Accepted"], 4, 2, 0.5)
    assert sorted(result.select(columns).rows()[1:]) == [
        (["Quote Created"], 1, 1, 0.25), (["Quote Created", "Quote Accepted"], 2, 1, 0.25)]
    top = result.row(0, named=True)
    # A takes 3 days 1 hour, B 6 days 3 hours.
    assert (top["duration_min"], top["duration_max"]) == (3 * D + H, 6 * D + 3 * H)
    assert top["duration_mean"] == top["duration_median"] == (9 * D + 4 * H) / 2
    assert top["example_case_id"] in {"A", "B"}
    assert result.get_column("rank").to_list() == [1, 2, 3]
    assert result.get_column("cumulative_share").to_list() == [0.5, 0.75, 1.0]
    single = result.filter(pl.col("length") == 1).row(0, named=True)
    assert (single["example_case_id"], single["duration_max"]) == ("D", timedelta(0))


def test_variant_ids_are_a_stable_hash_of_the_sequence(sales):
    result = analysis.variants(sales)
    for activities, variant_id in result.select("activities", "variant_id").iter_rows():
        assert variant_id == hashlib.sha1("\x1f".join(activities).encode()).hexdigest()[:12]
    # The same sequence in another log gets the same id.
    other = log_of([("Z", "Quote Created", "2023-05-05 05:05"), ("Z", "Quote Accepted", "2023-05-06 05:05")])
    (other_id,) = analysis.variants(other).get_column("variant_id").to_list()
    assert other_id in result.get_column("variant_id").to_list()


def test_ties_in_cases_are_ordered_by_variant_id(sales):
    tail = analysis.variants(sales).slice(1)
    assert tail.get_column("variant_id").to_list() == sorted(tail.get_column("variant_id").to_list())


def test_same_timestamp_events_follow_activity_order_then_event_id():
    rows = [("X", "Stage: Qualification", "2024-01-01 09:00"), ("X", "Opportunity Created", "2024-01-01 09:00"),
            ("Y", "Stage: Qualification", "2024-01-01 09:00"), ("Y", "Opportunity Created", "2024-01-01 09:00")]
    by_order = log_of(rows, activity_order=[2, 1, 2, 1])
    assert analysis.variants(by_order).get_column("activities").to_list() == [
        ["Opportunity Created", "Stage: Qualification"]]
    by_event_id = log_of(rows, event_id=["e2", "e1", "e4", "e3"])
    assert analysis.variants(by_event_id).get_column("activities").to_list() == [
        ["Opportunity Created", "Stage: Qualification"]]


def test_case_variants_maps_every_case(sales):
    mapping = analysis.case_variants(sales)
    assert mapping.get_column("case_id").to_list() == ["A", "B", "C", "D"]
    ranks = dict(mapping.select("case_id", "variant_rank").iter_rows())
    assert ranks["A"] == ranks["B"] == 1
    assert len(set(mapping.get_column("variant_id"))) == 3


# --------------------------------------------------------------------------- process map


def test_process_map_edges_with_waiting_times(sales):
    edges = analysis.process_map(sales)
    by_edge = {(r["source"], r["target"]): r for r in edges.iter_rows(named=True)}
    assert set(by_edge) == {
        (analysis.START, "Quote Created"),
        ("Quote Created", "Quote Approval Requested"), ("Quote Approval Requested", "Quote Approved"),
        ("Quote Approved", "Quote Accepted"), ("Quote Created", "Quote Accepted"),
        ("Quote Accepted", analysis.END), ("Quote Created", analysis.END),
    }
    start = by_edge[(analysis.START, "Quote Created")]
    assert (start["frequency"], start["cases"], start["median"]) == (4, 4, None)
    assert by_edge[("Quote Accepted", analysis.END)]["frequency"] == 3
    assert by_edge[("Quote Created", analysis.END)]["frequency"] == 1  # the one-event case
    approval = by_edge[("Quote Approval Requested", "Quote Approved")]
    # Waits: A 2 days, B 6 days.
    assert (approval["frequency"], approval["cases"]) == (2, 2)
    assert approval["mean"] == approval["median"] == 4 * D
    assert approval["p90"] == 2 * D + 0.9 * 4 * D  # linear interpolation
    assert (approval["max"], approval["total"]) == (6 * D, 8 * D)
    same_minute = by_edge[("Quote Created", "Quote Approval Requested")]
    assert (same_minute["median"], same_minute["max"]) == (H / 2, H)  # A 1 h, B 0
    assert edges.get_column("frequency").to_list() == sorted(edges.get_column("frequency").to_list(), reverse=True)


def test_process_map_counts_loops_per_occurrence_and_cases_once():
    log = log_of([("L", "Quote Created", "2024-01-01 09:00"), ("L", "Quote Denied", "2024-01-02 09:00"),
                  ("L", "Quote Created", "2024-01-03 09:00"), ("L", "Quote Denied", "2024-01-04 09:00")])
    edges = analysis.process_map(log)
    row = edges.filter((pl.col("source") == "Quote Created") & (pl.col("target") == "Quote Denied")).row(
        0, named=True)
    assert (row["frequency"], row["cases"], row["total"]) == (2, 1, 2 * D)


def test_activity_stats(sales):
    stats = {r["activity"]: r for r in analysis.activity_stats(sales).iter_rows(named=True)}
    assert stats["Quote Created"] == {"activity": "Quote Created", "frequency": 4, "cases": 4,
                                      "start_cases": 4, "end_cases": 1}
    assert stats["Quote Accepted"]["end_cases"] == 3


def test_a_case_spanning_a_dst_change_measures_elapsed_time():
    # Rome local time: Saturday 30 March 2024 12:00 (CET) to Sunday 31 March 12:00 (CEST) is 23 hours.
    frame = pl.DataFrame({"case_id": ["R", "R"], "activity": ["Contract Created", "Contract Activated"],
                          "timestamp": ["2024-03-30 12:00", "2024-03-31 12:00"]})
    log = analysis.read_event_log(frame, timezone="Europe/Rome")
    assert analysis.throughput(log).get_column("duration").to_list() == [23 * H]
    edge = analysis.process_map(log).filter(pl.col("source") == "Contract Created").row(0, named=True)
    assert edge["total"] == 23 * H


# --------------------------------------------------------------------------- throughput


def test_throughput_per_case(sales):
    result = analysis.throughput(sales)
    assert result.select("case_id", "duration", "events").rows() == [
        ("A", 3 * D + H, 4), ("B", 6 * D + 3 * H, 4), ("C", D, 2), ("D", timedelta(0), 1),
    ]
    assert result.get_column("duration_days").to_list()[2:] == [1.0, 0.0]
    assert result.get_column("start").to_list()[0] == datetime(2024, 1, 1, 9, tzinfo=UTC)


def test_throughput_between_milestones_first_to_first():
    log = log_of([
        ("A", "Opportunity Created", "2024-01-01 00:00"), ("A", "Quote Created", "2024-01-02 00:00"),
        ("A", "Quote Created", "2024-01-05 00:00"), ("A", "Closed Won", "2024-01-10 00:00"),
        ("B", "Opportunity Created", "2024-01-01 00:00"), ("B", "Quote Created", "2024-01-03 00:00"),
        ("C", "Opportunity Created", "2024-01-01 00:00"),
        ("E", "Contract Activated", "2024-01-01 00:00"), ("E", "Quote Created", "2024-01-04 00:00"),
    ])
    result = analysis.throughput(log, "Quote Created", ["Closed Won", "Contract Activated"])
    # C never quoted: out of scope. B not closed: no duration yet. E activated before quoting: negative.
    assert result.select("case_id", "duration").rows() == [("A", 8 * D), ("B", None), ("E", -3 * D)]
    summary = analysis.throughput_summary(log, "Quote Created", ["Closed Won", "Contract Activated"])
    assert summary.select("cases", "completed", "min", "median", "max").row(0) == (3, 2, -3 * D, 2.5 * D, 8 * D)
    from_start = analysis.throughput(log, to_activity="Quote Created")
    assert from_start.select("case_id", "duration").rows() == [
        ("A", D), ("B", 2 * D), ("C", None), ("E", 3 * D)]


def test_an_unknown_milestone_warns_and_gives_no_cases(sales):
    with pytest.warns(UserWarning, match="'Invoice Posted' does not occur"):
        assert analysis.throughput(sales, "Invoice Posted", "Quote Accepted").height == 0


def test_throughput_by_an_event_attribute_and_by_a_cases_table(sales):
    with_region = log_of(SALES, region=[None, "EMEA", "EMEA", None, "NA", None, None, None, "NA", None, "EMEA"])
    per_case = analysis.throughput(with_region, by="region")
    assert per_case.select("case_id", "region").rows() == [("A", "EMEA"), ("B", "NA"), ("C", "NA"),
                                                           ("D", "EMEA")]
    summary = analysis.throughput_summary(with_region, by="region")
    assert summary.select("region", "cases", "median").rows() == [
        ("EMEA", 2, (3 * D + H) / 2), ("NA", 2, (7 * D + 3 * H) / 2)]
    cases = pl.DataFrame({"case_id": ["A", "B", "C"], "owner_name": ["Ann", "Bob", "Ann"]})
    by_owner = analysis.throughput_summary(sales, by="owner_name", cases=cases)
    assert by_owner.select("owner_name", "cases").rows() == [("Ann", 2), ("Bob", 1), (None, 1)]
    with pytest.raises(analysis.EventLogError, match="'owner_name': is not a column of the event log"):
        analysis.throughput(sales, by="owner_name")


def test_throughput_summary_percentiles_interpolate_linearly():
    rows = [(str(i), a, t) for i, days in enumerate([1, 2, 3, 4, 10])
            for a, t in (("Invoice Posted", "2024-01-01 00:00"), ("Payment Received", f"2024-01-{1 + days:02d} 00:00"))]
    summary = analysis.throughput_summary(log_of(rows), "Invoice Posted", "Payment Received").row(0, named=True)
    assert summary["p10"] == 1.4 * D
    assert summary["p25"] == 2 * D
    assert summary["median"] == 3 * D
    assert summary["p75"] == 4 * D
    assert summary["p90"] == 7.6 * D
    assert summary["mean"] == 4 * D
    assert summary["median_days"] == 3.0


# --------------------------------------------------------------------------- bottlenecks


def test_the_slowest_handover_ranks_first_with_the_cases_it_delays(sales):
    result = analysis.bottlenecks(sales, threshold=timedelta(days=3))
    top = result.row(0, named=True)
    assert (top["source"], top["target"]) == ("Quote Approval Requested", "Quote Approved")
    assert (top["rank_by_total"], top["rank_by_median"]) == (1, 1)
    assert top["total"] == 8 * D
    assert top["share_of_waiting"] == pytest.approx(8 / (1 / 24 + 8 + 1 + 3 / 24 + 1))
    # Only B waits longer than 3 days there.
    assert (top["cases_delayed"], top["example_case_ids"], top["threshold"]) == (1, ["B"], 3 * D)
    assert set(result.get_column("source")) & {analysis.START, analysis.END} == set()
    assert sorted(result.get_column("rank_by_median").to_list()) == list(range(1, result.height + 1))


def test_bottleneck_examples_are_the_longest_waits_first(sales):
    result = analysis.bottlenecks(sales, threshold=timedelta(0), examples=1)
    top = result.row(0, named=True)
    assert (top["cases_delayed"], top["example_case_ids"]) == (2, ["B"])


def test_default_threshold_is_the_75th_percentile_of_all_waits(sales):
    # Waits: 1 h, 0, 2 d, 6 d, 1 d, 3 h, 1 d → p75 (linear) = 1.5 days.
    result = analysis.bottlenecks(sales)
    assert result.get_column("threshold").unique().to_list() == [1.5 * D]


# --------------------------------------------------------------------------- rework


STAGES = [
    ("O", "Opportunity Created", "2024-01-01 00:00"), ("O", "Stage: Prospecting", "2024-01-02 00:00"),
    ("O", "Stage: Needs Analysis", "2024-01-03 00:00"), ("O", "Amount Changed", "2024-01-04 00:00"),
    ("O", "Stage: Qualification", "2024-01-05 00:00"), ("O", "Stage: Needs Analysis", "2024-01-06 00:00"),
    ("O", "Closed Won", "2024-01-07 00:00"), ("O", "Stage: Negotiation/Review", "2024-01-08 00:00"),
    ("P", "Opportunity Created", "2024-01-01 00:00"), ("P", "Stage: Prospecting", "2024-01-02 00:00"),
    ("P", "Closed Lost", "2024-01-03 00:00"),
]


def test_rework_per_case():
    result = analysis.rework(log_of(STAGES))
    assert result.rows() == [
        # O: Needs Analysis twice; back to Qualification, and reopened after Closed Won.
        ("O", 8, 1, 1, 2, True),
        ("P", 3, 0, 0, 0, False),
    ]
    assert result.columns == ["case_id", "events", "repeated_events", "repeated_activities",
                              "backward_stage_moves", "has_rework"]


def test_backward_stage_moves_with_default_and_custom_stage_order():
    log = log_of(STAGES)
    assert analysis.rework(log, by="stage_move").rows() == [
        ("Closed Won", "Stage: Negotiation/Review", 1, 1),
        ("Stage: Needs Analysis", "Stage: Qualification", 1, 1),
    ]
    # With a custom order where Qualification comes after Needs Analysis, only the reopening is backward.
    custom = ["Prospecting", "Stage: Needs Analysis", "Qualification", "Negotiation/Review", "Closed Won"]
    moves = analysis.rework(log, by="stage_move", stage_order=custom)
    assert sorted(moves.rows()) == [("Closed Won", "Stage: Negotiation/Review", 1, 1),
                                    ("Stage: Qualification", "Stage: Needs Analysis", 1, 1)]


def test_rework_per_activity():
    rows = STAGES + [("Q", "Stage: Prospecting", "2024-01-01 00:00"), ("Q", "Stage: Prospecting", "2024-01-02 00:00"),
                     ("Q", "Stage: Prospecting", "2024-01-03 00:00")]
    result = analysis.rework(log_of(rows), by="activity")
    top = result.row(0, named=True)
    # Ties in rework_cases are ordered by activity name.
    assert top == {"activity": "Stage: Needs Analysis", "cases": 1, "rework_cases": 1, "rework_rate": 1.0,
                   "repeated_events": 1, "max_occurrences": 2}
    prospecting = result.filter(pl.col("activity") == "Stage: Prospecting").row(0, named=True)
    assert prospecting == {"activity": "Stage: Prospecting", "cases": 3, "rework_cases": 1,
                           "rework_rate": 1 / 3, "repeated_events": 2, "max_occurrences": 3}


def test_rework_rejects_an_unknown_view():
    with pytest.raises(ValueError, match="expected 'case', 'activity' or 'stage_move'"):
        analysis.rework(log_of(STAGES), by="stage")


# --------------------------------------------------------------------------- empty logs and plain frames

VERBS = {
    "variants": analysis.variants,
    "case_variants": analysis.case_variants,
    "process_map": analysis.process_map,
    "activity_stats": analysis.activity_stats,
    "throughput": analysis.throughput,
    "throughput_summary": analysis.throughput_summary,
    "bottlenecks": analysis.bottlenecks,
    "rework_case": analysis.rework,
    "rework_activity": lambda log: analysis.rework(log, by="activity"),
    "rework_stage_move": lambda log: analysis.rework(log, by="stage_move"),
    "variants_calendar": lambda log: analysis.variants(log, calendar=analysis.BusinessCalendar()),
    "process_map_calendar": lambda log: analysis.process_map(log, calendar=analysis.BusinessCalendar()),
    "throughput_calendar": lambda log: analysis.throughput(log, calendar=analysis.BusinessCalendar()),
}


@pytest.mark.parametrize("verb", sorted(VERBS))
def test_empty_log_gives_empty_results_with_the_same_schema(verb, sales):
    empty, full = VERBS[verb](empty_log()), VERBS[verb](log_of(STAGES))
    assert empty.schema == full.schema
    assert empty.height == (1 if verb == "throughput_summary" else 0)


def test_verbs_accept_a_plain_frame_with_canonical_columns():
    frame = pl.DataFrame({"case_id": ["1", "1"], "activity": ["a", "b"],
                          "timestamp": ["2024-01-01 10:00", "2024-01-01 11:00"]})
    assert analysis.variants(frame).get_column("activities").to_list() == [["a", "b"]]
    assert analysis.throughput(frame).get_column("duration").to_list() == [H]


# --------------------------------------------------------------------------- against a naive implementation


def test_per_variant_results_equal_a_naive_per_event_computation():
    """On a few thousand generated cases (loops, same-second events), the per-variant shortcuts agree
    with a straightforward group-by over all events."""
    events = synthetic_log(3000, seed=3)
    log = analysis.read_event_log(events)
    naive_sequences = (
        events.sort("case_id", "timestamp", "activity_order")
        .group_by("case_id", maintain_order=True).agg("activity")
    )
    naive_variants = naive_sequences.group_by("activity").len()
    ours = analysis.variants(log)
    assert dict(ours.select(pl.col("activities").list.join("|"), "cases").iter_rows()) == dict(
        naive_variants.select(pl.col("activity").list.join("|"), "len").iter_rows())

    pairs = (
        events.sort("case_id", "timestamp", "activity_order")
        .with_columns(pl.col("activity").shift(1).over("case_id").alias("source"),
                      (pl.col("timestamp") - pl.col("timestamp").shift(1).over("case_id")).alias("wait"))
        .drop_nulls("source")
    )
    naive_edges = pairs.group_by("source", pl.col("activity").alias("target")).agg(
        pl.len().alias("frequency"), pl.col("case_id").n_unique().alias("cases"), pl.col("wait").sum().alias("total"))
    inner = analysis.process_map(log).filter(
        (pl.col("source") != analysis.START) & (pl.col("target") != analysis.END))
    key = ["source", "target"]
    assert inner.select(*key, "frequency", "cases", "total").sort(key).rows() == naive_edges.select(
        *key, pl.col("frequency").cast(pl.Int64), pl.col("cases").cast(pl.Int64), "total").sort(key).rows()

    naive_rework = naive_sequences.select(
        "case_id", (pl.col("activity").list.len() - pl.col("activity").list.n_unique()).alias("repeated"))
    ours_rework = analysis.rework(log).select("case_id", "repeated_events")
    assert dict(ours_rework.iter_rows()) == dict(naive_rework.iter_rows())


def test_edge_statistics_are_the_same_for_few_and_many_activities():
    """Up to 255 activities edges are grouped by one packed sort, beyond by a hash group-by: same figures."""
    from analysis.process_map import _edge_wait_stats_hashed, directly_follows_pairs, edge_wait_stats

    log = analysis.read_event_log(synthetic_log(2000, seed=5))
    pairs = directly_follows_pairs(log, calendar=analysis.BusinessCalendar())
    waits = {"wait_us": "", "business_wait_us": "business_"}
    key = ["source_code", "target_code"]
    packed = edge_wait_stats(pairs, waits).sort(key)
    hashed = _edge_wait_stats_hashed(pairs, waits).sort(key).select(packed.columns)
    assert packed.height > 30
    assert packed.equals(hashed.with_columns(pl.col(c).cast(packed.schema[c]) for c in packed.columns))

    many = log_of([(str(i // 2), f"activity {i}", f"2024-01-01 {i % 24:02d}:00") for i in range(600)])
    assert analysis.process_map(many).filter(pl.col("source") == "activity 0").get_column("median").to_list() == [
        timedelta(hours=1)]

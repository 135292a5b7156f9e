"""Model-based fitness: per-variant alignments / token replay equal pm4py's case-level figures."""

from __future__ import annotations

import sys
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

import analysis
from analysis.conformance import HAPPY_PATH_MODEL, fitness

pytestmark = pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")  # pm4py uses numpy.matrix

pm4py = pytest.importorskip("pm4py", reason="pm4py (optional extra) is the reference for fitness")

EVENTLOGS = Path(__file__).parents[1].parent / "shared" / "data" / "eventlogs"
needs_shared = pytest.mark.skipif(
    not EVENTLOGS.exists(), reason=f"reference event logs not found at {EVENTLOGS} (../shared is absent)"
)

LOGS = {
    "running-example": ("running-example.csv", "running-example.bpmn"),
    "roadtraffic100traces": ("roadtraffic100traces.csv", "roadtraffic.pnml"),
    "receipt": ("receipt.csv", "receipt.bpmn"),
}


def read_reference(name: str) -> analysis.EventLog:
    return analysis.read_event_log(EVENTLOGS / LOGS[name][0], case="case:concept:name",
                                   activity="concept:name", timestamp="time:timestamp")


def model_of(name: str) -> tuple:
    path = EVENTLOGS / LOGS[name][1]
    if path.suffix == ".bpmn":
        return pm4py.convert_to_petri_net(pm4py.read_bpmn(str(path)))
    return pm4py.read_pnml(str(path))


def pm4py_frame(log: analysis.EventLog):
    """The same events as a pm4py-formatted pandas frame (pm4py at its best)."""
    df = log.events.select("case_id", "activity", "timestamp").to_pandas()
    return pm4py.format_dataframe(df, case_id="case_id", activity_key="activity", timestamp_key="timestamp")


def pm4py_figures(log: analysis.EventLog, model: tuple, method: str) -> dict:
    df = pm4py_frame(log)
    if method == "alignments":
        return pm4py.fitness_alignments(df, *model, multi_processing=False)
    return pm4py.fitness_token_based_replay(df, *model)


def assert_same_figures(ours, theirs: dict) -> None:
    assert ours.log_fitness == pytest.approx(theirs["log_fitness"], rel=1e-12, abs=1e-12)
    assert ours.average_trace_fitness == pytest.approx(theirs["average_trace_fitness"], rel=1e-12, abs=1e-12)
    assert ours.percentage_of_fitting_traces == pytest.approx(theirs["percentage_of_fitting_traces"], abs=1e-9)


def perturb(log: analysis.EventLog, every: int = 4) -> analysis.EventLog:
    """Drop every n-th event and move every (n+1)-th one to the case's start: deviations pm4py must also see."""
    events = log.events.with_row_index("row")
    kept = events.filter(pl.col("row") % every != 1)
    moved = kept.with_columns(
        pl.when(pl.col("row") % (every + 1) == 3)
        .then(pl.col("timestamp").min().over("case_id") - timedelta(seconds=1))
        .otherwise(pl.col("timestamp")).alias("timestamp")
    )
    return analysis.read_event_log(moved.drop("row"))


@needs_shared
@pytest.mark.parametrize("name", list(LOGS))
def test_token_replay_fitness_is_one_on_the_reference_logs_as_in_pm4py(name):
    log, model = read_reference(name), model_of(name)
    ours = fitness(log, model, method="token_replay")
    assert ours.summary() == {"method": "token_replay", "log_fitness": 1.0, "average_trace_fitness": 1.0,
                              "percentage_of_fitting_traces": 100.0}
    assert_same_figures(ours, pm4py_figures(log, model, "token_replay"))


@needs_shared
@pytest.mark.parametrize("name", list(LOGS))
def test_alignment_fitness_equals_pm4py_on_the_reference_logs(name):
    log, model = read_reference(name), model_of(name)
    ours = fitness(log, model)
    theirs = pm4py_figures(log, model, "alignments")
    assert_same_figures(ours, theirs)
    assert ours.percentage_of_fitting_traces == 100.0
    assert ours.variants.get_column("cases").sum() == log.n_cases
    # Every trace fits: no deviation is reported (silent transitions are not deviations).
    assert ours.deviations.is_empty()


@needs_shared
@pytest.mark.parametrize("name", ["running-example", "roadtraffic100traces"])
@pytest.mark.parametrize("method", ["alignments", "token_replay"])
def test_fitness_of_a_deviating_log_equals_pm4py(name, method):
    log, model = perturb(read_reference(name)), model_of(name)
    ours = fitness(log, model, method=method)
    assert ours.log_fitness < 1.0
    assert_same_figures(ours, pm4py_figures(log, model, method))


@needs_shared
def test_variant_level_alignments_equal_pm4py_case_level_alignments():
    log, model = perturb(read_reference("roadtraffic100traces")), model_of("roadtraffic100traces")
    ours = fitness(log, model).cases
    pm_log = pm4py.convert_to_event_log(pm4py_frame(log))
    per_case = pm4py.conformance_diagnostics_alignments(pm_log, *model, multi_processing=False)
    theirs = pl.DataFrame({
        "case_id": [trace.attributes["concept:name"] for trace in pm_log],
        "pm4py_fitness": [a["fitness"] for a in per_case],
    })
    joined = ours.join(theirs, on="case_id", how="full", coalesce=True)
    assert joined.height == log.n_cases
    assert joined.filter(pl.col("fitness") != pl.col("pm4py_fitness")).is_empty()
    assert joined.get_column("fitness").min() < 1.0


@needs_shared
def test_deviations_count_log_and_model_moves_per_activity_weighted_by_cases():
    log, model = perturb(read_reference("running-example")), model_of("running-example")
    result = fitness(log, model)
    pm_log = pm4py.convert_to_event_log(pm4py_frame(log))
    expected: dict[str, list[int]] = {}
    for aligned in pm4py.conformance_diagnostics_alignments(pm_log, *model, multi_processing=False):
        for trace_label, model_label in aligned["alignment"]:
            if model_label == ">>":
                expected.setdefault(trace_label, [0, 0])[0] += 1
            elif trace_label == ">>" and model_label is not None:
                expected.setdefault(model_label, [0, 0])[1] += 1
    got = {a: [lm, mm] for a, lm, mm in result.deviations.select("activity", "log_moves", "model_moves").iter_rows()}
    assert got == expected


HAPPY = ["Opportunity Created", "Quote Created", "Quote Presented", "Quote Accepted", "Contract Created",
         "Contract Activated", "Closed Won", "Order Created", "Order Activated", "Invoice Posted", "Payment Received"]


def lead_to_cash_log(traces: dict[str, list[str]]) -> analysis.EventLog:
    t0 = datetime(2024, 1, 2, 9)
    rows = [(case, act, t0 + timedelta(days=i)) for case, acts in traces.items() for i, act in enumerate(acts)]
    return analysis.read_event_log(pl.DataFrame(rows, schema=["case_id", "activity", "timestamp"], orient="row"))


def test_shipped_happy_path_model_accepts_the_happy_path_and_names_the_skipped_quote():
    log = lead_to_cash_log({
        "happy": HAPPY,
        "with_lead_and_approval": ["Lead Created", "Lead Converted"] + HAPPY[:2]
        + ["Quote Approval Requested", "Quote Approved"] + HAPPY[2:],
        "two_invoices": HAPPY + ["Invoice Posted", "Payment Received"],
        "presented_not_seen": [a for a in HAPPY if a != "Quote Presented"],
        "no_accepted_quote_1": [a for a in HAPPY if a != "Quote Accepted"],
        "no_accepted_quote_2": [a for a in HAPPY if a != "Quote Accepted"],
        "noise": HAPPY[:3] + ["Amount Changed"] + HAPPY[3:],
    })
    assert HAPPY_PATH_MODEL.exists()
    result = fitness(log)
    per_case = dict(result.cases.select("case_id", "is_fit").iter_rows())
    assert per_case == {"happy": True, "with_lead_and_approval": True, "two_invoices": True,
                        "presented_not_seen": True,
                        "no_accepted_quote_1": False, "no_accepted_quote_2": False, "noise": False}
    assert result.deviations.rows() == [
        ("Quote Accepted", 0, 0, 2, 2, 2),
        ("Amount Changed", 1, 1, 0, 0, 1),
    ]
    top = result.variants.row(0, named=True)
    assert (top["variant_rank"], top["cases"], top["model_moves"]) == (1, 2, ["Quote Accepted"])

    projected = fitness(log, only_model_activities=True, method="token_replay")
    assert dict(projected.cases.select("case_id", "is_fit").iter_rows())["noise"] is True


def test_cases_without_any_model_activity_count_as_empty_traces():
    log = lead_to_cash_log({"happy": HAPPY, "other": ["Amount Changed"]})
    result = fitness(log, only_model_activities=True)
    assert result.variants.get_column("cases").sum() == 2
    assert dict(result.cases.select("case_id", "is_fit").iter_rows()) == {"happy": True, "other": False}


def test_bad_model_or_method_is_reported(tmp_path):
    log = lead_to_cash_log({"happy": HAPPY})
    with pytest.raises(FileNotFoundError, match="process model not found"):
        fitness(log, tmp_path / "missing.bpmn")
    (tmp_path / "model.txt").write_text("x")
    with pytest.raises(ValueError, match="expected a .bpmn or .pnml file"):
        fitness(log, tmp_path / "model.txt")
    with pytest.raises(ValueError, match="method must be 'alignments' or 'token_replay'"):
        fitness(log, method="heuristic")


def test_clear_error_when_pm4py_is_not_installed(monkeypatch):
    monkeypatch.setitem(sys.modules, "pm4py", None)  # makes `import pm4py` raise ImportError
    with pytest.raises(ImportError, match=r"needs pm4py, an optional dependency \(AGPL-3.0\)"):
        fitness(lead_to_cash_log({"happy": HAPPY}))

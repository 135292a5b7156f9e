"""Parity with pm4py on real event logs: variants, directly-follows graph, waiting times, case durations.

pm4py reads each file its own way (pandas + ``pm4py.format_dataframe``, or
``pm4py.read_xes``), so timestamp parsing is checked too, not only the
algorithms. Known facts from ../shared/data/README.md pin the variant counts.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

import analysis

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::PendingDeprecationWarning")

pm4py = pytest.importorskip("pm4py", reason="pm4py (optional extra) is the reference implementation")
pd = pytest.importorskip("pandas")

EVENTLOGS = Path(__file__).parents[1].parent / "shared" / "data" / "eventlogs"
if not EVENTLOGS.exists():
    pytest.skip(f"reference event logs not found at {EVENTLOGS} (../shared is absent)", allow_module_level=True)

PM4PY_KEYS = {"case": "case:concept:name", "activity": "concept:name", "timestamp": "time:timestamp"}

#: file → (cases, events, variants) as documented in ../shared/data/README.md
KNOWN = {
    "running-example.csv": (6, 42, 6),
    "running-example.xes": (6, 42, 6),
    "roadtraffic100traces.csv": (100, 390, 10),
    "roadtraffic100traces.xes": (100, 390, 10),
    "receipt.csv": (1434, 8577, 116),
    "receipt.parquet": (1434, 8577, 116),
    "06_bpic2013_closed.xes.gz": (1487, 6660, 183),
}


def _read_xes(path: Path) -> pl.DataFrame:
    return pl.from_pandas(pm4py.read_xes(str(path), show_progress_bar=False))


@pytest.fixture(scope="module", params=sorted(KNOWN))
def both(request) -> tuple[str, analysis.EventLog, object]:
    """(file name, our log, pm4py's formatted pandas frame) for one reference file."""
    name = request.param
    path = EVENTLOGS / name
    if path.suffix == ".csv":
        ours = analysis.read_event_log(path, **PM4PY_KEYS)
        theirs = pd.read_csv(path)
    elif path.suffix == ".parquet":
        ours = analysis.read_event_log(path, **PM4PY_KEYS)
        theirs = pd.read_parquet(path)
    else:
        theirs = pm4py.read_xes(str(path), show_progress_bar=False)
        ours = analysis.read_event_log(pl.from_pandas(theirs), **PM4PY_KEYS)
    # Without format_dataframe pm4py's get_variants miscounts (issue 5).
    theirs = pm4py.format_dataframe(theirs, case_id=PM4PY_KEYS["case"], activity_key=PM4PY_KEYS["activity"],
                                    timestamp_key=PM4PY_KEYS["timestamp"])
    return name, ours, theirs


def test_log_size_matches_the_documented_facts(both):
    name, ours, _ = both
    cases, events, _ = KNOWN[name]
    assert (ours.n_cases, ours.n_events) == (cases, events)


def test_variants_equal_pm4py(both):
    name, ours, theirs = both
    result = analysis.variants(ours)
    counts = {tuple(acts): n for acts, n in result.select("activities", "cases").iter_rows()}
    assert counts == dict(pm4py.get_variants(theirs))
    assert result.height == KNOWN[name][2]
    assert result.get_column("cases").sum() == ours.n_cases
    assert result.get_column("cumulative_share").tail(1).item() == pytest.approx(1.0)


def test_process_map_frequencies_equal_pm4py_dfg(both):
    _, ours, theirs = both
    edges = analysis.process_map(ours)
    dfg, start_activities, end_activities = pm4py.discover_dfg(theirs)
    inner = edges.filter((pl.col("source") != analysis.START) & (pl.col("target") != analysis.END))
    assert {(s, t): f for s, t, f in inner.select("source", "target", "frequency").iter_rows()} == dict(dfg)
    starts = edges.filter(pl.col("source") == analysis.START)
    ends = edges.filter(pl.col("target") == analysis.END)
    assert dict(starts.select("target", "frequency").iter_rows()) == dict(start_activities)
    assert dict(ends.select("source", "frequency").iter_rows()) == dict(end_activities)
    assert starts.get_column("frequency").sum() == ours.n_cases


def test_process_map_waiting_times_equal_pm4py_performance_dfg(both):
    _, ours, theirs = both
    performance, _, _ = pm4py.discover_performance_dfg(theirs)
    inner = analysis.process_map(ours).filter(
        (pl.col("source") != analysis.START) & (pl.col("target") != analysis.END)
    )
    seconds = [pl.col(c).dt.total_microseconds() / 1e6 for c in ("mean", "median", "max", "total")]
    rows = inner.select("source", "target", *seconds).iter_rows()
    assert len(performance) == inner.height
    for source, target, mean, median, maximum, total in rows:
        reference = performance[(source, target)]
        # Our means are rounded to the microsecond; pm4py works in float seconds.
        assert mean == pytest.approx(reference["mean"], abs=1e-6)
        assert median == pytest.approx(reference["median"], abs=1e-6)
        assert maximum == pytest.approx(reference["max"], abs=1e-6)
        assert total == pytest.approx(reference["sum"], rel=1e-12, abs=1e-6)


def test_case_durations_equal_pm4py(both):
    _, ours, theirs = both
    mine = sorted((analysis.throughput(ours).get_column("duration").dt.total_microseconds() / 1e6).to_list())
    reference = sorted(pm4py.get_all_case_durations(theirs))
    assert mine == pytest.approx(reference, abs=1e-6)


def test_variant_durations_equal_pm4py_per_variant_case_durations():
    """Per-variant duration statistics match durations pm4py computes for the cases of that variant."""
    path = EVENTLOGS / "receipt.csv"
    ours = analysis.read_event_log(path, **PM4PY_KEYS)
    theirs = pm4py.format_dataframe(pd.read_csv(path), case_id=PM4PY_KEYS["case"],
                                    activity_key=PM4PY_KEYS["activity"], timestamp_key=PM4PY_KEYS["timestamp"])
    top = analysis.variants(ours).row(0, named=True)
    cases = analysis.case_variants(ours).filter(pl.col("variant_id") == top["variant_id"]).get_column("case_id")
    subset = theirs[theirs["case:concept:name"].isin(cases.to_list())]
    durations = sorted(pm4py.get_all_case_durations(subset))
    assert len(durations) == top["cases"]
    assert top["duration_min"].total_seconds() == pytest.approx(durations[0], abs=1e-6)
    assert top["duration_max"].total_seconds() == pytest.approx(durations[-1], abs=1e-6)
    assert top["duration_mean"].total_seconds() == pytest.approx(sum(durations) / len(durations), abs=1e-6)

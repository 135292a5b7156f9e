"""Importing the reference logs gives the same log pm4py reads from the same file.

Every log in ../shared/data/eventlogs is imported from each of its formats
(XES, XES.gz, CSV, Parquet) through ``l2c import``; the marts' cases, events,
activities, variants and case durations must equal pm4py's reading
(``pm4py.read_xes``, or pandas + ``pm4py.format_dataframe`` for CSV/Parquet).
"""

from __future__ import annotations

import functools
from pathlib import Path

import duckdb
import polars as pl
import pytest

from l2c.cli import main
from l2c.eventlog_io.duck import qualified

pm4py = pytest.importorskip("pm4py", reason="pm4py (optional extra) is the reference implementation")
pd = pytest.importorskip("pandas")

EVENTLOGS = Path(__file__).parents[1].parent / "shared" / "data" / "eventlogs"
if not EVENTLOGS.is_dir():
    pytest.skip(f"reference event logs not found at {EVENTLOGS} (../shared is absent)", allow_module_level=True)


@functools.cache
def pm4py_reading(name: str, lifecycle: str = "keep") -> dict:
    """cases → (variant, duration in seconds) and the activity set, as pm4py reads ``name``."""
    path = EVENTLOGS / name
    if ".xes" in name:
        df = pm4py.read_xes(str(path))
    else:
        raw = pd.read_csv(path) if name.endswith(".csv") else pd.read_parquet(path)
        df = pm4py.format_dataframe(raw)
    if lifecycle == "combine":
        df["concept:name"] = df["concept:name"] + "+" + df["lifecycle:transition"]
    variants = pm4py.get_variants(df)
    grouped = df.groupby("case:concept:name")["time:timestamp"]
    durations = ((grouped.max() - grouped.min()).dt.total_seconds()).to_dict()
    return {
        "events": len(df),
        "cases": set(map(str, df["case:concept:name"].unique())),
        "activities": set(df["concept:name"].unique()),
        "variants": {tuple(k): int(v) for k, v in variants.items()},
        "durations": {str(k): float(v) for k, v in durations.items()},
    }


def our_reading(db: Path) -> dict:
    with duckdb.connect(str(db), read_only=True) as con:
        # The file is named l2c.duckdb like the default, so its catalog "l2c" shadows schema l2c: qualify.
        event_log, cases_mart = qualified(con, "l2c", "event_log"), qualified(con, "l2c", "cases")
        events = con.sql(f"SELECT case_id, activity, timestamp, activity_order FROM {event_log}").pl()
        cases = con.sql(f"SELECT case_id, first_event_at, last_event_at, event_count FROM {cases_mart}").pl()
    traces = events.sort("case_id", "activity_order").group_by("case_id", maintain_order=True).agg("activity")
    variants = traces.group_by("activity").len()
    durations = cases.select("case_id", (pl.col("last_event_at") - pl.col("first_event_at")).dt.total_microseconds())
    return {
        "events": events.height,
        "cases": set(cases.get_column("case_id")),
        "activities": set(events.get_column("activity")),
        "variants": {tuple(r[0]): r[1] for r in variants.iter_rows()},
        "durations": {c: us / 1e6 for c, us in durations.iter_rows()},
    }


def assert_same_log(ours: dict, theirs: dict) -> None:
    assert ours["events"] == theirs["events"]
    assert ours["cases"] == theirs["cases"]
    assert ours["activities"] == theirs["activities"]
    assert ours["variants"] == theirs["variants"]
    assert ours["durations"].keys() == theirs["durations"].keys()
    for case, seconds in theirs["durations"].items():
        assert ours["durations"][case] == pytest.approx(seconds, abs=1e-3), case


@pytest.mark.parametrize(
    ("name", "cases", "events", "variants"),
    [
        ("running-example.xes", 6, 42, 6),
        ("running-example.csv", 6, 42, 6),
        ("roadtraffic100traces.xes", 100, 390, 10),
        ("roadtraffic100traces.csv", 100, 390, 10),
        ("receipt.csv", 1434, 8577, 116),
        ("06_bpic2013_closed.xes.gz", 1487, 6660, 183),
    ],
)
def test_every_reference_log_imports_as_pm4py_reads_it(tmp_path, capsys, name, cases, events, variants):
    db = tmp_path / "l2c.duckdb"
    assert main(["import", str(EVENTLOGS / name), "--db", str(db)]) == 0
    printed = capsys.readouterr().out
    assert f"cases:      {cases:,}" in printed
    assert f"events:     {events:,}" in printed
    assert f"variants:   {variants:,}" in printed
    ours = our_reading(db)
    assert len(ours["variants"]) == variants
    assert_same_log(ours, pm4py_reading(name))


def test_lifecycle_combine_gives_pm4py_name_plus_transition_variants(tmp_path):
    db = tmp_path / "l2c.duckdb"
    assert main(["import", str(EVENTLOGS / "06_bpic2013_closed.xes.gz"), "--db", str(db), "--lifecycle", "combine"]) == 0
    ours = our_reading(db)
    assert len(ours["variants"]) == 327
    assert_same_log(ours, pm4py_reading("06_bpic2013_closed.xes.gz", "combine"))
    with duckdb.connect(str(db), read_only=True) as con:
        # The transition stays an attribute next to the combined activity.
        row = con.sql(
            f'SELECT activity, "lifecycle:transition" FROM {qualified(con, "l2c", "event_log")} '
            "ORDER BY case_id, activity_order LIMIT 1"
        ).fetchall()[0]
    assert row[0].endswith("+" + row[1])


def test_receipt_parquet_in_local_time_equals_receipt_csv_with_offsets(tmp_path):
    """receipt.parquet stores naive Dutch wall-clock time, receipt.csv the same instants with +01/+02 offsets."""
    db = tmp_path / "l2c.duckdb"
    assert main(["import", str(EVENTLOGS / "receipt.parquet"), "--db", str(db), "--timezone", "Europe/Amsterdam"]) == 0
    assert_same_log(our_reading(db), pm4py_reading("receipt.csv"))
    with duckdb.connect(str(db), read_only=True) as con:
        from_parquet = con.sql(f"SELECT case_id, activity, timestamp FROM {qualified(con, 'l2c', 'event_log')} ORDER BY ALL").fetchall()
    csv_db = tmp_path / "csv.duckdb"
    assert main(["import", str(EVENTLOGS / "receipt.csv"), "--db", str(csv_db)]) == 0
    with duckdb.connect(str(csv_db), read_only=True) as con:
        from_csv = con.sql(f"SELECT case_id, activity, timestamp FROM {qualified(con, 'l2c', 'event_log')} ORDER BY ALL").fetchall()
    assert from_parquet == from_csv


def test_receipt_parquet_without_zone_is_read_as_utc_like_pm4py(tmp_path):
    db = tmp_path / "l2c.duckdb"
    assert main(["import", str(EVENTLOGS / "receipt.parquet"), "--db", str(db)]) == 0
    ours = our_reading(db)
    assert_same_log(ours, pm4py_reading("receipt.parquet"))
    # A case spanning the 2011-10-30 DST change is one hour longer in real (UTC) time than on the wall clock.
    assert ours["durations"] != pm4py_reading("receipt.csv")["durations"]

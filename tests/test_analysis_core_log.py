"""read_event_log: every supported source, validation errors, time zones and event order."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest

import analysis
from analysis import EventLogError

EVENTLOGS = Path(__file__).parents[1].parent / "shared" / "data" / "eventlogs"
needs_shared = pytest.mark.skipif(
    not EVENTLOGS.exists(), reason=f"reference event logs not found at {EVENTLOGS} (../shared is absent)"
)
PM4PY_KEYS = {"case": "case:concept:name", "activity": "concept:name", "timestamp": "time:timestamp"}


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def small_frame() -> pl.DataFrame:
    return pl.DataFrame({
        "Opportunity": ["006B", "006A", "006A", "006B"],
        "Step": ["Quote Created", "Opportunity Created", "Quote Created", "Opportunity Created"],
        "When": ["2024-03-02 10:00:00", "2024-03-01 09:00:00", "2024-03-01 12:00:00", "2024-03-02 08:00:00"],
        "region": ["EMEA", "NA", "NA", "EMEA"],
    })


KEYS = {"case": "Opportunity", "activity": "Step", "timestamp": "When"}


def expected_rows() -> list[tuple]:
    return [
        ("006A", "Opportunity Created", utc(2024, 3, 1, 9), "NA"),
        ("006A", "Quote Created", utc(2024, 3, 1, 12), "NA"),
        ("006B", "Opportunity Created", utc(2024, 3, 2, 8), "EMEA"),
        ("006B", "Quote Created", utc(2024, 3, 2, 10), "EMEA"),
    ]


def rows(log: analysis.EventLog) -> list[tuple]:
    return log.events.select("case_id", "activity", "timestamp", "region").rows()


def test_polars_frame_is_renamed_sorted_and_keeps_attributes():
    log = analysis.read_event_log(small_frame(), **KEYS)
    assert rows(log) == expected_rows()
    assert log.events.columns == ["event_id", "case_id", "activity", "timestamp", "activity_order", "region"]
    assert log.events.schema["timestamp"] == pl.Datetime("us", "UTC")
    # Without an event id column, the event id is the source row number.
    assert log.events.get_column("event_id").to_list() == ["1", "2", "3", "0"]
    assert (log.n_cases, log.n_events, log.attributes) == (2, 4, ["region"])


def test_every_source_kind_gives_the_same_log(tmp_path):
    frame = small_frame()
    frame.write_parquet(tmp_path / "events.parquet")
    frame.write_csv(tmp_path / "events.csv")
    db = tmp_path / "l2c.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("create schema l2c")
        # The project default: schema l2c inside data/l2c.duckdb (catalog l2c), which DuckDB finds ambiguous.
        con.execute("create table l2c.l2c.events as select * from frame")
    sources = [
        (frame.lazy(), {}),
        (frame.to_pandas(), {}),
        (frame.to_arrow(), {}),
        (tmp_path / "events.parquet", {}),
        (str(tmp_path / "events.csv"), {}),
        ("l2c.events", {"db": db}),
    ]
    for source, extra in sources:
        assert rows(analysis.read_event_log(source, **KEYS, **extra)) == expected_rows(), type(source)
    with duckdb.connect(str(db), read_only=True) as con:
        assert rows(analysis.read_event_log((con, "l2c.events"), **KEYS)) == expected_rows()
        assert rows(analysis.read_event_log("l2c.events", con=con, **KEYS)) == expected_rows()
        assert rows(analysis.read_event_log(con.sql("select * from l2c.l2c.events"), **KEYS)) == expected_rows()


def test_an_event_log_passes_through_unchanged():
    log = analysis.read_event_log(small_frame(), **KEYS)
    assert analysis.read_event_log(log) is log
    assert analysis.as_event_log(log) is log


def test_unknown_source_type_is_a_type_error():
    with pytest.raises(TypeError, match="cannot read a int"):
        analysis.read_event_log(42)


def test_missing_table_names_the_table(tmp_path):
    with duckdb.connect() as con, pytest.raises(EventLogError, match="table 'l2c.nope' not found"):
        analysis.read_event_log("l2c.nope", con=con)


def test_missing_columns_are_listed_with_what_is_available():
    with pytest.raises(EventLogError) as error:
        analysis.read_event_log(small_frame())
    message = str(error.value)
    for keyword in ("case=", "activity=", "timestamp="):
        assert keyword in message
    assert "available columns: Opportunity, Step, When, region" in message
    assert [p["column"] for p in error.value.problems] == ["case_id", "activity", "timestamp"]


def test_all_problems_come_in_one_error_naming_columns_and_first_rows():
    frame = pl.DataFrame({
        "Opportunity": ["006A", None, "006B", None],
        "Step": ["Quote Created", "Quote Created", None, "Quote Created"],
        "When": ["2024-03-01 09:00", "2024-03-01 10:00", "2024-03-01 11:00", "yesterday"],
    })
    with pytest.raises(EventLogError) as error:
        analysis.read_event_log(frame, **KEYS)
    problems = {p["column"]: p for p in error.value.problems}
    assert problems["Opportunity"]["rows"] == [1, 3]
    assert "2 rows" in problems["Opportunity"]["message"]
    assert problems["Step"]["rows"] == [2]
    assert problems["When"]["rows"] == [3]
    assert problems["When"]["examples"] == ["yesterday"]
    assert "column 'When': cannot be parsed as a timestamp" in str(error.value)


def test_null_timestamps_are_reported():
    frame = small_frame().with_columns(pl.when(pl.int_range(4) == 2).then(None).otherwise(pl.col("When")).alias("When"))
    with pytest.raises(EventLogError, match=r"column 'When': is empty \(null\) in 1 rows \(first offending rows: 2\)"):
        analysis.read_event_log(frame, **KEYS)


def test_naive_and_aware_timestamps_mixed_is_an_error():
    frame = small_frame().with_columns(
        pl.Series("When", ["2024-03-02 10:00:00+01:00", "2024-03-01 09:00:00", "2024-03-01 12:00:00Z",
                           "2024-03-02 08:00:00"])
    )
    with pytest.raises(EventLogError) as error:
        analysis.read_event_log(frame, **KEYS)
    (problem,) = error.value.problems
    assert problem["column"] == "When"
    assert "mixes timestamps with a time-zone offset (2 rows" in problem["message"]
    assert problem["rows"] == [1, 3]


def test_offsets_are_converted_to_utc_and_formats_may_vary():
    frame = small_frame().with_columns(
        pl.Series("When", ["2024-03-02T11:00:00+01:00", "2024-03-01 09:00:00Z", "2024-03-01 07:00:00.000-0500",
                           "2024-03-02 08:00:00+00:00"])
    )
    assert rows(analysis.read_event_log(frame, **KEYS)) == expected_rows()


def test_naive_timestamps_are_read_in_the_given_zone():
    frame = small_frame().with_columns(
        pl.Series("When", ["2024-03-31 10:00", "2024-03-30 10:00", "2024-03-31 01:30", "2024-03-31 03:30"])
    )
    log = analysis.read_event_log(frame, **KEYS, timezone="Europe/Rome")
    # 30 March is CET (+01:00); from 31 March 02:00 it is CEST (+02:00).
    assert log.events.get_column("timestamp").to_list() == [
        utc(2024, 3, 30, 9), utc(2024, 3, 31, 0, 30), utc(2024, 3, 31, 1, 30), utc(2024, 3, 31, 8)
    ]


def test_wall_clock_times_skipped_by_dst_are_reported():
    frame = small_frame().with_columns(
        pl.Series("When", ["2024-03-31 02:30", "2024-03-30 10:00", "2024-03-31 01:30", "2024-03-31 03:30"])
    )
    with pytest.raises(EventLogError, match="do not exist in Europe/Rome"):
        analysis.read_event_log(frame, **KEYS, timezone="Europe/Rome")


def test_datetime_columns_naive_and_aware():
    naive = small_frame().with_columns(pl.col("When").str.to_datetime())
    assert rows(analysis.read_event_log(naive, **KEYS)) == expected_rows()
    berlin = naive.with_columns(pl.col("When").dt.replace_time_zone("UTC").dt.convert_time_zone("Europe/Berlin"))
    assert rows(analysis.read_event_log(berlin, **KEYS)) == expected_rows()
    assert rows(analysis.read_event_log(naive.to_pandas(), **KEYS)) == expected_rows()


def test_explicit_timestamp_format():
    frame = small_frame().with_columns(
        pl.Series("When", ["02/03/2024 10:00", "01/03/2024 09:00", "01/03/2024 12:00", "02/03/2024 08:00"])
    )
    log = analysis.read_event_log(frame, **KEYS, timestamp_format="%d/%m/%Y %H:%M")
    assert rows(log) == expected_rows()


def test_ties_are_broken_by_activity_order_then_event_id_then_source_order():
    frame = pl.DataFrame({
        "case_id": ["c"] * 5,
        "activity": ["E", "D", "C", "B", "A"],
        "timestamp": ["2024-01-01 10:00"] * 4 + ["2024-01-01 09:00"],
        "activity_order": [2, 1, 1, 1, 9],
        "event_id": ["e1", "e9", "e2", "e2", "e0"],
    })
    log = analysis.read_event_log(frame)
    # A is earliest; then order 1 before 2; among order 1, e2 before e9; the two e2 keep source order (C, B).
    assert log.events.get_column("activity").to_list() == ["A", "C", "B", "D", "E"]


def test_a_log_already_in_order_is_not_reordered():
    frame = pl.DataFrame({
        "case_id": ["b", "b", "a"], "activity": ["x", "y", "z"],
        "timestamp": ["2024-01-01", "2024-01-02", "2024-01-01"],
    })
    # Cases need only be contiguous: the source order of cases is kept.
    assert analysis.read_event_log(frame).events.get_column("case_id").to_list() == ["b", "b", "a"]
    interleaved = frame.vstack(pl.DataFrame({"case_id": ["b"], "activity": ["w"], "timestamp": ["2024-01-03"]}))
    log = analysis.read_event_log(interleaved)
    assert log.events.select("case_id", "activity").rows() == [("a", "z"), ("b", "x"), ("b", "y"), ("b", "w")]


def test_non_string_case_ids_become_strings():
    frame = pl.DataFrame({"case_id": [2, 10, 2], "activity": ["a", "b", "c"],
                          "timestamp": ["2024-01-01", "2024-01-01", "2024-01-02"]})
    log = analysis.read_event_log(frame)
    assert log.events.schema["case_id"] == pl.String
    assert log.events.select("case_id", "activity").rows() == [("10", "b"), ("2", "a"), ("2", "c")]


def test_a_source_column_clashing_with_a_canonical_name_is_reported():
    frame = small_frame().with_columns(pl.lit("x").alias("case_id"))
    with pytest.raises(EventLogError, match="column 'case_id': exists in the source but another column is mapped"):
        analysis.read_event_log(frame, **KEYS)


def test_non_integer_activity_order_is_reported():
    frame = small_frame().with_columns(pl.Series("activity_order", ["1", "2", "x", "4"]))
    with pytest.raises(EventLogError, match="'activity_order': is not an integer in 1 rows"):
        analysis.read_event_log(frame, **KEYS)


def test_empty_log_has_the_canonical_schema():
    log = analysis.read_event_log(pl.DataFrame({"case_id": [], "activity": [], "timestamp": []}))
    assert (log.n_cases, log.n_events) == (0, 0)
    assert log.events.schema == pl.Schema({
        "event_id": pl.String, "case_id": pl.String, "activity": pl.String,
        "timestamp": pl.Datetime("us", "UTC"), "activity_order": pl.Int64,
    })


def test_events_are_read_only():
    log = analysis.read_event_log(small_frame(), **KEYS)
    with pytest.raises(AttributeError):
        log.events = pl.DataFrame()


@needs_shared
def test_receipt_parquet_in_local_time_equals_receipt_csv_with_offsets():
    """receipt.parquet stores Dutch wall-clock time without a zone; receipt.csv carries +01:00/+02:00."""
    from_csv = analysis.read_event_log(EVENTLOGS / "receipt.csv", **PM4PY_KEYS)
    from_parquet = analysis.read_event_log(EVENTLOGS / "receipt.parquet", **PM4PY_KEYS, timezone="Europe/Amsterdam")
    columns = ["case_id", "activity", "timestamp"]
    assert from_parquet.events.select(columns).equals(from_csv.events.select(columns))
    as_utc = analysis.read_event_log(EVENTLOGS / "receipt.parquet", **PM4PY_KEYS)
    assert not as_utc.events.select(columns).equals(from_csv.events.select(columns))

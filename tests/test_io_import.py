"""``l2c template`` and ``l2c import``: the template round trip, column and timestamp detection,
the contract of the marts, duplicates, and every documented error leaving the database unchanged."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import openpyxl
import pytest

import analysis
from analysis.payments import days_to_pay
from l2c.cli import main
from l2c.eventlog_io import (
    EventLogImportError,
    MappingError,
    SourceError,
    ValidationError,
    import_event_log,
)
from l2c.eventlog_io.duck import qualified
from l2c.eventlog_io.template import FIELDS, write_template


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def query(db: Path, sql: str) -> list[tuple]:
    """Run ``sql`` with ``{event_log}``, ``{cases}``, ``{raw}``... replaced by qualified names."""
    with duckdb.connect(str(db), read_only=True) as con:
        names = {
            name: qualified(con, schema, table)
            for name, schema, table in (
                ("event_log", "l2c", "event_log"), ("cases", "l2c", "cases"), ("activities", "l2c", "activities"),
                ("lead_log", "l2c", "lead_event_log"), ("raw", "raw_import", "event_log"),
                ("runs", "raw_import", "import_runs"),
            )
        }
        return con.execute(sql.format(**names)).fetchall()


def write_csv(path: Path, text: str) -> Path:
    path.write_text(text.strip() + "\n", encoding="utf-8")
    return path


@pytest.fixture
def db(tmp_path) -> Path:
    return tmp_path / "l2c.duckdb"


@pytest.fixture
def template(tmp_path) -> tuple[Path, Path]:
    return write_template(tmp_path / "template")


# --------------------------------------------------------------------------- template


def test_template_has_event_log_and_fields_sheets(tmp_path, capsys):
    assert main(["template", "--out", str(tmp_path)]) == 0
    xlsx = tmp_path / "l2c_event_log_template.xlsx"
    assert f"wrote {xlsx}" in capsys.readouterr().out
    book = openpyxl.load_workbook(xlsx)
    assert book.sheetnames == ["event_log", "fields"]
    header = [c.value for c in book["event_log"][1]]
    assert header == ["case_id", "activity", "timestamp", "sales_rep", "stage", "amount", "is_won", "discount_pct"]
    assert book["event_log"]["C2"].value == datetime(2024, 1, 8, 9, 15)  # a real Excel date cell
    fields = {row[0]: row[2] for row in book["fields"].iter_rows(min_row=2, max_row=9, values_only=True)}
    assert fields == {
        "case_id": "required", "activity": "required", "timestamp": "required", "sales_rep": "recommended",
        "stage": "recommended", "amount": "recommended", "is_won": "optional", "discount_pct": "optional",
    }
    assert "Opportunity Id" in book["fields"]["B2"].value
    assert (tmp_path / "l2c_event_log_template.csv").read_text().splitlines()[0] == ",".join(f.column for f in FIELDS)


def test_template_imports_into_the_event_log_and_cases_contract(template, db):
    xlsx, _ = template
    summary = import_event_log(xlsx, db)
    assert (summary.cases, summary.events, summary.activities, summary.variants) == (2, 14, 11, 2)
    assert summary.first_event_at == utc(2024, 1, 8, 9, 15)
    assert summary.last_event_at == utc(2024, 4, 2, 15, 20)
    cases = query(db, "SELECT case_id, owner_id, owner_name, stage_name, amount, discount_pct, is_won, is_closed, "
                      "closed_at, created_at, event_count FROM {cases} ORDER BY case_id")
    assert cases == [
        ("006EXAMPLE000001AAA", "Maria Rossi", "Maria Rossi", "Closed Won", 52000.0, 10.0, True, True,
         utc(2024, 3, 1, 12), utc(2024, 1, 8, 9, 15), 10),
        ("006EXAMPLE000002AAA", "John Smith", "John Smith", "Closed Lost", 15000.0, 25.0, False, True,
         utc(2024, 3, 18, 10), utc(2024, 1, 15, 11), 4),
    ]
    # Same-second events keep the file's order: Contract Activated before Closed Won.
    first_case = query(db, "SELECT activity, activity_order, resource, stage, amount, source_object, source_id "
                           "FROM {event_log} WHERE case_id = '006EXAMPLE000001AAA' ORDER BY activity_order")
    assert first_case[6:8] == [
        ("Contract Activated", 7, "Maria Rossi", "Negotiation/Review", 52000.0, "import", "8"),
        ("Closed Won", 8, "Maria Rossi", "Closed Won", 52000.0, "import", "9"),
    ]
    columns = [r[0] for r in query(db, "SELECT column_name FROM (DESCRIBE {event_log})")]
    assert columns == ["event_id", "case_id", "activity", "timestamp", "activity_order", "resource", "resource_name",
                       "resource_role", "source_object", "source_id", "stage", "amount", "old_value", "new_value",
                       "due_date", "invoice_id", "is_milestone", "is_before_case_created"]
    # Milestones as the dbt activity catalog marks them.
    assert query(db, "SELECT activity FROM {event_log} WHERE is_milestone ORDER BY timestamp LIMIT 4") == [
        ("Opportunity Created",), ("Opportunity Created",), ("Quote Created",), ("Quote Approved",),
    ]
    # event ids are deterministic: the same file gives the same ids.
    ids = query(db, "SELECT event_id FROM {event_log} ORDER BY event_id")
    import_event_log(xlsx, db)
    assert query(db, "SELECT event_id FROM {event_log} ORDER BY event_id") == ids
    assert len({i for (i,) in ids}) == 14
    assert query(db, "SELECT activity, sort_order, event_count FROM {activities} ORDER BY sort_order LIMIT 2") == [
        ("Opportunity Created", 10, 2), ("Stage: Qualification", 20, 2),
    ]
    # The catalog's other activities follow, without events, so rules naming them are known.
    assert query(db, "SELECT count(*), sum(event_count) FROM {activities} WHERE sort_order > 110") == [(13, 0)]
    assert ("Order Activated", True) in query(db, "SELECT activity, is_milestone FROM {activities}")
    assert query(db, "SELECT count(*), max(_l2c_row) FROM {raw}") == [(14, 15)]  # header is row 1


def test_template_csv_twin_imports_to_the_same_log_as_the_workbook(template, tmp_path):
    xlsx, csv_path = template
    from_xlsx, from_csv = tmp_path / "a.duckdb", tmp_path / "b.duckdb"
    import_event_log(xlsx, from_xlsx)
    import_event_log(csv_path, from_csv)
    for sql in ("SELECT * FROM {event_log} ORDER BY event_id", "SELECT * FROM {cases} ORDER BY case_id"):
        assert query(from_xlsx, sql) == query(from_csv, sql)


# --------------------------------------------------------------------------- columns and timestamps


def test_common_column_names_are_detected_and_flags_override(tmp_path, db):
    path = write_csv(tmp_path / "report.csv", """
Opportunity Id;Activity Name;Date;Opportunity Owner;Stage Name;Amount;Won;Discount %;Region;Deal Type
0061;Created;05/01/2024 10:00;Ann;Prospecting;€ 1,200.50;;5%;EMEA;New
0061;Closed Won;20/01/2024 09:30;Ann;Closed Won;1200.50;yes;5%;EMEA;New
""")
    summary = import_event_log(path, db)
    assert summary.mapping[:4] == [
        "case             <- 'Opportunity Id' (detected)",
        "activity         <- 'Activity Name' (detected)",
        "timestamp        <- 'Date' (detected)",
        "stage            <- 'Stage Name' (detected)",
    ]
    assert "timestamps read with format '%d/%m/%Y %H:%M'" in summary.notes
    assert query(db, "SELECT owner_name, region, amount, discount_pct, is_won, is_closed FROM {cases}") == [
        ("Ann", "EMEA", 1200.5, 5.0, True, True),
    ]
    assert query(db, 'SELECT timestamp, resource, "Deal Type" FROM {event_log} ORDER BY activity_order') == [
        (utc(2024, 1, 5, 10), "Ann", "New"), (utc(2024, 1, 20, 9, 30), "Ann", "New"),
    ]
    # Flags win over detection: read the rep as the case id.
    import_event_log(path, db, columns={"case": "Opportunity Owner"})
    assert query(db, "SELECT case_id, owner_name FROM {cases}") == [("Ann", None)]


def test_invoice_numbers_pair_each_payment_with_its_invoice(tmp_path, db):
    # Two invoices paid out of order: a partial payment of 1002, then 1001, then the rest of 1002.
    path = write_csv(tmp_path / "billing.csv", """
Case ID,Activity,Timestamp,Invoice Number,Due Date
A,Invoice Posted,2024-01-01 09:00,1001,2024-01-31
A,Invoice Posted,2024-01-02 09:00,1002,2024-02-01
A,Payment Received,2024-01-10 09:00,1002,
A,Payment Received,2024-01-20 09:00,1001,
A,Payment Received,2024-02-05 09:00,1002,
""")
    summary = import_event_log(path, db)

    assert "invoice-id       <- 'Invoice Number' (detected)" in summary.mapping
    assert query(db, "SELECT invoice_id FROM {event_log} ORDER BY activity_order") == [
        ("1001",), ("1002",), ("1002",), ("1001",), ("1002",)]
    with duckdb.connect(str(db), read_only=True) as con:
        events = con.sql(f"SELECT * FROM {qualified(con, 'l2c', 'event_log')}").pl()
    invoices = days_to_pay(analysis.read_event_log(events))
    assert invoices.select("invoice_id", "payments", "days_to_pay", "days_after_due").rows() == [
        ("1001", 1, 19.0, -11), ("1002", 2, 34.0, 4)]


@pytest.mark.parametrize(
    ("values", "options", "expected"),
    [
        # ISO with mixed offsets: normalised to UTC.
        (["2024-03-30 09:00:00+01:00", "2024-04-02T10:00:00+02:00"], {}, [utc(2024, 3, 30, 8), utc(2024, 4, 2, 8)]),
        # Naive ISO read in the given zone (CET, then CEST after the DST change).
        (["2024-03-30 09:00:00", "2024-04-02 10:00:00"], {"timezone": "Europe/Rome"},
         [utc(2024, 3, 30, 8), utc(2024, 4, 2, 8)]),
        # US month-first, recognised from a day above 12.
        (["01/13/2024 10:00 AM", "02/01/2024 03:15 PM"], {}, [utc(2024, 1, 13, 10), utc(2024, 2, 1, 15, 15)]),
        # Day-first with dots and seconds.
        (["05.01.2024 10:00:00", "06.01.2024 11:00:00"], {}, [utc(2024, 1, 5, 10), utc(2024, 1, 6, 11)]),
        # An explicit format wins over detection: 05/01 as 1 May.
        (["05/01/2024 10:00", "05/02/2024 10:00"], {"timestamp_format": "%m/%d/%Y %H:%M"},
         [utc(2024, 5, 1, 10), utc(2024, 5, 2, 10)]),
        # Zulu and fractions.
        (["2024-01-05T10:00:00.250Z", "2024-01-05T10:00:01Z"], {}, [utc(2024, 1, 5, 10, 0, 0, 250000), utc(2024, 1, 5, 10, 0, 1)]),
    ],
)
def test_timestamps_in_common_formats(tmp_path, db, values, options, expected):
    rows = "\n".join(f'c1,step {i},"{v}"' for i, v in enumerate(values))
    path = write_csv(tmp_path / "log.csv", "case,activity,timestamp\n" + rows)
    import_event_log(path, db, **options)
    assert [r[0] for r in query(db, "SELECT timestamp FROM {event_log} ORDER BY activity")] == expected


def test_excel_date_cells_are_wall_clock_time_in_the_given_zone(tmp_path, db):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Report"
    sheet.append(["Case ID", "Activity", "Timestamp", "Amount"])
    sheet.append(["A", "start", datetime(2024, 7, 1, 9, 0), 10])
    sheet.append(["A", "end", datetime(2024, 7, 1, 17, 30), 12.5])
    sheet.append([None, None, None, None])  # formatted but empty rows are skipped
    path = tmp_path / "log.xlsx"
    book.save(path)
    import_event_log(path, db, timezone="America/New_York")
    assert query(db, "SELECT activity, timestamp, amount FROM {event_log} ORDER BY timestamp") == [
        ("start", utc(2024, 7, 1, 13), 10.0), ("end", utc(2024, 7, 1, 21, 30), 12.5),
    ]


def test_text_attributes_get_their_inferred_types(tmp_path, db):
    path = write_csv(tmp_path / "log.csv", """
case,activity,timestamp,cost,count,flag,code,due,case:segment,case:priority
a,x,2024-01-01 10:00,1.5,3,true,007,2024-02-01 00:00:00+00:00,SMB,2
a,y,2024-01-02 10:00,2,4,false,010,2024-02-02 00:00:00+00:00,SMB,2
""")
    import_event_log(path, db)
    types = dict(query(db, "SELECT column_name, column_type FROM (DESCRIBE {event_log})"))
    assert (types["cost"], types["count"], types["flag"], types["code"], types["due"]) == (
        "DOUBLE", "BIGINT", "BOOLEAN", "VARCHAR", "TIMESTAMP WITH TIME ZONE",
    )
    assert "case:segment" not in types and "case:priority" not in types
    # case:segment is the customer segment role; other case: columns keep their name without the prefix.
    assert query(db, "SELECT customer_segment, priority FROM {cases}") == [("SMB", 2)]


def test_batches_give_the_same_log_as_one_pass(template, tmp_path):
    _, csv_path = template
    one, many = tmp_path / "one.duckdb", tmp_path / "many.duckdb"
    import_event_log(csv_path, one)
    import_event_log(csv_path, many, batch_rows=3)
    assert query(one, "SELECT * FROM {event_log} ORDER BY event_id") == query(many, "SELECT * FROM {event_log} ORDER BY event_id")


# --------------------------------------------------------------------------- duplicates


def test_duplicate_rows_are_reported_counted_and_kept_unless_dropped(tmp_path, db, capsys):
    path = write_csv(tmp_path / "log.csv", """
case,activity,timestamp
a,x,2024-01-01 10:00
a,x,2024-01-01 10:00
a,y,2024-01-02 10:00
a,x,2024-01-01 10:00
b,x,2024-01-01 10:00
""")
    summary = import_event_log(path, db)
    assert summary.duplicate_rows == 2
    assert summary.duplicate_examples == ["row 3 repeats row 2"]
    assert summary.events == 5
    assert main(["import", str(path), "--db", str(db), "--drop-duplicates"]) == 0
    out = capsys.readouterr().out
    assert "duplicates: 2 rows repeat an earlier row exactly, dropped: row 3 repeats row 2" in out
    assert "events:     3" in out
    assert query(db, "SELECT source_id FROM {event_log} ORDER BY case_id, activity_order") == [("2",), ("4",), ("6",)]


# --------------------------------------------------------------------------- errors leave data intact


def fingerprint(db: Path) -> list:
    return [
        query(db, "SELECT count(*), min(event_id), max(event_id) FROM {event_log}"),
        query(db, "SELECT count(*) FROM {cases}"),
        query(db, "SELECT count(*), max(_l2c_row) FROM {raw}"),
        query(db, "SELECT count(*) FROM {runs}"),
    ]


@pytest.fixture
def loaded_db(template, db) -> Path:
    """A database holding the template's log, which every failed import must leave as it is."""
    import_event_log(template[0], db)
    return db


INVALID = {
    "missing required column": (
        "case,activity\na,x\n", {}, MappingError,
        "no timestamp column: none of the columns is named like one ('time:timestamp', 'timestamp', "
        "'complete timestamp', 'end timestamp', 'event time', ...); pass --timestamp COLUMN. "
        "The file's columns are: 'case', 'activity'",
    ),
    "column given by flag not in the file": (
        "case,activity,timestamp\na,x,2024-01-01\n", {"columns": {"resource": "Owner"}}, MappingError,
        "column 'Owner' given with --resource is not in the file; its columns are: 'case', 'activity', 'timestamp'",
    ),
    "empty case id": (
        "case,activity,timestamp\na,x,2024-01-01\n  ,y,2024-01-02\n,z,2024-01-03\n", {}, ValidationError,
        "  - column 'case': is empty (null) in 2 rows: row 3, row 4",
    ),
    "unparseable timestamp": (
        "case,activity,timestamp\na,x,2024-01-01 10:00\na,y,yesterday\n", {}, ValidationError,
        "  - column 'timestamp': cannot be parsed as a timestamp (pass --timestamp-format, e.g. '%m/%d/%Y %H:%M') "
        "in 1 row: row 3 ('yesterday')",
    ),
    "offsets and naive mixed": (
        "case,activity,timestamp\na,x,2024-01-01 10:00+01:00\na,y,2024-01-02 10:00\n", {}, ValidationError,
        "  - column 'timestamp': mixes timestamps with a time-zone offset (e.g. row 2) and without one; give every "
        "timestamp an offset, or none and pass --timezone in 1 row: row 3 ('2024-01-02 10:00')",
    ),
    "wall-clock time skipped by DST": (
        "case,activity,timestamp\na,x,2024-03-31 02:30:00\n", {"timezone": "Europe/Amsterdam"}, ValidationError,
        "  - column 'timestamp': has wall-clock times that do not exist in Europe/Amsterdam (skipped by a DST change) "
        "at row 2 ('2024-03-31 02:30:00')",
    ),
    "amount not a number": (
        "case,activity,timestamp,amount\na,x,2024-01-01,100\na,y,2024-01-02,lots\n", {}, ValidationError,
        "  - column 'amount': is not a number in 1 row: row 3 ('lots')",
    ),
    "is won not yes/no": (
        "case,activity,timestamp,is won\na,x,2024-01-01,maybe\n", {}, ValidationError,
        "  - column 'is won': is not true/false (or yes/no, 1/0) in 1 row: row 2 ('maybe')",
    ),
    "header only": (
        "case,activity,timestamp\n", {}, ValidationError,
        "cannot import bad.csv: it contains no events (only a header)",
    ),
    "unknown time zone": (
        "case,activity,timestamp\na,x,2024-01-01\n", {"timezone": "Mars/Olympus"}, EventLogImportError,
        "unknown time zone 'Mars/Olympus': use an IANA name such as 'Europe/Amsterdam', 'America/New_York' or 'UTC'",
    ),
    "lifecycle combine without a lifecycle column": (
        "case,activity,timestamp\na,x,2024-01-01\n", {"lifecycle": "combine"}, MappingError,
        "--lifecycle combine needs a lifecycle column",
    ),
}


@pytest.mark.parametrize("case", list(INVALID))
def test_invalid_input_gives_its_documented_error_and_changes_nothing(loaded_db, tmp_path, case):
    text, options, error, message = INVALID[case]
    path = tmp_path / "bad.csv"
    path.write_text(text, encoding="utf-8")
    before = fingerprint(loaded_db)
    with pytest.raises(error) as raised:
        import_event_log(path, loaded_db, **options)
    assert message in str(raised.value)
    assert fingerprint(loaded_db) == before


def test_problems_of_all_batches_are_reported_together(loaded_db, tmp_path):
    rows = ["case,activity,timestamp"] + [f"c{i},x,2024-01-{i:02d} 10:00" for i in range(1, 21)]
    rows[4] = "c4,x,not a date"
    rows[15] = ",x,2024-01-15 10:00"
    rows[17] = "c17,x,31/02/2024"
    path = write_csv(tmp_path / "bad.csv", "\n".join(rows))
    before = fingerprint(loaded_db)
    with pytest.raises(ValidationError) as raised:
        import_event_log(path, loaded_db, batch_rows=4)
    assert str(raised.value).splitlines() == [
        "cannot import bad.csv: nothing was imported, the database is unchanged",
        "  - column 'timestamp': cannot be parsed as a timestamp (pass --timestamp-format, e.g. '%m/%d/%Y %H:%M') "
        "in 2 rows: row 5 ('not a date'), row 18 ('31/02/2024')",
        "  - column 'case': is empty (null) in 1 row: row 16",
    ]
    assert [p["count"] for p in raised.value.problems] == [2, 1]
    assert fingerprint(loaded_db) == before


def test_offsets_in_one_batch_and_naive_times_in_another_are_an_error(loaded_db, tmp_path):
    path = write_csv(tmp_path / "bad.csv", """
case,activity,timestamp
a,x,2024-01-01 10:00
a,y,2024-01-02 10:00
b,x,2024-01-01 10:00+01:00
b,y,2024-01-02 10:00+01:00
""")
    before = fingerprint(loaded_db)
    with pytest.raises(ValidationError) as raised:
        import_event_log(path, loaded_db, batch_rows=2)
    assert str(raised.value).splitlines()[1] == (
        "  - column 'timestamp': mixes timestamps with a time-zone offset (from row 4) and without one (from row 2); "
        "give every timestamp an offset, or none and pass --timezone"
    )
    assert fingerprint(loaded_db) == before


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("log.json", "{}", "cannot import log.json: unsupported file type"),
        ("log.xes", "<log><trace><event>", "log.xes is not valid XES (XML error: no element found: line 1, column 19)"),
        ("log.xes", "<html></html>", "log.xes is not an XES log: its root element is <html>, expected <log>"),
        ("log.csv", None, "file not found"),
    ],
)
def test_unreadable_files_give_clear_errors_and_change_nothing(loaded_db, tmp_path, name, content, message):
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    before = fingerprint(loaded_db)
    with pytest.raises(SourceError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        import_event_log(path, loaded_db)
    assert fingerprint(loaded_db) == before


def test_cli_prints_the_error_and_exits_non_zero(loaded_db, tmp_path, capsys):
    path = write_csv(tmp_path / "bad.csv", "case,activity,timestamp\na,x,2024-01-01\n,y,2024-01-02\n")
    assert main(["import", str(path), "--db", str(loaded_db)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("l2c import: error: cannot import bad.csv: nothing was imported, the database is unchanged")
    assert "column 'case': is empty (null) in 1 row: row 3" in err


def test_import_replaces_dbt_built_views_and_drops_the_lead_log(template, db):
    with duckdb.connect(str(db)) as con:
        con.execute('CREATE SCHEMA "l2c"."l2c"')  # catalog l2c (the file's name), schema l2c
        con.execute(f"CREATE VIEW {qualified(con, 'l2c', 'event_log')} AS SELECT 1 AS legacy")
        con.execute(f"CREATE TABLE {qualified(con, 'l2c', 'lead_event_log')} AS SELECT 'lead' AS case_id, 1 AS n")
    summary = import_event_log(template[0], db)
    assert "l2c.lead_event_log dropped: an imported log has no leads" in summary.notes
    assert query(db, "SELECT count(*) FROM {event_log}") == [(14,)]
    assert query(db, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'l2c' ORDER BY 1") == [
        ("activities",), ("cases",), ("event_log",),
    ]

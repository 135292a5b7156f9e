"""The Lead-to-Cash event-log template: an Excel workbook and its CSV twin.

For users who cannot connect l2c to their org: fill one row per event (from a
Salesforce report export, a spreadsheet, another tool), then ``l2c import``.
The workbook has the ``event_log`` sheet with example rows and a ``fields``
sheet explaining each column; the CSV twin holds the same example rows.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

TEMPLATE_NAME = "l2c_event_log_template"


@dataclass(frozen=True)
class TemplateField:
    column: str
    label: str
    need: str  # required / recommended / optional
    meaning: str
    format: str
    also_accepted: str


FIELDS: tuple[TemplateField, ...] = (
    TemplateField(
        "case_id", "Case id (Opportunity Id)", "required",
        "The case the event belongs to: the Salesforce Opportunity Id, or any id shared by all events of one deal.",
        "Text, e.g. 0065g00000AbCdEAAV.",
        "Case ID, Opportunity Id, case:concept:name, case",
    ),
    TemplateField(
        "activity", "Activity", "required",
        "What happened, e.g. 'Opportunity Created', 'Stage: Proposal/Price Quote', 'Quote Accepted', 'Closed Won'.",
        "Text. Use the same spelling for the same step in every case.",
        "Activity, Activity Name, concept:name, Event",
    ),
    TemplateField(
        "timestamp", "Timestamp", "required",
        "When it happened.",
        "Date and time: 2024-01-08 09:15:00, 2024-01-08T09:15:00+01:00, 08/01/2024 09:15, an Excel date cell. "
        "Times without an offset are read in the zone given with --timezone (default UTC); offsets are "
        "converted to UTC. US month-first dates (01/13/2024) are recognised when a day above 12 shows it; "
        "otherwise pass --timestamp-format '%m/%d/%Y %H:%M'.",
        "Timestamp, time:timestamp, Date, Time, Event Time",
    ),
    TemplateField(
        "sales_rep", "Sales rep", "recommended",
        "The sales rep who owns the opportunity (or who acted). Becomes the event's resource and the case owner.",
        "Text: a name or a User Id.",
        "Sales Rep, Owner, Opportunity Owner, org:resource (as resource)",
    ),
    TemplateField(
        "stage", "Stage", "recommended",
        "The opportunity stage after the event, e.g. 'Qualification', 'Closed Won'.",
        "Text; Salesforce's stage names if you have them.",
        "Stage, Stage Name, StageName",
    ),
    TemplateField(
        "amount", "Amount", "recommended",
        "The opportunity amount after the event; the case's amount is the last one given.",
        "A number, e.g. 48000 or 48000.50 (no thousands separators needed; currency symbols are ignored).",
        "Amount, Opportunity Amount, Deal Value",
    ),
    TemplateField(
        "is_won", "Is won", "optional",
        "Whether the opportunity was won; leave empty while it is open.",
        "true/false, yes/no, 1/0, won/lost.",
        "Is Won, IsWon, Won",
    ),
    TemplateField(
        "discount_pct", "Discount %", "optional",
        "The discount granted on the deal, in percent.",
        "A number from 0 to 100, e.g. 12.5 for 12.5 % ('12.5%' is accepted).",
        "Discount %, Discount, Discount Percent",
    ),
)

_EXAMPLE_EVENTS: tuple[tuple, ...] = (
    # case, activity, timestamp, sales rep, stage, amount, is won, discount %
    ("006EXAMPLE000001AAA", "Opportunity Created", datetime(2024, 1, 8, 9, 15), "Maria Rossi", "Prospecting", 48000, None, None),
    ("006EXAMPLE000001AAA", "Stage: Qualification", datetime(2024, 1, 12, 14, 0), "Maria Rossi", "Qualification", 48000, None, None),
    ("006EXAMPLE000001AAA", "Stage: Proposal/Price Quote", datetime(2024, 2, 2, 10, 30), "Maria Rossi", "Proposal/Price Quote", 52000, None, None),
    ("006EXAMPLE000001AAA", "Quote Created", datetime(2024, 2, 2, 11, 5), "Maria Rossi", "Proposal/Price Quote", 52000, None, 10),
    ("006EXAMPLE000001AAA", "Quote Approved", datetime(2024, 2, 6, 16, 45), "Maria Rossi", "Proposal/Price Quote", 52000, None, 10),
    ("006EXAMPLE000001AAA", "Quote Accepted", datetime(2024, 2, 20, 9, 0), "Maria Rossi", "Negotiation/Review", 52000, None, 10),
    ("006EXAMPLE000001AAA", "Contract Activated", datetime(2024, 3, 1, 12, 0), "Maria Rossi", "Negotiation/Review", 52000, None, 10),
    ("006EXAMPLE000001AAA", "Closed Won", datetime(2024, 3, 1, 12, 0), "Maria Rossi", "Closed Won", 52000, True, 10),
    ("006EXAMPLE000001AAA", "Invoice Posted", datetime(2024, 3, 4, 8, 30), "Maria Rossi", "Closed Won", 52000, True, 10),
    ("006EXAMPLE000001AAA", "Payment Received", datetime(2024, 4, 2, 15, 20), "Maria Rossi", "Closed Won", 52000, True, 10),
    ("006EXAMPLE000002AAA", "Opportunity Created", datetime(2024, 1, 15, 11, 0), "John Smith", "Prospecting", 15000, None, None),
    ("006EXAMPLE000002AAA", "Stage: Qualification", datetime(2024, 1, 29, 9, 40), "John Smith", "Qualification", 15000, None, None),
    ("006EXAMPLE000002AAA", "Quote Created", datetime(2024, 2, 14, 17, 10), "John Smith", "Proposal/Price Quote", 15000, None, 25),
    ("006EXAMPLE000002AAA", "Closed Lost", datetime(2024, 3, 18, 10, 0), "John Smith", "Closed Lost", 15000, False, 25),
)


def example_rows() -> list[dict]:
    """The template's example events as ``{column: value}`` (timestamps as naive datetimes)."""
    names = [f.column for f in FIELDS]
    return [dict(zip(names, row, strict=True)) for row in _EXAMPLE_EVENTS]


def write_template(out_dir: str | Path = ".") -> tuple[Path, Path]:
    """Write ``l2c_event_log_template.xlsx`` and ``.csv`` into ``out_dir``; returns both paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    xlsx, csv_path = out / f"{TEMPLATE_NAME}.xlsx", out / f"{TEMPLATE_NAME}.csv"
    _write_xlsx(xlsx)
    _write_csv(csv_path)
    return xlsx, csv_path


def _csv_value(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


def _write_csv(path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([f.column for f in FIELDS])
        for row in _EXAMPLE_EVENTS:
            writer.writerow([_csv_value(v) for v in row])


def _write_xlsx(path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.worksheet.datavalidation import DataValidation

    book = Workbook()
    sheet = book.active
    sheet.title = "event_log"
    header_font = Font(bold=True)
    fills = {
        "required": PatternFill("solid", fgColor="F4B183"),
        "recommended": PatternFill("solid", fgColor="FFE699"),
        "optional": PatternFill("solid", fgColor="DDEBF7"),
    }
    sheet.append([f.column for f in FIELDS])
    for cell, f in zip(sheet[1], FIELDS, strict=True):
        cell.font = header_font
        cell.fill = fills[f.need]
    for row in _EXAMPLE_EVENTS:
        sheet.append(list(row))
    widths = {"case_id": 22, "activity": 30, "timestamp": 20, "sales_rep": 16, "stage": 22}
    for i, f in enumerate(FIELDS, start=1):
        letter = sheet.cell(row=1, column=i).column_letter
        sheet.column_dimensions[letter].width = widths.get(f.column, 13)
    for cell in sheet["C"][1:]:
        cell.number_format = "yyyy-mm-dd hh:mm:ss"
    sheet.freeze_panes = "A2"
    yes_no = DataValidation(type="list", formula1='"TRUE,FALSE"', allow_blank=True)
    sheet.add_data_validation(yes_no)
    yes_no.add("G2:G100000")

    fields = book.create_sheet("fields")
    fields.append(["column", "field", "need", "meaning", "format", "also accepted as column name"])
    for cell in fields[1]:
        cell.font = header_font
    for f in FIELDS:
        fields.append([f.column, f.label, f.need, f.meaning, f.format, f.also_accepted])
        fields.cell(row=fields.max_row, column=3).fill = fills[f.need]
    fields.append([])
    for note in (
        "Fill the event_log sheet with one row per event (delete the example rows), then run: l2c import FILE.xlsx",
        "Required: case_id, activity, timestamp. Recommended and optional columns may be left out or empty.",
        "Any further column is kept as an event attribute; a column named case:<name> becomes a case attribute.",
        "Column names are matched loosely (case, spaces and underscores do not matter); override with "
        "--case/--activity/--timestamp/--sales-rep/... flags.",
        "Stage, amount, is won and discount %: the case's value is the last one given in its events.",
    ):
        fields.append([note])
    for letter, width in zip("ABCDEF", (14, 24, 13, 70, 70, 45), strict=True):
        fields.column_dimensions[letter].width = width
    for row in fields.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    book.save(path)

"""The Lead-to-Cash HTML report: one self-contained file, English or Italian.

>>> from l2c.report import write_report
>>> write_report("data/warehouse.duckdb", "data/report")   # doctest: +SKIP
PosixPath('data/report/index.html')

See ``docs/report.md`` for the sections, the language setting and how the key
figures are defined.
"""

from l2c.report.data import ReportDataError
from l2c.report.i18n import LANGUAGES
from l2c.report.render import PROCESS_MAP_FILE, PROCESS_MAP_PNG_FILE, REPORT_FILE, write_report

__all__ = [
    "LANGUAGES", "PROCESS_MAP_FILE", "PROCESS_MAP_PNG_FILE", "REPORT_FILE", "ReportDataError", "write_report",
]

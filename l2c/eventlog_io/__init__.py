"""Event-log files in and out of l2c: the import template, importers and standard exports.

- :func:`write_template` writes the Lead-to-Cash event-log template (.xlsx + .csv);
- :func:`import_event_log` imports a CSV, Excel, Parquet or XES(.gz) log into
  DuckDB in the same contract as the Salesforce pipeline (``raw_import.event_log``,
  ``l2c.event_log``, ``l2c.cases``, ``l2c.activities``);
- :func:`export_event_log` writes the event log as CSV, Parquet, XES or OCEL 2.0
  (JSON or SQLite).

See docs/import-export.md.
"""

from l2c.eventlog_io.errors import EventLogImportError, MappingError, SourceError, ValidationError
from l2c.eventlog_io.exporters import EXPORT_FORMATS, ExportError, ExportSummary, export_event_log
from l2c.eventlog_io.importer import ImportSummary, import_event_log
from l2c.eventlog_io.template import write_template

__all__ = [
    "EXPORT_FORMATS",
    "EventLogImportError",
    "ExportError",
    "ExportSummary",
    "ImportSummary",
    "MappingError",
    "SourceError",
    "ValidationError",
    "export_event_log",
    "import_event_log",
    "write_template",
]

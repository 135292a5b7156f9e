"""Errors of the event-log import, each naming the file, column and rows at fault."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


class EventLogImportError(ValueError):
    """An event-log file that cannot be imported; nothing was written.

    ``problems`` lists each finding as a dict with ``column``, ``message``,
    ``count`` (rows affected, when known) and ``rows`` (labels such as
    ``"row 7"`` for the first few offending rows, with their values).
    """

    def __init__(self, message: str, problems: Sequence[Mapping[str, Any]] = ()):
        self.problems = [dict(p) for p in problems]
        super().__init__(message)


class SourceError(EventLogImportError):
    """The file cannot be read at all (unsupported type, malformed CSV or XML, empty sheet...)."""


class MappingError(EventLogImportError):
    """The file's columns cannot be mapped to an event log (a required column is missing)."""


class ValidationError(EventLogImportError):
    """Rows of the file are invalid (empty case id, unparseable timestamp, non-numeric amount...)."""

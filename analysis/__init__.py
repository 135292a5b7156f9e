"""Process-mining analyses over a canonical, validated event log (polars; pm4py optional).

Start with :func:`read_event_log`, then call the verbs. No Dagster imports here:
``import analysis`` works in a notebook.
"""

from analysis.log import EventLog, EventLogError, as_event_log, read_event_log

__all__ = [
    "EventLog",
    "EventLogError",
    "as_event_log",
    "read_event_log",
]

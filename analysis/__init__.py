"""Process-mining analyses over a canonical, validated event log (polars; pm4py optional).

Start with :func:`read_event_log`, then call the verbs. No Dagster imports here:
``import analysis`` works in a notebook.

>>> import analysis
>>> log = analysis.read_event_log("events.parquet")        # doctest: +SKIP
>>> analysis.variants(log).head()                           # doctest: +SKIP
"""

from analysis.bottlenecks import bottlenecks
from analysis.calendar import BusinessCalendar
from analysis.log import EventLog, EventLogError, as_event_log, read_event_log
from analysis.process_map import END, START, activity_stats, process_map
from analysis.rework import rework
from analysis.throughput import throughput, throughput_summary
from analysis.variants import case_variants, variants

__all__ = [
    "END",
    "START",
    "BusinessCalendar",
    "EventLog",
    "EventLogError",
    "activity_stats",
    "as_event_log",
    "bottlenecks",
    "case_variants",
    "process_map",
    "read_event_log",
    "rework",
    "throughput",
    "throughput_summary",
    "variants",
]

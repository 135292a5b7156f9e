"""Process-mining analyses over a canonical, validated event log (polars; pm4py optional).

Start with :func:`read_event_log`, then call the verbs. No Dagster imports here:
``import analysis`` works in a notebook.

>>> import analysis
>>> log = analysis.read_event_log("events.parquet")        # doctest: +SKIP
>>> analysis.variants(log).head()                           # doctest: +SKIP
"""

from analysis.bottlenecks import bottlenecks
from analysis.calendar import BusinessCalendar
from analysis.conformance import conformance, conformance_cases, conformance_rules, fitness, load_rules
from analysis.discounts import discounts
from analysis.funnel import lead_funnel
from analysis.log import EventLog, EventLogError, as_event_log, read_event_log
from analysis.marts import write_analysis_marts
from analysis.payments import days_to_pay
from analysis.performance import rep_performance
from analysis.process_map import END, START, activity_stats, process_map
from analysis.rework import rework
from analysis.root_causes import root_causes
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
    "conformance",
    "conformance_cases",
    "conformance_rules",
    "days_to_pay",
    "discounts",
    "fitness",
    "lead_funnel",
    "load_rules",
    "process_map",
    "read_event_log",
    "rep_performance",
    "rework",
    "root_causes",
    "throughput",
    "throughput_summary",
    "variants",
    "write_analysis_marts",
]

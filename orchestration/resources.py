"""The DuckDB warehouse resource shared by the analysis and report assets."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from analysis.calendar import BusinessCalendar
from l2c import config


class WarehouseResource(dg.ConfigurableResource):
    """The l2c DuckDB file and report folder.

    Empty settings fall back to ``$L2C_DUCKDB_PATH`` / ``$L2C_REPORT_DIR`` and
    their defaults (``data/warehouse.duckdb``, ``data/report``), read when a run
    starts, so the CLI, the UI and dbt's profile always use the same file.
    """

    duckdb_path: str = ""
    report_dir: str = ""
    report_language: str = ""
    #: Conformance rules YAML (empty: ``$L2C_CONFORMANCE_RULES`` or the shipped defaults).
    rules_path: str = ""
    #: Working calendar of the business-hours columns (empty: the ``L2C_CALENDAR_*`` variables or
    #: 09:00–17:00 UTC, Monday to Friday). ``weekend`` is comma-separated weekday numbers (Monday = 0),
    #: ``holidays`` comma-separated ``YYYY-MM-DD`` dates.
    calendar_timezone: str = ""
    calendar_work_start: str = ""
    calendar_work_end: str = ""
    calendar_weekend: str = ""
    calendar_holidays: str = ""

    def db(self) -> Path:
        return config.duckdb_path(self.duckdb_path or None)

    def report_folder(self) -> Path:
        return config.report_dir(self.report_dir or None)

    def language(self) -> str:
        return self.report_language or os.environ.get(config.REPORT_LANGUAGE_ENV, "en")

    def rules(self) -> str | None:
        return self.rules_path or os.environ.get(config.RULES_PATH_ENV) or None

    def calendar(self) -> BusinessCalendar:
        def setting(value: str, env: str, default: str) -> str:
            return value or os.environ.get(env) or default

        weekend = setting(self.calendar_weekend, config.CALENDAR_WEEKEND_ENV, "5,6")
        holidays = setting(self.calendar_holidays, config.CALENDAR_HOLIDAYS_ENV, "")
        return BusinessCalendar(
            timezone=setting(self.calendar_timezone, config.CALENDAR_TIMEZONE_ENV, "UTC"),
            work_start=setting(self.calendar_work_start, config.CALENDAR_WORK_START_ENV, "09:00"),
            work_end=setting(self.calendar_work_end, config.CALENDAR_WORK_END_ENV, "17:00"),
            weekend=tuple(int(day) for day in weekend.split(",") if day.strip()),
            holidays=tuple(day.strip() for day in holidays.split(",") if day.strip()),
        )

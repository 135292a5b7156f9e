"""Paths, schema names and environment settings: one place for each.

Everything that reads the DuckDB path, the dbt project location or a schema
name imports it from here, so the Dagster resources, the CLI and dbt's
``profiles.yml`` (which reads the same ``L2C_DUCKDB_PATH``) always agree.
"""

from __future__ import annotations

import os
from pathlib import Path

#: The repository root (where pyproject.toml, dbt_project/ and data/ live).
PROJECT_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
DATA_DIR = PROJECT_ROOT / "data"

DUCKDB_PATH_ENV = "L2C_DUCKDB_PATH"
# Not "l2c.duckdb": DuckDB names the catalog after the file, and a catalog "l2c" would shadow the schema "l2c".
DEFAULT_DUCKDB_PATH = DATA_DIR / "warehouse.duckdb"

#: DuckDB schemas: raw extraction, dbt marts (what BI reads), analysis outputs.
RAW_SCHEMA = "raw_salesforce"
IMPORT_SCHEMA = "raw_import"
MARTS_SCHEMA = "l2c"
ANALYSIS_SCHEMA = "l2c_analysis"

#: Sync metadata columns the extractor adds to every raw table.
SYNCED_AT_COLUMN = "_l2c_synced_at"
RUN_ID_COLUMN = "_l2c_run_id"
#: Per-object sync state (watermark, mode, counts) lives in this raw table.
SYNC_STATE_TABLE = "_l2c_sync_state"


REPORT_DIR_ENV = "L2C_REPORT_DIR"
DEFAULT_REPORT_DIR = DATA_DIR / "report"
REPORT_LANGUAGE_ENV = "L2C_REPORT_LANGUAGE"
#: Daily schedule of the whole pipeline (cron, in the schedule's time zone).
SCHEDULE_CRON_ENV = "L2C_SCHEDULE_CRON"
DEFAULT_SCHEDULE_CRON = "0 6 * * *"
SCHEDULE_TIMEZONE_ENV = "L2C_SCHEDULE_TIMEZONE"
#: Share of conformant cases below which the conformance asset check warns.
CONFORMANCE_THRESHOLD_ENV = "L2C_CONFORMANCE_THRESHOLD"
DEFAULT_CONFORMANCE_THRESHOLD = 0.8
#: Conformance rules YAML for the pipeline (default: analysis/rules/default_rules.yaml).
RULES_PATH_ENV = "L2C_CONFORMANCE_RULES"
#: Working calendar of the business-hours columns.
CALENDAR_TIMEZONE_ENV = "L2C_CALENDAR_TIMEZONE"
CALENDAR_WORK_START_ENV = "L2C_CALENDAR_WORK_START"
CALENDAR_WORK_END_ENV = "L2C_CALENDAR_WORK_END"
CALENDAR_WEEKEND_ENV = "L2C_CALENDAR_WEEKEND"
CALENDAR_HOLIDAYS_ENV = "L2C_CALENDAR_HOLIDAYS"


def report_dir(explicit: str | os.PathLike | None = None) -> Path:
    """Where the HTML report goes: an explicit path, else ``$L2C_REPORT_DIR``, else ``data/report``."""
    if explicit:
        return Path(explicit).expanduser().resolve()
    env = os.environ.get(REPORT_DIR_ENV)
    return Path(env).expanduser().resolve() if env else DEFAULT_REPORT_DIR


def duckdb_path(explicit: str | os.PathLike | None = None) -> Path:
    """The DuckDB file to use: an explicit path, else ``$L2C_DUCKDB_PATH``, else ``data/warehouse.duckdb``."""
    if explicit:
        return Path(explicit).expanduser().resolve()
    env = os.environ.get(DUCKDB_PATH_ENV)
    if env:
        return Path(env).expanduser().resolve()
    return DEFAULT_DUCKDB_PATH

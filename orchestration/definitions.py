"""The one Dagster ``Definitions`` of l2c: Salesforce → dbt → analysis → report, in one lineage graph.

This module only assembles; each area lives in its own module
(``salesforce``, ``dbt``, ``analysis``, ``report``) and the work itself in
``l2c`` and ``analysis``. ``make ui`` and every ``l2c`` command load these
definitions.
"""

from __future__ import annotations

import os

import dagster as dg

from l2c import config
from orchestration.analysis import ANALYSIS_GROUP, analysis_checks, analysis_tables
from orchestration.dbt import dbt_models, dbt_resource
from orchestration.progress import PROGRESS_LOGGER, progress_logger
from orchestration.report import l2c_report
from orchestration.resources import WarehouseResource
from orchestration.salesforce import DUCKDB_WRITER_TAGS, SalesforceResource, salesforce_assets, salesforce_job
from orchestration.salesforce import GROUP as SALESFORCE_GROUP

#: Everything, Salesforce included: the daily run.
daily_job = dg.define_asset_job(
    "l2c_daily",
    selection=dg.AssetSelection.all(),
    description="Incremental extraction from Salesforce, dbt build, every analysis and the report.",
    tags=DUCKDB_WRITER_TAGS,
)
#: dbt + analysis + report, without calling Salesforce (e.g. after editing a model or the activity seed).
refresh_job = dg.define_asset_job(
    "l2c_refresh",
    selection=dg.AssetSelection.all() - dg.AssetSelection.groups(SALESFORCE_GROUP),
    description="Rebuild the dbt marts, the analyses and the report from the raw layer already loaded.",
    tags=DUCKDB_WRITER_TAGS,
)
transform_job = dg.define_asset_job(
    "l2c_transform",
    selection=dg.AssetSelection.assets(dbt_models),
    description="dbt build: staging, event models and the l2c marts (with the dbt tests).",
    tags=DUCKDB_WRITER_TAGS,
)
analyze_job = dg.define_asset_job(
    "l2c_analyze",
    selection=dg.AssetSelection.groups(ANALYSIS_GROUP),
    description="Every analysis, written to l2c_analysis.",
    tags=DUCKDB_WRITER_TAGS,
)
report_job = dg.define_asset_job(
    "l2c_write_report",
    selection=dg.AssetSelection.assets(l2c_report),
    description="Write the HTML report from the analysis tables.",
)

daily_schedule = dg.ScheduleDefinition(
    name="l2c_daily_schedule",
    job=daily_job,
    cron_schedule=os.environ.get(config.SCHEDULE_CRON_ENV, config.DEFAULT_SCHEDULE_CRON),
    execution_timezone=os.environ.get(config.SCHEDULE_TIMEZONE_ENV, "UTC"),
    description="The whole pipeline once a day (L2C_SCHEDULE_CRON, default 06:00 in L2C_SCHEDULE_TIMEZONE, UTC).",
)

JOBS = [daily_job, refresh_job, salesforce_job, transform_job, analyze_job, report_job]

defs = dg.Definitions(
    assets=[salesforce_assets, dbt_models, analysis_tables, l2c_report],
    asset_checks=analysis_checks,
    jobs=JOBS,
    schedules=[daily_schedule],
    # Dagster's console logger stays the default (the UI's runs); the l2c commands pick the progress logger.
    loggers={"console": dg.colored_console_logger, PROGRESS_LOGGER: progress_logger},
    resources={
        "salesforce": SalesforceResource(),
        "dbt": dbt_resource,
        "warehouse": WarehouseResource(),
    },
)

"""The DuckDB warehouse resource shared by the analysis and report assets."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

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

    def db(self) -> Path:
        return config.duckdb_path(self.duckdb_path or None)

    def report_folder(self) -> Path:
        return config.report_dir(self.report_dir or None)

    def language(self) -> str:
        import os

        return self.report_language or os.environ.get(config.REPORT_LANGUAGE_ENV, "en")

"""The dbt project's SQL passes sqlfluff (dbt templater, dbt_project/.sqlfluff)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from l2c import config


@pytest.mark.slow
def test_dbt_sql_passes_sqlfluff(tmp_path):
    # The dbt templater compiles the project: against an empty DuckDB file, with
    # dbt's artifacts kept out of the project's target/ folder.
    env = {
        **os.environ,
        config.DUCKDB_PATH_ENV: str(tmp_path / "lint.duckdb"),
        "DBT_TARGET_PATH": str(tmp_path / "target"),
        "DBT_LOG_PATH": str(tmp_path / "logs"),
    }

    lint = subprocess.run(
        [sys.executable, "-m", "sqlfluff", "lint", "models", "tests", "--disable-progress-bar"],
        cwd=config.DBT_PROJECT_DIR, env=env, capture_output=True, text=True, timeout=600,
    )

    assert lint.returncode == 0, lint.stdout[-6000:] + lint.stderr[-3000:]
    assert "FAIL" not in lint.stdout

"""The dbt project as Dagster assets: every seed and model of ``dbt_project/``, dbt tests as asset checks.

Thin by design: the assets stream ``dbt build`` through dagster-dbt; the SQL
lives in ``dbt_project/`` and the same build runs from ``l2c transform``
(:mod:`l2c.transform`). The DuckDB file is the warehouse resource's, handed to
dbt's profile through ``L2C_DUCKDB_PATH``.
"""

import functools
import os
import shutil
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import dagster as dg
from dagster import AssetExecutionContext
from dagster_dbt import DbtCliResource, DbtProject, build_dbt_asset_selection, dbt_assets

from l2c import config
from l2c.transform import DbtBuildResult, duckdb_env
from orchestration.dbt_translator import L2cDbtTranslator
from orchestration.resources import WarehouseResource

#: What the manifest is built from: parse again when any of these changed since.
_PROJECT_SOURCES = ("dbt_project.yml", "profiles.yml", "models", "seeds", "macros", "tests")


def _newest_source_mtime(project_dir: Path) -> float:
    newest = 0.0
    for name in _PROJECT_SOURCES:
        path = project_dir / name
        files = [path] if path.is_file() else path.rglob("*") if path.is_dir() else []
        newest = max([newest, *(f.stat().st_mtime for f in files if f.is_file())])
    return newest


def _put_dbt_on_path() -> None:
    """Make the ``dbt`` installed beside this Python findable on PATH.

    dagster-dbt runs ``dbt`` as a subprocess found on PATH (also when it parses
    the project under ``dagster dev``); a virtualenv used without activating it
    (``.venv/bin/l2c``, ``make ui``) has dbt in its bin folder but not on PATH.
    """
    beside = Path(sys.executable).parent
    if shutil.which("dbt") is None and (beside / "dbt").exists():
        os.environ["PATH"] = f"{beside}{os.pathsep}{os.environ.get('PATH', '')}"


@functools.cache
def l2c_dbt_project() -> DbtProject:
    """The one ``DbtProject`` of l2c, with a manifest that matches the project files.

    The project is parsed when the manifest is missing or older than a model,
    seed or macro, so an analyst's edit shows up as assets. Not on every load
    (dagster-dbt's ``prepare_if_dev``): under ``dagster dev`` each run's worker
    and step processes load the definitions, and re-parsing in each costs
    seconds and has parallel steps rewrite the manifest under each other.
    """
    _put_dbt_on_path()
    project = DbtProject(project_dir=config.DBT_PROJECT_DIR)
    manifest = project.manifest_path
    if not manifest.exists() or manifest.stat().st_mtime < _newest_source_mtime(project.project_dir):
        project.preparer.prepare(project)
    return project


dbt_project = l2c_dbt_project()
dbt_resource = DbtCliResource(project_dir=dbt_project)


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=L2cDbtTranslator(),
    name="l2c_dbt",
)
def dbt_models(
    context: AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource
) -> Iterator:
    """``dbt build`` of the selected models: staging views, event models, the ``l2c`` marts and their tests."""
    started = time.perf_counter()
    with duckdb_env(warehouse.db()) as db:
        invocation = dbt.cli(["build"], context=context, raise_on_error=False)
        yield from invocation.stream()
    try:
        run_results = invocation.get_artifact("run_results.json")
    except FileNotFoundError:
        run_results = None  # dbt stopped before running anything (e.g. a project or profile error)
    if run_results is None:
        raise dg.Failure(description=f"dbt build on {db} could not run: {invocation.get_error()}")
    result = DbtBuildResult.from_run_results(run_results, invocation.is_successful(), time.perf_counter() - started)
    if not result.success:
        raise dg.Failure(description=result.failure_message(db) if result.failed else
                         f"dbt build on {db} failed: {invocation.get_error()}")
    context.log.info(result.summary())


def dbt_asset_keys(select: Sequence[str]) -> list[dg.AssetKey]:
    """The assets of a dbt selection (``--select`` syntax, e.g. ``["+event_log", "tag:daily"]``)."""
    selection = build_dbt_asset_selection([dbt_models], dbt_select=" ".join(select))
    return sorted(selection.resolve([dbt_models]))

"""Run the pipeline's Dagster jobs in-process, as the CLI does.

Every ``l2c`` pipeline command goes through the one ``Definitions`` in
``orchestration.definitions``, so a command run is the same as materializing
the assets in the UI, and it is recorded in the Dagster instance when
``DAGSTER_HOME`` is set (an ephemeral instance otherwise).
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from l2c import config


class PipelineError(RuntimeError):
    """A job failed; the message names the failing step and its error."""

    def __init__(self, reason: str, step: str | None = None):
        super().__init__(f"step {step} failed: {reason}" if step else reason)
        #: What went wrong, in the failing asset's words.
        self.reason = reason
        #: The failing step (None when the run failed outside a step).
        self.step = step


@dataclass
class JobOutcome:
    job: str
    run_id: str
    materialized: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@contextlib.contextmanager
def environment(**values: str | os.PathLike | None) -> Iterator[None]:
    """Set environment variables for the block (None leaves a variable as it is, "" unsets it)."""
    saved = {key: os.environ.get(key) for key in values}
    try:
        for key, value in values.items():
            if value == "":
                os.environ.pop(key, None)
            elif value is not None:
                os.environ[key] = str(value)
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _instance():
    import dagster as dg

    return dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else dg.DagsterInstance.ephemeral()


def run_job(job_name: str, *, db: str | os.PathLike | None = None, report_dir: str | os.PathLike | None = None,
            log_level: str = "INFO", asset_selection: Sequence[Any] | None = None,
            resource_config: Mapping[str, Mapping[str, Any]] | None = None) -> JobOutcome:
    """Execute one job of the definitions against the DuckDB file ``db`` (default: ``config.duckdb_path()``).

    The assets' log lines at ``log_level`` and above are printed as they come (the ``l2c_progress``
    logger). ``asset_selection`` (asset keys) runs part of the job; ``resource_config`` sets resource
    fields for this run, e.g. ``{"salesforce": {"full_refresh": True}}``, as the UI's launchpad does.
    Raises :class:`PipelineError` naming the failing step when the run fails.
    """
    database = config.duckdb_path(db)
    database.parent.mkdir(parents=True, exist_ok=True)
    with environment(**{config.DUCKDB_PATH_ENV: database,
                        config.REPORT_DIR_ENV: Path(report_dir).resolve() if report_dir else None,
                        # dbt's colour codes only help a terminal
                        "DBT_USE_COLORS": None if sys.stdout.isatty() else "false"}):
        from orchestration.definitions import defs
        from orchestration.progress import PROGRESS_LOGGER

        job = defs.resolve_job_def(job_name)
        run_config: dict[str, Any] = {"loggers": {PROGRESS_LOGGER: {"config": {"log_level": log_level}}}}
        if resource_config:
            run_config["resources"] = {name: {"config": dict(values)} for name, values in resource_config.items()}
        with _instance() as instance:
            result = job.execute_in_process(
                instance=instance,
                raise_on_error=False,
                run_config=run_config,
                asset_selection=list(asset_selection) if asset_selection is not None else None,
            )
    outcome = JobOutcome(job=job_name, run_id=result.run_id)
    for event in result.all_events:
        if event.is_step_materialization:
            outcome.materialized.append(event.asset_key.to_user_string())
        elif event.event_type_value == "ASSET_CHECK_EVALUATION":
            evaluation = event.event_specific_data
            if not evaluation.passed:
                outcome.warnings.append(f"check {evaluation.check_name} on "
                                        f"{evaluation.asset_key.to_user_string()} did not pass")
    if not result.success:
        raise _failure(result)
    return outcome


def _failure(result) -> PipelineError:
    for event in result.all_events:
        if event.is_step_failure:
            error = event.step_failure_data.error
            # The innermost cause is the user's error; the outer ones are Dagster's wrappers.
            while error is not None and error.cause is not None:
                error = error.cause
            message = _own_message(error.message.strip() if error else "") or "failed"
            description = getattr(event.step_failure_data.user_failure_data, "description", None)
            return PipelineError(description or message, step=event.step_key)
    return PipelineError(f"run {result.run_id} did not succeed")


def _own_message(message: str) -> str:
    """``"l2c.report.data.ReportDataError: DuckDB file ..."`` → ``"DuckDB file ..."``.

    l2c's own errors are written for the user; the class name of anything else may help, so it stays.
    """
    kind, sep, text = message.partition(": ")
    return text if sep and kind.startswith(("l2c.", "analysis.")) and " " not in kind else message

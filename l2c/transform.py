"""Run the dbt project (``dbt_project/``) on a DuckDB file: raw_salesforce → staging → events → marts.

``l2c transform`` and the tests call :func:`run_dbt_build`; Dagster runs the
same project through dagster-dbt (``orchestration/dbt.py``). Both read the
DuckDB path from ``L2C_DUCKDB_PATH``, which ``dbt_project/profiles.yml`` uses.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from l2c import config

#: dbt statuses that mean a node did not do its job.
_FAILED_STATUSES = {"error", "fail", "runtime error"}


class DbtBuildError(RuntimeError):
    """``dbt build`` failed; the message names the failing models and tests."""

    def __init__(self, message: str, result: DbtBuildResult | None = None):
        super().__init__(message)
        self.result = result


@dataclass(frozen=True)
class NodeResult:
    """The outcome of one dbt node (model, seed, test or unit test)."""

    name: str
    resource_type: str
    status: str
    message: str
    seconds: float
    failures: int | None = None


@dataclass
class DbtBuildResult:
    """What ``dbt build`` did: every node's outcome and the wall-clock time."""

    success: bool
    seconds: float
    nodes: list[NodeResult] = field(default_factory=list)

    @property
    def failed(self) -> list[NodeResult]:
        return [n for n in self.nodes if n.status in _FAILED_STATUSES]

    @property
    def warned(self) -> list[NodeResult]:
        return [n for n in self.nodes if n.status == "warn"]

    def count(self, status: str) -> int:
        return sum(1 for n in self.nodes if n.status == status)

    @classmethod
    def from_run_results(cls, run_results: Mapping, success: bool, seconds: float) -> DbtBuildResult:
        """The build described by dbt's ``run_results.json`` (as dagster-dbt hands it over)."""
        def name(unique_id: str) -> str:
            # model.<package>.<name>[.v<n>], test.<package>.<name>.<hash>, unit_test.<package>.<model>.<name>
            parts = unique_id.split(".")
            return parts[-1] if parts[0] == "unit_test" else parts[2]

        nodes = [
            NodeResult(name=name(r["unique_id"]), resource_type=r["unique_id"].split(".", 1)[0],
                       status=str(r.get("status")), message=r.get("message") or "",
                       seconds=float(r.get("execution_time") or 0.0), failures=r.get("failures"))
            for r in run_results.get("results", [])
        ]
        return cls(success=success, seconds=seconds, nodes=nodes)

    def failure_message(self, where: object) -> str:
        """What failed on ``where`` (the DuckDB file, a Spark folder), one line per failed model or test."""
        lines = [f"dbt build on {where} failed:"]
        for node in self.failed:
            lines.append(f"  - {node.resource_type} {node.name}: {node.status}: {node.message.strip()[:500]}")
        return "\n".join(lines)

    def summary(self) -> str:
        statuses = ("success", "pass", "warn", "error", "fail", "skipped")
        counts = ", ".join(f"{s} {self.count(s)}" for s in statuses if self.count(s))
        return f"dbt build {'succeeded' if self.success else 'failed'} in {self.seconds:.1f}s ({counts})"


@contextlib.contextmanager
def duckdb_env(db_path: str | os.PathLike | None = None) -> Iterator[Path]:
    """Point ``L2C_DUCKDB_PATH`` (read by dbt's profiles.yml) at the DuckDB file for the block."""
    db = config.duckdb_path(db_path)
    db.parent.mkdir(parents=True, exist_ok=True)
    with _env(**{config.DUCKDB_PATH_ENV: str(db), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}):
        yield db


@contextlib.contextmanager
def _env(**values: str) -> Iterator[None]:
    """Set environment variables for the duration of the block."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def dbt_args(
    command: str | Sequence[str],
    *,
    select: str | Sequence[str] | None = None,
    dbt_vars: Mapping[str, object] | None = None,
    project_dir: Path = config.DBT_PROJECT_DIR,
    target_path: Path | None = None,
    extra: Sequence[str] = (),
) -> list[str]:
    """The dbt command line for ``command`` (e.g. ``"build"``, ``["docs", "generate"]``) on the l2c project.

    >>> dbt_args("build", select="+event_log", dbt_vars={"l2c_raw_schema": "salesforce"},
    ...          project_dir=Path("p"))  # doctest: +NORMALIZE_WHITESPACE
    ['build', '--project-dir', 'p', '--profiles-dir', 'p', '--select', '+event_log',
     '--vars', '{"l2c_raw_schema": "salesforce"}']
    """
    args = [command] if isinstance(command, str) else list(command)
    # profiles.yml lives in the project, so both dirs are the project.
    args += ["--project-dir", str(project_dir), "--profiles-dir", str(project_dir)]
    if target_path is not None:
        args += ["--target-path", str(target_path)]
    if select:
        args += ["--select", *([select] if isinstance(select, str) else list(select))]
    if dbt_vars:
        args += ["--vars", json.dumps(dict(dbt_vars))]
    return args + list(extra)


def run_dbt(
    command: str | Sequence[str],
    db_path: str | os.PathLike | None = None,
    *,
    select: str | Sequence[str] | None = None,
    dbt_vars: Mapping[str, object] | None = None,
    target_path: str | os.PathLike | None = None,
    extra: Sequence[str] = (),
    progress: Callable[[str], None] | None = print,
):
    """Invoke a dbt command in-process on the DuckDB file; returns dbt's ``dbtRunnerResult``.

    ``progress`` receives one line per finished node (e.g. ``"OK event_log"``).
    """
    from dbt.cli.main import dbtRunner

    callbacks = [_progress_callback(progress)] if progress else []
    args = dbt_args(command, select=select, dbt_vars=dbt_vars,
                    target_path=Path(target_path) if target_path else None, extra=extra)
    with duckdb_env(db_path):
        try:
            # dbt's own console log is silenced; finished nodes reach ``progress`` instead.
            return dbtRunner(callbacks=callbacks).invoke([*args, "--quiet"])
        finally:
            _release_duckdb_file()


def _release_duckdb_file() -> None:
    """Close the DuckDB database dbt-duckdb keeps open in this process after a dbt command.

    dbt-duckdb caches one DuckDB instance per process; left open, it holds the
    file's write lock, so neither a read-only connection (BI, tests, the
    analysis) nor another process could open the file until this one exits.
    """
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:  # another adapter (e.g. the Spark target)
        return
    with DuckDBConnectionManager._LOCK:
        environment = DuckDBConnectionManager._ENV
        DuckDBConnectionManager._ENV = None
    if environment is not None:
        environment.close()


def run_dbt_build(
    db_path: str | os.PathLike | None = None,
    select: str | Sequence[str] | None = None,
    progress: Callable[[str], None] | None = print,
    *,
    dbt_vars: Mapping[str, object] | None = None,
    target_path: str | os.PathLike | None = None,
    raise_on_failure: bool = True,
) -> DbtBuildResult:
    """Run ``dbt build`` (seeds, models, data tests and unit tests) on the DuckDB file.

    ``db_path`` defaults to ``$L2C_DUCKDB_PATH`` / ``data/warehouse.duckdb``;
    ``select`` is a dbt selection (e.g. ``"+event_log"``); ``dbt_vars`` set the
    project's vars (e.g. a Fivetran-landed raw schema, see docs/dbt.md).
    ``target_path`` keeps dbt's artifacts apart (default ``dbt_project/target``).
    Raises :class:`DbtBuildError` naming every failed node unless
    ``raise_on_failure`` is false.
    """
    started = time.perf_counter()
    outcome = run_dbt("build", db_path, select=select, dbt_vars=dbt_vars, target_path=target_path,
                      progress=progress)
    result = DbtBuildResult(success=outcome.success, seconds=time.perf_counter() - started,
                            nodes=_node_results(outcome.result))
    if not outcome.success and raise_on_failure:
        raise DbtBuildError(_failure_message(outcome, result, config.duckdb_path(db_path)), result)
    return result


def _node_results(run_result) -> list[NodeResult]:
    nodes = []
    for r in getattr(run_result, "results", None) or []:
        node = r.node
        nodes.append(NodeResult(
            name=node.name, resource_type=str(node.resource_type), status=str(r.status),
            message=r.message or "", seconds=float(r.execution_time or 0.0), failures=r.failures,
        ))
    return nodes


def _failure_message(outcome, result: DbtBuildResult, db: Path) -> str:
    if outcome.exception is not None:
        return f"dbt build on {db} could not run: {outcome.exception}"
    return result.failure_message(db)


def _progress_callback(progress: Callable[[str], None]):
    """Report each finished node as one line (dbt's own log lines stay in dbt's log file)."""

    def on_event(event) -> None:
        if event.info.name != "NodeFinished":
            return
        run = event.data.run_result
        progress(f"{run.status.upper():<7} {event.data.node_info.node_name} ({run.execution_time:.2f}s)")

    return on_event

"""Run the dbt project on Apache Spark: hand the raw layer over as Parquet, build on a Spark session.

When an org outgrows one machine the same dbt project runs on Spark through
dbt-spark (target ``spark`` in ``dbt_project/profiles.yml``). Spark cannot
read the DuckDB file, so :func:`export_raw_parquet` writes every
``raw_salesforce`` table to Parquet (``l2c raw-parquet``) and the dbt var
``raw_parquet_dir`` makes the sources read those files.
:func:`run_dbt_build_spark` runs ``dbt build`` on a local Spark session (dbt-spark
``method: session``, needs the ``spark`` extra and Java 17) with Spark's
warehouse and metastore kept in one working directory. See docs/scale.md.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from l2c import config
from l2c.transform import DbtBuildError, DbtBuildResult, _env, _node_results, run_dbt

#: The file in the Parquet directory that lists the exported tables (dbt reads it).
MANIFEST_FILE = "l2c_manifest.parquet"
#: dbt var that switches the sources to the Parquet files.
PARQUET_DIR_VAR = "raw_parquet_dir"
#: Environment read by the ``spark`` output of profiles.yml.
SPARK_DIR_ENV = "L2C_SPARK_DIR"
SPARK_DRIVER_MEMORY_ENV = "L2C_SPARK_DRIVER_MEMORY"
DBT_TARGET_ENV = "L2C_DBT_TARGET"
#: Spark's working files (warehouse of the built tables, Derby metastore) by default.
DEFAULT_SPARK_DIR = config.DATA_DIR / "spark"
#: Large tables are split into files of about this size, so Spark reads them in parallel.
_PARQUET_FILE_SIZE = "256MB"
#: pyspark 4 runs on Java 17 and later.
_MIN_JAVA = 17


@dataclass(frozen=True)
class ExportedTable:
    """One raw table written as Parquet."""

    table: str
    rows: int
    path: Path


def export_raw_parquet(db_path: str | os.PathLike | None, out_dir: str | os.PathLike) -> list[ExportedTable]:
    """Write every table of ``raw_salesforce`` to ``out_dir/<table>/data_<n>.parquet`` plus the manifest.

    Opens the DuckDB file read-only. Replaces earlier exports of the same tables;
    ``out_dir/l2c_manifest.parquet`` (``table_name``, ``row_count``) lists what
    this export wrote, which is what dbt's sources read with ``raw_parquet_dir``.
    Timestamps stay instants (Parquet ``isAdjustedToUTC``), decimals stay decimals.
    """
    database = config.duckdb_path(db_path)
    if not database.exists():
        raise FileNotFoundError(f"DuckDB file not found: {database} (run `l2c extract` or `l2c demo` first)")
    out = Path(out_dir).expanduser().resolve()
    out.mkdir(parents=True, exist_ok=True)
    written: list[ExportedTable] = []
    with duckdb.connect(str(database), read_only=True) as con:
        catalog = con.execute("select current_database()").fetchone()[0]
        tables = [row[0] for row in con.execute(
            "select table_name from information_schema.tables "
            "where table_catalog = ? and table_schema = ? and table_type = 'BASE TABLE' order by 1",
            [catalog, config.RAW_SCHEMA]).fetchall()]
        if not tables:
            raise FileNotFoundError(f"{database} has no {config.RAW_SCHEMA} tables (run `l2c extract` first)")
        for table in tables:
            target = out / table
            source = f'"{catalog}"."{config.RAW_SCHEMA}"."{table}"'
            con.execute(f"copy {source} to '{_sql_text(target)}' "
                        f"(format parquet, file_size_bytes '{_PARQUET_FILE_SIZE}', overwrite true)")
            rows = con.execute(f"select count(*) from {source}").fetchone()[0]
            written.append(ExportedTable(table, rows, target))
        con.execute("create temp table manifest (table_name varchar, row_count bigint)")
        con.executemany("insert into manifest values (?, ?)", [(t.table, t.rows) for t in written])
        con.execute(f"copy manifest to '{_sql_text(out / MANIFEST_FILE)}' (format parquet)")
    return written


def _sql_text(path: Path) -> str:
    return str(path).replace("'", "''")


@contextlib.contextmanager
def spark_env(spark_dir: str | os.PathLike | None = None, driver_memory: str | None = None) -> Iterator[Path]:
    """Select dbt's ``spark`` target and keep Spark's warehouse and metastore under ``spark_dir``.

    Spark otherwise writes ``spark-warehouse/``, ``metastore_db/`` and
    ``derby.log`` into the current directory.
    """
    folder = Path(spark_dir).expanduser().resolve() if spark_dir else DEFAULT_SPARK_DIR
    folder.mkdir(parents=True, exist_ok=True)
    values = {DBT_TARGET_ENV: "spark", SPARK_DIR_ENV: str(folder)}
    if driver_memory:
        values[SPARK_DRIVER_MEMORY_ENV] = driver_memory
    with _env(**values):
        yield folder


def run_dbt_build_spark(
    parquet_dir: str | os.PathLike,
    *,
    spark_dir: str | os.PathLike | None = None,
    select: str | Sequence[str] | None = None,
    exclude: str | Sequence[str] | None = None,
    skip_tests: bool = False,
    dbt_vars: Mapping[str, object] | None = None,
    target_path: str | os.PathLike | None = None,
    driver_memory: str | None = None,
    progress: Callable[[str], None] | None = print,
    raise_on_failure: bool = True,
) -> DbtBuildResult:
    """Run ``dbt build`` on a local Spark session, reading the raw layer from ``parquet_dir``.

    ``parquet_dir`` is what :func:`export_raw_parquet` wrote. The marts become
    Spark tables (``l2c.event_log``, ...) stored as Parquet under
    ``spark_dir/warehouse`` (default ``data/spark``); dbt's artifacts go to
    ``spark_dir/target`` unless ``target_path`` says otherwise, apart from the
    DuckDB build's. ``select``/``exclude`` are dbt selections; ``skip_tests``
    builds the models without running data and unit tests. The Spark session
    lives on in this process after the build (dbt-spark's ``session`` method):
    :func:`read_spark_table` reads the marts from it.
    Raises :class:`~l2c.transform.DbtBuildError` naming every failed node unless
    ``raise_on_failure`` is false.
    """
    _require_spark()
    parquet = Path(parquet_dir).expanduser().resolve()
    if not (parquet / MANIFEST_FILE).exists():
        raise FileNotFoundError(f"{parquet} holds no raw layer export ({MANIFEST_FILE} is missing): "
                                "run `l2c raw-parquet --out DIR` first")
    extra: list[str] = []
    if exclude:
        extra += ["--exclude", *([exclude] if isinstance(exclude, str) else list(exclude))]
    if skip_tests:
        extra += ["--exclude-resource-type", "test", "unit_test"]
    variables = {**(dbt_vars or {}), PARQUET_DIR_VAR: str(parquet)}
    started = time.perf_counter()
    with spark_env(spark_dir, driver_memory) as folder:
        outcome = run_dbt("build", select=select, dbt_vars=variables, target_path=target_path or folder / "target",
                          extra=extra, progress=progress)
    result = DbtBuildResult(success=outcome.success, seconds=time.perf_counter() - started,
                            nodes=_node_results(outcome.result))
    if not outcome.success and raise_on_failure:
        raise DbtBuildError(_failure_message(outcome, result, folder), result)
    return result


def _failure_message(outcome, result: DbtBuildResult, folder: Path) -> str:
    if outcome.exception is not None:
        return f"dbt build on Spark ({folder}) could not run: {outcome.exception}"
    return result.failure_message(f"Spark ({folder})")


def read_spark_table(name: str) -> pa.Table:
    """A table of this process's Spark session (e.g. ``"l2c.event_log"``) as Arrow, timestamps as UTC instants.

    The analysis library reads it as is: ``analysis.read_event_log(read_spark_table("l2c.event_log"))``.
    """
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

    if SparkContext._active_spark_context is None:
        raise RuntimeError(f"no Spark session in this process to read {name} from: run run_dbt_build_spark first")
    return SparkSession.builder.getOrCreate().table(name).toArrow()


def stop_spark() -> None:
    """Stop this process's Spark session and its JVM (dbt-spark leaves both running after a build).

    Frees the JVM's memory; a later build starts a new one.
    """
    from pyspark import SparkContext

    context = SparkContext._active_spark_context
    if context is not None:
        context.stop()
    gateway = SparkContext._gateway
    if gateway is None:
        return
    process = getattr(gateway, "proc", None)
    gateway.shutdown()
    if process is not None:
        process.stdin.close()  # the JVM exits when its parent's pipe closes
        process.wait(timeout=120)
    SparkContext._gateway = None
    SparkContext._jvm = None


@functools.cache
def spark_missing() -> str | None:
    """Why a local Spark session cannot start here (no Java 17+, no pyspark/dbt-spark), or None when it can."""
    try:
        import dbt.adapters.spark  # noqa: F401
        import pyspark  # noqa: F401
    except ImportError as exc:
        return f"{exc.name} is not installed (pip install -e '.[spark]')"
    java = Path(os.environ["JAVA_HOME"]) / "bin" / "java" if os.environ.get("JAVA_HOME") else shutil.which("java")
    install = "Spark 4 needs Java 17 or later: e.g. apt-get install openjdk-17-jre-headless"
    if java is None or not Path(java).exists():
        return f"Java is not installed ({install})"
    version = _java_major_version(str(java))
    if version is None or version < _MIN_JAVA:
        return f"{java} is Java {version or 'of unknown version'} ({install})"
    return None


def _java_major_version(java: str) -> int | None:
    """17 for `openjdk version "17.0.15"`, 8 for `java version "1.8.0_402"`."""
    try:
        banner = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30).stderr
    except (OSError, subprocess.SubprocessError):
        return None
    found = re.search(r'version "(\d+)(?:\.(\d+))?', banner)
    if not found:
        return None
    major = int(found.group(1))
    return int(found.group(2) or 0) if major == 1 else major


def _require_spark() -> None:
    reason = spark_missing()
    if reason:
        raise RuntimeError(f"cannot run dbt on a local Spark session: {reason}")

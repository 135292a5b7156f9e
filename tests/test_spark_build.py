"""The dbt project on Spark: the demo org's marts built on a local Spark session equal the DuckDB build.

The session's real extraction (``dbt_demo_build.raw_db``) is exported to
Parquet (``export_raw_parquet``), dbt-spark builds event_log, cases and
activities from those files on a local Spark session (``method: session``),
and each mart must hold exactly the rows of the DuckDB build of the same raw
layer: same columns and types, same row count, same order-independent
checksum. Needs Java 17 and the ``spark`` extra; skipped without them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl
import pytest

from l2c.spark import export_raw_parquet, read_spark_table, run_dbt_build_spark, spark_missing, stop_spark
from l2c.transform import DbtBuildResult

pytestmark = [
    pytest.mark.spark,
    pytest.mark.skipif(spark_missing() is not None, reason=f"local Spark unavailable: {spark_missing()}"),
    # pyspark warns about pandas 3 on import; nothing here goes through pandas.
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas"),
]

#: The marts compared, and the models they need (nothing else is built on Spark).
COMPARED_MARTS = ("event_log", "cases", "activities")


@dataclass
class SparkBuild:
    build: DbtBuildResult
    spark_dir: Path
    marts: dict[str, pl.DataFrame]


@pytest.fixture(scope="module")
def spark_build(dbt_demo_build, tmp_path_factory) -> SparkBuild:
    """The compared marts built by dbt-spark from the Parquet export of the demo org's raw layer."""
    folder = tmp_path_factory.mktemp("spark_build")
    export_raw_parquet(dbt_demo_build.raw_db, folder / "raw")
    build = run_dbt_build_spark(folder / "raw", spark_dir=folder / "spark", progress=None,
                                select=[f"+{mart}" for mart in COMPARED_MARTS], skip_tests=True)
    try:
        marts = {mart: pl.from_arrow(read_spark_table(f"l2c.{mart}")) for mart in COMPARED_MARTS}
    finally:
        stop_spark()
    return SparkBuild(build=build, spark_dir=folder / "spark", marts=marts)


def _duckdb_mart(db: Path, mart: str) -> pl.DataFrame:
    with duckdb.connect(str(db), read_only=True) as con:
        return pl.from_arrow(con.sql(f"select * from l2c.{mart}").to_arrow_table())


def _canonical(frame: pl.DataFrame) -> pl.DataFrame:
    """Timestamps as UTC microseconds (DuckDB says Etc/UTC, Spark UTC), rows in one order."""
    columns = [
        pl.col(name).dt.convert_time_zone("UTC").dt.cast_time_unit("us") if isinstance(dtype, pl.Datetime)
        else pl.col(name)
        for name, dtype in frame.schema.items()
    ]
    frame = frame.select(columns)
    return frame.sort(frame.columns, nulls_last=True)


def _checksum(frame: pl.DataFrame) -> int:
    """Order-independent: the (wrapping) sum of one hash per row."""
    return int(frame.hash_rows().sum())


def test_spark_builds_the_compared_marts(spark_build):
    built = {node.name for node in spark_build.build.nodes if node.resource_type == "model"}
    assert set(COMPARED_MARTS) <= built
    assert spark_build.build.success and not spark_build.build.failed
    # Spark's files stay in the given folder, never in the working directory or the repo.
    assert (spark_build.spark_dir / "warehouse" / "l2c.db" / "event_log").is_dir()
    assert (spark_build.spark_dir / "metastore" / "metastore_db").is_dir()
    repo = Path(__file__).resolve().parents[1]
    assert not any((repo / name).exists() for name in ("metastore_db", "derby.log", "spark-warehouse"))


@pytest.mark.parametrize("mart", COMPARED_MARTS)
def test_spark_mart_equals_the_duckdb_build(spark_build, dbt_demo_build, mart):
    duck = _canonical(_duckdb_mart(dbt_demo_build.db, mart))
    spark = _canonical(spark_build.marts[mart])

    assert spark.schema == duck.schema
    assert duck.height > 0
    assert spark.height == duck.height
    only_duckdb = duck.join(spark, on=duck.columns, how="anti", nulls_equal=True)
    only_spark = spark.join(duck, on=duck.columns, how="anti", nulls_equal=True)
    assert only_duckdb.height == only_spark.height == 0, (
        f"{mart}: rows only in the DuckDB build:\n{only_duckdb.head(5)}\nrows only in the Spark build:\n"
        f"{only_spark.head(5)}")
    assert _checksum(spark) == _checksum(duck)


def test_event_ids_do_not_depend_on_the_engine(spark_build, dbt_demo_build):
    """Quote and order events key on the version's timestamp as text; Spark renders it as DuckDB does."""
    duck = _duckdb_mart(dbt_demo_build.db, "event_log")
    spark = spark_build.marts["event_log"]
    keyed_on_versions = duck.filter(pl.col("source_object").is_in(["Quote", "Order"])
                                    & ~pl.col("activity").is_in(["Quote Created", "Order Created"]))
    assert keyed_on_versions.height > 0
    assert set(keyed_on_versions["event_id"]) <= set(spark["event_id"])

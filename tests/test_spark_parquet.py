"""The raw layer handed over as Parquet (``l2c raw-parquet``), checked without Spark.

The export of the session's real extraction holds every raw table with its
rows and types, and the dbt var ``raw_parquet_dir`` makes the sources read it:
a DuckDB build from the Parquet files equals the build from ``raw_salesforce``.
That is the same switch the Spark target uses (tests/test_spark_build.py).
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest

from l2c.cli import main
from l2c.spark import MANIFEST_FILE, export_raw_parquet, run_dbt_build_spark
from l2c.transform import run_dbt, run_dbt_build

COMPARED_MARTS = ("event_log", "cases", "activities")


@pytest.fixture(scope="module")
def raw_export(dbt_demo_build, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("raw_parquet") / "raw"
    export_raw_parquet(dbt_demo_build.raw_db, out)
    return out


def _raw_tables(db: Path) -> dict[str, int]:
    with duckdb.connect(str(db), read_only=True) as con:
        tables = [t for (t,) in con.execute(
            "select table_name from information_schema.tables where table_schema = 'raw_salesforce'").fetchall()]
        return {t: con.execute(f'select count(*) from raw_salesforce."{t}"').fetchone()[0] for t in tables}


def test_export_writes_every_raw_table_with_its_rows(raw_export, dbt_demo_build):
    expected = _raw_tables(dbt_demo_build.raw_db)
    manifest = pl.read_parquet(raw_export / MANIFEST_FILE)
    assert dict(manifest.select("table_name", "row_count").iter_rows()) == expected
    assert {"opportunity", "order", "user", "_l2c_sync_state"} <= set(expected)
    for table, rows in expected.items():
        assert pl.scan_parquet(raw_export / table / "*.parquet").select(pl.len()).collect().item() == rows, table


def test_export_keeps_instants_and_decimals(raw_export, dbt_demo_build):
    exported = pl.read_parquet(raw_export / "opportunity" / "*.parquet")
    assert exported.schema["system_modstamp"] == pl.Datetime("us", "UTC")
    assert exported.schema["amount"] == pl.Decimal(18, 2)
    with duckdb.connect(str(dbt_demo_build.raw_db), read_only=True) as con:
        first = con.execute("select id, system_modstamp, amount from raw_salesforce.opportunity "
                            "order by id, system_modstamp limit 1").fetchone()
    row = exported.filter(pl.col("id") == first[0]).sort("system_modstamp").row(0, named=True)
    assert (row["system_modstamp"], row["amount"]) == (first[1], first[2])


def test_a_build_from_the_parquet_files_equals_the_build_from_the_raw_schema(raw_export, dbt_demo_build, tmp_path):
    db = tmp_path / "from_parquet.duckdb"  # holds only what dbt builds: no raw_salesforce schema at all
    run_dbt_build(db, select=[f"+{mart}" for mart in COMPARED_MARTS], dbt_vars={"raw_parquet_dir": str(raw_export)},
                  target_path=tmp_path / "target", progress=None)
    with duckdb.connect(str(db), read_only=True) as built, \
            duckdb.connect(str(dbt_demo_build.db), read_only=True) as reference:
        assert built.execute("select count(*) from information_schema.tables "
                             "where table_schema = 'raw_salesforce'").fetchall() == [(0,)]
        for mart in COMPARED_MARTS:
            query = f"select * from l2c.{mart} order by all"
            ours, theirs = built.sql(query).pl(), reference.sql(query).pl()
            assert ours.height > 0
            assert ours.equals(theirs, null_equal=True), mart


def test_an_optional_table_missing_from_the_export_yields_empty_models(raw_export, dbt_demo_build, tmp_path):
    """Like a missing optional table in the raw schema: the org lacks Salesforce Billing payments."""
    export = tmp_path / "raw"
    export_raw_parquet(dbt_demo_build.raw_db, export)
    manifest = pl.read_parquet(export / MANIFEST_FILE)
    manifest.filter(pl.col("table_name") != "blng_payment_c").write_parquet(export / MANIFEST_FILE)
    db = tmp_path / "without_payments.duckdb"
    outcome = run_dbt("run", db, select=["stg_salesforce__payment", "stg_salesforce__invoice"],
                      dbt_vars={"raw_parquet_dir": str(export)}, target_path=tmp_path / "target", progress=None)
    assert outcome.success, outcome.exception
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("select count(*) from l2c_staging.stg_salesforce__payment").fetchall() == [(0,)]
        assert con.execute("select count(*) from l2c_staging.stg_salesforce__invoice").fetchall()[0][0] > 0


def test_spark_build_without_an_export_says_what_to_run(tmp_path):
    with pytest.raises((FileNotFoundError, RuntimeError), match="raw-parquet|Spark"):
        run_dbt_build_spark(tmp_path / "nothing_here", spark_dir=tmp_path / "spark", progress=None)


def test_cli_raw_parquet_lists_the_tables(dbt_demo_build, tmp_path, capsys):
    code = main(["raw-parquet", "--db", str(dbt_demo_build.raw_db), "--out", str(tmp_path / "raw")])
    out = capsys.readouterr().out
    assert code == 0
    tables = _raw_tables(dbt_demo_build.raw_db)
    assert f"{len(tables)} tables listed in {tmp_path / 'raw' / MANIFEST_FILE}" in out
    assert f"{tables['opportunity']:>12,} rows  {tmp_path / 'raw' / 'opportunity'}" in out


def test_cli_raw_parquet_without_a_database_says_to_extract_first(tmp_path, capsys):
    code = main(["raw-parquet", "--db", str(tmp_path / "missing.duckdb"), "--out", str(tmp_path / "raw")])
    assert code == 1
    assert "DuckDB file not found" in capsys.readouterr().err
    assert not (tmp_path / "raw").exists()

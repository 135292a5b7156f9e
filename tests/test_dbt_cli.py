"""``l2c transform``: dbt build from the command line."""

from __future__ import annotations

import shutil

import dagster as dg
import duckdb

from l2c.cli import main


def test_transform_builds_the_selected_models(dbt_demo_build, tmp_path, capsys):
    db = tmp_path / "warehouse.duckdb"
    shutil.copyfile(dbt_demo_build.raw_db, db)

    code = main(["transform", "--db", str(db), "--select", "stg_salesforce__user", "stg_salesforce__user_role"])

    out = capsys.readouterr().out
    assert code == 0
    assert "stg_salesforce__user_role" in out
    assert "dbt build succeeded" in out
    with duckdb.connect(str(db), read_only=True) as con:
        users = con.execute("select count(*) from l2c_staging.stg_salesforce__user").fetchone()[0]
    assert users == dbt_demo_build.org["User"].height


def test_transform_without_a_database_says_to_extract_first(tmp_path, capsys):
    missing = tmp_path / "nothing_here.duckdb"

    code = main(["transform", "--db", str(missing)])

    assert code == 1
    assert capsys.readouterr().err.strip() == (
        f"l2c transform: error: no DuckDB file at {missing}: run `l2c extract` first (or pass --db)"
    )
    assert not missing.exists()


def test_transform_runs_are_recorded_in_the_dagster_instance(dbt_demo_build, tmp_path, monkeypatch, capsys):
    db, home = tmp_path / "warehouse.duckdb", tmp_path / "dagster_home"
    home.mkdir()
    shutil.copyfile(dbt_demo_build.raw_db, db)
    monkeypatch.setenv("DAGSTER_HOME", str(home))

    assert main(["transform", "--db", str(db), "--select", "stg_salesforce__user_role"]) == 0

    assert "dbt build succeeded" in capsys.readouterr().out
    with dg.DagsterInstance.get() as instance:
        runs = instance.get_runs()
        assert [(r.job_name, r.status) for r in runs] == [("l2c_transform", dg.DagsterRunStatus.SUCCESS)]
        assert runs[0].asset_selection == {dg.AssetKey(["l2c_staging", "stg_salesforce__user_role"])}


def test_a_failing_data_test_is_named_in_the_error(dbt_demo_build, tmp_path, capsys):
    db = tmp_path / "warehouse.duckdb"
    shutil.copyfile(dbt_demo_build.raw_db, db)
    with duckdb.connect(str(db)) as con:
        # a raw table without its columns: staging reads nulls, and the ids' not_null test fails
        con.execute("create or replace table raw_salesforce.user_role as select 'x' as nonsense")

    code = main(["transform", "--db", str(db), "--select", "stg_salesforce__user_role"])

    assert code == 1
    assert capsys.readouterr().err == (
        f"l2c transform: error: dbt build on {db} failed:\n"
        "  - test not_null_stg_salesforce__user_role_user_role_id: fail: Got 1 result, configured to fail if != 0\n")


def test_a_selection_without_models_is_an_error(tmp_path, capsys):
    db = tmp_path / "warehouse.duckdb"
    duckdb.connect(str(db)).close()

    assert main(["transform", "--db", str(db), "--select", "no_such_model"]) == 1
    assert capsys.readouterr().err.strip() == (
        "l2c transform: error: --select no_such_model matches no dbt model or seed")

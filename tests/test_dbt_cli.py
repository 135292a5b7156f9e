"""``l2c transform``: dbt build from the command line."""

from __future__ import annotations

import shutil

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

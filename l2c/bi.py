"""Hand the marts to BI tools that prefer files: one Parquet file per table."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from l2c import config

#: The schemas BI tools read.
BI_SCHEMAS = (config.MARTS_SCHEMA, config.ANALYSIS_SCHEMA)


def write_marts_parquet(db: str | os.PathLike | None, out_dir: str | os.PathLike) -> dict[Path, int]:
    """Write every table of the ``l2c`` and ``l2c_analysis`` schemas to ``out_dir/<schema>/<table>.parquet``.

    Opens the DuckDB file read-only; returns ``{file: rows}``.
    """
    database = config.duckdb_path(db)
    if not database.exists():
        raise FileNotFoundError(f"DuckDB file not found: {database} (run `l2c demo` or `l2c run` first)")
    out = Path(out_dir)
    written: dict[Path, int] = {}
    with duckdb.connect(str(database), read_only=True) as con:
        catalog = con.execute("select current_database()").fetchone()[0]
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_catalog = ? and table_schema in (?, ?) and table_type = 'BASE TABLE' "
            "order by 1, 2", [catalog, *BI_SCHEMAS]).fetchall()
        if not tables:
            raise FileNotFoundError(f"{database} has no l2c marts yet (run `l2c transform` and `l2c analyze`)")
        for schema, table in tables:
            target = out / schema / f"{table}.parquet"
            target.parent.mkdir(parents=True, exist_ok=True)
            con.execute(f"copy \"{catalog}\".\"{schema}\".\"{table}\" to '{target}' (format parquet)")
            written[target] = con.execute(f'select count(*) from "{catalog}"."{schema}"."{table}"').fetchone()[0]
    return written

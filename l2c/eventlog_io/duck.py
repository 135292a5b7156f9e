"""Small DuckDB helpers shared by the importer and the exporters.

Results are always read to the end (``fetchall``): DuckDB refuses other work
on a connection while a result is pending.

Names are always qualified with the catalog: the default database file is
``l2c.duckdb``, whose catalog ``l2c`` would otherwise clash with the schema ``l2c``.
"""

from __future__ import annotations

import duckdb


def quote(name: str) -> str:
    """A DuckDB identifier for any name (``case:concept:name``, ``Discount %``...)."""
    return '"' + name.replace('"', '""') + '"'


def catalog(con: duckdb.DuckDBPyConnection) -> str:
    return con.execute("SELECT current_database()").fetchall()[0][0]


def qualified(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> str:
    """``"catalog"."schema"."name"`` for the connection's current database."""
    return f"{quote(catalog(con))}.{quote(schema)}.{quote(name)}"


def schema_exists(con: duckdb.DuckDBPyConnection, schema: str) -> bool:
    return con.execute(
        "SELECT count(*) FROM information_schema.schemata WHERE catalog_name = current_database() AND schema_name = ?",
        [schema],
    ).fetchall()[0][0] > 0


def relation_kind(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> str | None:
    """'BASE TABLE', 'VIEW' or None when ``schema.name`` does not exist."""
    rows = con.execute(
        "SELECT table_type FROM information_schema.tables "
        "WHERE table_catalog = current_database() AND table_schema = ? AND table_name = ?",
        [schema, name],
    ).fetchall()
    return rows[0][0] if rows else None


def drop_relation(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> None:
    """Drop a table or view (dbt may have built either) so the caller can create its own table."""
    kind = relation_kind(con, schema, name)
    if kind == "VIEW":
        con.execute(f"DROP VIEW {qualified(con, schema, name)}")
    elif kind is not None:
        con.execute(f"DROP TABLE {qualified(con, schema, name)}")

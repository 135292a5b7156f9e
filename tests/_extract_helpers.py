"""Helpers for the extraction tests: connections to a sandbox org, object lists, raw-table readers.

Everything here is real: connections are simple-salesforce over HTTPS to a
``SandboxOrg``, tables are read back from the DuckDB file the sync wrote.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl

from l2c.extract import (
    ConnectionSettings,
    ObjectList,
    ObjectSpec,
    OrgConnection,
    SalesforceCredentials,
    SyncSettings,
)
from l2c.salesforce_schema import get_object, snake_case

#: Tests never wait long: tiny back-off, short timeouts, quick Bulk polling.
FAST_RETRIES = {"backoff_seconds": 0.001, "backoff_max_seconds": 0.005, "request_timeout_seconds": 10.0}
FAST_SYNC = {"bulk_poll_seconds": 0.01, "bulk_poll_max_seconds": 0.05}
META = ["_l2c_synced_at", "_l2c_run_id"]


def session_connection(org, **settings) -> OrgConnection:
    """The org reached by session id (as ``l2c extract --demo`` does)."""
    credentials = SalesforceCredentials(instance_url=org.instance_url, session_id=org.session_id,
                                        ca_bundle=org.ca_bundle, api_version=org.api_version)
    return OrgConnection(credentials, ConnectionSettings(**{**FAST_RETRIES, **settings}))


def password_connection(org, **settings) -> OrgConnection:
    """The org reached by a SOAP username/password login (so an expired session can be renewed)."""
    credentials = SalesforceCredentials(username=org.username, password=org.password,
                                        security_token=org.security_token, domain=org.login_domain,
                                        ca_bundle=org.ca_bundle, api_version=org.api_version)
    return OrgConnection(credentials, ConnectionSettings(**{**FAST_RETRIES, **settings}))


def object_list(*objects: str | ObjectSpec, **settings) -> ObjectList:
    specs = tuple(ObjectSpec(o) if isinstance(o, str) else o for o in objects)
    return ObjectList(objects=specs, settings=SyncSettings(**{**FAST_SYNC, **settings}))


def raw_versions(db: Path, object_name: str, with_meta: bool = False) -> pl.DataFrame:
    """Every row of the object's raw table, sorted, without the sync metadata columns unless asked."""
    table = snake_case(object_name)
    con = duckdb.connect(str(db), read_only=True)
    try:
        exclude = "" if with_meta else f" EXCLUDE ({', '.join(META)})"
        order = ", ".join(c for c in ("id", "system_modstamp", "is_deleted") if _has(con, table, c))
        frame = con.sql(f"SELECT *{exclude} FROM raw_salesforce.{table} ORDER BY {order}").pl()
    finally:
        con.close()
    # DuckDB hands TIMESTAMPTZ over in the session's time zone; compare in UTC whatever the machine's zone.
    return frame.with_columns(
        pl.col(name).dt.convert_time_zone("UTC")
        for name, dtype in frame.schema.items()
        if isinstance(dtype, pl.Datetime) and dtype.time_zone
    )


def _has(con: duckdb.DuckDBPyConnection, table: str, column: str) -> bool:
    return bool(con.execute(
        "SELECT count(*) FROM duckdb_columns() WHERE schema_name = 'raw_salesforce' AND table_name = ? "
        "AND column_name = ?", [table, column]).fetchall()[0][0])


def latest_versions(db: Path, object_name: str) -> pl.DataFrame:
    """The newest raw version of each record: what the org showed at the last sync."""
    versions = raw_versions(db, object_name)
    order = [c for c in ("system_modstamp", "is_deleted") if c in versions.columns]
    return versions.sort(["id", *order]).group_by("id", maintain_order=True).last()


def comparable(frame: pl.DataFrame, object_name: str) -> pl.DataFrame:
    """Raw-layer column names and types both sides can be compared in (decimals as floats, UTC times)."""
    obj = get_object(object_name)
    renamed = frame.rename({c: snake_case(c) for c in frame.columns if c != snake_case(c)})
    exprs = []
    for f in obj.fields:
        column = snake_case(f.name)
        if f.is_compound or column not in renamed.columns:
            continue
        expr = pl.col(column)
        if f.type in ("currency", "percent", "double"):
            expr = expr.cast(pl.Float64).round(f.scale if f.type != "double" else 6)
        elif f.type == "datetime":
            expr = expr.dt.convert_time_zone("UTC")
        elif f.type in ("int", "long"):
            expr = expr.cast(pl.Int64)
        exprs.append(expr)
    return renamed.select(exprs).sort("id")


def assert_matches_org(db: Path, org, object_name: str) -> int:
    """The newest raw version of every record equals what the org shows (deleted records included)."""
    expected = comparable(org.snapshot(object_name, include_deleted=True), object_name)
    actual = comparable(latest_versions(db, object_name), object_name).select(expected.columns)
    assert actual.height == expected.height, f"{object_name}: {actual.height} raw records, org has {expected.height}"
    mismatches = [c for c in expected.columns if not actual.get_column(c).equals(expected.get_column(c))]
    assert not mismatches, f"{object_name}: columns differ from the org: {mismatches}"
    return expected.height


def version_keys(db: Path, object_name: str) -> set[tuple]:
    frame = raw_versions(db, object_name)
    cols = [c for c in ("id", "system_modstamp", "is_deleted") if c in frame.columns]
    return set(frame.select(cols).iter_rows())


def org_version_keys(org, object_name: str) -> set[tuple]:
    snap = org.snapshot(object_name, include_deleted=True)
    cols = [c for c in ("Id", "SystemModstamp", "IsDeleted") if c in snap.columns]
    return set(snap.select(cols).iter_rows())

"""Incremental, lossless extraction of Salesforce objects into DuckDB's ``raw_salesforce`` schema.

Plain Python, no Dagster: the Dagster assets in ``orchestration/salesforce.py``
(which ``l2c extract`` runs) call :func:`stream_run`; scripts and benchmarks
call :func:`run_sync`.

    >>> from l2c.extract import connect_from_env, run_sync
    >>> run = run_sync(connect_from_env(), "data/warehouse.duckdb")   # doctest: +SKIP
"""

from l2c.extract.connection import (
    ConnectionSettings,
    OrgConnection,
    SalesforceCredentials,
    connect,
    connect_from_env,
    scrub,
)
from l2c.extract.errors import (
    ApiLimitReached,
    AuthenticationLost,
    ConfigurationError,
    ExtractError,
    ObjectFailed,
    RunStopped,
)
from l2c.extract.settings import ObjectList, ObjectSpec, SyncSettings, load_object_list
from l2c.extract.sync import ObjectResult, RunResult, open_database, run_sync, stream_run, sync_objects

__all__ = [
    "ApiLimitReached",
    "AuthenticationLost",
    "ConfigurationError",
    "ConnectionSettings",
    "ExtractError",
    "ObjectFailed",
    "ObjectList",
    "ObjectResult",
    "ObjectSpec",
    "OrgConnection",
    "RunResult",
    "RunStopped",
    "SalesforceCredentials",
    "SyncSettings",
    "connect",
    "connect_from_env",
    "load_object_list",
    "open_database",
    "run_sync",
    "scrub",
    "stream_run",
    "sync_objects",
]

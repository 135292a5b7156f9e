"""Shared pytest fixtures."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest

from l2c.sandbox.server import SandboxOrg
from l2c.transform import DbtBuildResult

#: Size and seed of the shared read-only sandbox org: big enough for >2,000 OpportunityFieldHistory rows.
SHARED_SANDBOX_OPPORTUNITIES = 300
SHARED_SANDBOX_SEED = 3


@pytest.fixture(scope="session")
def sandbox_org() -> Iterator[SandboxOrg]:
    """One sandbox org (HTTPS Salesforce API on loopback) for tests that only read from it.

    Do not advance its clock, delete records or set faults here; use ``new_sandbox_org`` for that.
    """
    with SandboxOrg(n_opportunities=SHARED_SANDBOX_OPPORTUNITIES, seed=SHARED_SANDBOX_SEED) as org:
        yield org


@pytest.fixture
def new_sandbox_org() -> Iterator[Callable[..., SandboxOrg]]:
    """A factory of private sandbox orgs (closed after the test) for tests that change the org."""
    opened: list[SandboxOrg] = []

    def make(n_opportunities: int = 60, seed: int = 11, **kwargs) -> SandboxOrg:
        org = SandboxOrg(n_opportunities=n_opportunities, seed=seed, **kwargs)
        opened.append(org)
        return org

    yield make
    for org in opened:
        org.close()


# --- dbt: one real extraction + dbt build per session -----------------------------------

#: The dbt tests' demo org: small, extracted a few times as its clock advances so the raw
#: layer holds several versions of quotes and orders, as a scheduled extraction would.
DBT_DEMO_OPPORTUNITIES = 120
DBT_DEMO_SEED = 7
DBT_DEMO_SYNCS = 4
DBT_DEMO_SYNC_INTERVAL_DAYS = 14
#: Objects whose org state the dbt tests compare the marts with.
DBT_GROUND_TRUTH_OBJECTS = (
    "Opportunity", "Quote", "Lead", "blng__Payment__c", "blng__PaymentAllocationInvoice__c", "blng__Invoice__c",
    "Order", "User",
)


@dataclass
class DbtDemoBuild:
    """A DuckDB file extracted from a sandbox org and built by ``dbt build``.

    ``raw_db`` is a copy taken before dbt ran (only ``raw_salesforce``), for
    tests that run their own build; ``org`` holds what the org showed at the
    last extraction, per object (deleted records excluded).
    """

    db: Path
    raw_db: Path
    target_path: Path
    build: DbtBuildResult
    org: dict[str, pl.DataFrame]


@pytest.fixture(scope="session")
def dbt_demo_build(tmp_path_factory: pytest.TempPathFactory) -> DbtDemoBuild:
    """Extract a demo org over HTTPS with the real extractor, then run the real ``dbt build``."""
    from _extract_helpers import session_connection

    from l2c.extract import run_sync
    from l2c.transform import run_dbt_build

    folder = tmp_path_factory.mktemp("dbt_demo")
    db = folder / "warehouse.duckdb"
    with SandboxOrg(n_opportunities=DBT_DEMO_OPPORTUNITIES, seed=DBT_DEMO_SEED) as org:
        connection = session_connection(org)
        for sync in range(DBT_DEMO_SYNCS):
            if sync:
                org.advance(timedelta(days=DBT_DEMO_SYNC_INTERVAL_DAYS))
            run = run_sync(connection, db)
            assert run.ok, [o.summary() for o in run.failed]
        shown = {name: org.snapshot(name) for name in DBT_GROUND_TRUTH_OBJECTS}
    raw_db = folder / "raw_only.duckdb"
    shutil.copyfile(db, raw_db)
    target = folder / "target"
    build = run_dbt_build(db, target_path=target, progress=None)
    return DbtDemoBuild(db=db, raw_db=raw_db, target_path=target, build=build, org=shown)

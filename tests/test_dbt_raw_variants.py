"""The dbt project on raw layers that differ from l2c's own extraction.

A Fivetran-landed schema (``_fivetran_synced`` / ``_fivetran_deleted``), an
org without the Salesforce Billing package, a record that cannot be attached
to an opportunity, and a raw layer missing a required object. Each starts from
the session's real extraction (``dbt_demo_build.raw_db``), changed by SQL.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl
import pytest

from l2c.transform import DbtBuildError, DbtBuildResult, run_dbt_build

FIVETRAN_VARS = {"l2c_synced_at_column": "_fivetran_synced", "l2c_deleted_columns": ["is_deleted", "_fivetran_deleted"]}
BILLING_TABLES = ("blng_invoice_c", "blng_payment_c", "blng_payment_allocation_invoice_c")
ORPHAN_ORDER_ID = "801ORPHAN000000AAA"


@dataclass
class VariantBuild:
    db: Path
    build: DbtBuildResult
    deleted_opportunity: str


def _fivetranize(con: duckdb.DuckDBPyConnection) -> None:
    """Rename l2c's sync columns to Fivetran's and add its soft-delete flag to every raw table."""
    tables = [t for (t,) in con.execute(
        "select table_name from information_schema.tables "
        "where table_schema = 'raw_salesforce' and table_name not like '\\_l2c%' escape '\\'").fetchall()]
    for table in tables:
        con.execute(f'alter table raw_salesforce."{table}" rename column _l2c_synced_at to _fivetran_synced')
        con.execute(f'alter table raw_salesforce."{table}" drop column _l2c_run_id')
        con.execute(f'alter table raw_salesforce."{table}" add column _fivetran_deleted boolean default false')


@pytest.fixture(scope="module")
def fivetran_without_billing(dbt_demo_build, tmp_path_factory) -> VariantBuild:
    """Fivetran column names, no Billing tables, one opportunity soft-deleted by Fivetran, one orphan order."""
    db = tmp_path_factory.mktemp("dbt_variant") / "fivetran.duckdb"
    shutil.copyfile(dbt_demo_build.raw_db, db)
    won = dbt_demo_build.org["Opportunity"].filter(pl.col("IsWon")).sort("Id")["Id"][0]
    with duckdb.connect(str(db)) as con:
        _fivetranize(con)
        for table in BILLING_TABLES:
            con.execute(f"drop table raw_salesforce.{table}")
        con.execute("update raw_salesforce.opportunity set _fivetran_deleted = true where id = ?", [won])
        # an order linked to neither an opportunity nor a contract
        con.execute(f"""
            insert into raw_salesforce."order"
            select * replace ('{ORPHAN_ORDER_ID}' as id, null as opportunity_id, null as contract_id,
                              'Draft' as status, 'Draft' as status_code, null as activated_date)
            from raw_salesforce."order" order by id, system_modstamp limit 1""")
    build = run_dbt_build(db, dbt_vars=FIVETRAN_VARS, target_path=db.parent / "target", progress=None)
    return VariantBuild(db=db, build=build, deleted_opportunity=won)


def _event_log(db: Path) -> pl.DataFrame:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.sql("select * from l2c.event_log").pl()


def test_a_fivetran_landed_schema_without_billing_builds(fivetran_without_billing):
    assert fivetran_without_billing.build.success
    assert fivetran_without_billing.build.failed == []


def test_missing_optional_objects_give_empty_models_not_errors(fivetran_without_billing):
    events = _event_log(fivetran_without_billing.db)
    with duckdb.connect(str(fivetran_without_billing.db), read_only=True) as con:
        invoices = con.execute("select count(*) from l2c_staging.stg_salesforce__invoice").fetchone()[0]

    assert invoices == 0
    assert not {"Invoice Posted", "Payment Received"} & set(events["activity"])
    assert {"Closed Won", "Order Activated", "Quote Accepted"} <= set(events["activity"])


def test_fivetran_deleted_records_are_gone(fivetran_without_billing):
    with duckdb.connect(str(fivetran_without_billing.db), read_only=True) as con:
        cases = {c for (c,) in con.execute("select case_id from l2c.cases").fetchall()}

    assert fivetran_without_billing.deleted_opportunity not in cases
    assert fivetran_without_billing.deleted_opportunity not in set(_event_log(fivetran_without_billing.db)["case_id"])


def test_records_without_an_opportunity_are_counted_as_orphans(fivetran_without_billing):
    with duckdb.connect(str(fivetran_without_billing.db), read_only=True) as con:
        orphans = con.sql("select * from l2c.orphans").pl()

    orphan_order = orphans.filter(pl.col("source_id") == ORPHAN_ORDER_ID)
    assert orphan_order.select("source_object", "reason", "event_count").to_dicts() == [
        {"source_object": "Order", "reason": "no link to an opportunity", "event_count": 1}
    ]
    # the deleted opportunity's quotes, contract and order now point at a missing case
    dangling = orphans.filter(pl.col("reason").str.contains(fivetran_without_billing.deleted_opportunity))
    assert set(dangling["source_object"]) >= {"Quote", "Order"}


def test_event_ids_are_the_same_in_every_build(dbt_demo_build, fivetran_without_billing):
    original = _event_log(dbt_demo_build.db)
    variant = _event_log(fivetran_without_billing.db)

    kept = original.filter(
        ~pl.col("source_object").is_in(["blng__Invoice__c", "blng__Payment__c"])
        & (pl.col("case_id") != fivetran_without_billing.deleted_opportunity)
    )
    assert variant.height == kept.height
    assert sorted(variant["event_id"]) == sorted(kept["event_id"])


def test_a_missing_required_object_fails_with_what_to_do(dbt_demo_build, tmp_path):
    db = tmp_path / "no_opportunities.duckdb"
    shutil.copyfile(dbt_demo_build.raw_db, db)
    with duckdb.connect(str(db)) as con:
        con.execute("drop table raw_salesforce.opportunity")

    with pytest.raises(DbtBuildError) as failure:
        run_dbt_build(db, select="stg_salesforce__opportunity", target_path=tmp_path / "target", progress=None)

    message = str(failure.value)
    assert "stg_salesforce__opportunity" in message
    assert "raw_salesforce.opportunity (Salesforce object Opportunity) does not exist" in message
    assert "l2c extract" in message

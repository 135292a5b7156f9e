"""The dbt project as Dagster assets: one lineage graph with the extraction, a real materialize."""

from __future__ import annotations

import shutil

import dagster as dg
import duckdb

from orchestration.dbt import dbt_models, dbt_resource
from orchestration.resources import WarehouseResource
from orchestration.salesforce import SalesforceResource, salesforce_assets


def test_dbt_sources_are_the_extraction_assets():
    definitions = dg.Definitions(
        assets=[salesforce_assets, dbt_models],
        resources={"salesforce": SalesforceResource(), "dbt": dbt_resource, "warehouse": WarehouseResource()},
    )
    graph = definitions.resolve_asset_graph()
    extracted = set(salesforce_assets.keys)

    staging = graph.get(dg.AssetKey(["l2c_staging", "stg_salesforce__opportunity"]))
    assert staging.parent_keys == {dg.AssetKey(["raw_salesforce", "opportunity"])}
    raw_parents = {key for asset in dbt_models.keys for key in graph.get(asset).parent_keys
                   if key.path[0] == "raw_salesforce"}
    assert raw_parents <= extracted
    assert dg.AssetKey(["raw_salesforce", "blng_invoice_c"]) in raw_parents
    # the marts the analysis assets read are dbt assets of the same graph
    assert {dg.AssetKey(["l2c", name]) for name in ("event_log", "cases", "activities", "lead_event_log")} <= set(
        dbt_models.keys)
    assert graph.get(dg.AssetKey(["l2c", "event_log"])).group_name == "dbt_marts"


def test_dbt_tests_are_asset_checks():
    checks = {(key.asset_key.to_user_string(), key.name) for key in dbt_models.check_keys}

    assert ("l2c/event_log", "unique_event_log_event_id") in checks
    assert ("l2c/cases", "unique_cases_case_id") in checks
    assert ("l2c/event_log", "l2c_case_order_is_total_event_log_") in checks


def test_materializing_the_dbt_marts_builds_them_with_their_checks(dbt_demo_build, tmp_path):
    # A copy of the built warehouse: the marts' upstream views and tables exist, so
    # materializing the marts group rebuilds just them (and runs their tests).
    db = tmp_path / "warehouse.duckdb"
    shutil.copyfile(dbt_demo_build.db, db)
    with duckdb.connect(str(db)) as con:
        con.execute("drop table l2c.event_log")
        con.execute("drop table l2c.cases")
    marts = dg.AssetSelection.groups("dbt_marts")

    result = dg.materialize(
        [dbt_models], selection=marts,
        resources={"dbt": dbt_resource, "warehouse": WarehouseResource(duckdb_path=str(db))},
    )

    assert result.success
    materialized = {event.asset_key.to_user_string() for event in result.get_asset_materialization_events()}
    assert materialized == {"l2c/event_log", "l2c/cases", "l2c/activities", "l2c/lead_event_log", "l2c/orphans"}
    evaluations = result.get_asset_check_evaluations()
    assert {e.asset_key.to_user_string() for e in evaluations} == materialized
    assert [e.check_name for e in evaluations if not e.passed] == []
    with duckdb.connect(str(db), read_only=True) as con, duckdb.connect(str(dbt_demo_build.db), read_only=True) as ref:
        query = "select count(*), count(distinct case_id), sum(hash(event_id)) from l2c.event_log"
        assert con.execute(query).fetchone() == ref.execute(query).fetchone()

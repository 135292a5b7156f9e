"""How dbt resources of ``dbt_project/`` appear in Dagster.

dbt sources ``salesforce.<table>`` map onto the extraction assets' keys
``["raw_salesforce", <table>]`` (``orchestration/salesforce.py``), so
extraction, dbt and analysis form one lineage graph. Models and seeds are
keyed by the schema they are built in (``["l2c", "event_log"]``,
``["l2c_staging", "stg_salesforce__quote"]``), which is also how the analysis
assets name their upstream marts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator

from l2c import config

#: Dagster group per dbt layer (the folder under models/); seeds are staging inputs.
LAYER_GROUPS = {"staging": "dbt_staging", "intermediate": "dbt_intermediate", "marts": "dbt_marts"}


class L2cDbtTranslator(DagsterDbtTranslator):
    """Asset keys that join dbt to the Salesforce extraction; one group per dbt layer."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return dg.AssetKey([config.RAW_SCHEMA, dbt_resource_props["name"]])
        return dg.AssetKey([dbt_resource_props["schema"], dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "seed":
            return LAYER_GROUPS["staging"]
        fqn = dbt_resource_props.get("fqn") or []
        layer = fqn[1] if len(fqn) > 2 else None
        return LAYER_GROUPS.get(layer, "dbt")

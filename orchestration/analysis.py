"""Analysis assets: one per ``l2c_analysis`` table, computed by ``analysis.marts`` in one pass.

The pass shares intermediate results (variants, conformance checks, invoices)
between the tables, so it is one multi-asset whose outputs are the tables; the
body only calls :func:`analysis.marts.write_analysis_marts` and attaches metadata.
"""


import os

import dagster as dg
import duckdb

from analysis.marts import ANALYSIS_TABLES, OPTIONAL_ANALYSIS_TABLES, write_analysis_marts
from l2c import config
from orchestration.resources import WarehouseResource

ANALYSIS_GROUP = "analysis"
#: The dbt marts the analyses read.
MART_KEYS = [dg.AssetKey([config.MARTS_SCHEMA, name]) for name in ("event_log", "cases", "lead_event_log", "activities")]


def analysis_key(table: str) -> dg.AssetKey:
    return dg.AssetKey([config.ANALYSIS_SCHEMA, table])


def _preview(db: str, table: str, rows: int = 10) -> str:
    with duckdb.connect(db, read_only=True) as con:
        frame = con.sql(f'select * from {config.ANALYSIS_SCHEMA}."{table}" limit {rows}').pl()
    return frame.to_pandas().to_markdown(index=False)


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            analysis_key(table),
            deps=MART_KEYS,
            group_name=ANALYSIS_GROUP,
            skippable=table in OPTIONAL_ANALYSIS_TABLES,
            description=f"Process-mining result table {config.ANALYSIS_SCHEMA}.{table} (see docs/analysis.md).",
            kinds={"duckdb", "polars"},
        )
        for table in ANALYSIS_TABLES
    ],
    can_subset=False,
    name="l2c_analysis",
)
def analysis_tables(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    """Run every analysis on the dbt marts and write the ``l2c_analysis`` tables."""
    db = warehouse.db()
    written = write_analysis_marts(db, calendar=warehouse.calendar(), rules_path=warehouse.rules(),
                                   progress=context.log.info)
    for table, rows in written.items():
        if table not in ANALYSIS_TABLES:
            continue
        yield dg.MaterializeResult(
            asset_key=analysis_key(table),
            metadata={
                "dagster/row_count": rows,
                "table": f"{config.ANALYSIS_SCHEMA}.{table}",
                "preview": dg.MetadataValue.md(_preview(str(db), table)),
            },
        )


def _conformance_threshold() -> float:
    return float(os.environ.get(config.CONFORMANCE_THRESHOLD_ENV, config.DEFAULT_CONFORMANCE_THRESHOLD))


@dg.asset_check(asset=analysis_key("conformance_cases"), description=(
    "Warns when the share of cases without any rule violation falls below L2C_CONFORMANCE_THRESHOLD (default 0.8)."))
def conformance_rate_check(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with duckdb.connect(str(warehouse.db()), read_only=True) as con:
        cases, violating = con.execute(
            f"select count(distinct case_id), count(distinct case_id) filter (where violated) "
            f"from {config.ANALYSIS_SCHEMA}.conformance_cases").fetchone()
    rate = 1.0 if not cases else 1 - violating / cases
    threshold = _conformance_threshold()
    return dg.AssetCheckResult(
        passed=rate >= threshold,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"conformance_rate": rate, "threshold": threshold, "cases": cases, "violating_cases": violating},
    )


@dg.asset_check(asset=analysis_key("variants"), description=(
    "Warns when the event log behind the analyses is empty or when variant shares do not add up to 1."))
def event_log_quality_check(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with duckdb.connect(str(warehouse.db()), read_only=True) as con:
        variants, cases, share = con.execute(
            f"select count(*), coalesce(sum(cases), 0), coalesce(sum(share), 0) "
            f"from {config.ANALYSIS_SCHEMA}.variants").fetchone()
    passed = cases > 0 and abs(share - 1.0) < 1e-6
    return dg.AssetCheckResult(
        passed=bool(passed),
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"variants": variants, "cases": int(cases), "share_total": float(share)},
    )


analysis_checks = [conformance_rate_check, event_log_quality_check]

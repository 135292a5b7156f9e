"""The report asset: the self-contained HTML Lead-to-Cash report, downstream of every analysis table."""


import base64

import dagster as dg

from analysis.marts import ANALYSIS_TABLES
from l2c.report.render import PROCESS_MAP_FILE, PROCESS_MAP_PNG_FILE, write_report
from orchestration.analysis import analysis_key
from orchestration.resources import WarehouseResource

REPORT_KEY = dg.AssetKey(["l2c_report"])


@dg.asset(
    key=REPORT_KEY,
    deps=[analysis_key(t) for t in ANALYSIS_TABLES],
    group_name="report",
    kinds={"html"},
    description="The Lead-to-Cash report (index.html, opens offline) and the process map (process_map.svg).",
)
def l2c_report(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    html = write_report(warehouse.db(), warehouse.report_folder(), language=warehouse.language())
    context.log.info(f"wrote {html}")
    metadata: dict = {"path": dg.MetadataValue.path(str(html)), "size_bytes": html.stat().st_size}
    png, svg = html.parent / PROCESS_MAP_PNG_FILE, html.parent / PROCESS_MAP_FILE
    if png.exists():
        # Dagster renders markdown images; an inline data URI needs no file server.
        encoded = base64.b64encode(png.read_bytes()).decode("ascii")
        metadata["process_map"] = dg.MetadataValue.md(f"![process map](data:image/png;base64,{encoded})")
    if svg.exists():
        metadata["process_map_path"] = dg.MetadataValue.path(str(svg))
    return dg.MaterializeResult(metadata=metadata)

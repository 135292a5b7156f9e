"""Every dbt model, seed, source and column is documented, and ``dbt docs generate`` works."""

from __future__ import annotations

import json
import shutil

import pytest

from l2c.transform import run_dbt


@pytest.fixture(scope="module")
def docs(dbt_demo_build, tmp_path_factory) -> tuple[dict, dict]:
    folder = tmp_path_factory.mktemp("dbt_docs")
    db = folder / "warehouse.duckdb"
    shutil.copyfile(dbt_demo_build.db, db)

    outcome = run_dbt(["docs", "generate"], db, target_path=folder / "target", progress=None)

    assert outcome.success, outcome.exception
    manifest = json.loads((folder / "target" / "manifest.json").read_text())
    catalog = json.loads((folder / "target" / "catalog.json").read_text())
    return manifest, catalog


def test_docs_generate_catalogs_the_marts(docs):
    _, catalog = docs

    event_log = catalog["nodes"]["model.l2c.event_log"]
    assert event_log["metadata"]["schema"] == "l2c"
    assert event_log["columns"]["timestamp"]["type"] == "TIMESTAMP WITH TIME ZONE"


def test_every_model_and_seed_and_column_has_a_description(docs):
    manifest, catalog = docs
    missing = []
    for unique_id, node in manifest["nodes"].items():
        if node["resource_type"] not in ("model", "seed"):
            continue
        if not node["description"].strip():
            missing.append(unique_id)
        documented = {name for name, column in node["columns"].items() if column["description"].strip()}
        built = set(catalog["nodes"][unique_id]["columns"])
        missing += [f"{unique_id}.{column}" for column in sorted(built - documented)]

    assert missing == []


def test_every_source_table_and_column_has_a_description(docs):
    manifest, _ = docs
    missing = [
        unique_id for unique_id, source in manifest["sources"].items()
        if not source["description"].strip() or any(not c["description"].strip() for c in source["columns"].values())
    ]

    assert len(manifest["sources"]) == 25
    assert missing == []

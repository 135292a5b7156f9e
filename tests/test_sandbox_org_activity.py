"""The org moves between syncs: clock advance, deletes, history retention; and same seed, same org."""

from __future__ import annotations

from datetime import timedelta

import polars as pl
import pytest

from l2c.sandbox.server import SandboxOrg


def soql_time(moment) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def ids(records: list[dict]) -> set[str]:
    return {r["Id"] for r in records}


def test_advancing_the_clock_reveals_new_and_changed_records(new_sandbox_org):
    org = new_sandbox_org(n_opportunities=80)
    sf = org.client()
    start = org.clock
    before = {r["Id"]: r for r in sf.query_all("SELECT Id, StageName, SystemModstamp FROM Opportunity")["records"]}
    since = f"SELECT Id, StageName, SystemModstamp FROM Opportunity WHERE SystemModstamp > {soql_time(start)}"
    assert sf.query_all(since)["records"] == []

    now = org.advance(timedelta(days=30))
    assert now == start + timedelta(days=30) == org.clock
    changed = sf.query_all(since)["records"]
    versions = org.versions("Opportunity").filter(pl.col("_valid_from").is_between(start, now, closed="right"))
    assert ids(changed) == set(versions.get_column("Id").to_list())
    new_ids = ids(changed) - set(before)
    updated_ids = ids(changed) & set(before)
    assert new_ids, "a month of org activity should create opportunities"
    assert updated_ids, "a month of org activity should progress existing opportunities"
    for record in changed:
        assert record["SystemModstamp"] > start.strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    history = sf.query_all(
        f"SELECT Id, OpportunityId FROM OpportunityFieldHistory WHERE CreatedDate > {soql_time(start)}"
    )["records"]
    assert {r["OpportunityId"] for r in history} >= new_ids
    assert sf.query("SELECT COUNT() FROM Opportunity")["totalSize"] == len(before) + len(new_ids)


def test_clock_only_moves_forward(new_sandbox_org):
    org = new_sandbox_org(n_opportunities=20)
    with pytest.raises(ValueError, match="only moves forward"):
        org.advance(timedelta(seconds=-1))


def test_a_deleted_record_stops_changing_and_can_be_undeleted(new_sandbox_org):
    org = new_sandbox_org(n_opportunities=80)
    sf = org.client()
    start = org.clock
    future = org.versions("Opportunity").filter(pl.col("_valid_from") > start)
    existing = set(org.snapshot("Opportunity").get_column("Id").to_list())
    moving = next(i for i in future.get_column("Id").to_list() if i in existing)
    org.delete("Opportunity", [moving])
    org.advance(timedelta(days=90))
    assert moving not in ids(sf.query_all("SELECT Id FROM Opportunity")["records"])
    deleted = sf.query_all(f"SELECT Id, IsDeleted, SystemModstamp FROM Opportunity WHERE Id = '{moving}'",
                           include_deleted=True)["records"]
    assert deleted == [{"attributes": deleted[0]["attributes"], "Id": moving, "IsDeleted": True,
                        "SystemModstamp": start.strftime("%Y-%m-%dT%H:%M:%S.000+0000")}]
    with pytest.raises(ValueError, match="already deleted"):
        org.delete("Opportunity", [moving])
    org.undelete("Opportunity", [moving])
    assert moving in ids(sf.query_all("SELECT Id FROM Opportunity")["records"])
    with pytest.raises(KeyError, match="has no record with Id 006nope"):
        org.delete("Opportunity", ["006nope"])


def test_purge_history_hides_rows_older_than_the_retention_window(new_sandbox_org):
    org = new_sandbox_org(n_opportunities=60)
    sf = org.client()
    cutoff = org.clock - timedelta(days=365)
    all_rows = org.snapshot("LeadHistory")
    kept = all_rows.filter(pl.col("CreatedDate") >= cutoff).height
    assert 0 < kept < all_rows.height
    org.purge_history(before=cutoff)
    for history in ("LeadHistory", "OpportunityFieldHistory", "ContractHistory"):
        old = sf.query(f"SELECT COUNT() FROM {history} WHERE CreatedDate < {soql_time(cutoff)}")
        assert old["totalSize"] == 0, history
    assert sf.query("SELECT COUNT() FROM LeadHistory")["totalSize"] == kept
    # other objects keep their old records
    assert sf.query(f"SELECT COUNT() FROM Lead WHERE CreatedDate < {soql_time(cutoff)}")["totalSize"] > 0


def full_extract(org: SandboxOrg, object_name: str) -> list[dict]:
    fields = ", ".join(f for f in org.snapshot(object_name).columns)
    return org.client().query_all(f"SELECT {fields} FROM {object_name} ORDER BY Id")["records"]


def test_same_seed_same_org_over_the_api(new_sandbox_org):
    first, again, other = (new_sandbox_org(n_opportunities=40, seed=s) for s in (21, 21, 22))
    for name in ("Opportunity", "OpportunityFieldHistory", "blng__Invoice__c"):
        assert full_extract(first, name) == full_extract(again, name), name
    assert full_extract(first, "Opportunity") != full_extract(other, "Opportunity")
    assert (first.username, first.security_token, first.org_id, first.clock) == (
        again.username, again.security_token, again.org_id, again.clock
    )

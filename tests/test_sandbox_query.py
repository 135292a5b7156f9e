"""REST queries and Bulk 2.0 query jobs against the sandbox org, through real simple-salesforce over HTTPS."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest, SalesforceOperationError

HISTORY_FIELDS = ["Id", "OpportunityId", "Field", "DataType", "OldValue", "NewValue", "CreatedById", "CreatedDate",
                  "IsDeleted"]
HISTORY_SOQL = f"SELECT {', '.join(HISTORY_FIELDS)} FROM OpportunityFieldHistory"


def salesforce_text(frame: pl.DataFrame) -> pl.DataFrame:
    """A snapshot as the text Salesforce sends: datetimes with milliseconds in UTC, booleans as true/false."""
    return frame.select(
        pl.col(c).dt.strftime("%Y-%m-%dT%H:%M:%S.%3fZ") if isinstance(t, pl.Datetime)
        else pl.col(c).cast(pl.String).str.to_lowercase() if t == pl.Boolean
        else pl.col(c).cast(pl.String)
        for c, t in frame.schema.items()
    )


def test_query_all_iter_pages_through_a_history_object(sandbox_org):
    sf = sandbox_org.client()
    first = sf.query(HISTORY_SOQL)
    assert first["done"] is False
    assert len(first["records"]) == 2000
    assert re.fullmatch(r"/services/data/v59\.0/query/01g\w+-2000", first["nextRecordsUrl"])

    records = list(sf.query_all_iter(HISTORY_SOQL))
    expected = sandbox_org.snapshot("OpportunityFieldHistory").select(HISTORY_FIELDS)
    assert expected.height > 2000
    assert first["totalSize"] == expected.height == len(records)
    assert records[0]["attributes"] == {
        "type": "OpportunityFieldHistory",
        "url": f"/services/data/v59.0/sobjects/OpportunityFieldHistory/{records[0]['Id']}",
    }
    got = pl.DataFrame([{k: v for k, v in r.items() if k != "attributes"} for r in records],
                       schema={k: pl.String for k in HISTORY_FIELDS} | {"IsDeleted": pl.Boolean})
    got = got.with_columns(pl.col("CreatedDate").str.replace(r"\+0000$", "Z"))
    assert got.equals(salesforce_text(expected).with_columns(pl.col("IsDeleted").eq("true")))


def test_bulk2_download_has_the_same_content_as_rest(sandbox_org, tmp_path):
    sf = sandbox_org.client()
    results = sf.bulk2.OpportunityFieldHistory.download(HISTORY_SOQL, path=str(tmp_path), max_records=1000, wait=0.01)
    expected = salesforce_text(sandbox_org.snapshot("OpportunityFieldHistory").select(HISTORY_FIELDS))
    assert [r["number_of_records"] for r in results] == [1000, 1000, expected.height - 2000]
    assert results[-1]["locator"] == ""
    pages = [pl.read_csv(r["file"], infer_schema=False) for r in results]
    # Salesforce has no empty strings: an empty CSV value is a null.
    downloaded = pl.concat(pages).with_columns(pl.all().replace("", None))
    assert downloaded.columns == HISTORY_FIELDS
    assert downloaded.equals(expected)
    header = Path(results[0]["file"]).read_text().splitlines()[0]
    assert header == '"Id","OpportunityId","Field","DataType","OldValue","NewValue","CreatedById","CreatedDate","IsDeleted"'


def test_bulk2_results_follow_salesforce_csv_and_locator_conventions(sandbox_org):
    session = sandbox_org.http_session()
    base = f"{sandbox_org.instance_url}/services/data/v59.0/jobs/query"
    headers = {"Authorization": f"Bearer {sandbox_org.session_id}", "Content-Type": "application/json"}
    job = session.post(base, json={"operation": "query", "query": "SELECT Id, IsWon, Amount, CreatedDate, CloseDate "
                                   "FROM Opportunity ORDER BY Id LIMIT 3"}, headers=headers).json()
    assert job["state"] == "UploadComplete"
    assert job["object"] == "Opportunity"
    assert session.get(f"{base}/{job['id']}", headers=headers).json()["state"] == "JobComplete"

    first = session.get(f"{base}/{job['id']}/results", params={"maxRecords": 2}, headers=headers)
    assert first.headers["Sforce-NumberOfRecords"] == "2"
    assert first.headers["Sforce-Locator"] == "Mg"  # base64 of the next offset, as Salesforce does
    last = session.get(f"{base}/{job['id']}/results", params={"maxRecords": 2, "locator": "Mg"}, headers=headers)
    assert last.headers["Sforce-Locator"] == "null"
    assert last.headers["Sforce-NumberOfRecords"] == "1"

    snap = sandbox_org.snapshot("Opportunity").sort("Id").head(3)
    lines = first.text.splitlines()
    assert lines[0] == '"Id","IsWon","Amount","CreatedDate","CloseDate"'
    row = snap.row(0, named=True)
    amount = "" if row["Amount"] is None else str(row["Amount"])
    assert lines[1] == (f'"{row["Id"]}","{str(row["IsWon"]).lower()}","{amount}",'
                        f'"{row["CreatedDate"].strftime("%Y-%m-%dT%H:%M:%S.")}{row["CreatedDate"].microsecond // 1000:03d}Z",'
                        f'"{row["CloseDate"].isoformat()}"')


def test_bulk2_query_job_states_abort_and_delete(new_sandbox_org):
    org = new_sandbox_org(bulk_processing_seconds=30)
    session = org.http_session()
    base = f"{org.instance_url}/services/data/v59.0/jobs/query"
    headers = {"Authorization": f"Bearer {org.session_id}"}
    job = session.post(base, json={"operation": "queryAll", "query": "SELECT Id FROM Lead"}, headers=headers).json()
    info = session.get(f"{base}/{job['id']}", headers=headers).json()
    assert (info["state"], info["operation"], info["jobType"]) == ("InProgress", "queryAll", "V2Query")
    early = session.get(f"{base}/{job['id']}/results", headers=headers)
    assert early.status_code == 400
    aborted = session.patch(f"{base}/{job['id']}", json={"state": "Aborted"}, headers=headers).json()
    assert aborted["state"] == "Aborted"
    assert session.delete(f"{base}/{job['id']}", headers=headers).status_code == 204
    assert session.get(f"{base}/{job['id']}", headers=headers).status_code == 404


def test_bulk2_rejects_bad_soql_compound_fields_and_count(sandbox_org):
    bulk = sandbox_org.client().bulk2.Account
    with pytest.raises(SalesforceMalformedRequest) as bad_field:
        list(bulk.query("SELECT Id, Nope FROM Account", wait=0.01))
    assert bad_field.value.content[0]["errorCode"] == "INVALID_FIELD"
    with pytest.raises(SalesforceMalformedRequest) as compound:
        list(bulk.query("SELECT Id, BillingAddress FROM Account", wait=0.01))
    assert compound.value.content[0]["errorCode"] == "FUNCTIONALITY_NOT_ENABLED"
    assert compound.value.content[0]["message"].startswith("Selecting compound data not supported in Bulk Query")
    with pytest.raises(SalesforceMalformedRequest):
        list(bulk.query("SELECT COUNT() FROM Account", wait=0.01))


def test_a_failed_bulk_job_reports_its_error_message(new_sandbox_org):
    org = new_sandbox_org()
    org.fail_next("job_failed")
    with pytest.raises(SalesforceOperationError, match="Job failure. Response content: InternalServerError"):
        list(org.client().bulk2.Account.query("SELECT Id FROM Account", wait=0.01))
    # the next job works again
    assert "".join(org.client().bulk2.Account.query("SELECT Id FROM Account", wait=0.01)).count("\n") == (
        org.snapshot("Account").height + 1
    )


def test_compound_address_is_an_object_in_rest(sandbox_org):
    sf = sandbox_org.client()
    record = sf.query("SELECT Id, BillingCity, BillingAddress FROM Account WHERE BillingCity != null LIMIT 1")[
        "records"][0]
    assert set(record["BillingAddress"]) == {"city", "country", "geocodeAccuracy", "latitude", "longitude",
                                             "postalCode", "state", "street"}
    assert record["BillingAddress"]["city"] == record["BillingCity"]


def test_count_query_returns_total_size_without_records(sandbox_org):
    sf = sandbox_org.client()
    expected = sandbox_org.snapshot("Opportunity").filter(pl.col("StageName") == "Closed Won").height
    assert expected > 0
    result = sf.query("SELECT COUNT() FROM Opportunity WHERE StageName = 'Closed Won'")
    assert result == {"totalSize": expected, "done": True, "records": []}


def test_fields_without_value_are_json_null(sandbox_org):
    sf = sandbox_org.client()
    records = sf.query("SELECT Id, ConvertedDate FROM Lead WHERE IsConverted = false LIMIT 5")["records"]
    assert records and all(r["ConvertedDate"] is None for r in records)


@pytest.mark.parametrize(("soql", "code"), [
    ("SELECT Id FROM Opportunty", "INVALID_TYPE"),
    ("SELECT Id, Stage FROM Opportunity", "INVALID_FIELD"),
    ("SELECT Id FROM Opportunity WHERE", "MALFORMED_QUERY"),
    ("SELECT Id FROM OpportunityFieldHistory WHERE SystemModstamp > 2024-01-01T00:00:00Z", "INVALID_FIELD"),
])
def test_soql_errors_surface_as_malformed_request(sandbox_org, soql, code):
    with pytest.raises(SalesforceMalformedRequest) as info:
        sandbox_org.client().query(soql)
    assert info.value.status == 400
    assert info.value.content[0]["errorCode"] == code
    assert "ERROR at Row:1:Column:" in info.value.content[0]["message"]


def test_query_excludes_deleted_records_and_query_all_includes_them(new_sandbox_org):
    org = new_sandbox_org()
    sf = org.client()
    doomed = org.snapshot("Opportunity").get_column("Id").to_list()[:3]
    before = sf.query("SELECT COUNT() FROM Opportunity")["totalSize"]
    assert org.delete("Opportunity", doomed) == 3

    assert sf.query("SELECT COUNT() FROM Opportunity")["totalSize"] == before - 3
    deleted = sf.query_all("SELECT Id, IsDeleted, SystemModstamp FROM Opportunity WHERE IsDeleted = true",
                           include_deleted=True)["records"]
    assert sorted(r["Id"] for r in deleted) == sorted(doomed)
    stamp = org.clock.strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    assert {r["SystemModstamp"] for r in deleted} == {stamp}
    assert sf.query_all("SELECT Id FROM Opportunity", include_deleted=True)["totalSize"] == before
    assert org.snapshot("Opportunity", include_deleted=True).height == before

    org.undelete("Opportunity", doomed[:1])
    assert sf.query("SELECT COUNT() FROM Opportunity")["totalSize"] == before - 2


def test_limits_and_the_api_usage_header(new_sandbox_org):
    org = new_sandbox_org(faults="limit:500")
    sf = org.client()
    sf.query("SELECT COUNT() FROM Account")
    sf.query("SELECT COUNT() FROM Account")
    assert sf.api_usage["api-usage"].used == 2
    assert sf.api_usage["api-usage"].total == 500
    limits = sf.limits()
    assert limits["DailyApiRequests"] == {"Max": 500, "Remaining": 497}
    assert org.api_usage == 3
    # usage is a rolling 24 hours of org time
    org.advance(timedelta(days=1, seconds=1))
    assert org.api_usage == 0


def test_record_retrieval_and_versions_listing(sandbox_org):
    sf = sandbox_org.client()
    versions = sandbox_org.http_session().get(f"{sandbox_org.instance_url}/services/data/").json()
    assert {"label": "Winter '24", "url": "/services/data/v59.0", "version": "59.0"} in versions
    opp = sandbox_org.snapshot("Opportunity").row(0, named=True)
    record = sf.Opportunity.get(opp["Id"])
    assert record["Id"] == opp["Id"]
    assert record["StageName"] == opp["StageName"]
    assert record["attributes"]["type"] == "Opportunity"


def test_query_batch_size_header_and_an_unknown_locator(sandbox_org):
    sf = sandbox_org.client()
    page = sf.query("SELECT Id FROM OpportunityFieldHistory", headers={"Sforce-Query-Options": "batchSize=500"})
    assert len(page["records"]) == 500
    assert page["nextRecordsUrl"].endswith("-500")
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.query_more("01gSB9999999999AAA-2000")
    assert info.value.content == [{"message": "invalid query locator", "errorCode": "INVALID_QUERY_LOCATOR"}]


def test_replication_endpoints_list_updated_and_deleted_ids(new_sandbox_org):
    org = new_sandbox_org()
    sf = org.client()
    start = org.clock
    gone = org.snapshot("Account").get_column("Id").to_list()[:2]
    org.advance(timedelta(days=20))
    org.delete("Account", gone)
    end = org.clock + timedelta(minutes=1)
    updated = sf.Opportunity.updated(start, end)
    changed = (org.versions("Opportunity")
               .filter(pl.col("_valid_from").is_between(start, org.clock, closed="right"))
               .get_column("Id").unique().to_list())
    assert sorted(updated["ids"]) == sorted(changed)
    deleted = sf.Account.deleted(start, end)
    assert sorted(r["id"] for r in deleted["deletedRecords"]) == sorted(gone)
    assert {r["deletedDate"] for r in deleted["deletedRecords"]} == {org.clock.strftime("%Y-%m-%dT%H:%M:%S.000+0000")}


def test_concurrent_clients_while_the_clock_moves(new_sandbox_org):
    from concurrent.futures import ThreadPoolExecutor

    org = new_sandbox_org(n_opportunities=80)

    def count_pages(_: int) -> int:
        return sum(1 for _ in org.client().query_all_iter("SELECT Id, NewValue FROM OpportunityFieldHistory"))

    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = [pool.submit(count_pages, i) for i in range(8)]
        for _ in range(5):
            org.advance(timedelta(hours=6))
        counts = [f.result() for f in futures]
    start_count = org.versions("OpportunityFieldHistory").height  # upper bound: every row ever
    assert all(0 < c <= start_count for c in counts)
    assert org.client().query("SELECT COUNT() FROM OpportunityFieldHistory")["totalSize"] == org.snapshot(
        "OpportunityFieldHistory").height

"""The dbt project on a real extraction: ``dbt build`` passes and the marts agree with the org.

Arrange: a sandbox org extracted four times over six weeks by the real
extractor (``dbt_demo_build`` in conftest). Act: the real ``dbt build``.
Assert: the event log's counts and attachments equal what the org shows.
"""

from __future__ import annotations

from collections import Counter

import duckdb
import polars as pl
import pytest

from analysis import columns as C


def _query(db, sql: str) -> pl.DataFrame:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.sql(sql).pl()


@pytest.fixture(scope="module")
def event_log(dbt_demo_build) -> pl.DataFrame:
    return _query(dbt_demo_build.db, "select * from l2c.event_log")


def test_build_runs_every_model_data_test_and_unit_test(dbt_demo_build):
    kinds = Counter((n.resource_type, n.status) for n in dbt_demo_build.build.nodes)

    assert dbt_demo_build.build.success
    assert dbt_demo_build.build.failed == []
    assert kinds[("unit_test", "pass")] == 10
    assert kinds[("seed", "success")] == 1
    assert kinds[("model", "success")] >= 45
    assert kinds[("test", "pass")] + kinds[("test", "warn")] >= 100


def test_event_log_has_the_contract_columns_in_order(dbt_demo_build):
    with duckdb.connect(str(dbt_demo_build.db), read_only=True) as con:
        columns = con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'l2c' and table_name = 'event_log' order by ordinal_position"
        ).fetchall()

    names = [name for name, _ in columns]
    assert tuple(names[: len(C.EVENT_LOG_COLUMNS)]) == C.EVENT_LOG_COLUMNS
    assert dict(columns)["timestamp"] == "TIMESTAMP WITH TIME ZONE"
    assert dict(columns)["activity_order"] in ("INTEGER", "BIGINT")


def test_closed_won_events_are_exactly_the_won_opportunities(dbt_demo_build, event_log):
    won = set(dbt_demo_build.org["Opportunity"].filter(pl.col("IsWon"))["Id"])
    lost = set(dbt_demo_build.org["Opportunity"].filter(pl.col("IsClosed") & ~pl.col("IsWon"))["Id"])

    closed_won = event_log.filter(pl.col("activity") == "Closed Won")
    closed_lost = event_log.filter(pl.col("activity") == "Closed Lost")
    assert len(won) > 10
    assert closed_won.height == len(won)
    assert set(closed_won["case_id"]) == won
    assert set(closed_lost["case_id"]) == lost


def test_quote_accepted_events_are_exactly_the_accepted_quotes(dbt_demo_build, event_log):
    quotes = dbt_demo_build.org["Quote"]
    accepted = quotes.filter(pl.col("Status") == "Accepted")

    events = event_log.filter(pl.col("activity") == "Quote Accepted")
    assert accepted.height > 5
    assert sorted(events["source_id"]) == sorted(accepted["Id"])
    # each on the quote's opportunity
    on_case = events.join(accepted.select(pl.col("Id").alias("source_id"), "OpportunityId"), on="source_id")
    assert (on_case["case_id"] == on_case["OpportunityId"]).all()


def test_payment_received_events_are_exactly_the_payments(dbt_demo_build, event_log):
    payments = dbt_demo_build.org["blng__Payment__c"]

    events = event_log.filter(pl.col("activity") == "Payment Received")
    assert payments.height > 5
    assert sorted(events["source_id"]) == sorted(payments["Id"])
    assert events["amount"].cast(pl.Float64).sum() == pytest.approx(payments["blng__Amount__c"].sum())


def test_payment_received_events_are_exactly_the_allocations(dbt_demo_build, event_log):
    allocations = dbt_demo_build.org["blng__PaymentAllocationInvoice__c"].select(
        pl.col("blng__Payment__c").alias("source_id"), pl.col("blng__Invoice__c").alias("invoice_id"),
        pl.col("blng__Amount__c").alias("amount"))
    invoice_cases = dbt_demo_build.org["blng__Invoice__c"].join(
        dbt_demo_build.org["Order"].select(pl.col("Id").alias("blng__Order__c"), "OpportunityId"), on="blng__Order__c",
    ).select(pl.col("Id").alias("invoice_id"), pl.col("OpportunityId").alias("case_id"))

    events = event_log.filter(pl.col("activity") == "Payment Received").select(
        "source_id", "invoice_id", pl.col("amount").cast(pl.Float64), "case_id")
    assert allocations.height > 5
    # one event per allocation: the allocated invoice's id and amount, on that invoice's opportunity
    assert events.height == allocations.height
    assert events["invoice_id"].null_count() == 0
    assert sorted(events.drop("case_id").rows()) == sorted(allocations.rows())
    assert sorted(events.drop("amount").rows()) == sorted(allocations.join(invoice_cases, on="invoice_id").drop(
        "amount").rows())
    # every paid invoice is posted in the log, and an invoice's own events carry its id
    invoice_events = event_log.filter(pl.col("activity") == "Invoice Posted")
    assert (invoice_events["invoice_id"] == invoice_events["source_id"]).all()
    assert set(events["invoice_id"]) <= set(invoice_events["invoice_id"])
    assert event_log.filter(~pl.col("activity").is_in(["Invoice Posted", "Payment Received"]))[
        "invoice_id"].null_count() == event_log.height - invoice_events.height - events.height


def test_converted_leads_events_sit_on_their_opportunity(dbt_demo_build, event_log):
    converted = dbt_demo_build.org["Lead"].filter(pl.col("IsConverted")).select(
        pl.col("Id").alias("source_id"), "ConvertedOpportunityId")

    lead_events = event_log.filter(pl.col("source_object") == "Lead")
    joined = lead_events.join(converted, on="source_id", how="left")
    assert converted.height > 10
    assert joined["ConvertedOpportunityId"].null_count() == 0  # only converted leads' events
    assert (joined["case_id"] == joined["ConvertedOpportunityId"]).all()
    converted_events = lead_events.filter(pl.col("activity") == "Lead Converted")
    assert sorted(converted_events["source_id"]) == sorted(converted["source_id"])
    # a converted lead's case starts with the lead: Lead Created is the case's first event
    first = (event_log.sort("timestamp", "activity_order", "event_id")
             .group_by("case_id", maintain_order=True).first())
    starts = first.join(converted.rename({"ConvertedOpportunityId": "case_id"}), on="case_id")
    assert set(starts["activity"]) == {"Lead Created"}


def test_every_opportunity_is_one_case_with_its_owner(dbt_demo_build):
    cases = _query(dbt_demo_build.db, "select * from l2c.cases")
    opportunities = dbt_demo_build.org["Opportunity"]
    users = dbt_demo_build.org["User"].select(pl.col("Id").alias("OwnerId"), pl.col("Name").alias("owner"))

    assert sorted(cases["case_id"]) == sorted(opportunities["Id"])
    expected = opportunities.join(users, on="OwnerId").select(pl.col("Id").alias("case_id"), "owner", "IsWon")
    compared = cases.join(expected, on="case_id")
    assert (compared["owner_name"] == compared["owner"]).all()
    assert (compared["is_won"] == compared["IsWon"]).all()
    assert cases["event_count"].min() >= 2  # Opportunity Created and its first stage at least
    assert set(cases["product_category"].drop_nulls()) <= {"Software", "Hardware", "Services", "Support"}
    assert cases.filter(pl.col("is_closed"))["closed_at"].null_count() == 0


def test_case_events_have_one_deterministic_order(event_log):
    ordered = event_log.sort("case_id", "timestamp", "activity_order", "event_id")

    assert event_log["event_id"].n_unique() == event_log.height
    assert ordered.select("case_id", "timestamp", "activity_order", "event_id").is_duplicated().sum() == 0
    assert event_log["activity_order"].null_count() == 0


def test_lead_event_log_holds_every_lead(dbt_demo_build):
    leads = dbt_demo_build.org["Lead"]
    lead_log = _query(dbt_demo_build.db, "select * from l2c.lead_event_log")

    created = lead_log.filter(pl.col("activity") == "Lead Created")
    assert sorted(created["case_id"]) == sorted(leads["Id"])
    converted = lead_log.filter(pl.col("opportunity_id").is_not_null())
    assert set(converted["case_id"]) == set(leads.filter(pl.col("IsConverted"))["Id"])
    assert "Opportunity Created" in set(converted["activity"])


def test_activities_list_the_catalog_in_process_order(dbt_demo_build):
    activities = _query(dbt_demo_build.db, "select * from l2c.activities order by sort_order")
    names = activities["activity"].to_list()

    for expected in ("Lead Created", "Opportunity Created", "Stage: Prospecting", "Quote Accepted",
                     "Closed Won", "Invoice Posted", "Payment Received"):
        assert expected in names
    assert names.index("Stage: Prospecting") < names.index("Stage: Qualification") < names.index("Closed Won")
    assert activities.filter(pl.col("activity") == "Closed Won")["event_count"].item() > 0


def test_demo_org_has_no_orphans(dbt_demo_build):
    assert _query(dbt_demo_build.db, "select * from l2c.orphans").height == 0

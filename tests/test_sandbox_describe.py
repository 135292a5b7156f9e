"""Describe calls against the sandbox org: the shape of real Salesforce payloads, values from the schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from simple_salesforce.exceptions import SalesforceResourceNotFound

from l2c.salesforce_schema import OBJECTS, STAGE_NAMES

REFERENCE_DESCRIBE = Path(__file__).parents[1].parent / "shared" / "data" / "salesforce" / "describe"


def reference(name: str) -> dict:
    path = REFERENCE_DESCRIBE / f"{name}.json"
    if not path.exists():
        pytest.skip(f"reference describe payloads not found at {REFERENCE_DESCRIBE} (../shared is absent)")
    return json.loads(path.read_text())


@pytest.fixture(scope="module")
def opportunity_describe(sandbox_org) -> dict:
    return sandbox_org.client().Opportunity.describe()


def test_global_describe_lists_every_schema_object(sandbox_org):
    described = sandbox_org.client().describe()
    assert described["encoding"] == "UTF-8"
    assert described["maxBatchSize"] == 200
    assert sorted(o["name"] for o in described["sobjects"]) == sorted(o.name for o in OBJECTS)
    assert set(described["sobjects"][0]) == set(reference("Global")["sobjects"][0])


def test_object_describe_has_the_keys_of_a_real_payload(opportunity_describe):
    real = reference("Opportunity")
    assert set(opportunity_describe) == set(real)
    real_field_keys = set(real["fields"][0])
    assert all(set(f) == real_field_keys for f in opportunity_describe["fields"])
    assert set(opportunity_describe["childRelationships"][0]) == set(real["childRelationships"][0])


def test_field_metadata_matches_real_orgs_for_standard_fields(opportunity_describe):
    real = {f["name"]: f for f in reference("Opportunity")["fields"]}
    ours = {f["name"]: f for f in opportunity_describe["fields"]}
    compared = ("type", "soapType", "nillable", "custom", "length", "byteLength", "referenceTo",
                "relationshipName", "filterable", "sortable", "groupable", "updateable")
    for name in ("Id", "AccountId", "Amount", "CloseDate", "StageName", "CreatedDate", "OwnerId", "IsDeleted",
                 "SystemModstamp"):
        assert {k: ours[name][k] for k in compared} == {k: real[name][k] for k in compared}, name


def test_picklists_custom_and_compound_fields(sandbox_org, opportunity_describe):
    fields = {f["name"]: f for f in opportunity_describe["fields"]}
    assert [v["value"] for v in fields["StageName"]["picklistValues"]] == STAGE_NAMES
    assert fields["StageName"]["picklistValues"][0] == {
        "active": True, "defaultValue": False, "label": "Prospecting", "validFor": None, "value": "Prospecting"
    }
    assert fields["Competitor__c"]["custom"] is True
    account = {f["name"]: f for f in sandbox_org.client().Account.describe()["fields"]}
    assert account["BillingAddress"]["type"] == "address"
    assert account["BillingAddress"]["soapType"] == "urn:address"
    assert account["BillingCity"]["compoundFieldName"] == "BillingAddress"
    invoice = sandbox_org.client().blng__Invoice__c.describe()
    assert invoice["custom"] is True
    due = {f["name"]: f for f in invoice["fields"]}["blng__DueDate__c"]
    assert (due["type"], due["custom"], due["label"]) == ("date", True, "Due Date")


def test_history_objects_are_read_only_without_system_modstamp(sandbox_org):
    history = sandbox_org.client().OpportunityFieldHistory.describe()
    names = [f["name"] for f in history["fields"]]
    assert "SystemModstamp" not in names
    assert history["createable"] is False
    assert "StageName" in [v["value"] for v in history["fields"][names.index("Field")]["picklistValues"]]
    assert {f["name"]: f["filterable"] for f in history["fields"]}["NewValue"] is False


def test_unknown_object_is_not_found(sandbox_org):
    with pytest.raises(SalesforceResourceNotFound) as info:
        sandbox_org.client().Nope__c.describe()
    assert info.value.content == [{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}]

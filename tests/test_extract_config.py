"""Configuration of the extractor: credentials from the environment, the object list, field plans, secrets."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from l2c.extract import ConfigurationError, ObjectSpec, SalesforceCredentials, load_object_list, scrub
from l2c.extract.connection import ConnectionSettings, register_secret
from l2c.extract.fields import plan_fields, select_statement, split_fields, where_clause
from l2c.extract.settings import DEFAULT_OBJECTS_FILE

SHARED_DESCRIBE = Path(__file__).parents[1].parent / "shared" / "data" / "salesforce" / "describe"


def _method(env: dict) -> str:
    return SalesforceCredentials.from_env(env).login_method


def test_each_login_method_is_recognised(tmp_path):
    key = tmp_path / "key.pem"
    key.write_text("-----BEGIN PRIVATE KEY-----\n")
    assert _method({"SALESFORCE_USERNAME": "u", "SALESFORCE_PASSWORD": "p", "SALESFORCE_SECURITY_TOKEN": "t"}) == "password"
    assert _method({"SALESFORCE_CONSUMER_KEY": "k", "SALESFORCE_PRIVATE_KEY_FILE": str(key),
                    "SALESFORCE_USERNAME": "u"}) == "jwt"
    assert _method({"SALESFORCE_CONSUMER_KEY": "k", "SALESFORCE_CONSUMER_SECRET": "s",
                    "SALESFORCE_DOMAIN": "acme.my"}) == "client_credentials"
    assert _method({"SALESFORCE_INSTANCE_URL": "https://x", "SALESFORCE_SESSION_ID": "s"}) == "session"


def test_nothing_configured_lists_every_way_to_log_in():
    with pytest.raises(ConfigurationError) as err:
        _method({})
    message = str(err.value)
    assert message.startswith("Salesforce connection is not configured. Set one of:")
    for var in ("SALESFORCE_USERNAME", "SALESFORCE_PASSWORD", "SALESFORCE_SECURITY_TOKEN", "SALESFORCE_CONSUMER_KEY",
                "SALESFORCE_PRIVATE_KEY_FILE", "SALESFORCE_CONSUMER_SECRET", "SALESFORCE_INSTANCE_URL",
                "SALESFORCE_SESSION_ID", "SALESFORCE_DOMAIN", "SALESFORCE_CA_BUNDLE"):
        assert var in message


@pytest.mark.parametrize(("env", "missing"), [
    ({"SALESFORCE_USERNAME": "u"}, "username/password login: missing SALESFORCE_PASSWORD, SALESFORCE_SECURITY_TOKEN."),
    ({"SALESFORCE_PASSWORD": "p", "SALESFORCE_SECURITY_TOKEN": "t"},
     "username/password login: missing SALESFORCE_USERNAME."),
    ({"SALESFORCE_SESSION_ID": "s"}, "an existing session: missing SALESFORCE_INSTANCE_URL."),
    ({"SALESFORCE_INSTANCE_URL": "https://x"}, "an existing session: missing SALESFORCE_SESSION_ID."),
    ({"SALESFORCE_CONSUMER_KEY": "k", "SALESFORCE_CONSUMER_SECRET": "s"},
     "OAuth 2.0 client-credentials login: missing SALESFORCE_DOMAIN."),
])
def test_partial_configuration_names_what_is_missing(env, missing):
    with pytest.raises(ConfigurationError) as err:
        _method(env)
    assert str(err.value) == f"Salesforce connection is incomplete for {missing}"


def test_a_consumer_key_alone_says_which_second_variable_is_needed(tmp_path):
    with pytest.raises(ConfigurationError, match="neither SALESFORCE_PRIVATE_KEY_FILE .* nor SALESFORCE_CONSUMER_SECRET"):
        _method({"SALESFORCE_CONSUMER_KEY": "k"})
    with pytest.raises(ConfigurationError, match="SALESFORCE_PRIVATE_KEY_FILE points to .*not a readable file"):
        _method({"SALESFORCE_CONSUMER_KEY": "k", "SALESFORCE_PRIVATE_KEY_FILE": str(tmp_path / "nope.pem"),
                 "SALESFORCE_USERNAME": "u"})


def test_credentials_never_show_secrets():
    creds = SalesforceCredentials.from_env({"SALESFORCE_USERNAME": "ann@acme.com", "SALESFORCE_PASSWORD": "hunter2!x",
                                            "SALESFORCE_SECURITY_TOKEN": "TOKEN123456"})
    text = repr(creds) + str(creds)
    assert "hunter2!x" not in text and "TOKEN123456" not in text
    assert "username='ann@acme.com'" in text and "password='***'" in text


def test_scrub_masks_registered_secrets_and_anything_token_shaped(caplog):
    register_secret("s3cr3t-pa55")
    session = "00D5g000004ABCDEFG!AQ4AQFq.ZxyZ_abc"
    assert scrub("login with s3cr3t-pa55 failed") == "login with *** failed"
    assert scrub(f"session {session} expired") == "session *** expired"
    assert scrub("Authorization: Bearer abc.def-123") == "Authorization: Bearer ***"
    with caplog.at_level(logging.INFO, logger="l2c.extract"):
        logging.getLogger("l2c.extract").info("token %s and password %s", session, "s3cr3t-pa55")
    assert caplog.records[-1].getMessage() == "token *** and password ***"


def test_connection_settings_from_the_environment():
    settings = ConnectionSettings.from_env({"L2C_SF_MAX_RETRIES": "2", "L2C_SF_MAX_API_SHARE": "0.5"})
    assert (settings.max_retries, settings.max_api_share) == (2, 0.5)
    with pytest.raises(ConfigurationError, match="L2C_SF_MAX_RETRIES='two' is not a valid int"):
        ConnectionSettings.from_env({"L2C_SF_MAX_RETRIES": "two"})
    delays = [ConnectionSettings(backoff_seconds=1, backoff_max_seconds=5).backoff(n) for n in range(1, 6)]
    assert 0.5 <= delays[0] <= 1 and 1 <= delays[1] <= 2 and 2 <= delays[2] <= 4 and 2.5 <= delays[4] <= 5


def test_the_shipped_object_list():
    objects = load_object_list(environ={})
    assert objects.source == str(DEFAULT_OBJECTS_FILE)
    assert objects.names() == [
        "User", "UserRole", "Account", "Contact", "Lead", "LeadHistory", "OpportunityStage", "Opportunity",
        "OpportunityFieldHistory", "OpportunityHistory", "OpportunityLineItem", "Product2", "Quote", "QuoteLineItem",
        "ProcessInstance", "ProcessInstanceStep", "Contract", "ContractHistory", "Order", "OrderItem", "Task", "Event",
        "blng__Invoice__c", "blng__Payment__c", "blng__PaymentAllocationInvoice__c",
    ]
    assert (objects.settings.bulk_threshold, objects.settings.max_soql_length) == (20000, 100000)


def test_object_list_options_and_precedence(tmp_path):
    path = tmp_path / "objects.yml"
    path.write_text(
        "settings:\n  bulk_threshold: 500\n  lookback_seconds: 60\n"
        "objects:\n  - Account\n  - name: Opportunity\n    exclude_fields: [Description]\n    mode: bulk\n"
        "  - name: Quote\n    fields: [Status, Discount]\n    replication_key: LastModifiedDate\n"
    )
    objects = load_object_list(path, environ={"L2C_SF_LOOKBACK_SECONDS": "30"})
    assert objects.objects == (
        ObjectSpec("Account"),
        ObjectSpec("Opportunity", exclude_fields=("Description",), mode="bulk"),
        ObjectSpec("Quote", fields=("Status", "Discount"), replication_key="LastModifiedDate"),
    )
    assert (objects.settings.bulk_threshold, objects.settings.lookback_seconds) == (500, 30.0)
    assert objects.select(["quote", "Lead"]).names() == ["Quote", "Lead"]
    assert load_object_list(environ={"L2C_EXTRACT_OBJECTS": str(path)}).names() == ["Account", "Opportunity", "Quote"]


@pytest.mark.parametrize(("text", "message"), [
    ("objects: []\n", "must have a non-empty 'objects:' list"),
    ("objects:\n  - name: Account\n    mdoe: bulk\n", "objects[0] (Account): unknown option(s) mdoe"),
    ("objects:\n  - name: Account\n    mode: fast\n", "mode must be one of auto, rest, bulk, got 'fast'"),
    ("objects:\n  - Account\n  - account\n", "names account twice"),
    ("settings:\n  bulk_treshold: 5\nobjects:\n  - Account\n", "unknown setting 'bulk_treshold'"),
    ("settings:\n  bulk_threshold: many\nobjects:\n  - Account\n", "bulk_threshold='many' is not a valid int"),
    ("objects:\n  - [Account]\n", "must be an object name or a mapping with a 'name' key"),
])
def test_object_list_errors_name_the_problem(tmp_path, text, message):
    path = tmp_path / "objects.yml"
    path.write_text(text)
    with pytest.raises(ConfigurationError) as err:
        load_object_list(path, environ={})
    assert message in str(err.value) and str(path) in str(err.value)


def _describe(name: str) -> dict:
    if not SHARED_DESCRIBE.exists():
        pytest.skip(f"shared reference data not found at {SHARED_DESCRIBE}")
    return json.loads((SHARED_DESCRIBE / f"{name}.json").read_text())


def test_field_plan_of_a_real_account_describe():
    describe = _describe("Account")
    plan = plan_fields(describe, ObjectSpec("Account", exclude_fields=("Description",)))

    assert plan.skipped["BillingAddress"].startswith("compound address field")
    assert plan.skipped["ShippingAddress"].startswith("compound address field")
    assert plan.skipped["Description"] == "excluded in the object list"
    assert {"BillingCity", "BillingLatitude", "ShippingPostalCode", "Name"} <= set(plan.names)
    readable = [f["name"] for f in describe["fields"] if f["type"] not in ("address", "location", "base64")]
    assert plan.names == [n for n in readable if n != "Description"]
    assert plan.replication_key == "SystemModstamp"
    assert plan.key_columns == ["id", "system_modstamp", "is_deleted"]
    assert plan.fields[plan.names.index("AnnualRevenue")].duckdb_type == "DECIMAL(18,2)"


def test_field_plan_of_a_history_object_and_an_explicit_field_list():
    describe = {"name": "OpportunityFieldHistory", "fields": [
        {"name": n, "type": t} for n, t in [("Id", "id"), ("IsDeleted", "boolean"), ("OpportunityId", "reference"),
                                            ("CreatedDate", "datetime"), ("Field", "picklist"),
                                            ("OldValue", "anyType"), ("NewValue", "anyType"), ("Photo", "base64")]]}
    plan = plan_fields(describe, ObjectSpec("OpportunityFieldHistory", fields=("Field", "NewValue", "Gone__c")))

    assert plan.replication_key == "CreatedDate" and plan.key_columns == ["id"]
    assert plan.names == ["Id", "IsDeleted", "CreatedDate", "Field", "NewValue"]
    assert plan.not_visible == ["Gone__c"]
    assert plan.skipped["Photo"].startswith("base64 field")


def test_wide_objects_are_split_into_queries_under_the_limit():
    fields = [{"name": "Id", "type": "id"}, {"name": "SystemModstamp", "type": "datetime"}] + [
        {"name": f"Custom_Field_Number_{i:03d}__c", "type": "string"} for i in range(400)]
    plan = plan_fields({"name": "Wide__c", "fields": fields}, ObjectSpec("Wide__c"))
    where = where_clause("SystemModstamp", None)
    assert split_fields(plan, where, 100_000) == [plan.names]

    chunks = split_fields(plan, where, 2_000)
    assert len(chunks) > 5
    assert all(len(select_statement("Wide__c", c, where)) <= 2_000 for c in chunks)
    assert all(c[:2] == ["Id", "SystemModstamp"] for c in chunks)
    assert [n for c in chunks for n in c[2:]] == plan.names[2:]
    with pytest.raises(ConfigurationError, match="exceeds the SOQL length limit of 60"):
        split_fields(plan, where, 60)


def test_objects_without_a_timestamp_are_versioned_by_all_their_values():
    describe = {"name": "Setting__c", "fields": [{"name": "Id", "type": "id"}, {"name": "Value__c", "type": "string"}]}
    plan = plan_fields(describe, ObjectSpec("Setting__c"))
    assert plan.replication_key is None
    assert plan.key_columns == ["id", "value_c"]
    assert where_clause(plan.replication_key, None) == ""

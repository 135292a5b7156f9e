"""The demo-org generator: determinism, schema, versions, integrity and the planted behaviours.

Planted behaviours are recomputed here from the tables with code independent of
the generator's own ground-truth module, and compared with ``ground_truth``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import polars as pl
import pytest

from l2c.salesforce_schema import OBJECTS, OPPORTUNITY_STAGES, get_object
from l2c.sandbox._gen_truth import directly_follows_waits, opportunity_event_log
from l2c.sandbox.generator import DEFAULT_NOW, DemoOrg, generate_org, read_org, table_schema, write_org

N = 300


@pytest.fixture(scope="module")
def org() -> DemoOrg:
    return generate_org(N, seed=7)


def _behaviour(org: DemoOrg, name: str) -> dict:
    return org.ground_truth["behaviours"][name]


# --- determinism ------------------------------------------------------------------


def test_same_seed_gives_identical_tables_and_ground_truth(org):
    again = generate_org(N, seed=7)
    for name, table in org.tables.items():
        assert table.equals(again.tables[name]), name
    assert again.ground_truth == org.ground_truth


#: Digests of every table (as CSV text, text columns cast to String) and of the ground truth of
#: ``generate_org(300, seed=7)``, recorded before the generator's memory work (commit 72272bc):
#: changes to how tables are built or stored must not change a single value.
RECORDED_DIGESTS = {
    "UserRole": "8620efe7c6f733f0",
    "User": "2209fa7d4c80b571",
    "Account": "20d6a0572e08c950",
    "Contact": "72c23f4634ab3ed5",
    "Lead": "30a7d5b3d31a5851",
    "LeadHistory": "8f5bf413391cee0a",
    "OpportunityStage": "7c09cef20fdca297",
    "Opportunity": "0c2e1216d588e41a",
    "OpportunityFieldHistory": "e77f20f32ce60e51",
    "OpportunityHistory": "cdcb8c17c7193346",
    "Product2": "bc749540c385b6cb",
    "OpportunityLineItem": "b88a2c3c2e2da9be",
    "Quote": "ad8817f8f47fbf07",
    "QuoteLineItem": "57ff2df6a6cc214b",
    "ProcessInstance": "ade3362f58a4f2b6",
    "ProcessInstanceStep": "2e38d5950f3829bc",
    "Contract": "9ca03772e3126962",
    "ContractHistory": "e667ca51ef58334f",
    "Order": "5f3b0346f786bf34",
    "OrderItem": "1aa6121b1ba0cd33",
    "Task": "b441485c17cdfd03",
    "Event": "dccccdf6514045cf",
    "blng__Invoice__c": "5ddc4dac556548c4",
    "blng__Payment__c": "cff7cdd7d8ffc017",
    "blng__PaymentAllocationInvoice__c": "8e862e13354affd7",
    "ground_truth": "86101acb8f0b07d5",
}
#: The same, over all tables of ``generate_org(50, seed=1)`` at once.
RECORDED_TINY_DIGEST = "21ad7a3c612aef09"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _table_digest(table: pl.DataFrame) -> str:
    """Digest of a table's values: column names and every cell as CSV text, whatever the text dtype."""
    return _digest(table.with_columns(pl.col(pl.Categorical, pl.Enum).cast(pl.String)).write_csv())


def test_values_are_those_recorded_before_the_memory_work(org):
    digests = {name: _table_digest(table) for name, table in org.tables.items()}
    digests["ground_truth"] = _digest(json.dumps(org.ground_truth))  # key order included
    changed = sorted(name for name, digest in digests.items() if RECORDED_DIGESTS.get(name) != digest)
    assert not changed, f"generated values changed in {changed}"
    tiny = generate_org(50, seed=1)
    assert _digest("".join(_table_digest(t) for t in tiny.tables.values())) == RECORDED_TINY_DIGEST


def test_different_seed_gives_a_different_org(org):
    other = generate_org(N, seed=8)
    assert not other.tables["Opportunity"].equals(org.tables["Opportunity"])
    assert not other.tables["Quote"].equals(org.tables["Quote"])


# --- shape ------------------------------------------------------------------------


def test_every_schema_object_has_a_table_with_api_field_columns_and_dtypes(org):
    assert list(org.tables) == [o.name for o in OBJECTS]
    for obj in OBJECTS:
        table = org.tables[obj.name]
        assert dict(table.schema) == table_schema(obj.name), obj.name
        compound = {f.name for f in obj.fields if f.is_compound}
        assert not compound & set(table.columns)
        assert table.height > 0, obj.name
    assert org.tables["Opportunity"].schema["Amount"] == pl.Float64
    assert org.tables["blng__Invoice__c"].schema["blng__DueDate__c"] == pl.Date
    assert org.tables["Opportunity"].schema["IsWon"] == pl.Boolean
    assert org.tables["OpportunityStage"].schema["SortOrder"] == pl.Int64
    assert org.tables["Lead"].schema["ConvertedDate"] == pl.Date
    assert org.now == DEFAULT_NOW


def test_text_columns_are_compact_where_values_repeat(org):
    opportunity = org.tables["Opportunity"].schema
    assert opportunity["StageName"] == pl.Enum([s[0] for s in OPPORTUNITY_STAGES])  # picklist order
    assert opportunity["Id"] == opportunity["AccountId"] == opportunity["OwnerId"] == pl.Categorical
    assert opportunity["Name"] == opportunity["ContractId"] == pl.String
    history = org.tables["OpportunityFieldHistory"].schema
    assert history["Id"] == pl.String and history["NewValue"] == history["Field"] == pl.Categorical
    assert org.tables["Lead"].schema["City"] == pl.Categorical and org.tables["Lead"].schema["Email"] == pl.String
    assert org.snapshot("Opportunity").filter(pl.col("StageName") == "Closed Won").height > 0


def test_references_have_the_dtype_of_the_ids_they_point_to(org):
    """So that joining a reference with its target's Id needs no cast."""
    for name, field, targets in _reference_checks():
        dtype = org.tables[name].schema[field]
        assert all(org.tables[t].schema["Id"] == dtype for t in targets), f"{name}.{field}"


def test_versions_carry_their_validity_in_system_modstamp_and_last_modified_date(org):
    for obj in OBJECTS:
        table = org.tables[obj.name]
        if obj.is_history:
            assert (table["_valid_from"] == table["CreatedDate"]).all(), obj.name
            assert table["Id"].n_unique() == table.height, obj.name
            continue
        if "SystemModstamp" in table.columns:
            assert (table["SystemModstamp"] == table["_valid_from"]).all(), obj.name
        if "LastModifiedDate" in table.columns:
            assert (table["LastModifiedDate"] == table["_valid_from"]).all(), obj.name
        # one version per record and instant; the first version is the creation
        assert table.select(pl.struct("Id", "_valid_from").n_unique()).item() == table.height, obj.name
        if "CreatedDate" in table.columns:
            first = table.group_by("Id").agg(pl.col("_valid_from").min(), pl.col("CreatedDate").first())
            assert (first["_valid_from"] == first["CreatedDate"]).all(), obj.name


def test_snapshot_at_now_has_one_row_per_visible_record(org):
    for obj in OBJECTS:
        table = org.tables[obj.name]
        snap = org.snapshot(obj.name)
        visible_ids = table.filter(pl.col("_valid_from") <= org.now)["Id"].n_unique()
        assert snap.height == visible_ids, obj.name
        assert snap["Id"].n_unique() == snap.height, obj.name
        assert (snap["_valid_from"] <= org.now).all()


def test_snapshot_shows_the_latest_version_and_hides_future_records(org):
    opps = org.tables["Opportunity"]
    later = org.now + dt.timedelta(days=45)
    at_now, at_later = org.snapshot("Opportunity"), org.snapshot("Opportunity", at=later)
    assert at_later.height > at_now.height  # new opportunities appear as the clock advances
    changed = at_now.join(at_later, on="Id", suffix="_later").filter(
        pl.col("SystemModstamp") != pl.col("SystemModstamp_later"))
    assert changed.height > 0  # and open ones progress
    latest = opps.filter(pl.col("_valid_from") <= org.now).group_by("Id").agg(pl.col("_valid_from").max())
    assert at_now.select("Id", "_valid_from").sort("Id").equals(latest.sort("Id"))
    assert (opps["_valid_from"] > org.now).any()
    assert opps["_valid_from"].max() <= org.now + dt.timedelta(days=90)


def test_deleted_records_are_versions_with_is_deleted(org):
    deleted = org.snapshot("Task").filter(pl.col("IsDeleted"))
    hidden = org.snapshot("Task", include_deleted=False)
    assert hidden.height == org.snapshot("Task").height - deleted.height
    assert not hidden["IsDeleted"].any()


def test_opportunity_stage_metadata_matches_the_picklist(org):
    stages = org.tables["OpportunityStage"].sort("SortOrder")
    assert stages["ApiName"].to_list() == [s[0] for s in OPPORTUNITY_STAGES]
    assert stages.filter(pl.col("IsWon"))["ApiName"].to_list() == ["Closed Won"]
    assert sorted(stages.filter(pl.col("IsClosed"))["ApiName"].to_list()) == ["Closed Lost", "Closed Won"]


def test_users_have_a_role_hierarchy_team_and_region(org):
    users = org.snapshot("User")
    roles = org.snapshot("UserRole")
    reps = users.filter(pl.col("Title") == "Account Executive")
    assert reps.height >= 6
    assert reps["Region__c"].null_count() == 0 and reps["Department"].null_count() == 0
    assert reps["ManagerId"].is_in(users.filter(pl.col("Title") == "Sales Manager")["Id"].implode()).all()
    rep_roles = roles.filter(pl.col("Id").is_in(reps["UserRoleId"].implode()))
    manager_roles = roles.filter(pl.col("Id").is_in(rep_roles["ParentRoleId"].implode()))
    assert manager_roles["Name"].str.starts_with("Sales Manager").all()


# --- references -------------------------------------------------------------------


def _reference_checks() -> list[tuple[str, str, tuple[str, ...]]]:
    names = {o.name for o in OBJECTS}
    return [(o.name, f.name, f.reference_to) for o in OBJECTS for f in o.fields
            if f.type == "reference" and set(f.reference_to) <= names]


def test_every_reference_resolves_to_a_record_existing_at_that_time(org):
    """A version's references point to records whose first version is not later than it."""
    created = pl.concat([
        t.group_by(pl.col("Id").cast(pl.String)).agg(pl.col("_valid_from").min().alias("target_from"))
        for t in org.tables.values()
    ])
    for name, field, _targets in _reference_checks():
        refs = org.tables[name].select("_valid_from", pl.col(field).cast(pl.String).alias("ref")).drop_nulls("ref")
        resolved = refs.join(created, left_on="ref", right_on="Id", how="left")
        dangling = resolved.filter(pl.col("target_from").is_null())
        assert dangling.height == 0, f"{name}.{field}: {dangling['ref'].head(3).to_list()} do not exist"
        too_early = resolved.filter(pl.col("target_from") > pl.col("_valid_from"))
        assert too_early.height == 0, f"{name}.{field} refers to records created later"


def test_references_point_to_objects_of_the_declared_type(org):
    prefix = {get_object(o.name).key_prefix: o.name for o in OBJECTS if not o.is_history}
    for name, field, targets in _reference_checks():
        values = org.tables[name][field].drop_nulls().cast(pl.String).str.slice(0, 3).unique().to_list()
        assert {prefix[v] for v in values} <= set(targets), f"{name}.{field}"


# --- process content --------------------------------------------------------------


def test_won_lost_and_open_opportunities_exist_at_now(org):
    snap = org.snapshot("Opportunity")
    counts = org.ground_truth["counts"]
    won = snap.filter(pl.col("IsWon")).height
    lost = snap.filter(pl.col("IsClosed") & ~pl.col("IsWon")).height
    assert won > 0 and lost > 0 and snap.height - won - lost > 0
    assert (counts["won"], counts["lost"], counts["open"]) == (won, lost, snap.height - won - lost)


def test_field_history_mirrors_the_opportunity_versions(org):
    opps, ofh = org.tables["Opportunity"], org.tables["OpportunityFieldHistory"]
    stage_changes = opps.filter(
        (pl.col("Id") == pl.col("Id").shift(1)) & (pl.col("StageName") != pl.col("StageName").shift(1)))
    stage_rows = ofh.filter(pl.col("Field") == "StageName")
    assert stage_rows.height == stage_changes.height
    assert ofh.filter(pl.col("Field") == "created").height == opps["Id"].n_unique()
    assert ofh.filter(pl.col("Field") == "created")["NewValue"].null_count() == opps["Id"].n_unique()
    assert set(ofh["Field"].unique()) == {"created", "StageName", "Amount", "CloseDate", "Owner"}
    data_types = dict(ofh.filter(pl.col("Field") != "created").select("Field", "DataType").unique().iter_rows())
    assert data_types == {"StageName": "Picklist", "Amount": "Currency", "CloseDate": "Date", "Owner": "EntityId"}
    owners = ofh.filter(pl.col("Field") == "Owner")
    values = owners.select(pl.col("NewValue", "OldValue").cast(pl.String))
    assert values["NewValue"].str.starts_with("005").all() and values["OldValue"].str.starts_with("005").all()
    # one OpportunityHistory snapshot per version changing stage, amount, close date or probability
    assert org.tables["OpportunityHistory"].height >= stage_changes.height + opps["Id"].n_unique()


def test_converted_leads_link_account_contact_and_opportunity(org):
    leads = org.snapshot("Lead")
    converted = leads.filter(pl.col("IsConverted"))
    assert 0 < converted.height < leads.height / 2  # most leads are not converted
    assert converted.select("ConvertedDate", "ConvertedAccountId", "ConvertedContactId",
                            "ConvertedOpportunityId").null_count().sum_horizontal().item() == 0
    assert (converted["Status"] == "Closed - Converted").all()
    history = org.snapshot("LeadHistory")
    marks = history.filter(pl.col("Field") == "leadConverted")
    assert sorted(marks["LeadId"].to_list()) == sorted(converted["Id"].to_list())
    assert history.filter(pl.col("Field") == "Status").height > converted.height


def test_quotes_follow_the_status_progression(org):
    allowed = {
        ("Draft", "Needs Review"), ("Needs Review", "In Review"), ("In Review", "Approved"),
        ("In Review", "Rejected"), ("Approved", "Presented"), ("Draft", "Presented"),
        ("Presented", "Accepted"), ("Presented", "Denied"),
    }
    quotes = org.tables["Quote"]
    steps = quotes.select(
        pl.col("Status").shift(1).alias("from"), pl.col("Status").alias("to"),
        (pl.col("Id") == pl.col("Id").shift(1)).alias("same")).filter("same")
    assert set(steps.select("from", "to").unique().iter_rows()) <= allowed
    first = quotes.group_by("Id").agg(pl.col("Status").first())
    assert (first["Status"] == "Draft").all()


def test_approvals_target_quotes_above_the_discount_policy(org):
    quotes = org.snapshot("Quote").select(pl.col("Id").alias("TargetObjectId"), "Discount")
    pi = org.snapshot("ProcessInstance").join(quotes, on="TargetObjectId")
    assert pi.height == org.snapshot("ProcessInstance").height
    assert (pi["Discount"] > 20).all()
    steps = org.snapshot("ProcessInstanceStep")
    assert set(steps["ProcessInstanceId"]) <= set(pi["Id"])


def test_contracts_orders_invoices_and_payments_chain_up(org):
    contracts = org.snapshot("Contract")
    activated = contracts.filter(pl.col("Status") == "Activated")
    assert activated.select("ActivatedDate", "CustomerSignedDate").null_count().sum_horizontal().item() == 0
    assert org.snapshot("ContractHistory").filter(pl.col("Field") == "Status").height >= 2 * activated.height
    won = org.snapshot("Opportunity").filter(pl.col("IsWon"))
    assert won["ContractId"].null_count() == 0
    orders = org.snapshot("Order")
    assert orders["OpportunityId"].is_in(won["Id"].implode()).all()
    invoices = org.snapshot("blng__Invoice__c")
    assert ((invoices["blng__DueDate__c"] - invoices["blng__InvoiceDate__c"]).dt.total_days() == 30).all()
    paid = invoices.filter(pl.col("blng__PaymentStatus__c") == "Paid")
    assert (paid["blng__Balance__c"] == 0).all()
    assert org.snapshot("blng__PaymentAllocationInvoice__c").height == paid.height


def test_activity_happens_in_office_hours_on_weekdays(org):
    users = org.snapshot("User").select(pl.col("Id").alias("CreatedById"), "TimeZoneSidKey")
    created = org.snapshot("Opportunity").join(users, on="CreatedById")
    for tz, group in created.group_by("TimeZoneSidKey"):
        local = group["CreatedDate"].dt.convert_time_zone(tz[0])
        assert (local.dt.weekday() <= 5).all(), tz
        assert local.dt.hour().is_between(9, 17).all(), tz


def test_the_timeline_spans_about_three_years(org):
    first = org.tables["Opportunity"]["CreatedDate"].min()
    assert org.now - first > dt.timedelta(days=2 * 365)


# --- planted behaviours -------------------------------------------------------------


def test_bottleneck_dominates_waiting_time(org):
    truth = _behaviour(org, "bottleneck")
    waits = directly_follows_waits(opportunity_event_log(org))
    top = waits.row(0, named=True)
    assert (top["from_activity"], top["to_activity"]) == ("Stage: Proposal/Price Quote", "Quote Created")
    assert truth["measured"]["rank_by_total_wait"] == 1
    assert truth["measured"]["transitions"] == top["transitions"]
    # independent check: each quote waits long after its opportunity last entered Proposal/Price Quote
    proposal = org.snapshot("OpportunityFieldHistory").filter(
        (pl.col("Field") == "StageName") & (pl.col("NewValue") == "Proposal/Price Quote")).select(
        "OpportunityId", entered="CreatedDate").sort("entered")
    quotes = org.snapshot("Quote").select("OpportunityId", "CreatedDate").sort("CreatedDate")
    waits = quotes.join_asof(proposal, left_on="CreatedDate", right_on="entered", by="OpportunityId",
                             check_sortedness=False)
    mean_days = ((waits["CreatedDate"] - waits["entered"]).dt.total_seconds() / 86400).mean()
    assert mean_days > 40
    assert mean_days == pytest.approx(truth["measured"]["mean_wait_days"], rel=0.1)


def test_slow_rep_takes_about_twice_as_long(org):
    truth = _behaviour(org, "slow_rep")
    won = org.snapshot("Opportunity").filter(pl.col("IsWon"))
    won_at = org.snapshot("OpportunityFieldHistory").filter(
        (pl.col("Field") == "StageName") & (pl.col("NewValue") == "Closed Won")).select(
        "OpportunityId", won_at="CreatedDate")
    cycles = won.join(won_at, left_on="Id", right_on="OpportunityId").with_columns(
        days=(pl.col("won_at") - pl.col("CreatedDate")).dt.total_seconds() / 86400)
    rep = cycles.filter(pl.col("OwnerId") == truth["user_id"])
    others = cycles.filter(pl.col("OwnerId") != truth["user_id"])
    assert rep.height == truth["measured"]["won_opportunities"] > 0
    assert rep["days"].mean() == pytest.approx(truth["measured"]["mean_won_cycle_days"], abs=1e-3)
    assert rep["days"].mean() / others["days"].mean() > 1.5
    assert truth["measured"]["slowest_rep_by_mean_won_cycle"] == truth["user_id"]
    assert org.snapshot("User").filter(pl.col("Id") == truth["user_id"])["Name"][0] == truth["name"]


def test_one_region_approves_contracts_slowly(org):
    truth = _behaviour(org, "slow_contract_approval_region")
    history = org.snapshot("ContractHistory").filter(pl.col("Field") == "Status")
    activated = history.filter(pl.col("NewValue") == "Activated").select("ContractId", activated="CreatedDate")
    contracts = org.snapshot("Contract").join(activated, left_on="Id", right_on="ContractId").join(
        org.snapshot("Account").select(pl.col("Id").alias("AccountId"), "Region__c"), on="AccountId")
    per_region = contracts.group_by("Region__c").agg(
        ((pl.col("activated") - pl.col("CreatedDate")).dt.total_seconds() / 86400).mean().alias("days"))
    days = dict(per_region.iter_rows())
    slow = truth["region"]
    assert days[slow] == pytest.approx(truth["measured"]["mean_days"], abs=1e-3)
    assert all(days[slow] > 2 * d for r, d in days.items() if r != slow)


def test_discounts_above_policy_without_approval_match_the_ground_truth(org):
    truth = _behaviour(org, "discount_above_policy_without_approval")
    won = org.snapshot("Opportunity").filter(pl.col("IsWon"))["Id"]
    accepted = org.snapshot("Quote").filter((pl.col("Status") == "Accepted") & pl.col("OpportunityId").is_in(
        won.implode()))
    approved_targets = org.snapshot("ProcessInstance")["TargetObjectId"]
    skipped = accepted.filter((pl.col("Discount") > 20) & ~pl.col("Id").is_in(approved_targets.implode()))
    assert skipped.height > 0
    assert sorted(skipped["OpportunityId"].to_list()) == truth["opportunity_ids"]
    assert truth["measured"]["share_of_won"] == round(skipped.height / won.len(), 4)


def test_rework_loops_are_present_and_counted(org):
    rework = _behaviour(org, "rework")
    back = org.snapshot("OpportunityFieldHistory").filter(
        (pl.col("Field") == "StageName") & (pl.col("OldValue") == "Negotiation/Review")
        & (pl.col("NewValue") == "Proposal/Price Quote"))
    assert back.height > 0
    assert sorted(back["OpportunityId"].unique().to_list()) == rework["stage_backwards"]["opportunity_ids"]
    two_quotes = org.snapshot("Quote").group_by("OpportunityId").len().filter(pl.col("len") >= 2)
    assert two_quotes.height == rework["quote_reissued"]["measured"]["opportunities"] > 0
    orders = org.tables["Order"].filter(pl.col("_valid_from") <= org.now)
    amended = orders.filter((pl.col("Id") == pl.col("Id").shift(1)) & (pl.col("Status").shift(1) == "Activated")
                            & (pl.col("TotalAmount") != pl.col("TotalAmount").shift(1)))
    assert sorted(amended["Id"].to_list()) == rework["order_reworked"]["order_ids"]


def _paid_invoices(org: DemoOrg) -> pl.DataFrame:
    invoices = org.snapshot("blng__Invoice__c")
    payments = org.snapshot("blng__PaymentAllocationInvoice__c").join(
        org.snapshot("blng__Payment__c").select(pl.col("Id").alias("blng__Payment__c"), "blng__PaymentDate__c"),
        on="blng__Payment__c")
    return invoices.join(payments, left_on="Id", right_on="blng__Invoice__c").join(
        org.snapshot("Account").select(pl.col("Id").alias("blng__Account__c"), "Customer_Segment__c"),
        on="blng__Account__c").with_columns(
        days_late=(pl.col("blng__PaymentDate__c") - pl.col("blng__DueDate__c")).dt.total_days())


def test_public_sector_pays_late(org):
    truth = _behaviour(org, "late_paying_segment")
    paid = _paid_invoices(org)
    late = dict(paid.group_by("Customer_Segment__c").agg(pl.col("days_late").mean()).iter_rows())
    assert late["Public Sector"] == pytest.approx(truth["measured"]["mean_days_late"], abs=1e-3)
    assert all(late["Public Sector"] > d + 20 for s, d in late.items() if s != "Public Sector")


def test_higher_discounts_pay_later(org):
    truth = _behaviour(org, "discount_effects")
    paid = _paid_invoices(org).join(
        org.snapshot("Order").select(pl.col("Id").alias("blng__Order__c"), "OpportunityId"), on="blng__Order__c"
    ).join(org.snapshot("Quote").filter(pl.col("Status") == "Accepted").select("OpportunityId", "Discount"),
           on="OpportunityId")
    corr = paid.select(pl.corr("Discount", "days_late")).item()
    assert corr > 0.1
    assert corr == pytest.approx(truth["measured"]["corr_discount_days_late"], abs=1e-3)


def test_some_deals_are_won_without_an_accepted_quote(org):
    truth = _behaviour(org, "won_without_accepted_quote")
    won = org.snapshot("Opportunity").filter(pl.col("IsWon"))
    accepted = org.snapshot("Quote").filter(pl.col("Status") == "Accepted")["OpportunityId"]
    without = won.filter(~pl.col("Id").is_in(accepted.implode()))
    assert without.height > 0
    assert sorted(without["Id"].to_list()) == truth["opportunity_ids"]


def test_more_deals_close_at_quarter_end(org):
    truth = _behaviour(org, "quarter_end_push")
    won = org.snapshot("Opportunity").filter(pl.col("IsWon"))
    quarter_end = pl.col("CloseDate").dt.month_end().dt.offset_by(
        pl.format("{}mo", (3 - pl.col("CloseDate").dt.month() % 3) % 3)).dt.month_end()
    late = won.filter((quarter_end - pl.col("CloseDate")).dt.total_days() < 14)
    assert late.height == truth["measured"]["closed_in_last_14_days_of_quarter"]
    assert late.height / won.height > 0.3


# --- sizes, persistence, errors -------------------------------------------------------


def test_a_tiny_org_still_has_every_object_and_outcome():
    tiny = generate_org(50, seed=1)
    assert all(t.height > 0 for t in tiny.tables.values())
    assert tiny.tables["Opportunity"]["Id"].n_unique() == 50
    stages = set(tiny.snapshot("Opportunity")["StageName"])
    assert {"Closed Won", "Closed Lost"} <= stages
    json.dumps(tiny.ground_truth)


def test_write_and_read_round_trip(org, tmp_path):
    write_org(org, tmp_path / "org")
    assert json.loads((tmp_path / "org" / "ground_truth.json").read_text()) == org.ground_truth
    back = read_org(tmp_path / "org")
    assert (back.seed, back.n_opportunities, back.now) == (org.seed, org.n_opportunities, org.now)
    for name, table in org.tables.items():
        assert back.tables[name].equals(table), name


def test_bad_input_is_rejected_with_a_clear_message(tmp_path):
    with pytest.raises(ValueError, match="n_opportunities"):
        generate_org(0)
    with pytest.raises(ValueError, match="timezone-aware"):
        generate_org(50, now=dt.datetime(2026, 1, 1))
    with pytest.raises(FileNotFoundError, match="org.json"):
        read_org(tmp_path)
    with pytest.raises(KeyError, match="NoSuchObject"):
        generate_org(50).snapshot("NoSuchObject")

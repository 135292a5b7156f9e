"""The sandbox org serves the generator's compact text dtypes (Enum, Categorical) as if they were text.

The server keeps picklists as ``pl.Enum`` and low-cardinality ids and text as
``pl.Categorical`` (a third of the memory of ``pl.String`` at 1M
opportunities). Over HTTPS, through simple-salesforce, it must answer exactly
as the same org with every text column cast to ``pl.String``: ``ORDER BY``
sorts the text (not an Enum's declared order, not a Categorical's codes),
``LIKE``, comparisons and ``IN`` see the text.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from l2c.sandbox import _srv_state
from l2c.sandbox._srv_state import OrgState, text_as_string
from l2c.sandbox.generator import DemoOrg, generate_org
from l2c.sandbox.server import SandboxOrg

N_OPPORTUNITIES, SEED = 60, 3

QUERIES = [
    "SELECT Id, Name, StageName FROM Opportunity ORDER BY StageName, Id",
    "SELECT Id, StageName FROM Opportunity ORDER BY StageName DESC NULLS LAST, Name, Id",
    "SELECT Id, StageName, Amount FROM Opportunity WHERE StageName LIKE 'closed%' ORDER BY Id",
    "SELECT Id, OwnerId FROM Opportunity WHERE StageName IN ('closed won', 'NEGOTIATION/REVIEW') "
    "ORDER BY OwnerId DESC, Id",
    "SELECT Id, AccountId, Type FROM Opportunity WHERE Type != 'new customer' ORDER BY Type, AccountId, Id",
    "SELECT Id, Industry, BillingCity FROM Account WHERE Industry != 'Technology' ORDER BY BillingCity, Industry DESC, Id",
    "SELECT Id, LastName, Status FROM Lead WHERE LastName LIKE '%e%' AND Status > 'closed' ORDER BY LastName, Id",
    "SELECT Id, Field, OldValue, NewValue, OpportunityId FROM OpportunityFieldHistory WHERE Field = 'StageName' "
    "AND OpportunityId > '006' ORDER BY OpportunityId DESC, CreatedDate, Id",
]


@pytest.fixture(scope="module")
def twins():
    """The same org served twice: from the generator's tables, and with every text column as pl.String."""
    compact = generate_org(N_OPPORTUNITIES, seed=SEED)
    as_text = DemoOrg(seed=compact.seed, n_opportunities=compact.n_opportunities, now=compact.now,
                      tables={name: text_as_string(table) for name, table in compact.tables.items()})
    with SandboxOrg(org=compact) as served_compact, SandboxOrg(org=as_text) as served_text:
        yield served_compact, served_text


def _records(org: SandboxOrg, soql: str) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "attributes"} for r in org.client().query_all(soql)["records"]]


def test_the_server_keeps_enum_and_categorical_columns():
    org = generate_org(N_OPPORTUNITIES, seed=SEED)
    served = OrgState(org.tables, org.now).versions("Opportunity")
    assert isinstance(served.schema["StageName"], pl.Enum)
    assert served.schema["Id"] == pl.Categorical
    assert served.schema["Name"] == pl.String
    # the generator's columns are served as they are, not copied
    assert served["StageName"].equals(org.tables["Opportunity"]["StageName"])


def test_the_public_snapshot_shows_text_as_strings(twins):
    compact, as_text = twins
    snapshot = compact.snapshot("Opportunity")
    assert snapshot.schema["StageName"] == pl.String
    assert snapshot.schema["Id"] == pl.String
    assert snapshot.equals(as_text.snapshot("Opportunity"))
    assert compact.versions("Lead").equals(as_text.versions("Lead"))


@pytest.mark.parametrize("soql", QUERIES)
def test_rest_answers_are_the_same_as_over_string_columns(twins, soql):
    compact, as_text = twins
    got = _records(compact, soql)
    assert got, f"the query selects nothing, so it checks nothing: {soql}"
    assert got == _records(as_text, soql)


def test_bulk_results_are_the_same_as_over_string_columns(twins, tmp_path):
    compact, as_text = twins
    soql = QUERIES[1]
    pages = [
        org.client().bulk2.Opportunity.download(soql, path=str(tmp_path), wait=0.01)
        for org in (compact, as_text)
    ]
    files = [open(p[0]["file"], "rb").read() for p in pages]  # noqa: SIM115 - small files, read once
    assert files[0] == files[1]
    assert files[0].startswith(b'"Id","StageName"\n')


def test_order_by_a_picklist_sorts_its_text_not_its_declared_order(twins):
    compact, _ = twins
    stages = [r["StageName"] for r in _records(compact, "SELECT Id, StageName FROM Opportunity ORDER BY StageName")]
    in_order = list(dict.fromkeys(stages))
    assert in_order == ["Closed Lost", "Closed Won", "Negotiation/Review", "Proposal/Price Quote", "Qualification"]
    # the served Enum declares them in the sales process's order, which ORDER BY must not follow
    declared = compact.api.state.versions("Opportunity").schema["StageName"].categories.to_list()
    assert [s for s in declared if s in in_order] == [
        "Qualification", "Proposal/Price Quote", "Negotiation/Review", "Closed Won", "Closed Lost"]


def test_order_by_a_categorical_sorts_its_text(twins):
    compact, _ = twins
    names = [r["LastName"] for r in _records(compact, "SELECT LastName FROM Lead ORDER BY LastName DESC")]
    assert len(names) > 50
    assert names == sorted(names, reverse=True)
    # first appearance (a Categorical's code order) is not the text order here
    seen = list(dict.fromkeys(compact.versions("Lead")["LastName"].drop_nulls()))
    assert seen != sorted(seen)


def test_like_on_a_picklist_matches_its_text(twins):
    compact, as_text = twins
    closed = _records(compact, "SELECT Id, StageName FROM Opportunity WHERE StageName LIKE '%LOS%'")
    expected = as_text.snapshot("Opportunity").filter(pl.col("StageName").str.starts_with("Closed"))
    assert sorted(r["Id"] for r in closed) == sorted(expected["Id"])
    assert {r["StageName"] for r in closed} == {"Closed Won", "Closed Lost"}


def test_categorical_ids_out_of_text_order_are_sorted_as_text():
    # Categorical codes follow first appearance: these ids enter the string cache as C, A, B.
    ids = ["001T5T0000000C0AAA", "001T5T0000000A0AAA", "001T5T0000000B0AAA"]
    t0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    accounts = pl.DataFrame({
        "Id": pl.Series(ids + ids, dtype=pl.Categorical),
        "Name": ["C v1", "A v1", "B v1", "C v2", "A v2", "B v2"],
        "_valid_from": [t0, t0, t0, t0 + dt.timedelta(days=2), t0 + dt.timedelta(days=2), t0 + dt.timedelta(days=9)],
    }).with_columns(pl.col("_valid_from").dt.cast_time_unit("us"))
    state = OrgState({"Account": accounts}, now=t0 + dt.timedelta(days=3))
    assert state.snapshot("Account")["Name"].to_list() == ["A v2", "B v1", "C v2"]
    versions = state.versions("Account")
    assert versions["Id"].cast(pl.String).to_list() == sorted(ids + ids)
    assert versions["Name"].to_list() == ["A v1", "A v2", "B v1", "B v2", "C v1", "C v2"]


def test_the_snapshot_cache_is_bounded_in_bytes(monkeypatch):
    org = generate_org(N_OPPORTUNITIES, seed=SEED)
    state = OrgState(org.tables, org.now)
    monkeypatch.setattr(_srv_state, "_SNAPSHOT_CACHE_BYTES", 1)
    first = state.snapshot("Opportunity")
    state.snapshot("Lead")
    state.snapshot("Account")
    assert list(state._cache) == [("Account", state.clock, 0, None, False)]  # only the newest is kept
    assert state.snapshot("Opportunity").equals(first)

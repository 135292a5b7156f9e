"""The sandbox org's SOQL subset: parsing, Salesforce semantics and Salesforce's error messages."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from l2c.sandbox.soql import SoqlError, like_regex, parse_datetime_literal, parse_soql

UTC = dt.UTC
NOW = dt.datetime(2024, 1, 6, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def opportunities() -> pl.DataFrame:
    return pl.DataFrame({
        "Id": ["006A", "006B", "006C", "006D"],
        "Name": ["Acme deal", "beta", None, "100% Gamma_x"],
        "Amount": [100.0, None, 50.0, 2000.0],
        "StageName": ["Prospecting", "Closed Won", "Closed Lost", "Prospecting"],
        "IsDeleted": [False, False, True, False],
        "CloseDate": [dt.date(2024, 1, 1), dt.date(2024, 2, 1), None, dt.date(2023, 5, 5)],
        "CreatedDate": [
            dt.datetime(2024, 1, 5, 10, 0, tzinfo=UTC), dt.datetime(2024, 1, 5, 11, 0, tzinfo=UTC),
            dt.datetime(2024, 1, 6, 0, 0, tzinfo=UTC), dt.datetime(2023, 1, 1, 0, 0, tzinfo=UTC),
        ],
        "FiscalYear": [2024, 2024, None, 2023],
    }).with_columns(pl.col("CreatedDate").dt.cast_time_unit("us"))


def ids(soql: str, frame: pl.DataFrame) -> list[str]:
    return parse_soql(soql, now=NOW).run(frame).get_column("Id").to_list()


@pytest.mark.parametrize(("where", "expected"), [
    ("Name = 'ACME DEAL'", ["006A"]),  # text comparison is case-insensitive
    ("Name != 'beta'", ["006A", "006C", "006D"]),  # != keeps records where the field is null
    ("Name = null", ["006C"]),
    ("Name != null", ["006A", "006B", "006D"]),
    ("Amount > 60 OR Amount = null", ["006A", "006B", "006D"]),
    ("(Amount > 60 AND Name LIKE 'a%') OR Amount = null", ["006A", "006B"]),
    ("NOT (Amount > 60)", ["006B", "006C"]),
    ("Amount >= 100 AND Amount <= 2000", ["006A", "006D"]),
    ("Amount <> 100", ["006B", "006C", "006D"]),
    ("StageName IN ('prospecting', 'Closed Lost')", ["006A", "006C", "006D"]),
    ("StageName NOT IN ('prospecting')", ["006B", "006C"]),
    ("FiscalYear IN (2023, 2025)", ["006D"]),
    ("FiscalYear NOT IN (2023)", ["006A", "006B", "006C"]),
    ("Name LIKE '%a%'", ["006A", "006B", "006D"]),
    ("Name LIKE '100\\% g%'", ["006D"]),  # \% is a literal percent sign
    ("Name LIKE '%\\_x'", ["006D"]),
    ("Name LIKE 'bet_'", ["006B"]),
    ("IsDeleted = TRUE", ["006C"]),
    ("IsDeleted = false", ["006A", "006B", "006D"]),
    ("CloseDate < 2024-01-02", ["006A", "006D"]),
    ("CreatedDate >= 2024-01-05T11:00:00Z", ["006B", "006C"]),
    ("CreatedDate >= 2024-01-05T11:00:00.000+0000", ["006B", "006C"]),
    ("CreatedDate >= 2024-01-05T12:00:00+01:00", ["006B", "006C"]),
    ("CreatedDate > 2024-01-05T10:00:00.000Z", ["006B", "006C"]),
    ("CreatedDate = TODAY", ["006C"]),
    ("CreatedDate = YESTERDAY", ["006A", "006B"]),
    ("CreatedDate = LAST_N_DAYS:1", ["006A", "006B", "006C"]),
    ("CreatedDate < YESTERDAY", ["006D"]),
    ("CloseDate = NEXT_N_DAYS:30", ["006B"]),
])
def test_where_clauses_follow_salesforce_semantics(opportunities, where, expected):
    assert ids(f"SELECT Id FROM Opportunity WHERE {where}", opportunities) == expected


def test_order_by_puts_nulls_first_by_default_and_supports_several_keys(opportunities):
    assert ids("SELECT Id FROM Opportunity ORDER BY Amount", opportunities) == ["006B", "006C", "006A", "006D"]
    assert ids("SELECT Id FROM Opportunity ORDER BY Amount DESC NULLS LAST", opportunities) == [
        "006D", "006A", "006C", "006B"
    ]
    assert ids("SELECT Id FROM Opportunity ORDER BY StageName DESC, Amount ASC NULLS LAST", opportunities) == [
        "006A", "006D", "006B", "006C"
    ]


def test_limit_offset_and_case_insensitive_names(opportunities):
    query = parse_soql("select id, AMOUNT from opportunity order by amount desc nulls last limit 2 offset 1")
    assert query.object_name == "Opportunity"
    assert query.field_names == ["Id", "Amount"]
    assert query.run(opportunities).rows() == [("006A", 100.0), ("006C", 50.0)]


def test_object_prefixed_fields_and_count(opportunities):
    assert ids("SELECT Opportunity.Id FROM Opportunity WHERE Opportunity.IsDeleted = true", opportunities) == ["006C"]
    count = parse_soql("SELECT COUNT() FROM Opportunity WHERE StageName = 'Prospecting'")
    assert count.is_count
    assert count.filter(opportunities).height == 2


def test_compound_address_is_selected_as_an_object():
    accounts = pl.DataFrame({
        "Id": ["001A", "001B"], "BillingCity": ["Turin", None], "BillingCountry": ["Italy", None],
        "BillingStreet": ["Via Roma 1", None], "BillingState": [None, None], "BillingPostalCode": ["10121", None],
    })
    out = parse_soql("SELECT Id, BillingAddress FROM Account").run(accounts)
    assert out.get_column("BillingAddress").to_list() == [
        {"city": "Turin", "country": "Italy", "geocodeAccuracy": None, "latitude": None, "longitude": None,
         "postalCode": "10121", "state": None, "street": "Via Roma 1"},
        None,
    ]


def test_datetime_literals_convert_offsets_to_utc():
    assert parse_datetime_literal("2024-01-05T10:00:00+02:00") == dt.datetime(2024, 1, 5, 8, 0, tzinfo=UTC)
    assert parse_datetime_literal("2024-01-05T10:00:00.123-0130") == dt.datetime(
        2024, 1, 5, 11, 30, 0, 123000, tzinfo=UTC
    )
    assert like_regex("a\\%b_c%") == "(?is)^a%b.c.*$"


def error_of(soql: str) -> SoqlError:
    with pytest.raises(SoqlError) as info:
        parse_soql(soql)
    return info.value


def test_unknown_field_is_invalid_field_pointing_at_the_column():
    err = error_of("SELECT Id, Foo FROM Account")
    assert err.error_code == "INVALID_FIELD"
    assert err.message == (
        "\nSELECT Id, Foo FROM Account\n           ^\nERROR at Row:1:Column:12\n"
        "No such column 'Foo' on entity 'Account'. If you are attempting to use a custom field, be sure to "
        "append the '__c' after the custom field name. Please reference your WSDL or the describe call for the "
        "appropriate names."
    )


def test_unknown_object_is_invalid_type():
    err = error_of("SELECT Id FROM Acount")
    assert err.error_code == "INVALID_TYPE"
    assert "sObject type 'Acount' is not supported." in err.message
    assert "ERROR at Row:1:Column:16" in err.message


@pytest.mark.parametrize(("soql", "code", "fragment"), [
    ("SELECT Id, FROM Account", "MALFORMED_QUERY", "unexpected token: 'FROM'"),
    ("SELECT Id FROM Account WHERE", "MALFORMED_QUERY", "unexpected token: '<EOF>'"),
    ("SELECT Id FROM Account LIMIT ten", "MALFORMED_QUERY", "unexpected token: 'ten'"),
    ("SELECT Id FROM Account WHERE Name = 'x", "MALFORMED_QUERY", "unterminated string literal"),
    ("SELECT Id FROM Account WHERE Name = 'a' AND Name = 'b' OR Name = 'c'", "MALFORMED_QUERY",
     "unexpected token: 'OR'"),
    ("SELECT Id, Id FROM Account", "MALFORMED_QUERY", "duplicate field selected: Id"),
    ("SELECT MAX(Amount) FROM Opportunity", "MALFORMED_QUERY", "not supported by the l2c sandbox org"),
    ("SELECT Id FROM Account GROUP BY Id", "MALFORMED_QUERY", "GROUP is not supported"),
    ("SELECT Id, Owner.Name FROM Opportunity", "INVALID_FIELD",
     "Relationship field 'Owner.Name' is not supported by the l2c sandbox org"),
    ("SELECT Id, Foo.Name FROM Opportunity", "INVALID_FIELD", "Didn't understand relationship 'Foo'"),
    ("SELECT Id FROM Opportunity WHERE CreatedDate > '2024-01-01'", "INVALID_FIELD",
     "value of filter criterion for field 'CreatedDate' must be of type dateTime and should not be enclosed in quotes"),
    ("SELECT Id FROM Opportunity WHERE CloseDate > 2024-01-01T00:00:00Z", "INVALID_FIELD",
     "must be of type date"),
    ("SELECT Id FROM Opportunity WHERE Amount = '5'", "INVALID_FIELD", "must be of type double"),
    ("SELECT Id FROM Opportunity WHERE Name = 5", "INVALID_FIELD",
     "must be of type string and should be enclosed in quotes"),
    ("SELECT Id FROM Opportunity WHERE Description = 'x'", "INVALID_FIELD",
     "field 'Description' can not be filtered in a query call"),
    ("SELECT Id FROM Account WHERE BillingAddress = 'x'", "INVALID_FIELD",
     "field 'BillingAddress' can not be filtered"),
    ("SELECT Id FROM OpportunityFieldHistory WHERE SystemModstamp > 2024-01-01T00:00:00Z", "INVALID_FIELD",
     "No such column 'SystemModstamp' on entity 'OpportunityFieldHistory'"),
])
def test_bad_queries_get_salesforce_error_codes(soql, code, fragment):
    err = error_of(soql)
    assert err.error_code == code
    assert fragment in err.message


def test_errors_on_later_lines_report_their_row():
    err = error_of("SELECT Id\nFROM Account\nWHERE Nope = 1")
    assert err.message.startswith("\nWHERE Nope = 1\n      ^\nERROR at Row:3:Column:7\n")

"""Rule-based conformance: Declare templates, attribute conditions, rule files and their errors."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import polars as pl
import pytest

import analysis
from analysis.conformance import (
    DEFAULT_RULES_PATH,
    TEMPLATES,
    RuleError,
    conformance,
    conformance_cases,
    conformance_rules,
    load_rules,
    parse_rules,
)

T0 = datetime(2024, 3, 1, 9, 0)


def make_log(traces: dict[str, list[str]], **extra: dict[str, list]) -> analysis.EventLog:
    """One event per activity, one hour apart, event ids '<case>-<n>'."""
    rows = []
    for case, activities in traces.items():
        for i, activity in enumerate(activities):
            rows.append({"case_id": case, "activity": activity, "timestamp": T0 + timedelta(hours=i),
                         "event_id": f"{case}-{i}"})
    frame = pl.DataFrame(rows, schema={"case_id": pl.String, "activity": pl.String,
                                       "timestamp": pl.Datetime("us"), "event_id": pl.String})
    for name, values in extra.items():
        frame = frame.with_columns(pl.Series(name, values))
    return analysis.read_event_log(frame)


def rule(template: str, *activities, **fields) -> list:
    return parse_rules([{"id": "r", "template": template, "activities": list(activities), **fields}])


def verdicts(log, rules, cases=None) -> dict[str, tuple[bool, list[str]]]:
    out = conformance(log, cases=cases, rules=rules)
    return {c: (v, e) for c, v, e in out.select("case_id", "violated", "events").iter_rows()}


TRACES = {
    "c1": ["A", "B", "C"],
    "c2": ["B", "A", "C"],
    "c3": ["A", "C", "A"],
    "c4": ["C"],
    "c5": ["A", "A", "B", "B"],
}


@pytest.mark.parametrize(
    ("template", "activities", "count", "expected"),
    [
        ("existence", ["A"], None, {"c4": []}),
        ("existence", ["A"], 2, {"c1": [], "c2": [], "c4": []}),
        ("absence", ["B"], None, {"c1": ["c1-1"], "c2": ["c2-0"], "c5": ["c5-2", "c5-3"]}),
        ("absence", ["A"], 1, {"c3": ["c3-0", "c3-2"], "c5": ["c5-0", "c5-1"]}),
        ("init", ["A"], None, {"c2": ["c2-0"], "c4": ["c4-0"]}),
        ("end", ["C"], None, {"c3": ["c3-2"], "c5": ["c5-3"]}),
        ("responded_existence", ["A", "B"], None, {"c3": ["c3-0", "c3-2"]}),
        # every A eventually followed by B: c2's A comes after its only B; c3 has no B
        ("response", ["A", "B"], None, {"c2": ["c2-1"], "c3": ["c3-0", "c3-2"]}),
        # every B preceded by an A
        ("precedence", ["A", "B"], None, {"c2": ["c2-0"]}),
        ("succession", ["A", "B"], None, {"c2": ["c2-0", "c2-1"], "c3": ["c3-0", "c3-2"]}),
        # no C after an A: the first A is named with the offending Cs
        ("not_succession", ["A", "C"], None, {"c1": ["c1-0", "c1-2"], "c2": ["c2-1", "c2-2"],
                                              "c3": ["c3-0", "c3-1"]}),
        ("not_coexistence", ["B", "C"], None, {"c1": ["c1-1", "c1-2"], "c2": ["c2-0", "c2-2"]}),
        # every A immediately followed by B
        ("chain_response", ["A", "B"], None, {"c2": ["c2-1"], "c3": ["c3-0", "c3-2"], "c5": ["c5-0"]}),
        # every B immediately preceded by A
        ("chain_precedence", ["A", "B"], None, {"c2": ["c2-0"], "c5": ["c5-3"]}),
    ],
)
def test_each_template_flags_exactly_the_violating_cases_and_events(template, activities, count, expected):
    fields = {"count": count} if count is not None else {}
    result = verdicts(make_log(TRACES), rule(template, *activities, **fields))
    assert {c for c, (violated, _) in result.items() if violated} == set(expected)
    for case, events in expected.items():
        assert result[case] == (True, events)
    assert set(result) == set(TRACES)  # every case is checked


def test_every_documented_template_is_covered_above():
    covered = {"existence", "absence", "init", "end", "responded_existence", "response", "precedence",
               "succession", "not_succession", "not_coexistence", "chain_response", "chain_precedence"}
    assert set(TEMPLATES) == covered


def test_precedence_since_asks_for_an_a_after_the_latest_reset():
    log = make_log({
        "approved_old_quote": ["Quote Created", "Approved", "Quote Created", "Accepted"],
        "approved_new_quote": ["Quote Created", "Quote Created", "Approved", "Accepted"],
        "no_quote_event": ["Approved", "Accepted"],
        "never_approved": ["Quote Created", "Accepted"],
        "two_acceptances": ["Quote Created", "Approved", "Accepted", "Quote Created", "Accepted"],
    })
    rules = rule("precedence", "Approved", "Accepted", since="Quote Created")
    assert verdicts(log, rules) == {
        "approved_old_quote": (True, ["approved_old_quote-3"]),
        "approved_new_quote": (False, []),
        "no_quote_event": (False, []),
        "never_approved": (True, ["never_approved-1"]),
        "two_acceptances": (True, ["two_acceptances-4"]),
    }
    # the same per case (an always-true event condition forces that path)
    per_case = rule("precedence", "Approved", "Accepted", since="Quote Created",
                    where={"Approved": {"activity": "Approved"}})
    assert verdicts(log, per_case) == verdicts(log, rules)


def test_activity_alternatives_count_as_one_activity():
    log = make_log({"ok1": ["Requested", "Approved"], "ok2": ["Requested", "Rejected"], "bad": ["Requested"]})
    rules = rule("response", "Requested", ["Approved", "Rejected"])
    assert {c: v for c, (v, _) in verdicts(log, rules).items()} == {"ok1": False, "ok2": False, "bad": True}


def test_explanation_names_the_activities_and_times_of_the_offending_events():
    log = make_log({"o1": ["Opportunity Created", "Closed Won"]})
    out = conformance(log, rules=rule("precedence", "Quote Accepted", "Closed Won"),
                      activities=["Quote Accepted"])
    assert out.row(0, named=True) == {
        "case_id": "o1", "rule": "r", "template": "precedence", "description": "", "violated": True,
        "events": ["o1-1"],
        "explanation": "'Closed Won' occurs without an earlier 'Quote Accepted': Closed Won at 2024-03-01 10:00:00 UTC",
    }


def test_satisfied_checks_have_no_events_and_no_explanation():
    out = conformance(make_log({"o1": ["A", "B"]}), rules=rule("precedence", "A", "B"))
    assert out.select("violated", "events", "explanation").row(0) == (False, [], None)


def test_when_condition_restricts_the_rule_to_matching_cases():
    log = make_log({
        "big_no_approval": ["Quote Created", "Quote Accepted"],
        "big_approved": ["Quote Created", "Quote Approved", "Quote Accepted"],
        "small_no_approval": ["Quote Created", "Quote Accepted"],
        "unknown_discount": ["Quote Created", "Quote Accepted"],
        "not_in_cases": ["Quote Created", "Quote Accepted"],
    })
    cases = pl.DataFrame({
        "case_id": ["big_no_approval", "big_approved", "small_no_approval", "unknown_discount"],
        "discount_pct": [25.0, 30.0, 20.0, None],
    })
    rules = rule("precedence", "Quote Approved", "Quote Accepted", when={"discount_pct": {"gt": 20}})
    assert {c: v for c, (v, _) in verdicts(log, rules, cases).items()} == {
        "big_no_approval": True, "big_approved": False,
    }


@pytest.mark.parametrize(
    ("condition", "checked"),
    [
        ({"region": "EMEA"}, {"c1"}),
        ({"region": {"ne": "EMEA"}}, {"c2"}),
        ({"region": {"in": ["EMEA", "APAC"]}}, {"c1", "c2"}),
        ({"region": {"not_in": ["EMEA"]}}, {"c2"}),
        ({"region": {"is_null": True}}, {"c3"}),
        ({"amount": {"ge": 100, "lt": 500}}, {"c1", "c2"}),
        ({"amount": {"le": 100}, "region": "EMEA"}, {"c1"}),
    ],
)
def test_when_operators(condition, checked):
    log = make_log({"c1": ["A"], "c2": ["A"], "c3": ["A"]})
    cases = pl.DataFrame({"case_id": ["c1", "c2", "c3"], "region": ["EMEA", "APAC", None],
                          "amount": [100.0, 499.0, 500.0]})
    assert set(verdicts(log, rule("existence", "A", when=condition), cases)) == checked


def test_where_condition_counts_only_matching_events():
    # Only an approval with new_value 'Approved' counts; a 'Recalled' one does not.
    log = make_log(
        {"ok": ["Approval", "Quote Accepted"], "recalled": ["Approval", "Quote Accepted"], "none": ["Quote Accepted"]},
        new_value=["Approved", None, "Recalled", None, None],
    )
    rules = rule("precedence", "Approval", "Quote Accepted", where={"Approval": {"new_value": "Approved"}})
    assert verdicts(log, rules) == {
        "ok": (False, []), "recalled": (True, ["recalled-1"]), "none": (True, ["none-0"]),
    }


def test_per_variant_and_per_case_evaluation_agree_on_a_random_log():
    rng = random.Random(7)
    traces = {f"c{i:03d}": [rng.choice("ABCD") for _ in range(rng.randint(1, 7))] for i in range(300)}
    log = make_log(traces)
    for template, spec in TEMPLATES.items():
        acts = ["A", "B"][: spec.arity]
        by_variant = conformance(log, rules=rule(template, *acts))
        # An always-true event condition forces the per-case path.
        by_case = conformance(log, rules=rule(template, *acts, where={"A": {"activity": "A"}}))
        assert by_variant.equals(by_case), template


def test_same_timestamp_events_are_ordered_by_activity_order():
    frame = pl.DataFrame({
        "case_id": ["o1", "o1"], "activity": ["Closed Won", "Quote Accepted"],
        "timestamp": [T0, T0], "activity_order": [20, 10],
    })
    out = conformance(analysis.read_event_log(frame), rules=rule("precedence", "Quote Accepted", "Closed Won"))
    assert out.get_column("violated").to_list() == [False]


def test_summaries_per_rule_and_per_case():
    log = make_log(TRACES)
    rules = parse_rules([
        {"id": "a_first", "template": "init", "activities": ["A"], "description": "starts with A"},
        {"id": "b_needs_a", "template": "precedence", "activities": ["A", "B"]},
        {"id": "never_checked", "template": "existence", "activities": ["A"], "when": {"flag": True}},
    ])
    cases = pl.DataFrame({"case_id": list(TRACES), "flag": [False] * 5})
    checks = conformance(log, cases, rules)
    assert conformance_rules(checks, rules).rows() == [
        ("a_first", "init", "starts with A", 5, 2, 0.4),
        ("b_needs_a", "precedence", "", 5, 1, 0.2),
        ("never_checked", "existence", "", 0, 0, None),
    ]
    assert conformance_cases(checks).rows() == [
        ("c1", 2, 0, [], True),
        ("c2", 2, 2, ["a_first", "b_needs_a"], False),
        ("c3", 2, 0, [], True),
        ("c4", 2, 1, ["a_first"], False),
        ("c5", 2, 0, [], True),
    ]


def test_empty_log_gives_empty_results():
    log = analysis.read_event_log(pl.DataFrame(schema={"case_id": pl.String, "activity": pl.String,
                                                       "timestamp": pl.Datetime("us", "UTC")}))
    checks = conformance(log, rules=rule("existence", "A"), activities=["A"])
    assert checks.is_empty()
    assert checks.columns == ["case_id", "rule", "template", "description", "violated", "events", "explanation"]
    assert conformance_rules(checks).is_empty()


# --------------------------------------------------------------------------- the shipped defaults

L2C_HAPPY = ["Lead Created", "Lead Converted", "Opportunity Created", "Quote Created", "Quote Presented",
             "Quote Accepted", "Contract Created", "Contract Activated", "Closed Won", "Order Created",
             "Order Activated", "Invoice Posted", "Payment Received"]
CATALOG = L2C_HAPPY + ["Quote Approval Requested", "Quote Approved", "Quote Rejected",
                       "Closed Lost", "Quote Denied", "Order Reworked"]


def test_default_rules_load_and_describe_the_lead_to_cash_policy():
    rules = load_rules()
    ids = [r.id for r in rules]
    assert ids[:4] == ["closed_won_requires_accepted_quote", "discount_above_policy_requires_approval",
                       "contract_activated_before_closed_won", "no_invoice_before_order_activated"]
    assert len(rules) >= 8
    assert all(r.description for r in rules)
    assert load_rules(DEFAULT_RULES_PATH) == rules


def test_default_rules_on_a_small_lead_to_cash_log():
    without_quote = [a for a in L2C_HAPPY if a != "Quote Accepted"]
    invoice_early = [a for a in L2C_HAPPY if a not in ("Invoice Posted", "Order Activated")]
    invoice_early = invoice_early[:-1] + ["Invoice Posted", "Order Activated", "Payment Received"]
    log = make_log({
        "happy": L2C_HAPPY,
        "no_quote": without_quote,
        "big_discount": L2C_HAPPY,
        "big_discount_approved": L2C_HAPPY[:4] + ["Quote Approval Requested", "Quote Approved"]
        + L2C_HAPPY[4:],
        "invoice_early": invoice_early,
        "reissued_without_approval": L2C_HAPPY[:4] + ["Quote Approval Requested", "Quote Approved", "Quote Denied",
                                                      "Quote Created"] + L2C_HAPPY[4:],
        "lost": ["Opportunity Created", "Quote Created", "Closed Lost"],
    })
    cases = pl.DataFrame({"case_id": ["happy", "no_quote", "big_discount", "big_discount_approved",
                                      "invoice_early", "lost", "reissued_without_approval"],
                          "discount_pct": [5.0, 0.0, 35.0, 35.0, 10.0, 25.0, 30.0]})
    checks = conformance(log, cases, activities=CATALOG)
    violated = {(c, r) for c, r in checks.filter("violated").select("case_id", "rule").iter_rows()}
    assert violated == {
        ("no_quote", "closed_won_requires_accepted_quote"),
        ("big_discount", "discount_above_policy_requires_approval"),
        # the approval was for the first quote; the re-issued one was accepted without its own
        ("reissued_without_approval", "discount_above_policy_requires_approval"),
        ("invoice_early", "no_invoice_before_order_activated"),
    }
    summary = {r["rule"]: r for r in conformance_rules(checks, load_rules()).iter_rows(named=True)}
    # the discount rule applies to the four cases above 20%, two of them lacking the approval
    assert summary["discount_above_policy_requires_approval"]["cases_checked"] == 4
    assert summary["discount_above_policy_requires_approval"]["violations"] == 2


def test_user_rules_file(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text(
        "rules:\n"
        "  - id: paid_after_invoice\n"
        "    template: response\n"
        "    activities: [Invoice Posted, Payment Received]\n"
    )
    log = make_log({"paid": ["Invoice Posted", "Payment Received"], "unpaid": ["Invoice Posted"]})
    out = conformance(log, rules=path)
    assert dict(out.select("case_id", "violated").iter_rows()) == {"paid": False, "unpaid": True}


# --------------------------------------------------------------------------- clear errors


def write(tmp_path, text: str):
    path = tmp_path / "rules.yaml"
    path.write_text(text)
    return path


def test_malformed_yaml_names_the_file(tmp_path):
    path = write(tmp_path, "rules:\n  - id: x\n    template: [unclosed\n")
    with pytest.raises(RuleError, match=r"rules\.yaml: malformed YAML"):
        load_rules(path)


def test_missing_rules_file():
    with pytest.raises(RuleError, match="rules file not found"):
        load_rules("/nonexistent/rules.yaml")


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"id": "x", "template": "precedance", "activities": ["A", "B"]},
         r"rule 'x': field 'template': unknown template 'precedance' \(did you mean 'precedence'\?\)"),
        ({"id": "x", "template": "precedence", "activities": ["A"]},
         r"rule 'x': field 'activities': template 'precedence' takes a list of 2 activities"),
        ({"id": "x", "template": "init", "activities": [["A"], "B"]},
         r"rule 'x': field 'activities': template 'init' takes a list of 1 activity"),
        ({"id": "x", "template": "precedence", "activities": ["A", 3]},
         r"rule 'x': field 'activities\[1\]': must be an activity name"),
        ({"id": "x", "template": "init", "activities": ["A"], "count": 2},
         r"rule 'x': field 'count': template 'init' takes no count"),
        ({"id": "x", "template": "absence", "activities": ["A"], "count": -1},
         r"rule 'x': field 'count': must be a non-negative integer"),
        ({"id": "x", "template": "init", "activities": ["A"], "when": {"discount_pct": {"above": 20}}},
         r"rule 'x': field 'when.discount_pct.above': unknown operator"),
        ({"id": "x", "template": "init", "activities": ["A"], "when": {"region": {"in": "EMEA"}}},
         r"rule 'x': field 'when.region.in': needs a list"),
        ({"id": "x", "template": "precedence", "activities": ["A", "B"], "where": {"C": {"amount": 1}}},
         r"rule 'x': field 'where.C': 'C' is not one of the rule's activities"),
        ({"id": "x", "template": "response", "activities": ["A", "B"], "since": "C"},
         r"rule 'x': field 'since': only the precedence template takes 'since'"),
        ({"id": "x", "template": "init", "activities": ["A"], "severity": "high"},
         r"rule 'x': field 'severity': unknown field"),
        ({"template": "init", "activities": ["A"]}, r"rule #1: field 'id': required"),
    ],
)
def test_bad_rule_fields_are_named(entry, message):
    with pytest.raises(RuleError, match=message):
        parse_rules([entry])


def test_duplicate_rule_ids_are_rejected():
    entry = {"id": "x", "template": "init", "activities": ["A"]}
    with pytest.raises(RuleError, match=r"rule 'x': field 'id': duplicate"):
        parse_rules([entry, entry])


def test_unknown_activity_is_named_with_a_suggestion():
    log = make_log({"o1": ["Quote Accepted", "Closed Won"]})
    with pytest.raises(RuleError, match=r"rule 'r': field 'activities\[0\]': unknown activity 'Quote Acepted' "
                                        r"\(did you mean 'Quote Accepted'\?\)"):
        conformance(log, rules=rule("precedence", "Quote Acepted", "Closed Won"))


def test_unknown_since_activity_is_named():
    log = make_log({"o1": ["A", "B"]})
    with pytest.raises(RuleError, match=r"rule 'r': field 'since': unknown activity 'Qoute Created'"):
        conformance(log, rules=rule("precedence", "A", "B", since="Qoute Created"))


def test_activities_from_a_catalog_are_known_even_if_absent_from_the_log():
    log = make_log({"o1": ["Closed Won"]})
    out = conformance(log, rules=rule("precedence", "Quote Accepted", "Closed Won"), activities=["Quote Accepted"])
    assert out.get_column("violated").to_list() == [True]


def test_when_without_cases_or_with_an_unknown_column_is_named():
    log = make_log({"o1": ["A"]})
    rules = rule("existence", "A", when={"discount_pct": {"gt": 20}})
    with pytest.raises(RuleError, match=r"rule 'r': field 'when.discount_pct': the rule needs case attributes"):
        conformance(log, rules=rules)
    with pytest.raises(RuleError, match=r"rule 'r': field 'when.discount_pct': no such column in cases"):
        conformance(log, cases=pl.DataFrame({"case_id": ["o1"], "amount": [1.0]}), rules=rules)


def test_where_on_an_unknown_event_attribute_is_named():
    log = make_log({"o1": ["A", "B"]})
    with pytest.raises(RuleError, match=r"rule 'r': field 'where.A.due_date': no such event attribute"):
        conformance(log, rules=rule("precedence", "A", "B", where={"A": {"due_date": {"is_null": False}}}))

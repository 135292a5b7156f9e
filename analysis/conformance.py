"""Conformance checking: which cases break the compliant Lead-to-Cash path, and how.

Two complementary checks:

* **Rules** (:func:`conformance`): Declare-style constraints read from a YAML
  file (``analysis/rules/default_rules.yaml`` ships sensible Lead-to-Cash
  defaults), optionally restricted to cases matching case-attribute conditions
  (``when``, e.g. ``discount_pct > 20``) or counting only events matching
  event-attribute conditions (``where``). Rules that depend only on the
  activity sequence are evaluated once per *variant* and fanned out to its
  cases; rules with event conditions are evaluated per case, still as a few
  vectorised polars passes. :func:`conformance_rules` and
  :func:`conformance_cases` summarise the per-case checks.
* **Model fitness** (:func:`fitness`): alignments (or token replay) of every
  variant against a reference happy-path model (BPMN or PNML; the shipped
  ``analysis/models/happy_path.bpmn`` by default), weighted by the variant's
  case count, with log and model moves aggregated per activity. It needs the
  optional pm4py extra, which is imported only inside that function.

The rule file format and every template are documented in ``docs/analysis.md``.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import polars as pl
import yaml

from analysis import columns as C
from analysis._cases import case_table, variant_table
from analysis.log import EventLog, as_event_log

#: The rules used when none are given.
DEFAULT_RULES_PATH = Path(__file__).parent / "rules" / "default_rules.yaml"
#: The reference happy-path model used by :func:`fitness` when none is given.
HAPPY_PATH_MODEL = Path(__file__).parent / "models" / "happy_path.bpmn"

# Internal column names (prefixed so they never clash with user attributes).
_UNIT = "__unit"
_POS = "__pos"
_IS_A = "__is_a"
_IS_B = "__is_b"
_OFFENDS = "__offends"
_SINCE = "__since"
_VARIANT = "__variant"
_CASE = "__case"


class RuleError(ValueError):
    """A rule that cannot be read or applied; the message names the rule and the field."""


@dataclass(frozen=True)
class _Template:
    arity: int
    count: str | None  # "min" / "max" when the template takes a count
    message: str  # what a violation means, with {a} and {b}
    meaning: str  # what the rule demands, for documentation and describe()


#: Supported Declare templates. ``A`` is the first activity (set), ``B`` the second.
TEMPLATES: dict[str, _Template] = {
    "existence": _Template(1, "min", "{a} occurs fewer than {n} time(s)", "A occurs at least n times (default 1)"),
    "absence": _Template(1, "max", "{a} occurs more than {n} time(s)", "A occurs at most n times (default 0: never)"),
    "init": _Template(1, None, "the case does not start with {a}", "the first event is A"),
    "end": _Template(1, None, "the case does not end with {a}", "the last event is A"),
    "responded_existence": _Template(
        2, None, "{a} occurs but {b} never does", "if A occurs, B occurs too (before or after)"
    ),
    "response": _Template(2, None, "{a} is not followed by {b}", "every A is eventually followed by B"),
    "precedence": _Template(2, None, "{b} occurs without an earlier {a}", "every B is preceded by an A"),
    "succession": _Template(
        2, None, "{a} and {b} are not in succession", "response(A, B) and precedence(A, B)"
    ),
    "not_succession": _Template(2, None, "{b} occurs after {a}", "no B after an A"),
    "not_coexistence": _Template(2, None, "both {a} and {b} occur", "A and B never both occur in a case"),
    "chain_response": _Template(2, None, "{a} is not directly followed by {b}", "every A is immediately followed by B"),
    "chain_precedence": _Template(
        2, None, "{b} is not directly preceded by {a}", "every B is immediately preceded by A"
    ),
}

#: Condition operators of ``when`` / ``where`` (``column: value`` is shorthand for ``eq``).
OPERATORS = ("eq", "ne", "gt", "ge", "lt", "le", "in", "not_in", "is_null")

_RULE_KEYS = {"id", "description", "template", "activities", "count", "when", "where", "since"}


@dataclass(frozen=True)
class Condition:
    """``column <op> value``, e.g. ``discount_pct gt 20``."""

    column: str
    op: str
    value: Any

    def expr(self) -> pl.Expr:
        col = pl.col(self.column)
        if self.op == "is_null":
            return col.is_null() if self.value else col.is_not_null()
        if self.op in ("in", "not_in"):
            member = col.is_in(pl.lit(list(self.value)))
            # A null attribute is neither in nor out of a list: the condition does not hold.
            return (member if self.op == "in" else ~member) & col.is_not_null()
        value = pl.lit(self.value)
        return {
            "eq": col == value, "ne": col != value, "gt": col > value,
            "ge": col >= value, "lt": col < value, "le": col <= value,
        }[self.op].fill_null(False)

    def __str__(self) -> str:
        return f"{self.column} {self.op} {self.value!r}"


@dataclass(frozen=True)
class Rule:
    """One conformance rule (see ``docs/analysis.md`` for the YAML format)."""

    id: str
    template: str
    activities: tuple[tuple[str, ...], ...]
    description: str = ""
    count: int | None = None
    when: tuple[Condition, ...] = ()
    where: Mapping[str, tuple[Condition, ...]] = field(default_factory=dict)
    #: precedence only: the A must come after the latest of these activities before the B.
    since: tuple[str, ...] = ()

    @property
    def a(self) -> tuple[str, ...]:
        return self.activities[0]

    @property
    def b(self) -> tuple[str, ...]:
        return self.activities[1] if len(self.activities) > 1 else ()

    @property
    def n(self) -> int:
        spec = TEMPLATES[self.template]
        if self.count is not None:
            return self.count
        return 1 if spec.count == "min" else 0

    @property
    def per_variant(self) -> bool:
        """Whether the rule depends on the activity sequence only (no event conditions)."""
        return not self.where

    def violation_message(self) -> str:
        return TEMPLATES[self.template].message.format(a=_names(self.a), b=_names(self.b), n=self.n)


def _names(activities: Sequence[str]) -> str:
    return " or ".join(f"'{a}'" for a in activities)


# --------------------------------------------------------------------------- reading rules


def load_rules(path: str | os.PathLike | None = None) -> list[Rule]:
    """Read and check a rules YAML file (the shipped defaults when ``path`` is None).

    Raises:
        RuleError: malformed YAML, a missing or unknown field, an unknown
            template, a wrong number of activities or a bad condition; the
            message names the file, the rule and the field.
    """
    path = Path(path) if path is not None else DEFAULT_RULES_PATH
    if not path.exists():
        raise RuleError(f"rules file not found: {path}")
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise RuleError(f"rules file {path}: malformed YAML: {exc}") from exc
    return parse_rules(document, source=str(path))


def parse_rules(document: Any, source: str = "rules") -> list[Rule]:
    """Check and convert an already-parsed rules document (``{"rules": [...]}`` or a list of rules)."""
    if isinstance(document, Mapping):
        unknown = set(document) - {"version", "rules"}
        if unknown:
            raise RuleError(f"{source}: unknown top-level field(s) {sorted(unknown)}; expected 'version' and 'rules'")
        document = document.get("rules")
    if not isinstance(document, list) or not document:
        raise RuleError(f"{source}: field 'rules' must be a non-empty list of rules")
    rules = [_parse_rule(entry, i, source) for i, entry in enumerate(document)]
    seen: set[str] = set()
    for rule in rules:
        if rule.id in seen:
            raise RuleError(f"{source}: rule {rule.id!r}: field 'id': duplicate rule id")
        seen.add(rule.id)
    return rules


def _parse_rule(entry: Any, index: int, source: str) -> Rule:
    where_am_i = f"{source}: rule #{index + 1}"
    if not isinstance(entry, Mapping):
        raise RuleError(f"{where_am_i}: must be a mapping with id, template and activities, got {entry!r}")
    rule_id = entry.get("id")
    if not isinstance(rule_id, str) or not rule_id.strip():
        raise RuleError(f"{where_am_i}: field 'id': required, a non-empty string")
    where_am_i = f"{source}: rule {rule_id!r}"

    def fail(field_name: str, message: str) -> RuleError:
        return RuleError(f"{where_am_i}: field {field_name!r}: {message}")

    unknown = set(entry) - _RULE_KEYS
    if unknown:
        raise fail(sorted(unknown)[0], f"unknown field; expected some of {sorted(_RULE_KEYS)}")
    template = entry.get("template")
    if template not in TEMPLATES:
        hint = difflib.get_close_matches(str(template), TEMPLATES, n=1)
        raise fail("template", f"unknown template {template!r}" + (f" (did you mean {hint[0]!r}?)" if hint else "")
                   + f"; expected one of {', '.join(TEMPLATES)}")
    spec = TEMPLATES[template]
    raw = entry.get("activities")
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list) or len(raw) != spec.arity:
        raise fail("activities", f"template {template!r} takes a list of {spec.arity} activit"
                   f"{'y' if spec.arity == 1 else 'ies'}, got {raw!r}")
    activities = tuple(_activity_set(item, f"activities[{i}]", fail) for i, item in enumerate(raw))
    count = entry.get("count")
    if count is not None:
        if spec.count is None:
            raise fail("count", f"template {template!r} takes no count")
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise fail("count", f"must be a non-negative integer, got {count!r}")
    description = entry.get("description") or ""
    if not isinstance(description, str):
        raise fail("description", "must be a string")
    when = _conditions(entry.get("when"), "when", fail)
    where_raw = entry.get("where") or {}
    if not isinstance(where_raw, Mapping):
        raise fail("where", "must map an activity of the rule to conditions on its events")
    named = {a for group in activities for a in group}
    where: dict[str, tuple[Condition, ...]] = {}
    for activity, conditions in where_raw.items():
        if activity not in named:
            raise fail(f"where.{activity}", f"{activity!r} is not one of the rule's activities {sorted(named)}")
        where[activity] = _conditions(conditions, f"where.{activity}", fail)
    since: tuple[str, ...] = ()
    if entry.get("since") is not None:
        if template != "precedence":
            raise fail("since", f"only the precedence template takes 'since', not {template!r}")
        since = _activity_set(entry["since"], "since", fail)
    return Rule(id=rule_id, template=template, activities=activities, description=description,
                count=count, when=when, where=where, since=since)


def _activity_set(item: Any, field_name: str, fail) -> tuple[str, ...]:
    names = [item] if isinstance(item, str) else item
    if not isinstance(names, list) or not names or not all(isinstance(n, str) and n.strip() for n in names):
        raise fail(field_name, f"must be an activity name or a list of alternative names, got {item!r}")
    return tuple(names)


def _conditions(raw: Any, field_name: str, fail) -> tuple[Condition, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, Mapping) or not raw:
        raise fail(field_name, f"must map attribute names to conditions, e.g. {{discount_pct: {{gt: 20}}}}, got {raw!r}")
    out = []
    for column, test in raw.items():
        name = f"{field_name}.{column}"
        if not isinstance(test, Mapping):
            out.append(Condition(str(column), "eq", _literal(test, name, fail)))
            continue
        if not test:
            raise fail(name, "empty condition")
        for op, value in test.items():
            if op not in OPERATORS:
                raise fail(f"{name}.{op}", f"unknown operator; expected one of {', '.join(OPERATORS)}")
            if op in ("in", "not_in") and not isinstance(value, list):
                raise fail(f"{name}.{op}", f"needs a list of values, got {value!r}")
            if op == "is_null" and not isinstance(value, bool):
                raise fail(f"{name}.{op}", f"needs true or false, got {value!r}")
            if op in ("in", "not_in"):
                value = [_literal(v, f"{name}.{op}", fail) for v in value]
            elif op != "is_null":
                value = _literal(value, f"{name}.{op}", fail)
            out.append(Condition(str(column), op, value))
    return tuple(out)


def _literal(value: Any, field_name: str, fail) -> Any:
    if value is None or isinstance(value, (str, int, float, bool, date, datetime)):
        return value
    raise fail(field_name, f"must be a number, text, date or boolean, got {value!r}")


def _resolve_rules(rules: str | os.PathLike | Sequence[Rule] | None) -> list[Rule]:
    if rules is None or isinstance(rules, (str, os.PathLike)):
        return load_rules(rules)
    rules = list(rules)
    if not all(isinstance(r, Rule) for r in rules):
        raise TypeError("rules must be a YAML path, a list of Rule objects, or None for the defaults")
    return rules


def _check_against_data(
    rules: Sequence[Rule], known_activities: set[str], event_columns: Sequence[str], cases: pl.DataFrame | None
) -> None:
    """Unknown activities and attributes fail before any work, naming the rule and field."""
    for rule in rules:
        named = [(f"activities[{i}]", group) for i, group in enumerate(rule.activities)]
        for field_name, group in named + ([("since", rule.since)] if rule.since else []):
            for name in group:
                if name not in known_activities:
                    hint = difflib.get_close_matches(name, sorted(known_activities), n=1)
                    raise RuleError(
                        f"rule {rule.id!r}: field {field_name!r}: unknown activity {name!r}"
                        + (f" (did you mean {hint[0]!r}?)" if hint else "")
                        + "; it is neither in the event log nor among the known activities passed as activities="
                    )
        for condition in rule.when:
            if cases is None:
                raise RuleError(
                    f"rule {rule.id!r}: field 'when.{condition.column}': the rule needs case attributes; "
                    "pass cases= (one row per case_id, e.g. the l2c.cases mart)"
                )
            if condition.column not in cases.columns:
                raise RuleError(
                    f"rule {rule.id!r}: field 'when.{condition.column}': no such column in cases "
                    f"(available: {', '.join(cases.columns)})"
                )
        for activity, conditions in rule.where.items():
            for condition in conditions:
                if condition.column not in event_columns:
                    raise RuleError(
                        f"rule {rule.id!r}: field 'where.{activity}.{condition.column}': no such event attribute "
                        f"in the event log (available: {', '.join(event_columns)})"
                    )


# --------------------------------------------------------------------------- evaluating rules


def conformance(
    log: EventLog | pl.DataFrame,
    cases: pl.DataFrame | None = None,
    rules: str | os.PathLike | Sequence[Rule] | None = None,
    *,
    activities: Iterable[str] | None = None,
) -> pl.DataFrame:
    """Check every case against every rule that applies to it.

    Args:
        log: an :class:`~analysis.EventLog` or a frame with the canonical columns.
        cases: one row per ``case_id`` with the case attributes that rules'
            ``when`` conditions use (e.g. the ``l2c.cases`` mart); needed only
            by such rules. Cases missing from it (or with a null attribute)
            are not checked by those rules.
        rules: a YAML file path, a list of :class:`Rule`, or None for the
            shipped Lead-to-Cash defaults.
        activities: further activity names the rules may mention although
            they do not occur in this log (e.g. the ``l2c.activities``
            catalog); any other name is reported as a typo.

    Returns:
        One row per (case, applicable rule): ``case_id``, ``rule``,
        ``template``, ``description``, ``violated`` (bool), ``events`` (list of
        the ``event_id`` s involved in the violation, empty when satisfied or
        when the violation is a missing activity) and ``explanation`` (null when
        satisfied). Sorted by case and rule order.

    >>> import polars as pl, analysis
    >>> from analysis.conformance import conformance, parse_rules
    >>> log = analysis.read_event_log(pl.DataFrame({
    ...     "case_id": ["o1", "o1", "o2", "o2", "o2"],
    ...     "activity": ["Opportunity Created", "Closed Won", "Opportunity Created", "Quote Accepted", "Closed Won"],
    ...     "timestamp": ["2024-01-01", "2024-01-09", "2024-01-02", "2024-01-05", "2024-01-07"]}))
    >>> rules = parse_rules([{"id": "won_needs_quote", "template": "precedence",
    ...                       "activities": ["Quote Accepted", "Closed Won"]}])
    >>> conformance(log, rules=rules).select("case_id", "violated").rows()
    [('o1', True), ('o2', False)]
    """
    log = as_event_log(log)
    rule_list = _resolve_rules(rules)
    events = log.events
    known = set(events.get_column(C.ACTIVITY).unique().to_list()) | set(activities or ())
    _check_against_data(rule_list, known, events.columns, cases)
    if cases is not None and C.CASE_ID not in cases.columns:
        raise RuleError(f"cases: column {C.CASE_ID!r} is missing (available: {', '.join(cases.columns)})")

    # Cases are keyed by their integer index in log order (the log is sorted by case_id), so
    # joins and sorts run on integers and an event is found as case start + position.
    case_ids = case_table(log).get_column(C.CASE_ID)
    case_variant, variant_events = _variants(log)
    parts = []
    for order, rule in enumerate(rule_list):
        if rule.per_variant:
            per_variant = _evaluate(rule, variant_events.rename({_VARIANT: _UNIT}))
            per_case = case_variant.join(per_variant, left_on=_VARIANT, right_on=_UNIT, how="left").drop(_VARIANT)
        else:
            units = events.with_columns(log.case_index().cast(pl.Int64).alias(_UNIT))
            units = units.with_columns(pl.int_range(pl.len()).over(_UNIT).alias(_POS))
            per_case = _evaluate(rule, units).rename({_UNIT: _CASE})
        if rule.when:
            applicable = cases.filter(pl.all_horizontal([c.expr() for c in rule.when])).select(
                pl.col(C.CASE_ID).cast(pl.String)).unique()
            indexes = pl.DataFrame({C.CASE_ID: case_ids}).with_row_index(_CASE).join(applicable, on=C.CASE_ID)
            per_case = per_case.join(indexes.select(pl.col(_CASE).cast(pl.Int64)), on=_CASE, how="semi")
        parts.append(per_case.select(_CASE, pl.lit(order, dtype=pl.Int32).alias("__order"), "violated",
                                     pl.col("__offending").cast(pl.List(pl.Int64))))
    schema = {_CASE: pl.Int64, "__order": pl.Int32, "violated": pl.Boolean, "__offending": pl.List(pl.Int64)}
    checks = pl.concat([p.cast(schema) for p in parts]) if parts else pl.DataFrame(schema=schema)
    checks = checks.sort(_CASE, "__order")
    return _explain(checks, log, rule_list)


def _variants(log: EventLog) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(case index → variant index) and the variants' events (variant index, position, activity).

    Built on the log's memoised variant table, shared with ``variants``,
    ``rework`` and the other verbs.
    """
    _, names = log.activity_codes()
    case_variant = case_table(log).select(pl.col("case_index").cast(pl.Int64).alias(_CASE),
                                          pl.col("variant_index").cast(pl.Int64).alias(_VARIANT))
    if not names:  # an empty log
        return case_variant, pl.DataFrame(schema={_VARIANT: pl.Int64, _POS: pl.Int64, C.ACTIVITY: pl.String})
    variant_events = (
        variant_table(log)
        .select(pl.col("variant_index").cast(pl.Int64).alias(_VARIANT), pl.col("codes"))
        .explode("codes")
        .drop_nulls("codes")
        .select(
            _VARIANT,
            pl.int_range(pl.len()).over(_VARIANT).alias(_POS),
            pl.col("codes").replace_strict(list(range(len(names))), names, return_dtype=pl.String)
            .alias(C.ACTIVITY),
        )
    )
    return case_variant, variant_events


def _role(rule: Rule, group: tuple[str, ...]) -> pl.Expr:
    """Whether an event counts as an occurrence of an activity set (honouring ``where`` conditions)."""
    terms = []
    for name in group:
        term = pl.col(C.ACTIVITY) == name
        for condition in rule.where.get(name, ()):
            term = term & condition.expr()
        terms.append(term)
    return pl.any_horizontal(terms)


def _evaluate(rule: Rule, units: pl.DataFrame) -> pl.DataFrame:
    """Per unit (variant or case): ``violated`` and the positions of the offending events.

    ``units`` holds one row per event with ``__unit``, ``__pos`` (0-based, in
    case order) and ``activity`` (plus event attributes for ``where`` rules).
    Every template is a handful of window expressions over the unit, so the
    cost is one pass over the rows whatever the template.
    """
    u, pos = pl.col(_UNIT), pl.col(_POS)
    is_a, is_b = pl.col(_IS_A), pl.col(_IS_B)
    frame = units.select(
        _UNIT, _POS, _role(rule, rule.a).alias(_IS_A),
        (_role(rule, rule.b) if rule.b else pl.lit(False)).alias(_IS_B),
        pl.col(C.ACTIVITY).is_in(list(rule.since)).alias(_SINCE),
    )

    def first(flag: pl.Expr) -> pl.Expr:
        return pos.filter(flag).min().over(u)

    def last(flag: pl.Expr) -> pl.Expr:
        return pos.filter(flag).max().over(u)

    count_a = is_a.sum().over(u)
    t = rule.template
    violated: pl.Expr | None = None
    if t == "existence":
        offends = pl.lit(False)
        violated = is_a.sum() < rule.n
    elif t == "absence":
        offends = is_a & (count_a > rule.n)
    elif t == "init":
        offends = (pos == 0) & ~is_a
    elif t == "end":
        offends = (pos == pos.max().over(u)) & ~is_a
    elif t == "responded_existence":
        offends = is_a & (is_b.sum().over(u) == 0)
    elif t == "response":
        offends = is_a & (last(is_b).is_null() | (pos > last(is_b)))
    elif t == "precedence" and rule.since:
        # The latest A and the latest `since` event strictly before each row: the B needs an A after the
        # last `since` (e.g. an approval of the *current* quote, not of one created before it).
        last_a = pl.when(is_a).then(pos).otherwise(-1).cum_max().shift(1).over(u).fill_null(-1)
        last_since = pl.when(pl.col(_SINCE)).then(pos).otherwise(-1).cum_max().shift(1).over(u).fill_null(-1)
        offends = is_b & (last_a <= last_since)
    elif t == "precedence":
        offends = is_b & (first(is_a).is_null() | (pos < first(is_a)))
    elif t == "succession":
        offends = (is_a & (last(is_b).is_null() | (pos > last(is_b)))) | (
            is_b & (first(is_a).is_null() | (pos < first(is_a)))
        )
    elif t == "not_succession":
        late_b = is_b & (pos > first(is_a)).fill_null(False)
        # Name the first A too: it is half of the violation.
        offends = late_b | (is_a & (pos == first(is_a)) & late_b.any().over(u))
    elif t == "not_coexistence":
        offends = (is_a | is_b) & (count_a > 0) & (is_b.sum().over(u) > 0)
    elif t == "chain_response":
        offends = is_a & ~is_b.shift(-1).over(u).fill_null(False)
    elif t == "chain_precedence":
        offends = is_b & ~is_a.shift(1).over(u).fill_null(False)
    else:  # pragma: no cover - guarded by TEMPLATES
        raise RuleError(f"rule {rule.id!r}: field 'template': unsupported template {t!r}")
    frame = frame.with_columns(offends.fill_null(False).alias(_OFFENDS))
    return frame.group_by(_UNIT).agg(
        (violated if violated is not None else pl.col(_OFFENDS).any()).alias("violated"),
        pos.filter(pl.col(_OFFENDS)).cast(pl.Int64).alias("__offending"),
    )


def _explain(checks: pl.DataFrame, log: EventLog, rules: Sequence[Rule]) -> pl.DataFrame:
    """Map offending positions to event ids and write a one-line explanation per violation."""
    events = log.events
    starts = log.case_starts().cast(pl.Int64)
    involved = (
        checks.filter(pl.col("violated"))
        .select(_CASE, "__order", "__offending")
        .explode("__offending")
        .drop_nulls("__offending")
    )
    rows = pl.Series(starts.gather(involved.get_column(_CASE))) + involved.get_column("__offending")
    involved = (
        involved.with_columns(
            events.get_column(C.EVENT_ID).gather(rows).alias(C.EVENT_ID),
            events.get_column(C.ACTIVITY).gather(rows).alias(C.ACTIVITY),
            events.get_column(C.TIMESTAMP).gather(rows).alias(C.TIMESTAMP),
        )
        .group_by(_CASE, "__order", maintain_order=True)
        .agg(
            pl.col(C.EVENT_ID).alias("events"),
            pl.format("{} at {}", C.ACTIVITY, pl.col(C.TIMESTAMP).dt.strftime("%Y-%m-%d %H:%M:%S UTC"))
            .str.join("; ").alias("__details"),
        )
    )
    meta = pl.DataFrame({
        "__order": list(range(len(rules))),
        "rule": [r.id for r in rules],
        "template": [r.template for r in rules],
        "description": [r.description for r in rules],
        "__message": [r.violation_message() for r in rules],
    }, schema={"__order": pl.Int32, "rule": pl.String, "template": pl.String, "description": pl.String,
               "__message": pl.String})
    case_ids = case_table(log).get_column(C.CASE_ID)
    out = (
        checks.join(involved, on=[_CASE, "__order"], how="left", maintain_order="left")
        .join(meta, on="__order", how="left", maintain_order="left")
        .with_columns(
            case_ids.gather(checks.get_column(_CASE)).alias(C.CASE_ID),
            pl.col("events").fill_null(pl.lit([], dtype=pl.List(pl.String))),
            pl.when(pl.col("violated"))
            .then(pl.when(pl.col("__details").is_not_null())
                  .then(pl.format("{}: {}", "__message", "__details"))
                  .otherwise(pl.col("__message")))
            .alias("explanation"),
        )
    )
    return out.select(C.CASE_ID, "rule", "template", "description", "violated", "events", "explanation")


def conformance_rules(checks: pl.DataFrame, rules: str | os.PathLike | Sequence[Rule] | None = None) -> pl.DataFrame:
    """Per rule: ``rule``, ``template``, ``description``, ``cases_checked``, ``violations``, ``violation_rate``.

    ``violation_rate`` is violations / cases checked (null when no case was
    checked). Pass the same ``rules`` as to :func:`conformance` to list rules
    that applied to no case too; rows follow the rule file's order.
    """
    summary = checks.group_by("rule", maintain_order=True).agg(
        pl.col("template").first(), pl.col("description").first(),
        pl.len().cast(pl.Int64).alias("cases_checked"),
        pl.col("violated").sum().cast(pl.Int64).alias("violations"),
    )
    if rules is not None:
        listed = pl.DataFrame(
            [{"rule": r.id, "template": r.template, "description": r.description} for r in _resolve_rules(rules)],
            schema={"rule": pl.String, "template": pl.String, "description": pl.String},
        )
        summary = listed.join(summary.select("rule", "cases_checked", "violations"), on="rule", how="left",
                              maintain_order="left").with_columns(
            pl.col("cases_checked", "violations").fill_null(0)
        )
    return summary.with_columns(
        pl.when(pl.col("cases_checked") > 0).then(pl.col("violations") / pl.col("cases_checked"))
        .alias("violation_rate")
    ).select("rule", "template", "description", "cases_checked", "violations", "violation_rate")


def conformance_cases(checks: pl.DataFrame, log: EventLog | pl.DataFrame | None = None) -> pl.DataFrame:
    """Per case: ``case_id``, ``rules_checked``, ``rules_violated``, ``violated_rules`` (list), ``is_conformant``.

    With ``log``, cases that no rule applied to are listed too (0 rules,
    conformant).
    """
    per_case = checks.group_by(C.CASE_ID, maintain_order=True).agg(
        pl.len().cast(pl.Int64).alias("rules_checked"),
        pl.col("violated").sum().cast(pl.Int64).alias("rules_violated"),
        pl.col("rule").filter(pl.col("violated")).alias("violated_rules"),
    )
    if log is not None:
        all_cases = as_event_log(log).events.select(pl.col(C.CASE_ID).unique(maintain_order=True))
        per_case = all_cases.join(per_case, on=C.CASE_ID, how="left").with_columns(
            pl.col("rules_checked", "rules_violated").fill_null(0),
            pl.col("violated_rules").fill_null(pl.lit([], dtype=pl.List(pl.String))),
        )
    return per_case.with_columns((pl.col("rules_violated") == 0).alias("is_conformant")).sort(C.CASE_ID)


# --------------------------------------------------------------------------- model fitness


@dataclass
class Fitness:
    """The result of :func:`fitness`.

    ``log_fitness``, ``average_trace_fitness`` and ``percentage_of_fitting_traces``
    are exactly pm4py's figures for the whole log. ``variants`` has one row per
    variant, ``cases`` one row per case, ``deviations`` one row per activity
    (alignments only; None for token replay). Column lists: ``docs/analysis.md``.
    """

    method: str
    log_fitness: float
    average_trace_fitness: float
    percentage_of_fitting_traces: float
    variants: pl.DataFrame
    cases: pl.DataFrame
    deviations: pl.DataFrame | None

    def summary(self) -> dict[str, float | str]:
        return {
            "method": self.method,
            "log_fitness": self.log_fitness,
            "average_trace_fitness": self.average_trace_fitness,
            "percentage_of_fitting_traces": self.percentage_of_fitting_traces,
        }


def fitness(
    log: EventLog | pl.DataFrame,
    model: str | os.PathLike | tuple | None = None,
    *,
    method: str = "alignments",
    only_model_activities: bool = False,
) -> Fitness:
    """Fitness of the log against a reference process model, computed once per variant.

    Args:
        log: an :class:`~analysis.EventLog` or a frame with the canonical columns.
        model: a ``.bpmn`` or ``.pnml`` file, a pm4py ``(net, initial_marking,
            final_marking)`` tuple, or None for the shipped Lead-to-Cash
            happy path (``analysis/models/happy_path.bpmn``).
        method: ``"alignments"`` (optimal alignments, with log/model moves) or
            ``"token_replay"``.
        only_model_activities: drop events whose activity is not in the model
            before replaying (e.g. ``Amount Changed``, stage changes), so that
            fitness measures the order of the model's milestones only. Off by
            default, as in pm4py.

    Returns:
        A :class:`Fitness`. Its log-level figures equal pm4py's
        ``fitness_alignments`` / ``fitness_token_based_replay`` on the same
        log: every variant is aligned once and its figures weighted by its
        number of cases.

    Raises:
        ImportError: pm4py (the optional ``l2c[pm4py]`` extra, AGPL-3.0) is not installed.
    """
    if method not in ("alignments", "token_replay"):
        raise ValueError(f"method must be 'alignments' or 'token_replay', got {method!r}")
    try:
        import pm4py  # noqa: F401  (AGPL-3.0: optional, imported only here)
        from pm4py.objects.log.obj import Event, Trace
        from pm4py.objects.log.obj import EventLog as Pm4pyLog
    except ImportError as exc:
        raise ImportError(
            "model-based fitness needs pm4py, an optional dependency (AGPL-3.0): "
            "pip install 'l2c[pm4py]' (rule-based conformance works without it)"
        ) from exc

    from analysis.variants import case_variants, variants

    net, initial, final = _load_model(model)
    log = as_event_log(log)
    projected = log
    if only_model_activities:
        labels = sorted({t.label for t in net.transitions if t.label is not None})
        projected = EventLog(log.events.filter(pl.col(C.ACTIVITY).is_in(labels)))
    sequences = variants(projected).select("variant_id", "activities", pl.col("cases").cast(pl.Int64))
    case_variant = case_variants(projected).select(C.CASE_ID, "variant_id")
    dropped = log.events.select(pl.col(C.CASE_ID).unique(maintain_order=True)).join(
        case_variant, on=C.CASE_ID, how="anti")
    if dropped.height:
        # Cases left without any model activity still count, as the empty trace.
        empty_id = hashlib.sha1(b"").hexdigest()[:12]  # the id ``variants`` gives an empty sequence
        sequences = pl.concat([sequences, pl.DataFrame(
            {"variant_id": [empty_id], "activities": [[]], "cases": [dropped.height]}, schema=sequences.schema)])
        case_variant = pl.concat([case_variant, dropped.with_columns(pl.lit(empty_id).alias("variant_id"))])
    traces = Pm4pyLog([Trace([Event({"concept:name": a}) for a in acts])
                       for acts in sequences.get_column("activities").to_list()])
    params = {"show_progress_bar": False}
    with warnings.catch_warnings():
        # pm4py's LP code uses numpy.matrix, which warns once per trace.
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        if method == "alignments":
            from pm4py.algo.conformance.alignments.petri_net import algorithm as alignments

            per_variant = _alignment_figures(alignments.apply(traces, net, initial, final, parameters=params))
        else:
            from pm4py.algo.conformance.tokenreplay import algorithm as token_replay

            per_variant = _token_replay_figures(token_replay.apply(traces, net, initial, final, parameters=params))
    table = pl.concat([sequences, per_variant], how="horizontal").sort(["cases", "variant_id"],
                                                                       descending=[True, False])
    return _fitness_result(method, table, case_variant)


def _load_model(model: str | os.PathLike | tuple | None):
    import pm4py

    if isinstance(model, tuple):
        if len(model) != 3:
            raise ValueError("model tuple must be (net, initial_marking, final_marking)")
        return model
    path = Path(model) if model is not None else HAPPY_PATH_MODEL
    if not path.exists():
        raise FileNotFoundError(f"process model not found: {path}")
    suffix = path.suffix.lower()
    if suffix == ".bpmn":
        return pm4py.convert_to_petri_net(pm4py.read_bpmn(str(path)))
    if suffix == ".pnml":
        return pm4py.read_pnml(str(path))
    raise ValueError(f"unsupported process model {path.name}: expected a .bpmn or .pnml file")


def _alignment_figures(results: list[dict]) -> pl.DataFrame:
    rows = []
    for r in results:
        moves = r["alignment"]
        rows.append({
            "fitness": float(r["fitness"]),
            "is_fit": r["fitness"] == 1.0,
            "cost": float(r["cost"]),
            "bwc": float(r["bwc"]),
            "log_moves": [a for a, m in moves if m == ">>"],
            "model_moves": [m for a, m in moves if a == ">>" and m is not None],
        })
    return pl.DataFrame(rows, schema={"fitness": pl.Float64, "is_fit": pl.Boolean, "cost": pl.Float64,
                                      "bwc": pl.Float64, "log_moves": pl.List(pl.String),
                                      "model_moves": pl.List(pl.String)})


def _token_replay_figures(results: list[dict]) -> pl.DataFrame:
    rows = [{
        "fitness": float(r["trace_fitness"]),
        "is_fit": bool(r["trace_is_fit"]),
        "missing_tokens": int(r["missing_tokens"]),
        "consumed_tokens": int(r["consumed_tokens"]),
        "remaining_tokens": int(r["remaining_tokens"]),
        "produced_tokens": int(r["produced_tokens"]),
        "problem_activities": [t.label for t in r["transitions_with_problems"] if t.label is not None],
    } for r in results]
    return pl.DataFrame(rows, schema={
        "fitness": pl.Float64, "is_fit": pl.Boolean, "missing_tokens": pl.Int64, "consumed_tokens": pl.Int64,
        "remaining_tokens": pl.Int64, "produced_tokens": pl.Int64, "problem_activities": pl.List(pl.String),
    })


def _fitness_result(method: str, variants: pl.DataFrame, case_variant: pl.DataFrame) -> Fitness:
    n = variants.get_column("cases").sum()
    w = pl.col("cases")
    if n == 0:
        log_fit = avg = pct = 0.0
    else:
        sums = variants.select(
            (w * pl.col("fitness")).sum().alias("fit"),
            w.filter(pl.col("is_fit")).sum().alias("fitting"),
            *([(w * pl.col("cost")).sum().alias("cost"), (w * pl.col("bwc")).sum().alias("bwc")]
              if method == "alignments" else
              [(w * pl.col(c)).sum().alias(c) for c in
               ("missing_tokens", "consumed_tokens", "remaining_tokens", "produced_tokens")]),
        ).row(0, named=True)
        avg = sums["fit"] / n
        pct = 100.0 * sums["fitting"] / n
        if method == "alignments":
            log_fit = 1.0 - (sums["cost"] / sums["bwc"] if sums["bwc"] > 0 else 0.0)
        elif sums["consumed_tokens"] > 0 and sums["produced_tokens"] > 0:
            log_fit = 0.5 * (1 - sums["missing_tokens"] / sums["consumed_tokens"]) + 0.5 * (
                1 - sums["remaining_tokens"] / sums["produced_tokens"])
        else:  # pm4py reports 0 for a log that consumed or produced no token
            log_fit = avg = pct = 0.0
    ranked = variants.with_row_index("variant_rank", offset=1).with_columns(pl.col("variant_rank").cast(pl.Int64))
    ranked = ranked.select("variant_id", "variant_rank", *[c for c in ranked.columns
                                                            if c not in ("variant_id", "variant_rank")])
    cases = case_variant.join(
        ranked.select("variant_id", "variant_rank", "fitness", "is_fit"), on="variant_id", how="left"
    ).sort(C.CASE_ID)
    deviations = None
    if method == "alignments":
        deviations = _deviations(variants)
    return Fitness(
        method=method, log_fitness=float(log_fit), average_trace_fitness=float(avg),
        percentage_of_fitting_traces=float(pct),
        variants=ranked, cases=cases, deviations=deviations,
    )


def _deviations(variants: pl.DataFrame) -> pl.DataFrame:
    """Log and model moves per activity, each variant's moves counted once per case."""
    schema = {"activity": pl.String, "moves": pl.Int64, "cases": pl.Int64}

    def per_activity(column: str) -> pl.DataFrame:
        exploded = variants.select("variant_id", "cases", pl.col(column).alias("activity")).explode("activity")
        exploded = exploded.drop_nulls("activity")
        if exploded.is_empty():
            return pl.DataFrame(schema=schema)
        return exploded.group_by("activity").agg(
            pl.col("cases").sum().cast(pl.Int64).alias("moves"),
            pl.col("cases").filter(pl.col("variant_id").is_first_distinct()).sum().cast(pl.Int64).alias("cases"),
        )

    log_moves = per_activity("log_moves").rename({"moves": "log_moves", "cases": "cases_with_log_moves"})
    model_moves = per_activity("model_moves").rename({"moves": "model_moves", "cases": "cases_with_model_moves"})
    return (
        log_moves.join(model_moves, on="activity", how="full", coalesce=True)
        .with_columns(pl.col("log_moves", "cases_with_log_moves", "model_moves", "cases_with_model_moves")
                      .fill_null(0))
        .with_columns((pl.col("log_moves") + pl.col("model_moves")).alias("deviations"))
        .sort(["deviations", "activity"], descending=[True, False])
        .select("activity", "log_moves", "cases_with_log_moves", "model_moves", "cases_with_model_moves",
                "deviations")
    )

"""A SOQL subset for the sandbox org: a small recursive-descent parser compiling to polars.

The local API server answers ``query/``, ``queryAll/`` and Bulk 2.0 query jobs
by parsing the SOQL text here and running the result as a polars filter/sort
over the org's visible records. Supported:

* ``SELECT f1, f2, ... FROM Object`` (field and object names case-insensitive,
  ``Object.Field`` prefixes allowed) and ``SELECT COUNT() FROM Object``;
* ``WHERE`` with ``AND`` / ``OR`` / ``NOT`` and parentheses (mixing AND and OR
  without parentheses is an error, as in Salesforce), ``= != <> < <= > >=``,
  ``IN (...)``, ``NOT IN (...)``, ``LIKE``, ``= null`` / ``!= null``;
* literals: ``'strings'`` with SOQL escapes, numbers, ``TRUE`` / ``FALSE``,
  ``null``, dates ``2024-01-05``, datetimes ``2024-01-05T10:00:00Z`` (also
  ``.000+0000`` and ``+01:00`` offsets) and the relative date literals
  ``TODAY``, ``YESTERDAY``, ``TOMORROW``, ``LAST_N_DAYS:n``, ``NEXT_N_DAYS:n``
  (relative to the org clock);
* ``ORDER BY f [ASC|DESC] [NULLS FIRST|LAST], ...``, ``LIMIT n``, ``OFFSET n``.

Semantics follow Salesforce: text comparisons are case-insensitive (Ids are
not), ``!=`` and ``NOT IN`` match records whose field is null, ordering puts
nulls first unless told otherwise, and a literal must have the field's type
(``CreatedDate > '2024-01-01'`` is rejected). Errors raise :class:`SoqlError`
carrying Salesforce's error code (``MALFORMED_QUERY``, ``INVALID_FIELD``,
``INVALID_TYPE``) and a message in Salesforce's format, pointing at the row
and column of the offending token. Relationship paths (``Owner.Name``),
aggregate functions other than ``COUNT()``, sub-queries and ``GROUP BY`` are
outside the subset and are rejected with a message saying so.

Text and id columns may hold their values as ``pl.Enum`` or ``pl.Categorical``
codes (the sandbox org serves the generator's compact dtypes): comparisons,
``LIKE`` and ``ORDER BY`` work on the text, so a query answers the same as
over ``pl.String`` columns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone

import polars as pl

from l2c.salesforce_schema import Field, SObject
from l2c.sandbox.describe import find_object, is_filterable, relationship_name

MALFORMED_QUERY = "MALFORMED_QUERY"
INVALID_FIELD = "INVALID_FIELD"
INVALID_TYPE = "INVALID_TYPE"

_TEXT_TYPES = frozenset({"string", "picklist", "multipicklist", "combobox", "textarea", "email", "phone", "url"})
_ID_TYPES = frozenset({"id", "reference"})
_NUMBER_TYPES = frozenset({"int", "long", "double", "currency", "percent"})

#: Salesforce's wording for a field type in "must be of type ..." messages.
_TYPE_WORDS = {
    "datetime": "dateTime", "date": "date", "boolean": "boolean", "int": "int", "long": "long",
    "double": "double", "currency": "double", "percent": "double",
}

#: The component fields of a compound address, keyed by the JSON property Salesforce returns.
_ADDRESS_PARTS = ("city", "country", "geocodeAccuracy", "latitude", "longitude", "postalCode", "state", "street")

DATETIME_DTYPE = pl.Datetime("us", "UTC")


class SoqlError(Exception):
    """A query Salesforce would reject: ``error_code`` and ``message`` are what the API returns."""

    def __init__(self, error_code: str, message: str):
        super().__init__(f"{error_code}: {message}")
        self.error_code = error_code
        self.message = message


# --- Tokens --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Token:
    kind: str  # ident, string, number, date, datetime, op, punct, eof
    text: str
    pos: int

    def is_kw(self, *words: str) -> bool:
        return self.kind == "ident" and self.text.upper() in words


_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<string>'(?:[^'\\]|\\.)*')
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:?\d{2}))
  | (?P<date>\d{4}-\d{2}-\d{2}(?![\dT]))
  | (?P<number>[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?![A-Za-z_]))
  | (?P<op>!=|<>|<=|>=|=|<|>)
  | (?P<punct>[(),:])
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
    """,
    re.VERBOSE,
)


def _tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if m is None:
            if text[pos] == "'":
                raise SoqlError(MALFORMED_QUERY, _located(text, pos, "unterminated string literal"))
            raise SoqlError(MALFORMED_QUERY, _located(text, pos, f"unexpected token: '{text[pos]}'"))
        kind = m.lastgroup or ""
        if kind != "ws":
            tokens.append(Token(kind, m.group(), pos))
        pos = m.end()
    tokens.append(Token("eof", "", len(text)))
    return tokens


def _located(text: str, pos: int, message: str) -> str:
    """Salesforce's error layout: the query line, a caret under the culprit, its row and column."""
    line_start = text.rfind("\n", 0, pos) + 1
    line_end = text.find("\n", pos)
    line = text[line_start: line_end if line_end >= 0 else len(text)]
    row = text.count("\n", 0, pos) + 1
    column = pos - line_start + 1
    return f"\n{line}\n{' ' * (column - 1)}^\nERROR at Row:{row}:Column:{column}\n{message}"


# --- Literals ------------------------------------------------------------------------------

_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", '"': '"', "'": "'", "\\": "\\"}


@dataclass(frozen=True)
class Literal:
    kind: str  # string, number, boolean, null, date, datetime, relative
    value: object
    token: Token
    #: For strings: the SOQL source between the quotes (LIKE needs \% and \_ untouched).
    raw: str = ""


def _unescape(token: Token, text: str) -> str:
    body = token.text[1:-1]
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        nxt = body[i + 1]
        if nxt in _ESCAPES:
            out.append(_ESCAPES[nxt])
        elif nxt in "%_":
            out.append(nxt)
        elif nxt == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", body[i + 2: i + 6]):
            out.append(chr(int(body[i + 2: i + 6], 16)))
            i += 4
        else:
            raise SoqlError(MALFORMED_QUERY, _located(
                text, token.pos, f"Invalid string literal '{body}'. Illegal character sequence '\\{nxt}' in string literal."
            ))
        i += 2
    return "".join(out)


_DATETIME_RE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:(Z)|([+-])(\d{2}):?(\d{2}))"
)


def parse_datetime_literal(text: str) -> datetime:
    """A SOQL datetime literal (``2024-01-05T10:00:00Z``, ``...00.000+0000``, ``...+01:00``) as UTC."""
    m = _DATETIME_RE.fullmatch(text)
    if m is None:
        raise ValueError(f"not a SOQL datetime literal: {text!r}")
    year, month, day, hour, minute, second, frac, zulu, sign, off_h, off_m = m.groups()
    micro = int((frac or "0").ljust(6, "0")[:6])
    offset = timedelta(0) if zulu else timedelta(hours=int(off_h), minutes=int(off_m)) * (1 if sign == "+" else -1)
    local = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), micro,
                     tzinfo=timezone(offset))
    return local.astimezone(UTC)


# --- The parsed query ----------------------------------------------------------------------


@dataclass(frozen=True)
class OrderItem:
    field: str
    descending: bool = False
    nulls_last: bool = False


@dataclass
class SoqlQuery:
    """A parsed, schema-checked query, ready to run over one object's records."""

    text: str
    sobject: SObject
    #: Selected fields in the order written (compound fields included); empty for COUNT().
    fields: list[Field]
    is_count: bool = False
    where: pl.Expr | None = None
    order_by: list[OrderItem] = field(default_factory=list)
    limit: int | None = None
    offset: int | None = None

    @property
    def object_name(self) -> str:
        return self.sobject.name

    @property
    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]

    @property
    def compound_fields(self) -> list[str]:
        return [f.name for f in self.fields if f.is_compound]

    def filter(self, records: pl.DataFrame) -> pl.DataFrame:
        """Apply WHERE, ORDER BY, OFFSET and LIMIT (all columns kept)."""
        out = records if self.where is None else records.filter(self.where)
        if self.order_by:
            out = out.sort(
                [_sort_key(o.field, out.schema[o.field]) for o in self.order_by],
                descending=[o.descending for o in self.order_by],
                nulls_last=[o.nulls_last for o in self.order_by],
                maintain_order=True,
            )
        if self.offset:
            out = out.slice(self.offset)
        if self.limit is not None:
            out = out.head(self.limit)
        return out

    def project(self, records: pl.DataFrame) -> pl.DataFrame:
        """Keep the selected fields, building compound address fields as structs (as REST returns them)."""
        return records.select([self._column(f, records) for f in self.fields])

    def run(self, records: pl.DataFrame) -> pl.DataFrame:
        return self.project(self.filter(records))

    def _column(self, f: Field, records: pl.DataFrame) -> pl.Expr:
        if not f.is_compound:
            return pl.col(f.name)
        prefix = f.name[: -len("Address")]

        def part(key: str) -> pl.Expr:
            name = prefix + key[0].upper() + key[1:]
            if name in records.columns:
                return pl.col(name).alias(key)
            return pl.lit(None, dtype=pl.Float64 if key in ("latitude", "longitude") else pl.String).alias(key)

        components = [pl.col(prefix + k) for k in ("Street", "City", "State", "PostalCode", "Country")
                      if prefix + k in records.columns]
        if not components:
            return pl.lit(None).alias(f.name)
        # Salesforce answers null, not an object of nulls, for an address with no parts.
        has_any = pl.any_horizontal([c.is_not_null() for c in components])
        return pl.when(has_any).then(pl.struct([part(k) for k in _ADDRESS_PARTS])).alias(f.name)


# --- Parser --------------------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str, now: datetime | None):
        self.text = text
        self.tokens = _tokenize(text)
        self.i = 0
        self.now = now or datetime.now(UTC)
        self.sobject: SObject | None = None

    # token helpers
    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def advance(self) -> Token:
        t = self.tokens[self.i]
        self.i += 1
        return t

    def unexpected(self, t: Token | None = None) -> SoqlError:
        t = t or self.tok
        shown = "<EOF>" if t.kind == "eof" else t.text
        return SoqlError(MALFORMED_QUERY, _located(self.text, t.pos, f"unexpected token: '{shown}'"))

    def expect_kw(self, *words: str) -> Token:
        if not self.tok.is_kw(*words):
            raise self.unexpected()
        return self.advance()

    def expect_punct(self, ch: str) -> Token:
        if not (self.tok.kind == "punct" and self.tok.text == ch):
            raise self.unexpected()
        return self.advance()

    def at_punct(self, ch: str) -> bool:
        return self.tok.kind == "punct" and self.tok.text == ch

    def error(self, code: str, t: Token, message: str) -> SoqlError:
        return SoqlError(code, _located(self.text, t.pos, message))

    # grammar
    def parse(self) -> SoqlQuery:
        self.expect_kw("SELECT")
        is_count, field_tokens = self.select_list()
        self.expect_kw("FROM")
        obj_token = self.advance()
        if obj_token.kind != "ident":
            raise self.unexpected(obj_token)
        sobject = find_object(obj_token.text)
        if sobject is None:
            raise self.error(INVALID_TYPE, obj_token, (
                f"sObject type '{obj_token.text}' is not supported. If you are attempting to use a custom object, "
                "be sure to append the '__c' after the entity name. Please reference your WSDL or the describe "
                "call for the appropriate names."
            ))
        self.sobject = sobject
        fields = self.resolve_select(field_tokens)
        query = SoqlQuery(text=self.text, sobject=sobject, fields=fields, is_count=is_count)
        if self.tok.is_kw("WHERE"):
            self.advance()
            query.where = self.condition()
        if self.tok.is_kw("GROUP", "HAVING", "WITH", "USING", "TYPEOF"):
            raise self.error(MALFORMED_QUERY, self.tok,
                             f"{self.tok.text.upper()} is not supported by the l2c sandbox org's SOQL subset")
        if self.tok.is_kw("ORDER"):
            self.advance()
            self.expect_kw("BY")
            query.order_by = self.order_list()
        if self.tok.is_kw("LIMIT"):
            self.advance()
            query.limit = self.non_negative_int()
        if self.tok.is_kw("OFFSET"):
            self.advance()
            query.offset = self.non_negative_int()
        if self.tok.kind != "eof":
            raise self.unexpected()
        return query

    def select_list(self) -> tuple[bool, list[Token]]:
        if self.tok.is_kw("COUNT") and self.tokens[self.i + 1].text == "(":
            count_tok = self.advance()
            self.advance()
            if not self.at_punct(")"):
                raise self.error(MALFORMED_QUERY, count_tok,
                                 "aggregate functions other than COUNT() are not supported by the l2c sandbox org")
            self.advance()
            return True, []
        tokens: list[Token] = []
        while True:
            t = self.tok
            if t.kind == "punct" and t.text == "(":
                raise self.error(MALFORMED_QUERY, t, "sub-queries are not supported by the l2c sandbox org")
            if t.kind != "ident" or t.is_kw("FROM"):
                raise self.unexpected()
            self.advance()
            if self.at_punct("("):
                raise self.error(MALFORMED_QUERY, t, (
                    f"function {t.text.upper()}() is not supported by the l2c sandbox org "
                    "(only SELECT COUNT() FROM ...)"
                ))
            tokens.append(t)
            if not self.at_punct(","):
                return False, tokens
            self.advance()

    def resolve_select(self, tokens: list[Token]) -> list[Field]:
        fields: list[Field] = []
        seen: set[str] = set()
        for t in tokens:
            f = self.resolve_field(t)
            if f.name in seen:
                raise self.error(MALFORMED_QUERY, t, f"duplicate field selected: {f.name}")
            seen.add(f.name)
            fields.append(f)
        return fields

    def resolve_field(self, t: Token) -> Field:
        assert self.sobject is not None
        obj = self.sobject
        name = t.text
        if "." in name:
            head, rest = name.split(".", 1)
            if head.lower() == obj.name.lower() and "." not in rest:
                name = rest
            else:
                relationships = {relationship_name(f).lower(): f for f in obj.fields if relationship_name(f)}
                if head.lower() in relationships:
                    raise self.error(INVALID_FIELD, t, (
                        f"Relationship field '{t.text}' is not supported by the l2c sandbox org: select the "
                        f"reference field {relationships[head.lower()].name} and join the related object instead."
                    ))
                raise self.error(INVALID_FIELD, t, (
                    f"Didn't understand relationship '{head}' in field path. If you are attempting to use a "
                    "custom relationship, be sure to append the '__r' after the custom relationship name. Please "
                    "reference your WSDL or the describe call for the appropriate names."
                ))
        for f in obj.fields:
            if f.name.lower() == name.lower():
                return f
        raise self.error(INVALID_FIELD, t, (
            f"No such column '{name}' on entity '{obj.name}'. If you are attempting to use a custom field, be "
            "sure to append the '__c' after the custom field name. Please reference your WSDL or the describe "
            "call for the appropriate names."
        ))

    def non_negative_int(self) -> int:
        t = self.advance()
        if t.kind != "number" or not re.fullmatch(r"\d+", t.text):
            raise self.unexpected(t)
        return int(t.text)

    def order_list(self) -> list[OrderItem]:
        items = []
        while True:
            t = self.advance()
            if t.kind != "ident":
                raise self.unexpected(t)
            f = self.resolve_field(t)
            if f.is_compound or not is_filterable(f):
                raise self.error(INVALID_FIELD, t, f"field '{f.name}' can not be sorted in a query call")
            descending = False
            nulls_last = False
            if self.tok.is_kw("ASC", "DESC"):
                descending = self.advance().text.upper() == "DESC"
            if self.tok.is_kw("NULLS"):
                self.advance()
                nulls_last = self.expect_kw("FIRST", "LAST").text.upper() == "LAST"
            items.append(OrderItem(f.name, descending, nulls_last))
            if not self.at_punct(","):
                return items
            self.advance()

    # conditions: cond := term ((AND term)* | (OR term)*); term := NOT term | '(' cond ')' | predicate
    def condition(self) -> pl.Expr:
        expr = self.term()
        connective: str | None = None
        while self.tok.is_kw("AND", "OR"):
            word = self.tok.text.upper()
            if connective is not None and word != connective:
                raise self.unexpected()
            connective = word
            self.advance()
            right = self.term()
            expr = expr & right if word == "AND" else expr | right
        return expr

    def term(self) -> pl.Expr:
        if self.tok.is_kw("NOT"):
            self.advance()
            return ~self.term()
        if self.at_punct("("):
            self.advance()
            expr = self.condition()
            self.expect_punct(")")
            return expr
        return self.predicate()

    def predicate(self) -> pl.Expr:
        t = self.advance()
        if t.kind != "ident":
            raise self.unexpected(t)
        f = self.resolve_field(t)
        if f.is_compound or not is_filterable(f):
            raise self.error(INVALID_FIELD, t, f"field '{f.name}' can not be filtered in a query call")
        op_tok = self.tok
        if op_tok.is_kw("NOT"):
            self.advance()
            self.expect_kw("IN")
            return self.in_list(f, negate=True)
        if op_tok.is_kw("IN"):
            self.advance()
            return self.in_list(f, negate=False)
        if op_tok.is_kw("LIKE"):
            self.advance()
            return self.like(f, t)
        if op_tok.is_kw("INCLUDES", "EXCLUDES"):
            raise self.error(MALFORMED_QUERY, op_tok, f"{op_tok.text.upper()} is not supported by the l2c sandbox org")
        if op_tok.kind != "op":
            raise self.unexpected()
        self.advance()
        op = "!=" if op_tok.text == "<>" else op_tok.text
        return self.compare(f, op, self.literal(), op_tok)

    def literal(self) -> Literal:
        t = self.advance()
        if t.kind == "string":
            return Literal("string", _unescape(t, self.text), t, raw=t.text[1:-1])
        if t.kind == "number":
            value = float(t.text) if any(c in t.text for c in ".") else int(t.text)
            return Literal("number", value, t)
        if t.kind == "date":
            try:
                return Literal("date", date.fromisoformat(t.text), t)
            except ValueError:
                raise self.error(MALFORMED_QUERY, t, f"invalid date: {t.text}") from None
        if t.kind == "datetime":
            try:
                return Literal("datetime", parse_datetime_literal(t.text), t)
            except ValueError:
                raise self.error(MALFORMED_QUERY, t, f"invalid dateTime: {t.text}") from None
        if t.is_kw("TRUE", "FALSE"):
            return Literal("boolean", t.text.upper() == "TRUE", t)
        if t.is_kw("NULL"):
            return Literal("null", None, t)
        if t.kind == "ident":
            return Literal("relative", self.relative_range(t), t)
        raise self.unexpected(t)

    def relative_range(self, t: Token) -> tuple[datetime, datetime]:
        """A relative date literal as a half-open UTC range [start, end) around the org clock's day."""
        word = t.text.upper()
        today = datetime.combine(self.now.astimezone(UTC).date(), time(), tzinfo=UTC)
        day = timedelta(days=1)
        fixed = {"TODAY": (today, today + day), "YESTERDAY": (today - day, today),
                 "TOMORROW": (today + day, today + 2 * day)}
        if word in fixed:
            return fixed[word]
        if word in ("LAST_N_DAYS", "NEXT_N_DAYS"):
            self.expect_punct(":")
            n = self.non_negative_int()
            if word == "LAST_N_DAYS":
                return today - n * day, today + day
            return today + day, today + day + n * day
        raise self.unexpected(t)

    # predicates → polars
    def _type_error(self, f: Field, lit: Literal) -> SoqlError:
        if f.type in _TYPE_WORDS:
            message = (f"value of filter criterion for field '{f.name}' must be of type {_TYPE_WORDS[f.type]} "
                       "and should not be enclosed in quotes")
        else:
            message = (f"value of filter criterion for field '{f.name}' must be of type string "
                       "and should be enclosed in quotes")
        return self.error(INVALID_FIELD, lit.token, message)

    def _value(self, f: Field, lit: Literal) -> object:
        """The literal as a Python value of the field's column type, or a type error like Salesforce's."""
        t = f.type
        if t in _TEXT_TYPES or t in _ID_TYPES:
            if lit.kind != "string":
                raise self._type_error(f, lit)
            return lit.value.lower() if t in _TEXT_TYPES else lit.value
        if t in _NUMBER_TYPES:
            if lit.kind != "number":
                raise self._type_error(f, lit)
            return lit.value
        if t == "boolean":
            if lit.kind != "boolean":
                raise self._type_error(f, lit)
            return lit.value
        if t == "datetime":
            if lit.kind != "datetime":
                raise self._type_error(f, lit)
            return lit.value
        if t == "date":
            if lit.kind != "date":
                raise self._type_error(f, lit)
            return lit.value
        raise self.error(INVALID_FIELD, lit.token, f"field '{f.name}' can not be filtered in a query call")

    @staticmethod
    def _column(f: Field) -> pl.Expr:
        col = _as_text(f)
        return col.str.to_lowercase() if f.type in _TEXT_TYPES else col

    @staticmethod
    def _lit(f: Field, value: object) -> pl.Expr:
        if f.type == "datetime":
            return pl.lit(value, dtype=DATETIME_DTYPE)
        if f.type == "date":
            return pl.lit(value, dtype=pl.Date)
        return pl.lit(value)

    def compare(self, f: Field, op: str, lit: Literal, op_tok: Token) -> pl.Expr:
        col = self._column(f)
        if lit.kind == "null":
            if op == "=":
                return pl.col(f.name).is_null()
            if op == "!=":
                return pl.col(f.name).is_not_null()
            raise self.error(MALFORMED_QUERY, op_tok, f"invalid operator on null: {op}")
        if lit.kind == "relative":
            if f.type not in ("date", "datetime"):
                raise self._type_error(f, lit)
            start, end = lit.value  # type: ignore[misc]
            if f.type == "date":
                start, end = start.date(), end.date()
            lo, hi = self._lit(f, start), self._lit(f, end)
            inside = {
                "=": (col >= lo) & (col < hi), "!=": ~((col >= lo) & (col < hi)),
                "<": col < lo, "<=": col < hi, ">": col >= hi, ">=": col >= lo,
            }[op]
            return inside.fill_null(op == "!=")
        value = self._lit(f, self._value(f, lit))
        if op == "=":
            return (col == value).fill_null(False)
        if op == "!=":
            return col.ne_missing(value)
        if f.type == "boolean":
            raise self.error(MALFORMED_QUERY, op_tok, f"invalid operator on boolean field '{f.name}': {op}")
        cmp = {"<": col < value, "<=": col <= value, ">": col > value, ">=": col >= value}[op]
        return cmp.fill_null(False)

    def in_list(self, f: Field, negate: bool) -> pl.Expr:
        self.expect_punct("(")
        if self.tok.is_kw("SELECT"):
            raise self.error(MALFORMED_QUERY, self.tok, "semi-join sub-queries are not supported by the l2c sandbox org")
        values = []
        while True:
            lit = self.literal()
            values.append(None if lit.kind == "null" else self._value(f, lit))
            if not self.at_punct(","):
                break
            self.advance()
        self.expect_punct(")")
        non_null = [v for v in values if v is not None]
        numeric = f.type in _NUMBER_TYPES
        dtype = {"datetime": DATETIME_DTYPE, "date": pl.Date, "boolean": pl.Boolean}.get(
            f.type, pl.Float64 if numeric else pl.String
        )
        members = pl.Series(non_null, dtype=dtype)
        col = self._column(f).cast(pl.Float64) if numeric else self._column(f)
        hit = col.is_in(members.implode()).fill_null(False)
        if None in values:
            hit = hit | pl.col(f.name).is_null()
        if negate:
            return ~hit
        return hit

    def like(self, f: Field, field_tok: Token) -> pl.Expr:
        lit = self.literal()
        if f.type not in _TEXT_TYPES and f.type not in _ID_TYPES:
            raise self.error(INVALID_FIELD, field_tok, f"invalid operator on field '{f.name}': LIKE")
        if lit.kind != "string":
            raise self._type_error(f, lit)
        return _as_text(f).str.contains(like_regex(lit.raw)).fill_null(False)


def _as_text(f: Field) -> pl.Expr:
    """A text or id field's column as ``pl.String``, whichever dtype holds it (Enum and Categorical too)."""
    col = pl.col(f.name)
    return col.cast(pl.String) if f.type in _TEXT_TYPES or f.type in _ID_TYPES else col


def _sort_key(name: str, dtype: pl.DataType) -> pl.Expr:
    """ORDER BY on a text column sorts the text, not an Enum's declared order or a Categorical's codes."""
    col = pl.col(name)
    return col.cast(pl.String) if isinstance(dtype, (pl.Enum, pl.Categorical)) else col


def like_regex(raw: str) -> str:
    """A SOQL LIKE pattern (source text between the quotes) as a case-insensitive anchored regex."""
    out = ["(?is)^"]
    i = 0
    while i < len(raw):
        ch = raw[i]
        if ch == "\\" and i + 1 < len(raw):
            nxt = raw[i + 1]
            out.append(re.escape(_ESCAPES.get(nxt, nxt)))
            i += 2
            continue
        out.append(".*" if ch == "%" else "." if ch == "_" else re.escape(ch))
        i += 1
    out.append("$")
    return "".join(out)


def parse_soql(text: str, now: datetime | None = None) -> SoqlQuery:
    """Parse and schema-check a SOQL query; ``now`` (the org clock) anchors relative date literals.

    Raises :class:`SoqlError` with Salesforce's error code and message.
    """
    if not text or not text.strip():
        raise SoqlError(MALFORMED_QUERY, "A query string has to be specified")
    return _Parser(text, now).parse()

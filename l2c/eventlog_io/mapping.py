"""Which column of an imported file plays which part of the event log.

A file from a Salesforce report export, a spreadsheet or pm4py names its
columns in many ways (``Case ID``, ``Opportunity Id``, ``case:concept:name``,
...). :func:`detect_columns` recognises the common names for each *role*
(case id, activity, timestamp, sales rep, ...) and lets explicit choices (the
``--case``/``--activity``/... flags) override the guess. The result also says
which leftover columns must be renamed because their names are taken by the
canonical event-log columns (DuckDB column names are case-insensitive, so a
leftover ``Activity`` next to the canonical ``activity`` would collide).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from analysis import columns as C
from l2c.eventlog_io.errors import MappingError

#: Prefix pm4py (and our XES reader) gives trace attributes flattened onto events.
CASE_PREFIX = "case:"
#: The XES key of the lifecycle transition (start/complete/...), kept under this name.
LIFECYCLE_COLUMN = "lifecycle:transition"
#: Event-log columns the dbt mart has beyond ``analysis.columns.EVENT_LOG_COLUMNS``; an import writes them too.
EXTRA_EVENT_LOG_COLUMNS = (*C.EVENT_LOG_OPTIONAL_COLUMNS, "is_milestone", "is_before_case_created")
#: Internal column: the row number a user sees for each imported event (see ``Source.row_label``).
ROW_COLUMN = "_l2c_row"


@dataclass(frozen=True)
class Role:
    """One part an imported column can play.

    ``target`` is the canonical column it feeds; ``level`` says whether it
    describes an event or the whole case (case-level values end up in
    ``l2c.cases`` as the case's last known value).
    """

    name: str
    target: str
    level: str
    aliases: tuple[str, ...]
    description: str
    required: bool = False

    @property
    def flag(self) -> str:
        """The ``l2c import`` flag naming this role's column (``--lifecycle`` itself picks keep/combine)."""
        if self.name == "lifecycle":
            return "--lifecycle-column"
        return "--" + self.name.replace("_", "-")


#: Every role, in detection order. Aliases are compared after :func:`normalise_name`
#: and tried in order: pm4py/XES names first (a file using them is a pm4py export, in
#: which ``concept:name`` *is* the activity), then our own names, then common others.
ROLES: tuple[Role, ...] = (
    Role("case", C.CASE_ID, "event", (
        "case:concept:name", "case id", "caseid", "case", "opportunity id", "opportunityid",
        "case concept name", "trace id", "process instance", "process instance id",
    ), "the case id: the Salesforce Opportunity Id, or any id grouping the events of one case", required=True),
    Role("activity", C.ACTIVITY, "event", (
        "concept:name", "activity", "activity name", "activityname", "event name", "event", "task", "action",
    ), "what happened, e.g. 'Stage: Proposal/Price Quote' or 'Quote Accepted'", required=True),
    Role("timestamp", C.TIMESTAMP, "event", (
        "time:timestamp", "timestamp", "complete timestamp", "end timestamp", "event time", "event timestamp",
        "datetime", "date time", "time", "date", "end time", "completed at",
    ), "when it happened", required=True),
    Role("resource", C.RESOURCE, "event", (
        "org:resource", "resource", "user", "performer", "actor", "agent", "executed by",
    ), "who did it (user or team); defaults to the sales rep"),
    Role("resource_role", C.RESOURCE_ROLE, "event", (
        "org:role", "resource role", "role",
    ), "the role of who did it"),
    Role("lifecycle", LIFECYCLE_COLUMN, "event", (
        "lifecycle:transition", "lifecycle", "lifecycle transition", "transition", "event type",
    ), "the lifecycle transition (start, complete, ...)"),
    Role("event_id", C.SOURCE_ID, "event", (
        "event id", "eventid", "identity:id",
    ), "the event's own id in the source system"),
    Role("activity_order", C.ACTIVITY_ORDER, "event", (
        "activity order", "event order", "sequence", "sequence number",
    ), "tie-breaker for events with the same timestamp (an integer)"),
    Role("due_date", C.DUE_DATE, "event", (
        "due date", "duedate", "invoice due date", "payment due date",
    ), "invoice due date (on Invoice Posted events; days-to-pay lateness uses it)"),
    Role("invoice_id", C.INVOICE_ID, "event", (
        "invoice id", "invoiceid", "invoice number", "invoice no", "invoice",
    ), "the invoice the event is about: the invoice itself on Invoice Posted, the invoice paid on Payment "
       "Received (days to pay pairs payments with invoices by it; without it, by order)"),
    Role("stage", C.STAGE, "event", (
        "stage", "stage name", "stagename", "opportunity stage",
    ), "opportunity stage after the event"),
    Role("amount", C.AMOUNT, "event", (
        "amount", "opportunity amount", "deal amount", "deal value",
    ), "opportunity amount after the event (a number)"),
    Role("sales_rep", C.OWNER_NAME, "case", (
        "sales rep", "salesrep", "sales representative", "owner", "opportunity owner", "owner name",
        "account executive", "rep",
    ), "sales rep owning the opportunity"),
    Role("owner_role", C.OWNER_ROLE, "case", ("owner role", "sales rep role", "rep role"), "role of the sales rep"),
    Role("opportunity_name", "opportunity_name", "case", (
        "opportunity name", "opportunityname", "deal name", "deal",
    ), "opportunity name"),
    Role("account_name", "account_name", "case", (
        "account name", "accountname", "account", "customer name", "customer", "company",
    ), "customer account name"),
    Role("customer_segment", "customer_segment", "case", ("customer segment", "segment"), "customer segment"),
    Role("is_won", C.IS_WON, "case", (
        "is won", "iswon", "won",
    ), "whether the opportunity was won (true/false, yes/no, 1/0)"),
    Role("is_closed", C.IS_CLOSED, "case", ("is closed", "isclosed"), "whether the opportunity is closed"),
    Role("discount_pct", C.DISCOUNT_PCT, "case", (
        "discount pct", "discount", "discount percent", "discount percentage",
    ), "discount in percent, 0-100"),
    Role("currency", C.CURRENCY, "case", ("currency", "currency iso code", "currencyisocode"), "currency code"),
    Role("region", C.REGION, "case", ("region", "sales region"), "sales region"),
    Role("team", C.TEAM, "case", ("team", "sales team"), "sales team"),
    Role("industry", C.INDUSTRY, "case", ("industry",), "customer industry"),
    Role("lead_source", C.LEAD_SOURCE, "case", ("lead source", "leadsource"), "lead source"),
    Role("product_category", C.PRODUCT_CATEGORY, "case", (
        "product category", "product family",
    ), "product category"),
    Role("opportunity_type", C.OPPORTUNITY_TYPE, "case", ("opportunity type",), "opportunity type"),
)
ROLES_BY_NAME = {r.name: r for r in ROLES}
REQUIRED_ROLES = tuple(r.name for r in ROLES if r.required)

#: Column names the import writes itself; a leftover source column with one of these
#: names (compared case-insensitively, like DuckDB does) is renamed ``<name>_original``.
RESERVED_NAMES = frozenset(
    name.lower() for name in (*C.EVENT_LOG_COLUMNS, *EXTRA_EVENT_LOG_COLUMNS, LIFECYCLE_COLUMN, ROW_COLUMN)
)


def normalise_name(name: str) -> str:
    """A column name reduced for matching: lower case, ``%`` read as "pct", separators as one space.

    >>> normalise_name("Case ID"), normalise_name("discount_%"), normalise_name("case:concept:name")
    ('case id', 'discount pct', 'case:concept:name')
    """
    text = name.strip().lower().replace("%", " pct ")
    return re.sub(r"[^a-z0-9:]+", " ", text).strip()


@dataclass
class ColumnMapping:
    """Role → source column, plus the renames that keep leftover columns from colliding."""

    roles: dict[str, str]
    #: Source columns renamed because their names are reserved: {source name: new name}.
    renamed: dict[str, str] = field(default_factory=dict)
    #: Roles whose column was given explicitly (by flag) rather than detected.
    explicit: frozenset[str] = frozenset()

    def column(self, role: str) -> str | None:
        return self.roles.get(role)

    def describe(self) -> list[str]:
        """One line per mapped role, named like its flag: ``case <- 'Opportunity Id' (detected)``."""
        lines = []
        for role in ROLES:
            if role.name in self.roles:
                how = "given" if role.name in self.explicit else "detected"
                lines.append(f"{role.name.replace('_', '-'):<16} <- {self.roles[role.name]!r} ({how})")
        return lines


def detect_columns(columns: Sequence[str], explicit: Mapping[str, str | None] | None = None) -> ColumnMapping:
    """Map the file's ``columns`` to roles: explicit choices first, then common names.

    Args:
        columns: the file's column names, in file order.
        explicit: ``{role: column}`` chosen by the user (role names as in
            :data:`ROLES`, e.g. ``{"case": "Deal", "timestamp": "When"}``);
            ``None`` values are ignored.

    Raises:
        MappingError: an explicit column does not exist, or no column can be
            found for a required role (case, activity, timestamp); the message
            lists the file's columns and the flag to pass.
    """
    explicit = {k: v for k, v in (explicit or {}).items() if v}
    unknown_roles = sorted(set(explicit) - set(ROLES_BY_NAME))
    if unknown_roles:
        raise MappingError(f"unknown column role(s) {', '.join(unknown_roles)}; known: {', '.join(ROLES_BY_NAME)}")
    available = ", ".join(repr(c) for c in columns) or "none"
    roles: dict[str, str] = {}
    for role_name, column in explicit.items():
        if column not in columns:
            role = ROLES_BY_NAME[role_name]
            raise MappingError(f"column {column!r} given with {role.flag} is not in the file; its columns are: {available}")
        roles[role_name] = column

    taken = set(roles.values())
    by_normal: dict[str, str] = {}
    for column in columns:
        by_normal.setdefault(normalise_name(column), column)
    for role in ROLES:
        if role.name in roles:
            continue
        candidates = list(role.aliases)
        if role.level == "case":  # pm4py flattens case attributes as "case:<name>"
            candidates += [CASE_PREFIX + a for a in role.aliases]
        for alias in candidates:
            column = by_normal.get(alias)
            if column is not None and column not in taken:
                roles[role.name] = column
                taken.add(column)
                break

    missing = [ROLES_BY_NAME[r] for r in REQUIRED_ROLES if r not in roles]
    if missing:
        lines = [
            f"no {r.name} column: none of the columns is named like one ({', '.join(repr(a) for a in r.aliases[:5])}, ...); "
            f"pass {r.flag} COLUMN"
            for r in missing
        ]
        raise MappingError("; ".join(lines) + f". The file's columns are: {available}")

    renamed = _renames_for_reserved(columns, taken)
    return ColumnMapping(roles=roles, renamed=renamed, explicit=frozenset(explicit))


def _renames_for_reserved(columns: Sequence[str], taken: set[str]) -> dict[str, str]:
    used = {c.lower() for c in columns}
    renamed: dict[str, str] = {}
    for column in columns:
        if column in taken or column.lower() not in RESERVED_NAMES:
            continue
        new, n = f"{column}_original", 2
        while new.lower() in used or new.lower() in RESERVED_NAMES:
            new, n = f"{column}_original_{n}", n + 1
        used.add(new.lower())
        renamed[column] = new
    return renamed

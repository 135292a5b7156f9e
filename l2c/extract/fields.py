"""Which fields of an object to select, how they land in DuckDB, and the SOQL that reads them.

Fields come from the object's describe: every field the running user can read
(field-level security hides the others from describe), including custom ones,
minus those the APIs cannot return in bulk form:

* compound fields (``address``, ``location``): their component fields
  (``BillingCity``, ...) are selected instead;
* ``base64`` fields: Salesforce returns them one record at a time only.

Very wide objects whose SOQL would exceed the length limit are split into
several queries that each carry ``Id`` and the replication key, so the parts
can be re-joined.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from l2c.extract.errors import ConfigurationError
from l2c.extract.settings import ObjectSpec
from l2c.salesforce_schema import duckdb_type, snake_case

SKIPPED_TYPES = {
    "address": "compound address field (its component fields are selected)",
    "location": "compound location field (its latitude/longitude fields are selected)",
    "base64": "base64 field (the query APIs cannot return it in bulk)",
}


@dataclass(frozen=True)
class SelectedField:
    """One selected field: its API name, describe type and raw-layer column."""

    name: str
    sf_type: str

    @property
    def column(self) -> str:
        return snake_case(self.name)

    @property
    def duckdb_type(self) -> str:
        return duckdb_type(self.sf_type)


@dataclass
class FieldPlan:
    """The fields to read from one object and how its raw table is keyed."""

    object_name: str
    fields: list[SelectedField]
    replication_key: str | None
    #: API names of fields left out, with the reason.
    skipped: dict[str, str] = field(default_factory=dict)
    #: Fields the YAML asks for that describe does not show (deleted, or hidden by field-level security).
    not_visible: list[str] = field(default_factory=list)

    @property
    def table(self) -> str:
        return snake_case(self.object_name)

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.fields]

    @property
    def replication_column(self) -> str | None:
        return snake_case(self.replication_key) if self.replication_key else None

    @property
    def immutable_rows(self) -> bool:
        """History rows never change after creation: they are synced by CreatedDate and keyed by Id alone."""
        return self.replication_key is not None and self.replication_key.lower() == "createddate"

    @property
    def key_columns(self) -> list[str]:
        """Columns that identify one version of a record in the append-only raw table."""
        if self.immutable_rows:
            return ["id"]
        if not self.replication_column:
            # No timestamp to tell versions apart: every distinct set of values is a version.
            return [f.column for f in self.fields]
        keys = ["id", self.replication_column]
        # A delete or undelete is a version of its own even if an org kept the old timestamp.
        if any(f.name.lower() == "isdeleted" for f in self.fields):
            keys.append("is_deleted")
        return keys


def default_replication_key(field_names: list[str]) -> str | None:
    lower = {n.lower(): n for n in field_names}
    for candidate in ("systemmodstamp", "createddate", "lastmodifieddate"):
        if candidate in lower:
            return lower[candidate]
    return None


def plan_fields(describe: dict, spec: ObjectSpec) -> FieldPlan:
    """The field plan for one object from its describe result and its YAML options."""
    object_name = describe.get("name") or spec.name
    described = [f for f in describe["fields"] if not f.get("deprecatedAndHidden")]
    by_lower = {f["name"].lower(): f for f in described}
    if "id" not in by_lower:
        raise ConfigurationError(f"{object_name} has no Id field in its describe; it cannot be extracted.")

    replication_key = spec.replication_key or default_replication_key([f["name"] for f in described])
    if spec.replication_key and spec.replication_key.lower() not in by_lower:
        raise ConfigurationError(
            f"{object_name}: replication_key {spec.replication_key!r} from the object list is not a visible field."
        )
    if replication_key:
        replication_key = by_lower[replication_key.lower()]["name"]

    excluded = {n.lower() for n in spec.exclude_fields}
    required = {"id", "isdeleted", (replication_key or "").lower()}
    wanted = {n.lower() for n in spec.fields} | required if spec.fields else None

    plan = FieldPlan(object_name=object_name, fields=[], replication_key=replication_key)
    for f in described:
        name, lower = f["name"], f["name"].lower()
        if f["type"] in SKIPPED_TYPES:
            plan.skipped[name] = SKIPPED_TYPES[f["type"]]
        elif lower in excluded and lower not in required:
            plan.skipped[name] = "excluded in the object list"
        elif wanted is not None and lower not in wanted:
            plan.skipped[name] = "not in the object list's fields"
        else:
            plan.fields.append(SelectedField(name, f["type"]))
    plan.not_visible = [n for n in spec.fields if n.lower() not in by_lower]
    return plan


# --- SOQL --------------------------------------------------------------------------


def soql_datetime(value: datetime) -> str:
    """A SOQL datetime literal (UTC, whole seconds, rounded down so ``>=`` never skips a record)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def soql_datetime_ceiling(value: datetime) -> str:
    """A SOQL datetime literal rounded up to the next whole second (for ``<=`` upper bounds)."""
    if value.microsecond:
        value = value.replace(microsecond=0) + timedelta(seconds=1)
    return soql_datetime(value)


def where_clause(replication_key: str | None, since: datetime | None, until: datetime | None = None) -> str:
    conditions = []
    if replication_key and since is not None:
        conditions.append(f"{replication_key} >= {soql_datetime(since)}")
    if replication_key and until is not None:
        conditions.append(f"{replication_key} <= {soql_datetime_ceiling(until)}")
    return (" WHERE " + " AND ".join(conditions)) if conditions else ""


def select_statement(object_name: str, field_names: list[str], where: str) -> str:
    return f"SELECT {', '.join(field_names)} FROM {object_name}{where}"


def split_fields(plan: FieldPlan, where: str, max_length: int) -> list[list[str]]:
    """Field lists, one per query, each short enough; every list starts with Id (and the replication key)."""
    if len(select_statement(plan.object_name, plan.names, where)) <= max_length:
        return [plan.names]
    anchors = ["Id"] + ([plan.replication_key] if plan.replication_key else [])
    anchor_lower = {a.lower() for a in anchors}
    anchors = [next(f.name for f in plan.fields if f.name.lower() == a.lower()) for a in anchors]
    rest = [n for n in plan.names if n.lower() not in anchor_lower]
    chunks: list[list[str]] = []
    current = list(anchors)
    for name in rest:
        if len(select_statement(plan.object_name, [*current, name], where)) > max_length and len(current) > len(anchors):
            chunks.append(current)
            current = list(anchors)
        current.append(name)
        if len(select_statement(plan.object_name, current, where)) > max_length:
            raise ConfigurationError(
                f"{plan.object_name}: even a query of {', '.join(current)} exceeds the SOQL length limit "
                f"of {max_length} characters (max_soql_length)."
            )
    chunks.append(current)
    return chunks

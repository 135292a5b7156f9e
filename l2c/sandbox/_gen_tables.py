"""Turning simulated changes into Salesforce tables with all record versions.

The generator describes each object as a list of *changes*: one row per record
and instant with the fields that changed at that instant (nulls mean
"unchanged"), the acting user and the record's index. :func:`assemble` sorts
them, carries the record state forward, merges changes that happen at the same
instant into one version, fills the audit fields and casts every column to the
polars type of its Salesforce describe type. :func:`field_history` derives
history rows (``LeadHistory``, ``OpportunityFieldHistory``, ``ContractHistory``)
from the differences between consecutive versions, so history and versions
always agree.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from l2c.salesforce_schema import Field, get_object

UTC_DATETIME = pl.Datetime("us", "UTC")
VALID_FROM = "_valid_from"

_NUMERIC_TYPES = {"currency": pl.Float64, "percent": pl.Float64, "double": pl.Float64, "int": pl.Int64}


#: Objects whose ids fill many more rows than there are records, so that a categorical code per row
#: (4 bytes) plus one dictionary entry per record (about 100 bytes) beats a 16-byte string view per
#: row: set-up objects (owners, creators, products, stages, price book) and the opportunities and
#: accounts that every opportunity version, history row, quote, order and task points to. (Contracts
#: would save a little too, but ProcessInstance.TargetObjectId points to quotes or contracts and a
#: reference must have the dtype of every object it points to, so joins need no cast.)
CATEGORICAL_ID_OBJECTS = frozenset({
    "User", "UserRole", "Product2", "OpportunityStage", "Pricebook2", "PricebookEntry", "ProcessDefinition",
    "Opportunity", "Account",
})
#: Text fields the generator fills from short vocabularies (first and last names, places, titles, subjects).
VOCABULARY_FIELDS = frozenset({
    "FirstName", "LastName", "Title", "Department", "Division", "TimeZoneSidKey",
    "Street", "City", "State", "Country", "BillingStreet", "BillingCity", "BillingState", "BillingCountry",
    "Subject", "Location", "CustomerSignedTitle", "SpecialTerms", "Comments", "Description",
})


def polars_type(sf_type: str) -> pl.DataType:
    """Polars dtype of a Salesforce describe type in demo-org tables (text: ``String``, see :func:`field_type`)."""
    if sf_type == "datetime":
        return UTC_DATETIME
    if sf_type == "date":
        return pl.Date()
    if sf_type == "boolean":
        return pl.Boolean()
    if sf_type in _NUMERIC_TYPES:
        return _NUMERIC_TYPES[sf_type]()
    return pl.String()


def is_categorical(object_name: str, field: Field) -> bool:
    """Whether a text field holds few distinct values repeated on many rows (stored as ``pl.Categorical``).

    Picklists, history ``OldValue``/``NewValue``, ids of and references to the objects of
    :data:`CATEGORICAL_ID_OBJECTS` (a polymorphic reference only when all its targets are) and
    vocabulary fields: a 4-byte code per row instead of a 16-byte string view. Other ids and
    references, names, e-mails and numbers stay ``String``.
    """
    if field.type in ("picklist", "anyType"):
        return True
    if field.type == "id":
        return object_name in CATEGORICAL_ID_OBJECTS
    if field.type == "reference":
        return set(field.reference_to) <= CATEGORICAL_ID_OBJECTS
    return field.type in ("string", "textarea") and field.name in VOCABULARY_FIELDS


def field_type(object_name: str, field: Field) -> pl.DataType:
    """Polars dtype of one field of a demo-org table.

    Picklists with declared values are ``pl.Enum`` of those values (one byte per row, and a value
    outside the picklist fails loudly); other low-cardinality text is ``pl.Categorical``.
    """
    dtype = polars_type(field.type)
    if dtype != pl.String:
        return dtype
    if field.type == "picklist" and field.picklist:
        return pl.Enum(field.picklist)
    return pl.Categorical() if is_categorical(object_name, field) else dtype


def table_schema(object_name: str) -> dict[str, pl.DataType]:
    """Column names and dtypes of a demo-org table (API fields minus compound ones, plus ``_valid_from``)."""
    obj = get_object(object_name)
    schema = {f.name: field_type(obj.name, f) for f in obj.fields if not f.is_compound}
    schema[VALID_FROM] = UTC_DATETIME
    return schema


def utc(values: np.ndarray) -> pl.Series:
    """A polars UTC datetime series from numpy datetime64 values."""
    return pl.Series(np.asarray(values, dtype="datetime64[us]")).dt.replace_time_zone("UTC")


def dates(values: np.ndarray) -> pl.Series:
    return pl.Series(np.asarray(values, dtype="datetime64[D]")).cast(pl.Date)


def conform(object_name: str, df: pl.DataFrame) -> pl.DataFrame:
    """All fields of the object in describe order with their dtypes (missing ones as nulls), plus ``_valid_from``."""
    columns = []
    for name, dtype in table_schema(object_name).items():
        if name in df.columns:
            columns.append(pl.col(name).cast(dtype))
        else:
            columns.append(pl.lit(None, dtype=dtype).alias(name))
    return df.select(columns)


def assemble(
    object_name: str,
    ids: pl.Series,
    changes: list[pl.DataFrame],
    cutoff: dt.datetime,
    static: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """All versions of an object's records from their changes, up to ``cutoff``.

    ``changes`` frames have ``_rec`` (record index into ``ids``), ``_t`` (UTC instant),
    ``_actor`` (user id) and field columns; the first frame holds the creation rows.
    ``static`` (optional, one row per record, in record order) holds fields that never
    change; they are joined by record index after versions are built, which saves
    carrying them through the sort.
    """
    schema = table_schema(object_name)
    # The change frames are not copied: the versions' order and, per field, which change row
    # holds the value are worked out on row numbers, then every column is gathered once.
    df = pl.concat([c for c in changes if c.height], how="diagonal_relaxed", rechunk=False)
    order = (df.select("_rec", "_t").with_row_index("_src").filter(pl.col("_t") <= cutoff)
             .sort(["_rec", "_t"], maintain_order=True))
    steps = order.select(
        "_src",
        _first=(pl.col("_rec") != pl.col("_rec").shift(1)).fill_null(True),
        # several changes at one instant are one save in Salesforce: keep the state after the last one
        _keep=((pl.col("_rec") != pl.col("_rec").shift(-1)) | (pl.col("_t") != pl.col("_t").shift(-1)))
        .fill_null(True),
    ).with_row_index("_pos")
    del order

    def source_rows(has_value: pl.Expr) -> pl.Series:
        """Change row holding each kept version's value: the record's latest row with a value (or its first)."""
        return steps.select(pl.col("_src").gather(
            pl.when(has_value | pl.col("_first")).then(pl.col("_pos")).forward_fill()
        ).filter(pl.col("_keep"))).to_series()

    def column(name: str) -> pl.Series:
        # one chunk: gathering text from several chunks would copy every string instead of its view;
        # cast before gathering: categorical codes are cheaper to move than strings
        values = df[name].rechunk()
        dtype = pl.Categorical() if name == "_actor" else schema.get(name)  # the actor is a user id
        return values if dtype is None else values.cast(dtype)

    latest = steps.filter(pl.col("_keep"))["_src"]
    created = source_rows(pl.lit(False))
    rec = column("_rec").gather(latest)
    t, actor = column("_t"), column("_actor")
    columns: dict[str, pl.Series] = {
        "Id": ids.gather(rec),
        "CreatedDate": t.gather(created),
        "CreatedById": actor.gather(created),
        "LastModifiedDate": t.gather(latest),
        "LastModifiedById": actor.gather(latest),
    }
    columns["SystemModstamp"] = columns[VALID_FROM] = columns["LastModifiedDate"]
    del t, actor
    for c in df.columns:
        if c in schema and c not in columns:
            # carry each field forward within its record: the value of its latest change so far
            values = column(c)
            columns[c] = values.gather(source_rows(pl.lit(values.is_not_null()).gather(pl.col("_src"))))
    if "IsDeleted" in schema:
        deleted = columns.get("IsDeleted")
        columns["IsDeleted"] = deleted.fill_null(False) if deleted is not None else pl.repeat(
            False, rec.len(), eager=True)
    if static is not None:
        for c in static.columns:
            if c in schema:
                columns[c] = static[c].cast(schema[c]).gather(rec)
    return conform(object_name, pl.DataFrame(columns))


def field_history(
    versions: pl.DataFrame,
    parent_field: str,
    tracked: dict[str, tuple[str, str]],
) -> pl.DataFrame:
    """History rows (without Id) from consecutive versions of the parent object.

    ``tracked`` maps a parent field to (history ``Field`` value, ``DataType``), e.g.
    ``{"OwnerId": ("Owner", "EntityId")}``. Every record also gets a ``created`` row.
    ``versions`` must be grouped by Id in time order (as :func:`assemble` returns them).
    """
    base = versions.select(
        "Id", VALID_FROM, "LastModifiedById", *tracked,
        _same=(pl.col("Id") == pl.col("Id").shift(1)).fill_null(False),
    )
    meta = [
        pl.col("Id").alias(parent_field),
        pl.col(VALID_FROM).alias("CreatedDate"),
        pl.col("LastModifiedById").alias("CreatedById"),
    ]
    parts = [
        base.filter(~pl.col("_same")).select(
            *meta,
            pl.lit("created", dtype=pl.Categorical).alias("Field"),
            pl.lit(None, dtype=pl.Categorical).alias("DataType"),
            pl.lit(None, dtype=pl.Categorical).alias("OldValue"),
            pl.lit(None, dtype=pl.Categorical).alias("NewValue"),
        )
    ]
    for field, (history_name, data_type) in tracked.items():
        # compare in the field's own type and format only the changed rows as text
        changes = base.select(
            *meta, _same=pl.col("_same"), _new=pl.col(field), _old=pl.col(field).shift(1),
        ).filter(pl.col("_same") & pl.col("_new").ne_missing(pl.col("_old")))
        parts.append(changes.select(
            parent_field, "CreatedDate", "CreatedById",
            pl.lit(history_name, dtype=pl.Categorical).alias("Field"),
            pl.lit(data_type, dtype=pl.Categorical).alias("DataType"),
            # history values are text whatever the field's type (Salesforce's anyType)
            pl.col("_old").cast(pl.String).cast(pl.Categorical).alias("OldValue"),
            pl.col("_new").cast(pl.String).cast(pl.Categorical).alias("NewValue"),
        ))
    return pl.concat(parts, rechunk=False).sort("CreatedDate", maintain_order=True)


def finish_history(object_name: str, rows: pl.DataFrame, ids: pl.Series) -> pl.DataFrame:
    """History object table: ids, IsDeleted, ``_valid_from == CreatedDate``, schema dtypes."""
    return conform(
        object_name,
        rows.with_columns(Id=ids, IsDeleted=pl.lit(False), **{VALID_FROM: pl.col("CreatedDate")}),
    )

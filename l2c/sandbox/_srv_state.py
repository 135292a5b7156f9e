"""The sandbox org's data over time: record versions, the org clock, deletes and history retention.

The demo-org generator hands over every version of every record, each with the
moment it became current (``_valid_from``). ``OrgState`` keeps those tables,
moves the org clock, adds versions when tests delete or undelete records, and
computes what the org shows at the current clock — the visible snapshot — with
one vectorised filter per object (each version knows when the next version of
the same record replaces it), cached per (object, clock, change count).

Text columns keep the compact dtypes the generator gives them (``pl.Enum``
picklists, ``pl.Categorical`` ids and vocabulary text): the renderers write
them as text and :mod:`l2c.sandbox.soql` compares and sorts them as text, so
the API answers exactly as with ``pl.String`` columns while a 1M-opportunity
org needs a third of the memory. Tables already in the served dtypes and in
(Id, time) order are taken without copying.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import polars as pl

from l2c.salesforce_schema import OBJECTS, SObject
from l2c.sandbox.describe import find_object

VALID_FROM = "_valid_from"
_VALID_TO = "_valid_to"
DATETIME_DTYPE = pl.Datetime("us", "UTC")
#: Snapshots kept for repeated reads (a COUNT() then its query, paging, describe-driven extraction):
#: at most this many, and at most ``_SNAPSHOT_CACHE_BYTES`` in all (the newest is always kept).
_SNAPSHOT_CACHE_SIZE = 64
_SNAPSHOT_CACHE_BYTES = 1 << 30


def polars_dtype(sf_type: str) -> pl.DataType:
    """The polars dtype the generator uses for a Salesforce field type (interface 1 of the team brief)."""
    if sf_type == "datetime":
        return DATETIME_DTYPE
    if sf_type == "date":
        return pl.Date()
    if sf_type == "boolean":
        return pl.Boolean()
    if sf_type in ("currency", "percent", "double"):
        return pl.Float64()
    if sf_type in ("int", "long"):
        return pl.Int64()
    return pl.String()


def is_compact_text(dtype: pl.DataType) -> bool:
    """Whether a column holds text as ``pl.Enum`` or ``pl.Categorical`` codes (served as text all the same)."""
    return isinstance(dtype, (pl.Enum, pl.Categorical))


def text_as_string(frame: pl.DataFrame) -> pl.DataFrame:
    """The frame with its Enum and Categorical columns as ``pl.String`` (the dtypes of the org's contract)."""
    compact = [name for name, dtype in frame.schema.items() if is_compact_text(dtype)]
    return frame.with_columns(pl.col(compact).cast(pl.String)) if compact else frame


def _as_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError(f"the org clock needs a time-zone-aware datetime, got naive {moment!r}")
    return moment.astimezone(UTC)


def _served(source: pl.DataType, target: pl.DataType) -> bool:
    """Whether a column of dtype ``source`` can be served as it is where the schema says ``target``."""
    return source == target or (target == pl.String and is_compact_text(source))


def _below_millisecond(frame: pl.DataFrame, names: list[str]) -> set[str]:
    """Which of these UTC datetime columns hold instants finer than a millisecond."""
    if not names or frame.height == 0:
        return set()
    flags = frame.select((pl.col(n).cast(pl.Int64) % 1000 != 0).any() for n in names).row(0)
    return {n for n, flag in zip(names, flags, strict=True) if flag}


def _normalise(obj: SObject, frame: pl.DataFrame) -> pl.DataFrame:
    """Schema-complete, schema-typed columns at Salesforce's millisecond precision, sorted by (Id, time).

    Columns already in their served dtype are taken as they are (no copy), and a frame already in
    (Id, time) order is not sorted again, so serving the generator's tables costs little more than
    the tables themselves.
    """
    if VALID_FROM not in frame.columns:
        raise ValueError(f"table {obj.name} of the demo org has no {VALID_FROM} column (see generator contract)")
    schema = frame.schema
    fields = [f for f in obj.fields if not f.is_compound]
    timestamps = [f.name for f in fields if f.type == "datetime" and schema.get(f.name) == DATETIME_DTYPE]
    if schema[VALID_FROM] == DATETIME_DTYPE:
        timestamps.append(VALID_FROM)
    # Salesforce keeps milliseconds; filtering and formatting must see the same instant.
    fine = _below_millisecond(frame, timestamps)
    columns = []
    for f in fields:
        dtype = polars_dtype(f.type)
        if f.name not in schema:
            columns.append(pl.lit(None, dtype=dtype).alias(f.name))
            continue
        expr = pl.col(f.name)
        if not _served(schema[f.name], dtype):
            expr = expr.cast(dtype)
        if (f.type == "datetime" and f.name not in timestamps) or f.name in fine:
            expr = expr.dt.truncate("1ms")
        columns.append(expr)
    valid_from = pl.col(VALID_FROM)
    if VALID_FROM not in timestamps:
        valid_from = valid_from.cast(DATETIME_DTYPE).dt.truncate("1ms")
    elif VALID_FROM in fine:
        valid_from = valid_from.dt.truncate("1ms")
    out = frame.select(*columns, valid_from)
    if not _in_record_order(out):
        out = _sort_by_record(out)
    return _with_valid_to(out)


def _record_key() -> list[pl.Expr]:
    # Ids sort as text, whatever their dtype: a Categorical's codes follow first appearance, not the text.
    return [pl.col("Id").cast(pl.String), pl.col(VALID_FROM)]


def _in_record_order(frame: pl.DataFrame) -> bool:
    """Whether the rows are already ordered by Id (as text), then by ``_valid_from``."""
    if frame.height < 2:
        return True
    ids, times = _record_key()
    before, earlier = ids.shift(1), times.shift(1)
    ordered = (ids > before) | ((ids == before) & (times >= earlier))
    return bool(frame.select(ordered.fill_null(True).all()).item())


def _sort_by_record(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.sort(_record_key(), maintain_order=True)


def _with_valid_to(frame: pl.DataFrame) -> pl.DataFrame:
    """Each version is current until the next version of the same record (null: still current)."""
    nxt = pl.col(VALID_FROM).shift(-1)
    same_record = pl.col("Id").shift(-1) == pl.col("Id")
    return frame.with_columns(pl.when(same_record).then(nxt).otherwise(None).alias(_VALID_TO))


class OrgState:
    """All versions of the org's records, the org clock, and the snapshot they show. Thread-safe."""

    def __init__(self, tables: dict[str, pl.DataFrame], now: datetime):
        self._lock = threading.RLock()
        self._clock = _as_utc(now)
        self._tables: dict[str, pl.DataFrame] = {}
        for obj in OBJECTS:
            source = tables.get(obj.name)
            if source is None:
                source = pl.DataFrame({VALID_FROM: pl.Series([], dtype=DATETIME_DTYPE)})
            self._tables[obj.name] = _normalise(obj, source)
        self._changes = 0
        self._purged_before: datetime | None = None
        #: (object, clock, changes, purge, deleted?) -> (snapshot, its estimated bytes)
        self._cache: OrderedDict[tuple, tuple[pl.DataFrame, int]] = OrderedDict()

    # --- clock ---------------------------------------------------------------------------
    @property
    def clock(self) -> datetime:
        with self._lock:
            return self._clock

    def advance(self, delta: timedelta) -> datetime:
        if delta < timedelta(0):
            raise ValueError(f"the org clock only moves forward; got advance({delta!r})")
        with self._lock:
            self._clock = self._clock + delta
            return self._clock

    # --- reading ---------------------------------------------------------------------------
    def sobject(self, name: str) -> SObject:
        obj = find_object(name)
        if obj is None:
            raise KeyError(f"unknown Salesforce object {name!r}; the sandbox org serves: "
                           + ", ".join(o.name for o in OBJECTS))
        return obj

    def snapshot(self, object_name: str, include_deleted: bool = False) -> pl.DataFrame:
        """The records the org shows now (one row per Id, sorted by Id), without deleted ones unless asked."""
        obj = self.sobject(object_name)
        with self._lock:
            key = (obj.name, self._clock, self._changes, self._purged_before, include_deleted)
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                return cached[0]
            table = self._tables[obj.name]
            clock = self._clock
            purged_before = self._purged_before
        t = pl.lit(clock, dtype=DATETIME_DTYPE)
        visible = (pl.col(VALID_FROM) <= t) & (pl.col(_VALID_TO).is_null() | (pl.col(_VALID_TO) > t))
        if obj.is_history and purged_before is not None:
            visible = visible & (pl.col("CreatedDate") >= pl.lit(purged_before, dtype=DATETIME_DTYPE))
        if not include_deleted and "IsDeleted" in table.columns:
            visible = visible & ~pl.col("IsDeleted").fill_null(False)
        frame = table.filter(visible).drop(VALID_FROM, _VALID_TO)
        with self._lock:
            self._cache[key] = (frame, frame.estimated_size())
            self._trim_cache()
        return frame

    def _trim_cache(self) -> None:
        # A 1M-opportunity org's snapshots take gigabytes, and every clock move makes new ones.
        total = sum(size for _, size in self._cache.values())
        while len(self._cache) > 1 and (len(self._cache) > _SNAPSHOT_CACHE_SIZE or total > _SNAPSHOT_CACHE_BYTES):
            _, (_, size) = self._cache.popitem(last=False)
            total -= size

    def versions(self, object_name: str) -> pl.DataFrame:
        """Every version of every record (timeline included), with ``_valid_from``."""
        obj = self.sobject(object_name)
        with self._lock:
            return self._tables[obj.name].drop(_VALID_TO)

    # --- org activity ---------------------------------------------------------------------
    def delete(self, object_name: str, ids: Iterable[str]) -> int:
        return self._set_deleted(object_name, ids, deleted=True)

    def undelete(self, object_name: str, ids: Iterable[str]) -> int:
        return self._set_deleted(object_name, ids, deleted=False)

    def _set_deleted(self, object_name: str, ids: Iterable[str], deleted: bool) -> int:
        obj = self.sobject(object_name)
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return 0
        if not any(f.name == "IsDeleted" for f in obj.fields):
            raise ValueError(f"{obj.name} records cannot be deleted or undeleted (the object has no IsDeleted field)")
        with self._lock:
            clock = self._clock
            current = self.snapshot(obj.name, include_deleted=True).filter(pl.col("Id").is_in(wanted))
            missing = sorted(set(wanted) - set(current.get_column("Id").to_list()))
            if missing:
                raise KeyError(f"{obj.name} has no record with Id {', '.join(missing[:5])}"
                               f"{' ...' if len(missing) > 5 else ''} at the org clock {clock.isoformat()}")
            wrong_state = current.filter(pl.col("IsDeleted") == deleted).get_column("Id").to_list()
            if wrong_state:
                state = "already deleted" if deleted else "not deleted"
                raise ValueError(f"{obj.name} record(s) {', '.join(wrong_state[:5])} are {state}")
            stamp = pl.lit(clock, dtype=DATETIME_DTYPE)
            changes = [pl.lit(deleted).alias("IsDeleted"), stamp.alias(VALID_FROM)]
            for audit in ("SystemModstamp", "LastModifiedDate"):
                if audit in current.columns:
                    changes.append(stamp.alias(audit))
            new_versions = current.with_columns(changes).select(self._tables[obj.name].drop(_VALID_TO).columns)
            table = self._tables[obj.name].drop(_VALID_TO)
            if deleted:
                # A deleted record does not change any more: drop its planned future versions.
                table = table.filter(~(pl.col("Id").is_in(wanted) & (pl.col(VALID_FROM) > stamp)))
            table = _sort_by_record(pl.concat([table, new_versions]))
            self._tables[obj.name] = _with_valid_to(table)
            self._changes += 1
        return len(wanted)

    def purge_history(self, before: datetime) -> None:
        """Hide field-history rows created before ``before`` (field history retention)."""
        before = _as_utc(before)
        with self._lock:
            if self._purged_before is None or before > self._purged_before:
                self._purged_before = before
                self._changes += 1

    @property
    def purged_before(self) -> datetime | None:
        with self._lock:
            return self._purged_before

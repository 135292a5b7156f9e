"""What to extract and how: the object list (``objects.yml``) and the sync settings.

The shipped ``l2c/extract/objects.yml`` names the Lead-to-Cash objects. A
project can point ``L2C_EXTRACT_OBJECTS`` at its own copy. The file has two
keys::

    settings:            # optional; any SyncSettings field
      bulk_threshold: 20000
    objects:
      - Account                      # a bare name: every readable field
      - name: Opportunity            # or a mapping with options
        exclude_fields: [Description]
        fields: [StageName, Amount]  # select only these (+ Id, IsDeleted, the replication key)
        mode: bulk                   # auto (default) | rest | bulk
        replication_key: SystemModstamp

Settings resolve in this order (later wins): dataclass defaults, the YAML
``settings:`` block, ``L2C_SF_*`` environment variables, explicit arguments.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

import yaml

from l2c.extract.errors import ConfigurationError

OBJECTS_FILE_ENV = "L2C_EXTRACT_OBJECTS"
_AT_LEAST_ONE = ("max_soql_length", "bulk_page_size", "rest_batch_rows", "rest_page_size")
DEFAULT_OBJECTS_FILE = Path(__file__).with_name("objects.yml")
MODES = ("auto", "rest", "bulk")


@dataclass(frozen=True)
class SyncSettings:
    """Knobs of the sync itself (connection knobs live in ``ConnectionSettings``)."""

    #: Use Bulk API 2.0 when ``SELECT COUNT()`` of the delta is at least this many records.
    bulk_threshold: int = 20_000
    #: Re-read this many seconds before the watermark, so late commits sharing a timestamp are never missed.
    lookback_seconds: float = 300.0
    #: Longest SOQL statement; wider objects are split into several queries re-joined by Id.
    max_soql_length: int = 100_000
    #: Records per Bulk API 2.0 results page (``maxRecords``).
    bulk_page_size: int = 50_000
    #: REST records buffered before each insert into DuckDB (memory stays bounded by this).
    rest_batch_rows: int = 10_000
    #: Records per REST page (``Sforce-Query-Options: batchSize``; Salesforce allows 200-2,000).
    rest_page_size: int = 2_000
    #: First and longest wait between Bulk job status polls, in seconds.
    bulk_poll_seconds: float = 0.2
    bulk_poll_max_seconds: float = 10.0
    #: Give up on a Bulk job (and fall back to REST) after this many seconds.
    bulk_timeout_seconds: float = 3600.0
    #: DuckDB memory cap while extracting; staging spills to disk beyond it, so memory stays flat.
    duckdb_memory_limit: str = "512MB"

    ENV = {
        "bulk_threshold": "L2C_SF_BULK_THRESHOLD",
        "lookback_seconds": "L2C_SF_LOOKBACK_SECONDS",
        "max_soql_length": "L2C_SF_MAX_SOQL_LENGTH",
        "bulk_page_size": "L2C_SF_BULK_PAGE_SIZE",
        "rest_batch_rows": "L2C_SF_REST_BATCH_ROWS",
        "rest_page_size": "L2C_SF_REST_PAGE_SIZE",
        "bulk_poll_seconds": "L2C_SF_BULK_POLL_SECONDS",
        "bulk_poll_max_seconds": "L2C_SF_BULK_POLL_MAX_SECONDS",
        "bulk_timeout_seconds": "L2C_SF_BULK_TIMEOUT_SECONDS",
        "duckdb_memory_limit": "L2C_EXTRACT_DUCKDB_MEMORY_LIMIT",
    }

    def updated(self, values: Mapping[str, object], source: str) -> SyncSettings:
        """A copy with ``values`` (from ``source``, named in errors) applied and type-checked."""
        known = {f.name: f for f in fields(self)}
        changes = {}
        for name, value in values.items():
            if value is None:
                continue
            if name not in known:
                raise ConfigurationError(
                    f"{source}: unknown setting {name!r}; known settings: {', '.join(sorted(known))}."
                )
            kind = type(getattr(self, name))
            try:
                converted = kind(value)
            except (TypeError, ValueError) as exc:
                raise ConfigurationError(f"{source}: {name}={value!r} is not a valid {kind.__name__}.") from exc
            if kind is str:
                if not re.fullmatch(r"\s*\d+(\.\d+)?\s*[KMGT]i?B\s*", converted, re.IGNORECASE):
                    raise ConfigurationError(f"{source}: {name}={value!r} must be a size such as 512MB or 2GB.")
            elif converted < 0 or (name in _AT_LEAST_ONE and converted < 1):
                raise ConfigurationError(f"{source}: {name}={value!r} must be positive.")
            changes[name] = converted
        return replace(self, **changes)

    def with_env(self, environ: Mapping[str, str] | None = None) -> SyncSettings:
        env = os.environ if environ is None else environ
        values = {name: env[var] for name, var in self.ENV.items() if env.get(var)}
        return self.updated(values, "environment") if values else self


@dataclass(frozen=True)
class ObjectSpec:
    """One object to extract, with its options from the YAML list."""

    name: str
    #: If given, select only these fields (plus Id, IsDeleted and the replication key).
    fields: tuple[str, ...] = ()
    exclude_fields: tuple[str, ...] = ()
    mode: str = "auto"
    replication_key: str | None = None


@dataclass(frozen=True)
class ObjectList:
    """The objects to extract, in order, and the sync settings from the same file."""

    objects: tuple[ObjectSpec, ...]
    settings: SyncSettings = field(default_factory=SyncSettings)
    source: str = ""

    def names(self) -> list[str]:
        return [o.name for o in self.objects]

    def select(self, names: list[str] | None) -> ObjectList:
        """Only ``names`` (case-insensitive, in the order given); objects not in the file get default options."""
        if not names:
            return self
        by_name = {o.name.lower(): o for o in self.objects}
        chosen = tuple(by_name.get(n.lower(), ObjectSpec(n)) for n in names)
        return replace(self, objects=chosen)


def _parse_object(item: object, source: str, index: int) -> ObjectSpec:
    where = f"{source}: objects[{index}]"
    if isinstance(item, str):
        return ObjectSpec(item.strip())
    if not isinstance(item, dict) or not isinstance(item.get("name"), str):
        raise ConfigurationError(f"{where} must be an object name or a mapping with a 'name' key, got {item!r}.")
    allowed = {"name", "fields", "exclude_fields", "mode", "replication_key"}
    unknown = set(item) - allowed
    if unknown:
        raise ConfigurationError(
            f"{where} ({item['name']}): unknown option(s) {', '.join(sorted(unknown))}; "
            f"allowed: {', '.join(sorted(allowed))}."
        )
    mode = str(item.get("mode", "auto")).lower()
    if mode not in MODES:
        raise ConfigurationError(f"{where} ({item['name']}): mode must be one of {', '.join(MODES)}, got {mode!r}.")
    for key in ("fields", "exclude_fields"):
        value = item.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigurationError(f"{where} ({item['name']}): {key} must be a list of field API names.")
    return ObjectSpec(
        name=item["name"].strip(),
        fields=tuple(item.get("fields", [])),
        exclude_fields=tuple(item.get("exclude_fields", [])),
        mode=mode,
        replication_key=item.get("replication_key"),
    )


def load_object_list(path: str | os.PathLike | None = None, environ: Mapping[str, str] | None = None) -> ObjectList:
    """Read the object list: ``path``, else ``$L2C_EXTRACT_OBJECTS``, else the shipped ``objects.yml``."""
    env = os.environ if environ is None else environ
    file = Path(path or env.get(OBJECTS_FILE_ENV) or DEFAULT_OBJECTS_FILE)
    source = str(file)
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise ConfigurationError(f"object list {source} does not exist (set {OBJECTS_FILE_ENV} or --objects-file).") from None
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"object list {source} is not valid YAML: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("objects"), list) or not data["objects"]:
        raise ConfigurationError(f"object list {source} must have a non-empty 'objects:' list.")
    objects = tuple(_parse_object(item, source, i) for i, item in enumerate(data["objects"]))
    seen: set[str] = set()
    for spec in objects:
        if spec.name.lower() in seen:
            raise ConfigurationError(f"object list {source} names {spec.name} twice.")
        seen.add(spec.name.lower())
    settings_block = data.get("settings") or {}
    if not isinstance(settings_block, dict):
        raise ConfigurationError(f"object list {source}: 'settings' must be a mapping.")
    settings = SyncSettings().updated(settings_block, f"{source}: settings").with_env(env)
    return ObjectList(objects=objects, settings=settings, source=source)

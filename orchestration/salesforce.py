"""Dagster definitions for the Salesforce extraction: one asset per object, a resource, a daily schedule.

Thin by design: the work happens in :mod:`l2c.extract`. The assets are one
subsettable multi-asset (group ``salesforce``) so a run opens the org and the
DuckDB file once and loads the selected objects one after another — DuckDB
has a single writer. Asset keys are ``["raw_salesforce", <table>]`` so dbt
sources map onto them.

Credentials come from ``SALESFORCE_*`` environment variables; the resource's
optional fields override single variables (pass ``dg.EnvVar(...)`` for secrets
so they never show in the Dagster UI).
"""

from collections.abc import Callable, Iterator

import dagster as dg

from l2c.config import RAW_SCHEMA, duckdb_path
from l2c.extract import (
    ConfigurationError,
    ExtractError,
    ObjectList,
    ObjectResult,
    OrgConnection,
    RunResult,
    RunStopped,
    connect_from_env,
    load_object_list,
    scrub,
    stream_run,
)
from l2c.salesforce_schema import snake_case

GROUP = "salesforce"
#: Runs that write DuckDB carry this tag; dagster.yaml lets one such run at a time.
DUCKDB_WRITER_TAGS = {"l2c/duckdb": "writer"}


class SalesforceResource(dg.ConfigurableResource):
    """A Salesforce org to extract from, and where and how to extract it.

    Every credential field is optional: unset fields fall back to the ``SALESFORCE_*`` variable of the
    same name (``username`` → ``SALESFORCE_USERNAME``, ...). See docs/extraction.md.
    """

    username: str | None = None
    password: str | None = None
    security_token: str | None = None
    domain: str | None = None
    consumer_key: str | None = None
    consumer_secret: str | None = None
    private_key_file: str | None = None
    instance_url: str | None = None
    session_id: str | None = None
    ca_bundle: str | None = None
    api_version: str | None = None
    #: DuckDB file to write (default ``$L2C_DUCKDB_PATH`` or ``data/warehouse.duckdb``).
    duckdb_path: str | None = None
    #: Object list YAML (default ``$L2C_EXTRACT_OBJECTS`` or the shipped ``l2c/extract/objects.yml``).
    objects_file: str | None = None
    #: Re-read every record instead of syncing from the watermarks.
    full_refresh: bool = False

    def connect(self) -> OrgConnection:
        overrides = {
            name: getattr(self, name)
            for name in ("username", "password", "security_token", "domain", "consumer_key", "consumer_secret",
                         "private_key_file", "instance_url", "session_id", "ca_bundle", "api_version")
        }
        return connect_from_env(**overrides)

    def object_list(self) -> ObjectList:
        return load_object_list(self.objects_file)

    def sync(self, object_names: list[str], run_id: str, say: Callable[[str], None]) -> Iterator[ObjectResult]:
        """Sync the named objects into the DuckDB file, yielding each object's result when committed.

        ``say`` hears where the run goes before it starts and the run's summary line when it ends.
        """
        objects = self.object_list().select(object_names)
        conn = self.connect()
        database = duckdb_path(self.duckdb_path)
        say(f"extracting {len(objects.objects)} objects from {conn.instance_url} into {database}")
        run = RunResult(run_id=run_id)
        try:
            yield from stream_run(conn, run, database, objects, full_refresh=self.full_refresh)
        finally:
            say(run.summary())


def asset_key(object_name: str) -> dg.AssetKey:
    return dg.AssetKey([RAW_SCHEMA, snake_case(object_name)])


def materialization_metadata(result: ObjectResult) -> dict:
    """What the Dagster UI shows per object and run (counts, mode, duration; never a secret)."""
    metadata: dict = {
        "status": result.status,
        "table": f"{RAW_SCHEMA}.{result.table}",
        "records_fetched": result.records_fetched,
        "new_versions": result.new_versions,
        "deletions": result.deletions,
        "api_calls": result.api_calls,
        "mode": result.mode or "none",
        "sync": "incremental" if result.incremental else "full",
        "duration_seconds": round(result.duration_seconds, 3),
        "dagster/row_count": result.total_rows,
    }
    if result.watermark is not None:
        metadata["watermark"] = result.watermark.isoformat()
    if result.notices:
        metadata["notices"] = dg.MetadataValue.md("\n".join(f"- {scrub(n)}" for n in result.notices))
    return metadata


def build_salesforce_assets(object_list: ObjectList | None = None) -> dg.AssetsDefinition:
    """One asset per object of the object list, in one subsettable multi-asset."""
    objects = object_list or load_object_list()
    specs = [
        dg.AssetSpec(
            asset_key(spec.name),
            group_name=GROUP,
            description=f"Every version of every Salesforce {spec.name} record seen by a sync (append-only).",
            kinds={"salesforce", "duckdb"},
            skippable=True,
            metadata={"salesforce_object": spec.name},
        )
        for spec in objects.objects
    ]
    by_key = {asset_key(spec.name): spec.name for spec in objects.objects}

    @dg.multi_asset(name="salesforce_raw", specs=specs, can_subset=True, op_tags=DUCKDB_WRITER_TAGS)
    def salesforce_raw(context: dg.AssetExecutionContext, salesforce: SalesforceResource):
        wanted = [name for key, name in by_key.items() if key in context.selected_asset_keys]
        failed: list[ObjectResult] = []
        try:
            for result in salesforce.sync(wanted, run_id=context.run_id, say=context.log.info):
                if result.status == "failed":
                    failed.append(result)
                    context.log.error(result.summary())
                    continue
                context.log.info(result.summary())
                for notice in result.notices if result.status == "loaded" else ():
                    context.log.warning(f"{result.object_name}: {notice}")
                yield dg.MaterializeResult(asset_key=asset_key(result.object_name),
                                           metadata=materialization_metadata(result))
        except RunStopped as exc:
            raise dg.Failure(description=f"Salesforce extraction stopped: {scrub(exc)}") from None
        except ConfigurationError as exc:
            raise dg.Failure(description=scrub(exc)) from None  # says what to set; nothing was extracted
        except ExtractError as exc:
            raise dg.Failure(description=f"Salesforce extraction failed: {scrub(exc)}") from None
        if failed:
            raise dg.Failure(
                description=f"{len(failed)} object(s) failed: {', '.join(o.object_name for o in failed)}. "
                "Their raw tables and watermarks are unchanged; the next run completes them. "
                + "; ".join(o.error if o.error.startswith(o.object_name) else f"{o.object_name}: {o.error}"
                            for o in failed)
            )

    return salesforce_raw


salesforce_assets = build_salesforce_assets()

salesforce_job = dg.define_asset_job(
    "salesforce_extract",
    selection=dg.AssetSelection.groups(GROUP),
    description="Incremental extraction of every Salesforce object into raw_salesforce.",
    tags=DUCKDB_WRITER_TAGS,
)

salesforce_schedule = dg.ScheduleDefinition(
    name="salesforce_daily",
    job=salesforce_job,
    cron_schedule="0 5 * * *",
    execution_timezone="UTC",
    description="Daily incremental Salesforce extraction at 05:00 UTC.",
)

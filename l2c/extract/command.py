"""The body of ``l2c extract``: connect (to the configured org or the local demo org), sync, report.

``--demo`` starts the local sandbox org (:class:`l2c.sandbox.server.SandboxOrg`)
and connects to it exactly as to any org reached by session id: its
``instance_url``, ``session_id`` and ``ca_bundle`` become the credentials, and
the same :func:`~l2c.extract.sync.run_sync` does the rest.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import TextIO

from l2c.config import duckdb_path
from l2c.extract.connection import ConnectionSettings, OrgConnection, SalesforceCredentials, connect_from_env
from l2c.extract.errors import ExtractError, RunStopped
from l2c.extract.settings import load_object_list
from l2c.extract.sync import ObjectResult, RunResult, run_sync


def progress_line(result: ObjectResult) -> str:
    """One aligned line per object for the terminal."""
    name = f"{result.object_name:<34}"
    if result.status == "skipped":
        return f"{name} skipped: {'; '.join(result.notices)}"
    if result.status == "failed":
        return f"{name} FAILED ({result.duration_seconds:.1f}s): {result.error}"
    kind = "incremental" if result.incremental else "full"
    return (
        f"{name} {result.records_fetched:>9,} records  {result.mode:<4} {kind:<11} "
        f"{result.new_versions:>9,} new  {result.deletions:>6,} deleted  {result.api_calls:>4} calls  "
        f"{result.duration_seconds:>6.1f}s"
    )


@contextlib.contextmanager
def demo_connection(n_opportunities: int, seed: int) -> Iterator[OrgConnection]:
    """The local demo org, started for the duration of the block, reached by session id over HTTPS."""
    from l2c.sandbox.server import SandboxOrg

    with SandboxOrg(n_opportunities=n_opportunities, seed=seed) as org:
        credentials = SalesforceCredentials(
            instance_url=org.instance_url, session_id=org.session_id, ca_bundle=org.ca_bundle,
            api_version=org.api_version,
        )
        yield OrgConnection(credentials, ConnectionSettings.from_env())


def extract_command(
    *,
    db: str | None = None,
    objects: list[str] | None = None,
    objects_file: str | None = None,
    full_refresh: bool = False,
    demo: bool = False,
    n_opportunities: int = 2000,
    seed: int = 42,
    out: TextIO | None = None,
) -> RunResult:
    """Run one extraction and print progress; raises :class:`ExtractError` if anything failed or stopped."""
    out = out or sys.stdout
    object_list = load_object_list(objects_file).select(objects)
    database = duckdb_path(db)

    def report(result: ObjectResult) -> None:
        print(progress_line(result), file=out, flush=True)
        if result.status == "loaded":
            for notice in result.notices:
                print(f"{'':<34} note: {notice}", file=out, flush=True)

    if demo:
        print(f"starting the demo org ({n_opportunities:,} opportunities, seed {seed}) ...", file=out, flush=True)
        connection = demo_connection(n_opportunities, seed)
    else:
        connection = contextlib.nullcontext(connect_from_env())
    with connection as conn:
        print(f"extracting {len(object_list.objects)} objects from {conn.instance_url} into {database}",
              file=out, flush=True)
        run = run_sync(conn, database, object_list, full_refresh=full_refresh, on_result=report)
    loaded = sum(o.status == "loaded" for o in run.objects)
    skipped = sum(o.status == "skipped" for o in run.objects)
    print(
        f"{loaded} loaded, {skipped} skipped, {len(run.failed)} failed in {run.duration_seconds:.1f}s "
        f"with {run.api_calls} API calls (run {run.run_id})",
        file=out, flush=True,
    )
    if run.stopped:
        raise RunStopped(run.stopped)
    if run.failed:
        names = ", ".join(o.object_name for o in run.failed)
        raise ExtractError(
            f"{len(run.failed)} object(s) failed: {names}. Their raw tables and watermarks are unchanged; "
            "run l2c extract again to complete them."
        )
    return run

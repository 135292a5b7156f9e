"""``l2c demo``: the whole pipeline on the built-in demo org, from a fresh install to a report.

Starts the local sandbox org (a generated Sales Cloud org served over the real
Salesforce API on loopback), points the ``SALESFORCE_*`` settings at it and
runs the same daily job a real org gets: extract → dbt build → analyses →
report. Then prints a short summary.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import duckdb

from l2c import config
from l2c.pipeline import JobOutcome, environment, run_job

#: Credentials a user may have set for a real org; the demo must not mix them in.
_REAL_ORG_VARIABLES = (
    "SALESFORCE_USERNAME", "SALESFORCE_PASSWORD", "SALESFORCE_SECURITY_TOKEN", "SALESFORCE_DOMAIN",
    "SALESFORCE_CONSUMER_KEY", "SALESFORCE_CONSUMER_SECRET", "SALESFORCE_PRIVATE_KEY_FILE",
)


@dataclass
class Summary:
    cases: int
    events: int
    variants: int
    top_bottleneck: str | None
    conformance_rate: float | None
    db: Path
    report: Path
    #: The demo org's clock at the last sync (what the marts describe).
    org_clock: datetime | None = None

    def lines(self) -> list[str]:
        rate = "n/a" if self.conformance_rate is None else f"{self.conformance_rate:.1%}"
        return [
            f"cases (opportunities): {self.cases:,}",
            f"events:                {self.events:,}",
            f"variants:              {self.variants:,}",
            f"top bottleneck:        {self.top_bottleneck or 'n/a'}",
            f"conformance rate:      {rate}",
            f"DuckDB file:           {self.db}",
            f"report:                {self.report}",
        ]


def sandbox_environment(org) -> dict[str, str]:
    """``SALESFORCE_*`` settings that reach a running :class:`~l2c.sandbox.server.SandboxOrg` by session id."""
    return {
        **{name: "" for name in _REAL_ORG_VARIABLES},
        "SALESFORCE_INSTANCE_URL": org.instance_url,
        "SALESFORCE_SESSION_ID": org.session_id,
        "SALESFORCE_CA_BUNDLE": org.ca_bundle,
        "SALESFORCE_API_VERSION": org.api_version,
    }


@contextlib.contextmanager
def serving_demo_org(n_opportunities: int, seed: int) -> Iterator:
    """A freshly generated demo org, served for the block, with the ``SALESFORCE_*`` settings pointing at it."""
    from l2c.sandbox.server import SandboxOrg

    with SandboxOrg(n_opportunities=n_opportunities, seed=seed) as org, environment(**sandbox_environment(org)):
        yield org


#: The demo is extracted like a scheduled org: several syncs a week apart, so that the status
#: changes Salesforce keeps no history for (quotes, orders) are seen as successive versions.
DEMO_SYNCS = 4
DEMO_SYNC_INTERVAL = timedelta(days=7)


def run_demo(n_opportunities: int = 2000, seed: int = 42, db: str | os.PathLike | None = None,
             report_dir: str | os.PathLike | None = None, syncs: int = DEMO_SYNCS,
             say=print) -> tuple[JobOutcome, Summary]:
    """Extract a freshly started demo org ``syncs`` times a week apart, then run everything; return the last run."""
    database = config.duckdb_path(db)
    report = config.report_dir(report_dir)
    started = time.perf_counter()
    steps = syncs + 1
    say(f"[1/{steps}] generating and starting the demo org ({n_opportunities:,} opportunities, seed {seed}) ...")
    with serving_demo_org(n_opportunities, seed) as org:
        say(f"      demo org serving at {org.instance_url} ({time.perf_counter() - started:.1f}s)")
        for sync in range(1, syncs):
            say(f"[{sync + 1}/{steps}] Salesforce extraction at org time {org.clock:%Y-%m-%d} "
                f"(job salesforce_extract)")
            run_job("salesforce_extract", db=database, log_level="WARNING")
            org.advance(DEMO_SYNC_INTERVAL)
        say(f"[{steps}/{steps}] the whole pipeline at org time {org.clock:%Y-%m-%d}: Salesforce extraction → "
            "dbt build → analyses → report (job l2c_daily)")
        outcome = run_job("l2c_daily", db=database, report_dir=report)
        clock = org.clock
    summary = summarize(database, report / "index.html")
    summary.org_clock = clock
    say(f"done in {time.perf_counter() - started:.0f}s")
    return outcome, summary


def summarize(db: Path, report: Path) -> Summary:
    """The headline figures of a finished run, read from the marts (read-only)."""
    with duckdb.connect(str(db), read_only=True) as con:
        def one(sql: str):
            try:
                return con.execute(sql).fetchone()[0]
            except duckdb.CatalogException:
                return None

        cases = one(f"select count(*) from {config.MARTS_SCHEMA}.cases") or 0
        events = one(f"select count(*) from {config.MARTS_SCHEMA}.event_log") or 0
        variants = one(f"select count(*) from {config.ANALYSIS_SCHEMA}.variants") or 0
        bottleneck = one(
            f"select source || ' → ' || target from {config.ANALYSIS_SCHEMA}.bottlenecks "
            "order by rank_by_total nulls last limit 1")
        rate = one(
            f"select 1 - count(distinct case_id) filter (where violated) / nullif(count(distinct case_id), 0) "
            f"from {config.ANALYSIS_SCHEMA}.conformance_cases")
    return Summary(cases, events, variants, bottleneck, rate, db, report)

"""Benchmark of the Salesforce extraction: records/s and peak memory, REST and Bulk, full and incremental.

Run ``.venv/bin/python -m benchmarks.bench_extract --opportunities 10000``
(several sizes: ``--opportunities 10000 100000``). Per size, the demo org is
served by the sandbox server in its own process (so its memory is not
counted), and each scenario runs in a fresh subprocess so its peak resident
set size is its own:

* ``rest full`` / ``bulk full``: every object of the shipped list into an
  empty DuckDB file, REST ``queryAll`` or Bulk API 2.0 forced;
* ``rest incremental`` / ``bulk incremental``: the same files again after the
  org clock moved 30 days (new records and new versions);
* ``naive baseline``: simple-salesforce ``query_all`` of the same fields into
  one pandas DataFrame per object, then ``CREATE TABLE AS`` in DuckDB.

Records/s is records fetched divided by wall time, end to end (describe,
counting, paging, typing, de-duplication and commit included).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import resource
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

SCENARIOS = ("rest full", "bulk full", "naive baseline", "rest incremental", "bulk incremental")


# --- the org, in its own process -------------------------------------------------------------


def _serve(pipe, n_opportunities: int, seed: int) -> None:
    from l2c.sandbox.server import SandboxOrg

    with SandboxOrg(n_opportunities=n_opportunities, seed=seed, faults="limit:100000000") as org:
        pipe.send(org.credentials())
        while True:
            command, argument = pipe.recv()
            if command == "advance":
                org.advance(timedelta(days=argument))
                pipe.send(org.clock.isoformat())
            else:
                usage = resource.getrusage(resource.RUSAGE_SELF)
                pipe.send({"peak_rss_mb": usage.ru_maxrss / 1024, "cpu_seconds": usage.ru_utime + usage.ru_stime})
                return


class OrgProcess:
    """The sandbox org served from a child process, with its clock under our control."""

    def __init__(self, n_opportunities: int, seed: int):
        ctx = mp.get_context("spawn")
        self.pipe, child = ctx.Pipe()
        self.process = ctx.Process(target=_serve, args=(child, n_opportunities, seed), daemon=True)
        self.process.start()
        self.credentials = self.pipe.recv()

    def advance(self, days: float) -> str:
        self.pipe.send(("advance", days))
        return self.pipe.recv()

    def close(self) -> dict:
        """Stop serving; returns the server process's peak RSS and CPU time (generation included)."""
        self.pipe.send(("stop", None))
        usage = self.pipe.recv()
        self.process.join(timeout=30)
        return usage


# --- one scenario, in a fresh process -----------------------------------------------------------


def _connection(credentials: dict):
    from l2c.extract import ConnectionSettings, OrgConnection, SalesforceCredentials

    return OrgConnection(
        SalesforceCredentials(instance_url=credentials["instance_url"], session_id=credentials["session_id"],
                              ca_bundle=credentials["ca_bundle"], api_version=credentials["api_version"]),
        ConnectionSettings(),
    )


def run_extract(credentials: dict, db: str, mode: str) -> dict:
    from dataclasses import replace

    from l2c.extract import load_object_list, run_sync

    objects = load_object_list()  # L2C_SF_* and L2C_EXTRACT_* variables apply, e.g. the DuckDB memory cap
    objects = replace(objects, objects=tuple(replace(o, mode=mode) for o in objects.objects))
    start = time.perf_counter()
    run = run_sync(_connection(credentials), db, objects)
    seconds = time.perf_counter() - start
    if not run.ok:
        raise SystemExit(f"extraction failed: {run.stopped or [o.error for o in run.failed]}")
    return {
        "records": sum(o.records_fetched for o in run.objects),
        "new_versions": sum(o.new_versions for o in run.objects),
        "api_calls": run.api_calls,
        "seconds": seconds,
        "modes": sorted({o.mode for o in run.objects if o.mode}),
    }


def run_naive(credentials: dict, db: str) -> dict:
    """The baseline: query_all → pandas → DuckDB, one object at a time, everything in memory."""
    import duckdb
    import pandas as pd

    from l2c.extract import ObjectSpec, load_object_list
    from l2c.extract.fields import plan_fields, select_statement

    conn = _connection(credentials)
    sf = conn.sf
    con = duckdb.connect(db)
    con.execute("CREATE SCHEMA IF NOT EXISTS raw_naive")
    records = 0
    start = time.perf_counter()
    for spec in load_object_list(environ={}).objects:
        describe = getattr(sf, spec.name).describe()
        plan = plan_fields(describe, ObjectSpec(spec.name))
        result = sf.query_all(select_statement(spec.name, plan.names, ""), include_deleted=True)
        frame = pd.DataFrame(result["records"]).drop(columns="attributes", errors="ignore")
        records += len(frame)
        con.register("frame", frame)
        con.execute(f'CREATE OR REPLACE TABLE raw_naive."{plan.table}" AS SELECT * FROM frame')
        con.unregister("frame")
    con.close()
    return {"records": records, "new_versions": records, "api_calls": conn.usage.requests,
            "seconds": time.perf_counter() - start, "modes": ["REST"]}


def _scenario_in_subprocess(scenario: str, credentials: dict, db: Path) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_extract", "--scenario", scenario, "--db", str(db),
         "--credentials", json.dumps(credentials)],
        capture_output=True, text=True, check=False, cwd=Path(__file__).resolve().parents[1],
    )
    if out.returncode != 0:
        raise SystemExit(f"{scenario} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(n_opportunities: int, seed: int, workdir: Path, scenarios: tuple[str, ...] = SCENARIOS) -> list[dict]:
    org = OrgProcess(n_opportunities, seed)
    results = []
    advanced = False
    try:
        for scenario in scenarios:
            if scenario.endswith("incremental") and not advanced:
                org.advance(30)
                advanced = True
            db = workdir / f"{n_opportunities}-{scenario.split()[0]}.duckdb"
            result = _scenario_in_subprocess(scenario, org.credentials, db)
            result.update(scenario=scenario, opportunities=n_opportunities)
            results.append(result)
            _print(result)
    finally:
        org.close()
    return results


def _print(r: dict) -> None:
    rate = r["records"] / r["seconds"] if r["seconds"] else 0.0
    print(f"{r['opportunities']:>9,} opps  {r['scenario']:<17} {r['records']:>10,} records "
          f"{r['seconds']:>8.1f} s {rate:>10,.0f} rec/s  peak RSS {r['peak_rss_mb']:>6,.0f} MB  "
          f"{r['api_calls']:>6,} API calls  {'/'.join(r['modes'])}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--opportunities", type=int, nargs="+", default=[10_000], help="org sizes")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--json", help="also write all results to this JSON file")
    parser.add_argument("--scenarios", nargs="+", choices=SCENARIOS, default=list(SCENARIOS), metavar="SCENARIO",
                        help=f"which scenarios, in order (default all: {', '.join(SCENARIOS)}); "
                        "an incremental one needs its full one first")
    parser.add_argument("--scenario", choices=SCENARIOS, help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--credentials", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.scenario:
        credentials = json.loads(args.credentials)
        if args.scenario == "naive baseline":
            result = run_naive(credentials, args.db)
        else:
            result = run_extract(credentials, args.db, args.scenario.split()[0])
        # ru_maxrss is in KiB on Linux
        result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(result))
        return 0

    results = []
    with tempfile.TemporaryDirectory(prefix="l2c-bench-extract-") as tmp:
        for n in args.opportunities:
            results.extend(measure(n, args.seed, Path(tmp), tuple(args.scenarios)))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

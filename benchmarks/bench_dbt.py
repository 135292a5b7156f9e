"""Benchmark of the dbt project: ``dbt build`` wall time, peak memory and DuckDB file size per org size.

Run ``.venv/bin/python -m benchmarks.bench_dbt --opportunities 10000 100000``.
Per size, the demo org is served by the sandbox server in its own process and
extracted by the real extractor (``l2c.extract``, Bulk API 2.0): a full load,
then ``--syncs - 1`` incremental runs each after the org clock moved
``--interval-days``, so the raw layer holds several versions of records as a
scheduled extraction leaves it. Then, each in a fresh subprocess (so its peak
resident set size is its own):

* ``first build``: ``dbt build`` (seed, every model, data and unit tests) on
  the raw layer;
* ``rebuild``: ``dbt build`` again with nothing changed.

The DuckDB file size is measured after the extraction and after the build.
Wall time depends on what else runs on the machine: the CPU time of the
build and the 1-minute load average are printed next to it.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from benchmarks.bench_extract import OrgProcess, run_extract

ROOT = Path(__file__).resolve().parents[1]


def run_build(db: str) -> dict:
    """One ``dbt build`` in this process; its wall time, node counts and the marts' sizes."""
    from l2c.transform import run_dbt_build

    with tempfile.TemporaryDirectory(prefix="l2c-bench-dbt-target-") as target:
        start = time.perf_counter()
        result = run_dbt_build(db, progress=None, target_path=target)
        seconds = time.perf_counter() - start
    slowest = sorted(result.nodes, key=lambda n: -n.seconds)[:5]
    with duckdb.connect(db, read_only=True) as con:
        events, cases = con.execute("select count(*), count(distinct case_id) from l2c.event_log").fetchone()
    return {
        "seconds": seconds,
        "nodes": len(result.nodes),
        "events": events,
        "cases": cases,
        "slowest": [f"{n.name} {n.seconds:.1f}s" for n in slowest],
    }


def _build_in_subprocess(db: Path) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_dbt", "--build", str(db)],
        capture_output=True, text=True, check=False, cwd=ROOT,
    )
    if out.returncode != 0:
        raise SystemExit(f"dbt build failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _raw_rows(db: Path) -> int:
    with duckdb.connect(str(db), read_only=True) as con:
        tables = con.execute(
            "select table_name from information_schema.tables where table_schema = 'raw_salesforce' "
            "and table_name not like '\\_l2c%' escape '\\'").fetchall()
        return sum(con.execute(f'select count(*) from raw_salesforce."{t}"').fetchone()[0] for (t,) in tables)


def _megabytes(path: Path) -> float:
    wal = path.with_name(path.name + ".wal")
    return (path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)) / 1e6


def measure(n_opportunities: int, seed: int, syncs: int, interval_days: float, workdir: Path) -> list[dict]:
    db = workdir / f"{n_opportunities}.duckdb"
    org = OrgProcess(n_opportunities, seed)
    try:
        extract_seconds = 0.0
        for sync in range(syncs):
            if sync:
                org.advance(interval_days)
            extract_seconds += run_extract(org.credentials, str(db), "bulk")["seconds"]
    finally:
        org.close()
    common = {"opportunities": n_opportunities, "raw_rows": _raw_rows(db), "raw_mb": _megabytes(db),
              "extract_seconds": extract_seconds}
    results = []
    for scenario in ("first build", "rebuild"):
        result = {**common, **_build_in_subprocess(db), "scenario": scenario, "file_mb": _megabytes(db),
                  "load_average": os.getloadavg()[0]}
        results.append(result)
        _print(result)
    return results


def _print(r: dict) -> None:
    print(f"{r['opportunities']:>9,} opps  {r['scenario']:<11} raw {r['raw_rows']:>11,} rows {r['raw_mb']:>8,.1f} MB"
          f"  → {r['events']:>11,} events  dbt build {r['seconds']:>7.1f} s (CPU {r['cpu_seconds']:>6.1f} s, load "
          f"{r['load_average']:.1f})  peak RSS {r['peak_rss_mb']:>6,.0f} MB"
          f"  file {r['file_mb']:>8,.1f} MB  slowest: {', '.join(r['slowest'][:3])}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--opportunities", type=int, nargs="+", default=[10_000], help="org sizes")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--syncs", type=int, default=4, help="extraction runs before the build (default 4)")
    parser.add_argument("--interval-days", type=float, default=14.0, help="org clock advance between runs")
    parser.add_argument("--json", help="also write all results to this JSON file")
    parser.add_argument("--build", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.build:
        result = run_build(args.build)
        usage = resource.getrusage(resource.RUSAGE_SELF)
        result["peak_rss_mb"] = usage.ru_maxrss / 1024  # KiB on Linux
        # CPU time tells the build's cost apart from waiting on a busy machine.
        result["cpu_seconds"] = usage.ru_utime + usage.ru_stime
        print(json.dumps(result))
        return 0

    results = []
    with tempfile.TemporaryDirectory(prefix="l2c-bench-dbt-") as tmp:
        for n in args.opportunities:
            results.extend(measure(n, args.seed, args.syncs, args.interval_days, Path(tmp)))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

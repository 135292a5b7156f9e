"""Benchmark of ``l2c import``: wall time and peak memory for a large generated CSV.

Run ``.venv/bin/python -m benchmarks.bench_import --rows 10000000`` (several
sizes: ``--rows 1000000 10000000``). The CSV (template columns plus a region
attribute, naive timestamps) is generated in one subprocess and imported in
another, so the import's peak resident set size is its own. The DuckDB file
and the CSV live in a temporary directory (or ``--dir``) and are removed
afterwards unless ``--keep``.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def generate(rows: int, path: Path) -> dict:
    """Write a CSV with ``rows`` events in the template's columns (run in its own process)."""
    import polars as pl

    from benchmarks.synthetic import synthetic_log

    start = time.perf_counter()
    log = synthetic_log(max(1, rows // 9) + 10, seed=11).head(rows)
    frame = log.select(
        "case_id",
        "activity",
        pl.col("timestamp").dt.replace_time_zone(None).dt.strftime("%Y-%m-%d %H:%M:%S").alias("timestamp"),
        pl.col("resource").alias("sales_rep"),
        (pl.col("activity_order") * 1000 + 5000).cast(pl.Float64).alias("amount"),
        "region",
    )
    frame.write_csv(path)
    return {"rows": frame.height, "cases": frame.get_column("case_id").n_unique(),
            "csv_gb": round(path.stat().st_size / 1e9, 2), "generate_seconds": round(time.perf_counter() - start, 1)}


def measure(csv_path: Path, db: Path, memory_limit: str) -> dict:
    """Import ``csv_path`` into ``db`` in this process; report time, counts and peak RSS."""
    from l2c.eventlog_io import import_event_log

    start = time.perf_counter()
    summary = import_event_log(csv_path, db, memory_limit=memory_limit)
    seconds = time.perf_counter() - start
    return {
        "events": summary.events,
        "cases": summary.cases,
        "seconds": round(seconds, 1),
        "events_per_second": round(summary.events / seconds),
        "duckdb_memory_limit": memory_limit,
        "db_gb": round(db.stat().st_size / 1e9, 2),
        # ru_maxrss is in KiB on Linux
        "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2, 2),
    }


def _child(*args: str) -> dict:
    out = subprocess.run([sys.executable, "-m", "benchmarks.bench_import", *args], check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--memory-limit", default="1GB", help="DuckDB memory budget of the import (default 1GB)")
    parser.add_argument("--dir", help="working directory (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the generated CSV and DuckDB file")
    parser.add_argument("--_generate", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--_measure", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args._generate:
        print(json.dumps(generate(int(args._generate[0]), Path(args._generate[1]))))
        return 0
    if args._measure:
        print(json.dumps(measure(Path(args._measure[0]), Path(args._measure[1]), args.memory_limit)))
        return 0
    work = Path(args.dir or tempfile.mkdtemp(prefix="l2c-bench-import-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        for rows in args.rows:
            csv_path, db = work / f"events_{rows}.csv", work / f"import_{rows}.duckdb"
            db.unlink(missing_ok=True)
            generated = _child("--_generate", str(rows), str(csv_path))
            result = _child("--_measure", str(csv_path), str(db), "--memory-limit", args.memory_limit)
            print(json.dumps({"csv": generated, "import": result}), flush=True)
    finally:
        if not args.keep and not args.dir:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

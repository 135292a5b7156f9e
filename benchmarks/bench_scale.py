"""Benchmark of the whole pipeline per org size: time and peak memory per stage, DuckDB and Spark.

Run ``.venv/bin/python -m benchmarks.bench_scale --opportunities 10000 100000 --spark 10000``.
Per size, the demo org is served by the sandbox server in its own process
(printed apart as ``org server``: generation time, then CPU time and peak
memory of generating and serving; counted in no stage), then each stage runs
in a fresh subprocess so its peak resident set size is its own:

* ``extract full`` and ``extract incremental``: the shipped object list
  extracted through the local Salesforce API server (HTTPS, the modes the
  object list picks), first a full load, then ``--syncs - 1`` incremental
  runs each after the org clock moved ``--interval-days`` (time summed,
  memory the largest run), so the raw layer holds several versions as a
  scheduled extraction leaves it;
* ``dbt build (DuckDB)``: ``dbt build`` of the whole project (seed, models,
  data and unit tests) on the DuckDB file;
* ``analysis``: every analysis mart (``analysis.write_analysis_marts``);
* ``report``: the HTML report (``l2c.report.write_report``).

For the sizes given to ``--spark``, the same dbt project runs on a local Spark
session (dbt-spark ``method: session``):

* ``raw → Parquet``: ``l2c raw-parquet`` (``export_raw_parquet``);
* ``dbt build (Spark)``: the same ``dbt build`` from the Parquet files, and a
  check that Spark's event_log, cases and activities hold as many rows as
  DuckDB's. Spark runs in a JVM child of the stage's process; its peak memory
  is reported separately (``JVM``).

Wall time depends on what else runs on the machine: each stage's CPU time
(including child processes, e.g. the JVM) and the 1-minute load average at its
end are printed next to it.
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

ROOT = Path(__file__).resolve().parents[1]
COMPARED_MARTS = ("event_log", "cases", "activities")


# --- stages, each run in a fresh process ---------------------------------------------------------


def stage_extract(credentials: dict, db: str) -> dict:
    from benchmarks.bench_extract import _connection
    from l2c.extract import load_object_list, run_sync

    run = run_sync(_connection(credentials), db, load_object_list())
    if not run.ok:
        raise SystemExit(f"extraction failed: {run.stopped or [o.error for o in run.failed]}")
    return {"records": sum(o.records_fetched for o in run.objects),
            "modes": sorted({o.mode for o in run.objects if o.mode})}


def stage_dbt_duckdb(db: str, workdir: str) -> dict:
    from l2c.transform import run_dbt_build

    result = run_dbt_build(db, progress=None, target_path=Path(workdir) / "target-duckdb")
    with duckdb.connect(db, read_only=True) as con:
        rows = {m: con.execute(f"select count(*) from l2c.{m}").fetchall()[0][0] for m in COMPARED_MARTS}
    return {"nodes": len(result.nodes), "rows": rows, "slowest": _slowest(result)}


def stage_analysis(db: str) -> dict:
    from analysis import write_analysis_marts

    written = write_analysis_marts(db, progress=None)
    return {"tables": len(written), "rows": sum(written.values())}


def stage_report(db: str, workdir: str) -> dict:
    from l2c.report import write_report

    path = write_report(db, Path(workdir) / "report")
    return {"bytes": path.stat().st_size}


def stage_raw_parquet(db: str, workdir: str) -> dict:
    from l2c.spark import export_raw_parquet

    exported = export_raw_parquet(db, Path(workdir) / "raw-parquet")
    size = sum(f.stat().st_size for f in (Path(workdir) / "raw-parquet").rglob("*.parquet"))
    return {"tables": len(exported), "rows": sum(t.rows for t in exported), "mb": size / 1e6}


def stage_dbt_spark(workdir: str, driver_memory: str) -> dict:
    from pyspark.sql import SparkSession

    from l2c.spark import run_dbt_build_spark, stop_spark

    folder = Path(workdir)
    result = run_dbt_build_spark(folder / "raw-parquet", spark_dir=folder / "spark", progress=None,
                                 driver_memory=driver_memory)
    spark = SparkSession.builder.getOrCreate()
    rows = {m: spark.sql(f"select count(*) from l2c.{m}").collect()[0][0] for m in COMPARED_MARTS}
    stop_spark()  # the JVM exits, so its peak memory shows in RUSAGE_CHILDREN
    return {"nodes": len(result.nodes), "rows": rows, "slowest": _slowest(result)}


def _slowest(result) -> list[str]:
    return [f"{n.name} {n.seconds:.1f}s" for n in sorted(result.nodes, key=lambda n: -n.seconds)[:3]]


def _run_stage(args: argparse.Namespace) -> dict:
    if args.stage == "extract":
        return stage_extract(json.loads(args.credentials), args.db)
    if args.stage == "dbt-duckdb":
        return stage_dbt_duckdb(args.db, args.workdir)
    if args.stage == "analysis":
        return stage_analysis(args.db)
    if args.stage == "report":
        return stage_report(args.db, args.workdir)
    if args.stage == "raw-parquet":
        return stage_raw_parquet(args.db, args.workdir)
    if args.stage == "dbt-spark":
        return stage_dbt_spark(args.workdir, args.spark_driver_memory)
    raise SystemExit(f"unknown stage {args.stage}")


# --- the driver --------------------------------------------------------------------------------


def _in_subprocess(stage: str, *extra: str) -> dict:
    out = subprocess.run([sys.executable, "-m", "benchmarks.bench_scale", "--stage", stage, *extra],
                         capture_output=True, text=True, check=False, cwd=ROOT)
    if out.returncode != 0:
        raise SystemExit(f"stage {stage} failed:\n{out.stdout[-3000:]}\n{out.stderr[-5000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(n: int, seed: int, syncs: int, interval_days: float, spark: bool, driver_memory: str,
            workdir: Path) -> list[dict]:
    from benchmarks.bench_extract import OrgProcess

    db = workdir / "warehouse.duckdb"
    common = {"opportunities": n, "workdir": str(workdir)}
    base = ["--db", str(db), "--workdir", str(workdir)]
    results: list[dict] = []

    def record(name: str, result: dict) -> None:
        results.append({**common, "stage": name, **result, "load_average": os.getloadavg()[0]})
        _print(results[-1])

    started = time.perf_counter()
    org = OrgProcess(n, seed)
    generated = time.perf_counter() - started
    print(f"{n:>9,} opps  org generated and served in {generated:.1f} s", flush=True)
    try:
        credentials = ["--credentials", json.dumps(org.credentials)]
        record("extract full", _in_subprocess("extract", *base, *credentials))
        incremental: list[dict] = []
        for _ in range(syncs - 1):
            org.advance(interval_days)
            incremental.append(_in_subprocess("extract", *base, *credentials))
        if incremental:
            record(f"extract incremental ×{len(incremental)}", {
                "seconds": sum(r["seconds"] for r in incremental),
                "cpu_seconds": sum(r["cpu_seconds"] for r in incremental),
                "peak_rss_mb": max(r["peak_rss_mb"] for r in incremental),
                "records": sum(r["records"] for r in incremental)})
    finally:
        server = org.close()
    # the server's own cost: wall time to generate and start; CPU and peak memory until it stopped
    record("org server", {"seconds": generated, **server})
    common["raw_rows"], common["raw_mb"] = _raw_rows(db), db.stat().st_size / 1e6
    record("dbt build (DuckDB)", _in_subprocess("dbt-duckdb", *base))
    duckdb_rows = results[-1]["rows"]
    record("analysis", _in_subprocess("analysis", *base))
    record("report", _in_subprocess("report", *base))
    if spark:
        record("raw → Parquet", _in_subprocess("raw-parquet", *base))
        record("dbt build (Spark)", _in_subprocess("dbt-spark", *base, "--spark-driver-memory", driver_memory))
        if results[-1]["rows"] != duckdb_rows:
            raise SystemExit(f"Spark built other row counts than DuckDB: {results[-1]['rows']} vs {duckdb_rows}")
    return results


def _raw_rows(db: Path) -> int:
    with duckdb.connect(str(db), read_only=True) as con:
        tables = con.execute("select table_name from information_schema.tables where table_schema = 'raw_salesforce' "
                             "and table_name not like '\\_l2c%' escape '\\'").fetchall()
        return sum(con.execute(f'select count(*) from raw_salesforce."{t}"').fetchall()[0][0] for (t,) in tables)


def _print(r: dict) -> None:
    jvm = f" + JVM {r['jvm_peak_rss_mb']:>6,.0f} MB" if r.get("jvm_peak_rss_mb") else ""
    detail = {k: r[k] for k in ("records", "rows", "nodes", "tables", "mb") if k in r}
    print(f"{r['opportunities']:>9,} opps  {r['stage']:<24} {r['seconds']:>7.1f} s (CPU {r['cpu_seconds']:>6.1f} s, "
          f"load {r['load_average']:>4.1f})  peak RSS {r['peak_rss_mb']:>6,.0f} MB{jvm}  {detail}"
          + (f"  slowest: {', '.join(r['slowest'])}" if r.get("slowest") else ""), flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--opportunities", type=int, nargs="+", default=[10_000], help="org sizes")
    parser.add_argument("--spark", type=int, nargs="*", default=[], metavar="N",
                        help="sizes (among --opportunities) whose dbt build also runs on local Spark")
    parser.add_argument("--spark-driver-memory", default="4g", help="Spark driver memory (default 4g)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--syncs", type=int, default=4, help="extraction runs (default 4: full + 3 incremental)")
    parser.add_argument("--interval-days", type=float, default=14.0, help="org clock advance between runs")
    parser.add_argument("--keep", help="keep the working files (DuckDB, Parquet, Spark warehouse) in this folder")
    parser.add_argument("--json", help="also write all results to this JSON file")
    for hidden in ("--stage", "--db", "--workdir", "--credentials"):
        parser.add_argument(hidden, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.stage:
        started = time.perf_counter()
        result = _run_stage(args)
        result["seconds"] = time.perf_counter() - started
        own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        result["peak_rss_mb"] = own.ru_maxrss / 1024  # KiB on Linux
        if args.stage == "dbt-spark":
            result["jvm_peak_rss_mb"] = children.ru_maxrss / 1024
        # CPU time tells the stage's cost apart from waiting on a busy machine.
        result["cpu_seconds"] = own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime
        print(json.dumps(result))
        return 0

    results = []
    with tempfile.TemporaryDirectory(prefix="l2c-bench-scale-") as tmp:
        for n in args.opportunities:
            workdir = Path(args.keep or tmp) / str(n)
            workdir.mkdir(parents=True, exist_ok=True)
            results.extend(measure(n, args.seed, args.syncs, args.interval_days, n in args.spark,
                                   args.spark_driver_memory, workdir))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark of the demo-org generator: wall time, rows per object and peak memory.

Run ``.venv/bin/python -m benchmarks.bench_generator --opportunities 100000``
(several sizes: ``--opportunities 10000 100000 1000000``). Each size runs in a
fresh subprocess so that its peak resident set size is its own.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time


def measure(n_opportunities: int, seed: int, write_to: str | None = None) -> dict:
    """Generate one org in this process and report time, rows and peak RSS."""
    from l2c.sandbox.generator import generate_org, write_org

    start, cpu_start = time.perf_counter(), time.process_time()
    org = generate_org(n_opportunities, seed)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    result = {
        "opportunities": n_opportunities,
        "seconds": round(seconds, 2),
        # CPU time of all threads: a steadier figure than wall time on a shared machine
        "cpu_seconds": round(cpu_seconds, 2),
        "rows": {name: table.height for name, table in org.tables.items()},
        "total_rows": sum(table.height for table in org.tables.values()),
        # polars' estimate: counts a text cell's bytes, not its 16-byte view nor categorical dictionaries
        "in_memory_gb": round(sum(t.estimated_size() for t in org.tables.values()) / 1e9, 2),
    }
    if write_to:
        start = time.perf_counter()
        write_org(org, write_to)
        result["write_seconds"] = round(time.perf_counter() - start, 2)
    # ru_maxrss is in KiB on Linux, so this is GiB (the key keeps the name the other benchmarks use)
    result["peak_rss_gb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2, 2)
    return result


def _print(result: dict) -> None:
    print(f"\n{result['opportunities']:,} opportunities: {result['seconds']} s wall ({result['cpu_seconds']} s CPU), "
          f"{result['total_rows']:,} rows, peak RSS {result['peak_rss_gb']} GiB "
          f"(tables ~{result['in_memory_gb']} GB by polars' estimate)")
    for name, rows in result["rows"].items():
        print(f"  {name:<36} {rows:>12,}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--opportunities", type=int, nargs="+", default=[10_000], help="org sizes to generate")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--write-to", help="also time write_org() into this directory")
    parser.add_argument("--json", action="store_true", help="print one JSON line per size instead of a table")
    parser.add_argument("--in-process", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.in_process:
        print(json.dumps(measure(args.opportunities[0], args.seed, args.write_to)))
        return 0
    for n in args.opportunities:
        cmd = [sys.executable, "-m", "benchmarks.bench_generator", "--in-process", "--opportunities", str(n),
               "--seed", str(args.seed)]
        if args.write_to:
            cmd += ["--write-to", args.write_to]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        result = json.loads(out.strip().splitlines()[-1])
        print(json.dumps(result)) if args.json else _print(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: variants + process map + throughput with l2c's ``analysis`` and with pm4py, same log, same run.

    .venv/bin/python -m benchmarks.bench_analysis --cases 100000
    .venv/bin/python -m benchmarks.bench_analysis --cases 1000000 --skip-pm4py
    .venv/bin/python -m benchmarks.bench_analysis --parquet events.parquet --case case:concept:name \\
        --activity concept:name --timestamp time:timestamp

The log is generated (``benchmarks.synthetic``, ~11.6 events per case) or read
from a Parquet file and written once to a temporary Parquet file; each tool
then runs in its own subprocess so its peak memory (max RSS) is its own.
pm4py runs at its best: pyarrow-backed pandas, after ``pm4py.format_dataframe``
(timed separately, like our ``read_event_log``). Each step is timed ``--repeat``
times and the median reported. l2c verbs are timed "cold" (a fresh log without
the shared per-case tables) and "together" (the three verbs on one fresh log,
as a pipeline calls them); "cold" still has the case index that
``read_event_log`` computes while checking the order. Results are compared: variant counts, DFG edge
counts and sorted case durations must be identical, and waiting-time means
and medians equal within a microsecond.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

GIB = 1024**3


def _peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


class _Clock:
    """Median wall and CPU time (all threads of the process) of each measured step.

    CPU time is reported too because the benchmark machine is often shared:
    other processes inflate wall time but not the CPU time a step needs.
    """

    def __init__(self, repeat: int):
        self.repeat = repeat
        self.figures: dict[str, float] = {}

    def __call__(self, step: str, fn: Callable[[], Any]) -> Any:
        walls, cpus, result = [], [], None
        for _ in range(self.repeat):
            result = None
            gc.collect()
            wall, cpu = time.perf_counter(), time.process_time()
            result = fn()
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
        self.figures[f"{step}_s"] = statistics.median(walls)
        self.figures[f"{step}_cpu_s"] = statistics.median(cpus)
        return result


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _variants_digest(pairs: list[tuple[list[str], int]]) -> str:
    return _digest(sorted(["\x1f".join(acts), int(n)] for acts, n in pairs))


def _dfg_digest(edges: list[tuple[str, str, int]]) -> str:
    return _digest(sorted([s, t, int(n)] for s, t, n in edges))


def _durations_digest(microseconds: list[int]) -> str:
    return _digest(sorted(int(us) for us in microseconds))


# --------------------------------------------------------------------------- workers


def run_l2c(path: Path, keys: dict[str, str], repeat: int) -> dict[str, Any]:
    import polars as pl

    import analysis

    timed = _Clock(repeat)
    log = timed("read", lambda: analysis.read_event_log(pl.read_parquet(path), **keys))
    events = log.events

    def fresh() -> analysis.EventLog:
        # The log as read_event_log returns it (events plus the case index its order check
        # computed, timed under "read"), without the per-case tables the verbs memoise.
        cold = analysis.EventLog(events)
        cold._cache["case_index"] = log.case_index()
        return cold

    variants = timed("variants", lambda: analysis.variants(fresh()))
    edges = timed("process_map", lambda: analysis.process_map(fresh()))
    per_case = timed("throughput", lambda: analysis.throughput(fresh()))

    def together() -> None:
        one = fresh()
        analysis.variants(one), analysis.process_map(one), analysis.throughput(one)

    timed("together", together)

    inner = edges.filter((pl.col("source") != analysis.START) & (pl.col("target") != analysis.END))
    waits = {
        f"{s}\x1f{t}": [mean, median]
        for s, t, mean, median in inner.select(
            "source", "target",
            pl.col("mean").dt.total_microseconds() / 1e6, pl.col("median").dt.total_microseconds() / 1e6,
        ).iter_rows()
    }
    return {
        "tool": "l2c",
        "cases": log.n_cases, "events": log.n_events,
        **timed.figures,
        "peak_rss_bytes": _peak_rss_bytes(),
        "n_variants": variants.height,
        "variants_digest": _variants_digest(variants.select("activities", "cases").rows()),
        "dfg_digest": _dfg_digest(inner.select("source", "target", "frequency").rows()),
        "durations_digest": _durations_digest(per_case.get_column("duration").dt.total_microseconds().to_list()),
        "waits": waits,
    }


def run_pm4py(path: Path, keys: dict[str, str], repeat: int) -> dict[str, Any]:
    import pandas as pd

    warnings.filterwarnings("ignore")
    import pm4py

    def read() -> Any:
        df = pd.read_parquet(path)  # pyarrow engine, pyarrow-backed strings on pandas 3
        return pm4py.format_dataframe(df, case_id=keys["case"], activity_key=keys["activity"],
                                      timestamp_key=keys["timestamp"])

    timed = _Clock(repeat)
    df = timed("read", read)
    variants = timed("variants", lambda: pm4py.get_variants(df))

    def process_map() -> tuple:
        return pm4py.discover_dfg(df), pm4py.discover_performance_dfg(df)

    (dfg, _, _), (performance, _, _) = timed("process_map", process_map)
    durations = timed("throughput", lambda: pm4py.get_all_case_durations(df))
    for suffix in ("_s", "_cpu_s"):
        timed.figures[f"together{suffix}"] = sum(
            timed.figures[f"{step}{suffix}"] for step in ("variants", "process_map", "throughput"))
    return {
        "tool": "pm4py",
        "cases": int(df["case:concept:name"].nunique()), "events": len(df),
        **timed.figures,
        "peak_rss_bytes": _peak_rss_bytes(),
        "n_variants": len(variants),
        "variants_digest": _variants_digest([(list(k), v) for k, v in variants.items()]),
        "dfg_digest": _dfg_digest([(s, t, n) for (s, t), n in dfg.items()]),
        "durations_digest": _durations_digest([round(d * 1e6) for d in durations]),
        "waits": {f"{s}\x1f{t}": [p["mean"], p["median"]] for (s, t), p in performance.items()},
    }


# --------------------------------------------------------------------------- orchestration


def _spawn(tool: str, path: Path, keys: dict[str, str], repeat: int) -> dict[str, Any]:
    command = [sys.executable, "-m", "benchmarks.bench_analysis", "--worker", tool, "--parquet", str(path),
               "--repeat", str(repeat), "--case", keys["case"], "--activity", keys["activity"],
               "--timestamp", keys["timestamp"]]
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(command, cwd=root, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{tool} worker failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _same_waits(ours: dict, theirs: dict) -> bool:
    if ours.keys() != theirs.keys():
        return False
    return all(abs(a - b) <= 1e-6 for k in ours for a, b in zip(ours[k], theirs[k], strict=True))


def _load_average() -> str:
    try:
        return " / ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def _report(ours: dict, theirs: dict | None) -> str:
    lines = [
        f"log: {ours['cases']:,} cases, {ours['events']:,} events, {ours['n_variants']:,} variants; "
        f"load average after the run (1/5/15 min): {_load_average()}",
        "",
        "| step | l2c wall (s) | l2c CPU (s) | pm4py wall (s) | pm4py CPU (s) | speed-up wall | speed-up CPU |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    steps = [("read + validate / format_dataframe", "read"), ("variants", "variants"),
             ("process map (frequency + waiting times)", "process_map"),
             ("throughput per case", "throughput"),
             ("variants + process map + throughput", "together")]
    for label, key in steps:
        wall, cpu = ours[f"{key}_s"], ours[f"{key}_cpu_s"]
        if theirs is None:
            lines.append(f"| {label} | {wall:.3f} | {cpu:.3f} | – | – | – | – |")
        else:
            their_wall, their_cpu = theirs[f"{key}_s"], theirs[f"{key}_cpu_s"]
            lines.append(f"| {label} | {wall:.3f} | {cpu:.3f} | {their_wall:.3f} | {their_cpu:.3f} "
                         f"| {their_wall / wall:.1f}× | {their_cpu / cpu:.1f}× |")
    theirs_peak = f"{theirs['peak_rss_bytes'] / GIB:.2f} GiB" if theirs else "–"
    lines += [f"| peak memory (max RSS) | {ours['peak_rss_bytes'] / GIB:.2f} GiB | | {theirs_peak} | | | |", ""]
    lines.append("l2c 'together' shares the per-case tables between the three verbs; pm4py's is the sum of its "
                 "steps. CPU time counts all threads (polars uses both cores).")
    if theirs is not None:
        checks = {
            "variant counts": ours["variants_digest"] == theirs["variants_digest"],
            "DFG edge counts": ours["dfg_digest"] == theirs["dfg_digest"],
            "case durations": ours["durations_digest"] == theirs["durations_digest"],
            "waiting-time mean/median (±1 µs)": _same_waits(ours["waits"], theirs["waits"]),
        }
        lines.append("identical to pm4py: " + ", ".join(f"{k} {'yes' if v else 'NO'}" for k, v in checks.items()))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=100_000, help="cases in the generated log")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--parquet", type=Path, help="benchmark this Parquet event log instead of a generated one")
    parser.add_argument("--case", default="case_id")
    parser.add_argument("--activity", default="activity")
    parser.add_argument("--timestamp", default="timestamp")
    parser.add_argument("--repeat", type=int, default=3, help="runs per step (median reported)")
    parser.add_argument("--pm4py-repeat", type=int, help="runs per pm4py step (default: --repeat)")
    parser.add_argument("--skip-pm4py", action="store_true", help="time l2c only (pm4py takes minutes at 1M cases)")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    parser.add_argument("--worker", choices=["l2c", "pm4py"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    keys = {"case": args.case, "activity": args.activity, "timestamp": args.timestamp}

    if args.worker:
        run = run_l2c if args.worker == "l2c" else run_pm4py
        print(json.dumps(run(args.parquet, keys, args.repeat)))
        return 0

    with tempfile.TemporaryDirectory(prefix="l2c-bench-") as tmp:
        path = args.parquet
        if path is None:
            from benchmarks.synthetic import synthetic_log

            path = Path(tmp) / f"synthetic_{args.cases}.parquet"
            started = time.perf_counter()
            synthetic_log(args.cases, seed=args.seed).write_parquet(path)
            print(f"generated {args.cases:,} cases in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        ours = _spawn("l2c", path, keys, args.repeat)
        theirs = None if args.skip_pm4py else _spawn("pm4py", path, keys, args.pm4py_repeat or args.repeat)
    print(f"# analysis benchmark (cpus: {os.cpu_count()}, python {sys.version.split()[0]})\n")
    print(_report(ours, theirs))
    if args.json:
        args.json.write_text(json.dumps({"l2c": ours, "pm4py": theirs}, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

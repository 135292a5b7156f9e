"""The ``l2c`` command line: one sub-command per pipeline step.

Each sub-command is a small function here that parses its flags and calls the
module doing the work; failures exit non-zero with a one-line message.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

_DB_HELP = "DuckDB file (default $L2C_DUCKDB_PATH or data/warehouse.duckdb)"


class CliError(Exception):
    """An error to show the user as one line, without a traceback."""


def _add_sandbox(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sandbox", help="the local demo Salesforce org (an HTTPS Salesforce API server)")
    sandbox_sub = p.add_subparsers(dest="sandbox_command", required=True)
    serve = sandbox_sub.add_parser(
        "serve",
        help="serve a generated demo org over the Salesforce REST and Bulk 2.0 APIs on loopback",
        description=(
            "Generate a deterministic demo org and serve it over HTTPS on 127.0.0.1. Prints one JSON line "
            "(instance_url, session_id, username, password, security_token, ca_bundle) and serves until interrupted."
        ),
    )
    serve.add_argument("--opportunities", type=int, default=2000, help="opportunities in the org (default 2000)")
    serve.add_argument("--seed", type=int, default=42, help="random seed; same seed, same org (default 42)")
    serve.add_argument("--port", type=int, default=0, help="TCP port; 0 picks a free one (default 0)")
    serve.add_argument(
        "--faults",
        default="",
        help="comma-separated faults: 500:RATE, 503:RATE, drop:RATE, truncate:RATE, expire:RATE, slow:RATE, limit:N",
    )
    serve.set_defaults(func=_cmd_sandbox_serve)


def _cmd_sandbox_serve(args: argparse.Namespace) -> int:
    from l2c.sandbox.server import serve_forever

    return serve_forever(
        n_opportunities=args.opportunities, seed=args.seed, port=args.port, faults=args.faults
    )


def _add_template(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "template",
        help="write the Lead-to-Cash event-log template (.xlsx with field guide, plus a .csv twin)",
        description="Write l2c_event_log_template.xlsx (sheets: event_log with example rows, fields explaining "
        "each column) and its CSV twin, to fill and bring back with `l2c import`.",
    )
    p.add_argument("--out", default=".", metavar="DIR", help="directory to write into (default: current)")
    p.set_defaults(func=_cmd_template)


def _cmd_template(args: argparse.Namespace) -> int:
    from l2c.eventlog_io.template import write_template

    xlsx, csv_path = write_template(args.out)
    print(f"wrote {xlsx}\nwrote {csv_path}")
    return 0


def _add_import(sub: argparse._SubParsersAction) -> None:
    from l2c.eventlog_io.mapping import ROLES

    p = sub.add_parser(
        "import",
        help="import an event-log file (CSV, XLSX, Parquet, XES, XES.gz) as the l2c event log",
        description="Import an event log into DuckDB (raw_import.event_log, l2c.event_log, l2c.cases, "
        "l2c.activities) so every analysis and the report run on it. Columns are detected from common names "
        "and can be set with the flags below. All or nothing: a failed import changes nothing.",
    )
    p.add_argument("file", help="the event-log file")
    p.add_argument("--db", help=_DB_HELP)
    columns = p.add_argument_group("columns (default: detected from the column names)")
    for role in ROLES:
        columns.add_argument(role.flag, dest=f"column_{role.name}", metavar="COL", help=f"column holding {role.description}")
    p.add_argument("--timezone", metavar="ZONE", help="IANA zone of timestamps without offset (default UTC)")
    p.add_argument("--timestamp-format", metavar="FMT", help="strftime format of text timestamps (default: detected)")
    p.add_argument(
        "--lifecycle", choices=("keep", "combine"), default="keep",
        help="keep: activity = name, transition kept as attribute (default); combine: activity = 'name+transition'",
    )
    p.add_argument("--sheet", help="Excel sheet to read (default event_log, else the first)")
    p.add_argument("--encoding", help="CSV encoding (default utf-8; e.g. latin-1, utf-16)")
    p.add_argument("--drop-duplicates", action="store_true", help="drop rows identical to an earlier row")
    p.set_defaults(func=_cmd_import)


def _cmd_import(args: argparse.Namespace) -> int:
    from l2c.eventlog_io import EventLogImportError, import_event_log

    columns = {k[len("column_"):]: v for k, v in vars(args).items() if k.startswith("column_") and v}
    try:
        summary = import_event_log(
            args.file, args.db, columns=columns, timezone=args.timezone,
            timestamp_format=args.timestamp_format, lifecycle=args.lifecycle, sheet=args.sheet,
            encoding=args.encoding, drop_duplicates=args.drop_duplicates,
        )
    except EventLogImportError as exc:
        raise CliError(str(exc)) from exc
    print(summary.to_text())
    return 0


def _add_report(sub: argparse._SubParsersAction) -> None:
    from l2c.report.i18n import LANGUAGES

    p = sub.add_parser(
        "report",
        help="write the self-contained Lead-to-Cash HTML report (index.html) from the marts",
        description="Read the dbt and analysis marts (read-only) and write index.html, one self-contained "
        "HTML file that opens offline, plus the process map as process_map.svg (and .png with Pillow), into "
        "the output directory: the Dagster job l2c_write_report, recorded in the instance when DAGSTER_HOME is "
        "set. See docs/report.md.",
    )
    p.add_argument("--db", help=_DB_HELP)
    p.add_argument("--out", metavar="DIR", help="directory to write into (default $L2C_REPORT_DIR or data/report)")
    p.add_argument(
        "--language", choices=LANGUAGES,
        help="language of the report (default $L2C_REPORT_LANGUAGE or en)",
    )
    p.set_defaults(func=_cmd_report)


def _cmd_report(args: argparse.Namespace) -> int:
    import os

    from l2c.config import REPORT_LANGUAGE_ENV
    from l2c.report.i18n import DEFAULT_LANGUAGE, LANGUAGES

    language = args.language or os.environ.get(REPORT_LANGUAGE_ENV) or DEFAULT_LANGUAGE
    if language not in LANGUAGES:
        raise CliError(f"${REPORT_LANGUAGE_ENV}={language!r} is not a report language; use one of: "
                       f"{', '.join(LANGUAGES)}")
    # The report asset says "wrote <path>".
    _run_step("l2c_write_report", db=args.db, report_dir=args.out,
              resource_config={"warehouse": {"report_language": language}})
    return 0


def _add_extract(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "extract",
        help="extract Salesforce objects incrementally into DuckDB (schema raw_salesforce)",
        description="Incrementally and losslessly copy the Lead-to-Cash objects of the org configured by the "
        "SALESFORCE_* environment variables (or, with --demo, of the local demo org) into DuckDB: the Dagster "
        "job salesforce_extract, recorded in the instance when DAGSTER_HOME is set. See docs/extraction.md.",
    )
    p.add_argument("--db", help=_DB_HELP)
    p.add_argument("--objects", help="comma-separated object API names from the object list (default: all of them)")
    p.add_argument("--objects-file", help="object list YAML (default $L2C_EXTRACT_OBJECTS or l2c/extract/objects.yml)")
    p.add_argument("--full-refresh", action="store_true",
                   help="re-read every record, ignoring watermarks (versions already stored are not duplicated)")
    p.add_argument("--demo", action="store_true", help="start the local demo org and extract from it")
    p.add_argument("--opportunities", type=int, default=2000, help="with --demo: opportunities in the org (default 2000)")
    p.add_argument("--seed", type=int, default=42, help="with --demo: random seed (default 42)")
    p.set_defaults(func=_cmd_extract)


def _cmd_extract(args: argparse.Namespace) -> int:
    from l2c.extract import ExtractError
    from l2c.extract.command import extract_command
    from l2c.pipeline import PipelineError

    objects = [o.strip() for o in args.objects.split(",") if o.strip()] if args.objects else None
    try:
        extract_command(
            db=args.db, objects=objects, objects_file=args.objects_file, full_refresh=args.full_refresh,
            demo=args.demo, n_opportunities=args.opportunities, seed=args.seed,
        )
    except ExtractError as exc:
        raise CliError(str(exc)) from None
    except PipelineError as exc:
        raise CliError(exc.reason) from None
    return 0


def _add_transform(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "transform",
        help="run dbt build: raw_salesforce → staging → events → the l2c marts (event_log, cases, ...)",
        description="Run `dbt build` of dbt_project/ (seeds, models, data and unit tests) on the DuckDB file: the "
        "Dagster job l2c_transform, recorded in the instance when DAGSTER_HOME is set. See docs/dbt.md.",
    )
    p.add_argument("--db", help=_DB_HELP)
    p.add_argument("--select", nargs="+", metavar="SELECTOR",
                   help="dbt node selection, e.g. '+event_log' (default: everything)")
    p.set_defaults(func=_cmd_transform)


def _cmd_transform(args: argparse.Namespace) -> int:
    from l2c.config import duckdb_path

    db = duckdb_path(args.db)
    if not db.exists():
        raise CliError(f"no DuckDB file at {db}: run `l2c extract` first (or pass --db)")
    selection = None
    if args.select:
        from orchestration.dbt import dbt_asset_keys

        selection = dbt_asset_keys(args.select)
        if not selection:
            raise CliError(f"--select {' '.join(args.select)} matches no dbt model or seed")
    # dbt's log lines and the asset's "dbt build succeeded ..." line are the progress.
    _run_step("l2c_transform", db=db, asset_selection=selection)
    return 0


def _add_export(sub: argparse._SubParsersAction) -> None:
    from l2c.eventlog_io.exporters import EXPORT_FORMATS

    p = sub.add_parser(
        "export",
        help="export the event log as CSV, Parquet, XES or OCEL 2.0 (JSON, SQLite)",
        description="Write l2c.event_log (with l2c.cases) for other process-mining tools: csv/parquet (one row "
        "per event, case attributes as case:<name>), xes (IEEE 1849-2016, .xes or .xes.gz), ocel-json / "
        "ocel-sqlite (OCEL 2.0 with the Salesforce objects and their relations).",
    )
    p.add_argument("--db", help=_DB_HELP)
    p.add_argument("--format", choices=EXPORT_FORMATS, help="output format (default: from the --out suffix)")
    p.add_argument("--out", required=True, metavar="FILE", help="file to write")
    p.set_defaults(func=_cmd_export)


def _cmd_export(args: argparse.Namespace) -> int:
    from l2c.eventlog_io import EventLogImportError
    from l2c.eventlog_io.exporters import export_event_log

    try:
        summary = export_event_log(args.out, args.db, format=args.format)
    except EventLogImportError as exc:
        raise CliError(str(exc)) from exc
    print(summary.to_text())
    return 0



def _add_demo(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="run the whole pipeline on the built-in demo org: extract → dbt → analyses → report",
        description="Generate a demo Sales Cloud org, serve it over the Salesforce API on loopback and run the "
        "daily Dagster job against it (the same code path a real org takes); prints a summary and the paths "
        "of the DuckDB file and the report.",
    )
    p.add_argument("--opportunities", type=int, default=2000, help="opportunities in the demo org (default 2000)")
    p.add_argument("--seed", type=int, default=42, help="random seed; same seed, same org (default 42)")
    p.add_argument("--db", help=_DB_HELP)
    p.add_argument("--report", metavar="DIR", help="report directory (default $L2C_REPORT_DIR or data/report)")
    p.set_defaults(func=_cmd_demo)


def _cmd_demo(args: argparse.Namespace) -> int:
    from l2c.demo import run_demo
    from l2c.pipeline import PipelineError

    if args.opportunities < 50:
        raise CliError("--opportunities must be at least 50")
    try:
        outcome, summary = run_demo(args.opportunities, args.seed, db=args.db, report_dir=args.report)
    except PipelineError as exc:
        raise CliError(str(exc)) from None
    print("\n".join(summary.lines()))
    for warning in outcome.warnings:
        print(f"warning: {warning}")
    return 0


def _add_job_command(sub: argparse._SubParsersAction, name: str, job: str, help_text: str) -> None:
    p = sub.add_parser(name, help=help_text, description=help_text + f" (Dagster job {job}).")
    p.add_argument("--db", help=_DB_HELP)
    p.add_argument("--report", metavar="DIR", help="report directory (default $L2C_REPORT_DIR or data/report)")
    p.set_defaults(func=_cmd_job, job=job)


def _add_run(sub: argparse._SubParsersAction) -> None:
    _add_job_command(sub, "run", "l2c_daily",
                     "run every step against the configured org: extract, dbt build, analyses, report")


def _add_analyze(sub: argparse._SubParsersAction) -> None:
    _add_job_command(sub, "analyze", "l2c_analyze",
                     "run every analysis on the dbt marts and write the l2c_analysis tables")


def _cmd_job(args: argparse.Namespace) -> int:
    from l2c.pipeline import PipelineError, run_job

    try:
        outcome = run_job(args.job, db=args.db, report_dir=args.report)
    except PipelineError as exc:
        raise CliError(str(exc)) from None
    print(f"{args.job}: {len(outcome.materialized)} assets materialized (run {outcome.run_id})")
    for warning in outcome.warnings:
        print(f"warning: {warning}")
    return 0


def _run_step(job: str, **options: object) -> None:
    """Run a one-step job (extract, transform, report): a failure is the step's own message."""
    from l2c.pipeline import PipelineError, run_job

    try:
        outcome = run_job(job, **options)
    except PipelineError as exc:
        raise CliError(exc.reason) from None
    for warning in outcome.warnings:
        print(f"warning: {warning}")


def _add_parquet(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "parquet",
        help="write the marts (l2c and l2c_analysis schemas) as Parquet files for BI tools that prefer files",
        description="Write one Parquet file per table of the l2c and l2c_analysis schemas into DIR/<schema>/.",
    )
    p.add_argument("--db", help=_DB_HELP)
    p.add_argument("--out", metavar="DIR", required=True, help="directory to write into")
    p.set_defaults(func=_cmd_parquet)


def _cmd_parquet(args: argparse.Namespace) -> int:
    from l2c.bi import write_marts_parquet

    try:
        written = write_marts_parquet(args.db, args.out)
    except FileNotFoundError as exc:
        raise CliError(str(exc)) from None
    for path, rows in written.items():
        print(f"{rows:>10,} rows  {path}")
    return 0


def _add_raw_parquet(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "raw-parquet",
        help="write the raw layer (raw_salesforce) as Parquet files, for dbt on Spark",
        description="Write every raw_salesforce table to DIR/<table>/ as Parquet, plus DIR/l2c_manifest.parquet "
        "listing them. dbt's sources read these files when the var raw_parquet_dir is DIR: how the Spark "
        "target gets the raw layer. See docs/scale.md.",
    )
    p.add_argument("--db", help=_DB_HELP)
    p.add_argument("--out", metavar="DIR", required=True, help="directory to write into")
    p.set_defaults(func=_cmd_raw_parquet)


def _cmd_raw_parquet(args: argparse.Namespace) -> int:
    from l2c.spark import MANIFEST_FILE, export_raw_parquet

    try:
        exported = export_raw_parquet(args.db, args.out)
    except FileNotFoundError as exc:
        raise CliError(str(exc)) from None
    for table in exported:
        print(f"{table.rows:>12,} rows  {table.path}")
    print(f"{len(exported)} tables listed in {exported[0].path.parent / MANIFEST_FILE}")
    return 0


def _add_ui(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "ui",
        help="start the Dagster UI on the l2c definitions (against the demo org unless a real org is configured)",
        description="Start `dagster dev` on orchestration.definitions. Runs persist in the Dagster instance: "
        "$DAGSTER_HOME if set (a folder without dagster.yaml gets one with l2c's run queue), else the project, "
        "under .dagster/. Without SALESFORCE_* settings it first starts the demo org and points the definitions "
        "at it. Ctrl-C (or SIGTERM) stops the UI and every process it started.",
    )
    p.add_argument("--port", type=int, default=3000, help="UI port (default 3000)")
    p.add_argument("--opportunities", type=int, default=2000,
                   help="demo org size when no org is configured (default 2000)")
    p.add_argument("--seed", type=int, default=42, help="demo org seed (default 42)")
    p.set_defaults(func=_cmd_ui)


def _cmd_ui(args: argparse.Namespace) -> int:
    from l2c.ui import start_ui

    return start_ui(port=args.port, n_opportunities=args.opportunities, seed=args.seed)


#: Sub-command registrars, in the order ``l2c --help`` lists them.
REGISTRARS: list[Callable[[argparse._SubParsersAction], None]] = [
    _add_demo, _add_run, _add_extract, _add_transform, _add_analyze, _add_report, _add_ui, _add_parquet,
    _add_raw_parquet, _add_sandbox, _add_template, _add_import, _add_export,
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="l2c",
        description="Lead-to-Cash process mining for Salesforce: extract → dbt → analysis → report.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for register in REGISTRARS:
        register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except CliError as exc:
        print(f"l2c {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"l2c {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

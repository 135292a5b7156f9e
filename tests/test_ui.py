"""``l2c ui`` / ``make ui`` end to end: the Dagster UI on the demo org serves the lineage graph and runs it.

The slow UI test (marked ``slow`` and ``ui``; about two minutes). It starts the
real console script as a subprocess on a free port, with a fresh
``DAGSTER_HOME``, DuckDB file and report folder under ``tmp_path`` and a small
demo org, then talks to the UI only through its GraphQL API, as the browser
does: the asset graph, jobs and schedule it serves, a launch of ``l2c_daily``
(what "Materialize all" does) through the queue and the daemon, and the run's
outcome. It asserts on the DuckDB file and the report the run wrote, and that
stopping ``l2c ui`` leaves no process behind.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
import requests
import yaml

from analysis.marts import ANALYSIS_TABLES, OPTIONAL_ANALYSIS_TABLES
from l2c import config

pytestmark = [pytest.mark.slow, pytest.mark.ui]

N_OPPORTUNITIES, SEED = 150, 5
#: Generous bounds for a loaded 2-core machine; idle, the UI is up in ~20 s and the run takes ~90 s.
START_TIMEOUT_SECONDS = 180
RUN_TIMEOUT_SECONDS = 360
STOP_TIMEOUT_SECONDS = 180
#: Environment variable that marks every process started for the test, to find leftovers by it.
MARKER_VARIABLE = "L2C_TEST_UI_MARKER"

LOCATIONS_QUERY = """
{ workspaceOrError { __typename
    ... on Workspace { locationEntries { name loadStatus
        locationOrLoadError { __typename ... on PythonError { message stack } } } }
    ... on PythonError { message } } }
"""
GRAPH_QUERY = """
{ repositoriesOrError { __typename
    ... on RepositoryConnection { nodes { name location { name } jobs { name }
                                          schedules { name cronSchedule executionTimezone } } }
    ... on PythonError { message } }
  assetNodes { assetKey { path }
               assetChecksOrError { __typename ... on AssetChecks { checks { name } } } } }
"""
RUN_QUERY = """
query Run($runId: ID!) { runOrError(runId: $runId) { __typename
    ... on Run { status tags { key value }
                 assetMaterializations { assetKey { path }
                                         metadataEntries { label ... on PathMetadataEntry { path } } } }
    ... on PythonError { message } } }
"""
LOGS_QUERY = """
query Logs($runId: ID!) { logsForRun(runId: $runId) { __typename
    ... on EventConnection { events { __typename
        ... on MessageEvent { message level stepKey }
        ... on ErrorEvent { error { message stack } } } }
    ... on PythonError { message } } }
"""


@dataclass
class RunningUI:
    """An ``l2c ui`` subprocess and the paths it was pointed at."""

    process: subprocess.Popen
    port: int
    marker: str
    output_file: Path
    home: Path
    db: Path
    report: Path

    @property
    def graphql_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/graphql"

    def output(self, last_lines: int = 60) -> str:
        lines = self.output_file.read_text(errors="replace").splitlines()
        return "\n".join(lines[-last_lines:])

    def graphql(self, query: str, **variables) -> dict:
        response = requests.post(self.graphql_url, json={"query": query, "variables": variables}, timeout=60)
        body = response.json()
        assert response.ok and not body.get("errors"), f"GraphQL error {response.status_code}: {body}"
        return body["data"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _l2c_command() -> list[str]:
    """The console script ``make ui`` runs, beside this Python (``python -m l2c.cli`` if not installed)."""
    script = Path(sys.executable).parent / "l2c"
    return [str(script)] if script.exists() else [sys.executable, "-m", "l2c.cli"]


def _marked_processes(marker: str) -> dict[int, str]:
    """Live processes (pid → command line) whose environment carries the test's marker."""
    found: dict[int, str] = {}
    needle = f"{MARKER_VARIABLE}={marker}".encode()
    for proc in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError):
            if needle in (proc / "environ").read_bytes().split(b"\0"):
                found[int(proc.name)] = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    return found


def _wait_until_loaded(ui: RunningUI) -> None:
    """Wait until the UI's GraphQL answers and the code location is loaded; fail with the UI's output."""
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    last = "no answer yet"
    while time.monotonic() < deadline:
        if ui.process.poll() is not None:
            pytest.fail(f"l2c ui exited with code {ui.process.returncode} before serving:\n{ui.output()}")
        try:
            workspace = ui.graphql(LOCATIONS_QUERY)["workspaceOrError"]
        except (requests.ConnectionError, requests.Timeout, AssertionError, ValueError) as exc:
            last = repr(exc)
        else:
            entries = workspace.get("locationEntries", [])
            errors = [e["locationOrLoadError"] for e in entries
                      if (e["locationOrLoadError"] or {}).get("__typename") == "PythonError"]
            if errors:
                pytest.fail(f"the code location failed to load: {errors[0]['message']}\n{errors[0]['stack']}")
            if entries and all(e["loadStatus"] == "LOADED" for e in entries):
                return
            last = f"workspace: {workspace}"
        time.sleep(1)
    pytest.fail(f"the Dagster UI did not serve {ui.graphql_url} within {START_TIMEOUT_SECONDS}s ({last}); "
                f"l2c ui output:\n{ui.output()}")


def _stop(ui: RunningUI) -> tuple[int | None, dict[int, str]]:
    """Stop ``l2c ui`` as a terminal would (signal its process group); return its exit code and leftovers.

    Leftovers (processes still alive a few seconds after ``l2c ui`` exited) are killed here.
    """
    with contextlib.suppress(ProcessLookupError):
        os.killpg(ui.process.pid, signal.SIGTERM)
    try:
        code = ui.process.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        code = None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(ui.process.pid, signal.SIGKILL)
        ui.process.wait(timeout=30)
    deadline = time.monotonic() + 10
    while (left := _marked_processes(ui.marker)) and time.monotonic() < deadline:
        time.sleep(0.5)
    for pid in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return code, left


@pytest.fixture(scope="module")
def ui(tmp_path_factory) -> Iterator[RunningUI]:
    """``l2c ui`` on a small demo org, with its instance, DuckDB file and report in a temporary folder."""
    root = tmp_path_factory.mktemp("ui")
    env = {name: value for name, value in os.environ.items() if not name.startswith("SALESFORCE_")}
    marker = uuid.uuid4().hex
    home, db, report = root / "dagster_home", root / "warehouse.duckdb", root / "report"
    env.update({"DAGSTER_HOME": str(home), config.DUCKDB_PATH_ENV: str(db), config.REPORT_DIR_ENV: str(report),
                MARKER_VARIABLE: marker, "PYTHONUNBUFFERED": "1"})
    port = _free_port()
    output_file = root / "l2c-ui.log"
    command = [*_l2c_command(), "ui", "--port", str(port), "--opportunities", str(N_OPPORTUNITIES),
               "--seed", str(SEED)]
    with output_file.open("wb") as output:
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    running = RunningUI(process, port, marker, output_file, home, db, report)
    try:
        _wait_until_loaded(running)
        yield running
    finally:
        if process.poll() is None or _marked_processes(marker):
            _stop(running)


def test_ui_serves_every_asset_check_job_and_schedule_of_the_definitions(ui):
    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    data = ui.graphql(GRAPH_QUERY)

    served_assets = {tuple(node["assetKey"]["path"]) for node in data["assetNodes"]}
    assert served_assets == {tuple(key.path) for key in graph.get_all_asset_keys()}
    served_checks = {(tuple(node["assetKey"]["path"]), check["name"])
                     for node in data["assetNodes"] for check in node["assetChecksOrError"]["checks"]}
    assert served_checks == {(tuple(key.asset_key.path), key.name) for key in graph.asset_check_keys}

    repositories = data["repositoriesOrError"]
    assert repositories["__typename"] == "RepositoryConnection", repositories
    [repository] = repositories["nodes"]
    assert repository["location"]["name"] == "orchestration.definitions"
    assert {job["name"] for job in repository["jobs"]} == {job.name for job in defs.resolve_all_job_defs()}
    assert {"l2c_daily", "l2c_refresh", "salesforce_extract"} <= {job["name"] for job in repository["jobs"]}
    assert repository["schedules"] == [
        {"name": "l2c_daily_schedule", "cronSchedule": os.environ.get(config.SCHEDULE_CRON_ENV, "0 6 * * *"),
         "executionTimezone": os.environ.get(config.SCHEDULE_TIMEZONE_ENV, "UTC")}]


def _run_logs(ui: RunningUI, run_id: str, last: int = 40) -> str:
    logs = ui.graphql(LOGS_QUERY, runId=run_id)["logsForRun"]
    if logs["__typename"] != "EventConnection":
        return str(logs)
    events = logs["events"]
    errors = [f"{e.get('stepKey')}: {e['error']['message']}\n{''.join(e['error']['stack'])}"
              for e in events if e.get("error")]
    messages = [f"{e.get('level')} {e.get('stepKey') or ''} {e.get('message', '')}" for e in events[-last:]]
    return "\n".join(["errors:", *errors, f"last {last} events:", *messages])


@pytest.fixture(scope="module")
def daily_run(ui) -> tuple[str, dict]:
    """``l2c_daily`` launched through the UI's API and followed to its end: (run id, the run)."""
    from dagster_graphql import DagsterGraphQLClient

    client = DagsterGraphQLClient("127.0.0.1", port_number=ui.port)
    run_id = client.submit_job_execution("l2c_daily")
    deadline = time.monotonic() + RUN_TIMEOUT_SECONDS
    while (status := client.get_run_status(run_id).value) not in {"SUCCESS", "FAILURE", "CANCELED"}:
        if time.monotonic() > deadline:
            pytest.fail(f"run {run_id} of l2c_daily still {status} after {RUN_TIMEOUT_SECONDS}s\n"
                        f"{_run_logs(ui, run_id)}\nl2c ui output:\n{ui.output()}")
        time.sleep(2)
    assert status == "SUCCESS", f"run {run_id} of l2c_daily ended {status}\n{_run_logs(ui, run_id)}"
    return run_id, ui.graphql(RUN_QUERY, runId=run_id)["runOrError"]


def test_ui_materializes_every_asset_in_one_queued_run(ui, daily_run):
    from orchestration.definitions import defs

    run_id, run = daily_run
    materialized = {tuple(m["assetKey"]["path"]) for m in run["assetMaterializations"]}
    assert materialized == {tuple(key.path) for key in defs.resolve_asset_graph().get_all_asset_keys()}
    # The queue's tag: dagster.yaml lets one such run write DuckDB at a time.
    assert {"key": "l2c/duckdb", "value": "writer"} in run["tags"]
    [report] = [m for m in run["assetMaterializations"] if m["assetKey"]["path"] == ["l2c_report"]]
    assert {"label": "path", "path": str(ui.report / "index.html")} in report["metadataEntries"]

    # The run was recorded in the test's DAGSTER_HOME, under the run queue l2c ui wrote there.
    assert (ui.home / "history" / "runs" / f"{run_id}.db").exists()
    assert not (config.PROJECT_ROOT / ".dagster" / "storage" / "history" / "runs" / f"{run_id}.db").exists()
    written = yaml.safe_load((ui.home / "dagster.yaml").read_text())
    project = yaml.safe_load((config.PROJECT_ROOT / "dagster.yaml").read_text())
    assert written["concurrency"] == project["concurrency"]
    assert "storage" not in written


def test_ui_run_fills_the_marts_analyses_and_report_from_the_demo_org(ui, daily_run):
    from l2c.sandbox.generator import generate_org

    shown = generate_org(N_OPPORTUNITIES, seed=SEED).snapshot("Opportunity")
    opportunities = shown.filter(~shown["IsDeleted"])
    with duckdb.connect(str(ui.db), read_only=True) as con:
        def scalar(sql: str):
            return con.execute(sql).fetchone()[0]

        assert scalar("select count(*) from l2c.cases") == opportunities.height
        assert scalar("select count(distinct case_id) from l2c.event_log") == opportunities.height
        won = opportunities.filter(opportunities["IsWon"]).height
        assert scalar("select count(*) from l2c.event_log where activity = 'Closed Won'") == won
        assert scalar("select sum(cases) from l2c_analysis.variants") == opportunities.height
        analysis_tables = {name for (name,) in con.execute(
            "select table_name from information_schema.tables where table_schema = 'l2c_analysis'").fetchall()}
    assert set(ANALYSIS_TABLES) - OPTIONAL_ANALYSIS_TABLES <= analysis_tables
    html = (ui.report / "index.html").read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "<svg" in html
    assert (ui.report / "process_map.svg").exists()


def test_stopping_l2c_ui_leaves_no_process_behind(ui):
    started = _marked_processes(ui.marker)
    # l2c ui itself, dagster dev, its webserver, daemon and code server at least.
    assert len(started) >= 5, started
    code, left = _stop(ui)
    assert left == {}, f"processes left after l2c ui stopped: {left}\n{ui.output()}"
    assert code == 0, f"l2c ui exited with {code}\n{ui.output()}"
    assert "Dagster services shut down." in ui.output(), ui.output()

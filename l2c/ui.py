"""``l2c ui`` / ``make ui``: the Dagster UI on the l2c definitions, against the demo org by default."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import yaml

from l2c import config

#: Any of these means the user configured a real org (see docs/extraction.md).
_ORG_VARIABLES = ("SALESFORCE_USERNAME", "SALESFORCE_CONSUMER_KEY", "SALESFORCE_INSTANCE_URL")
#: The project's Dagster instance settings (run queue, storage under .dagster/).
PROJECT_INSTANCE_FILE = config.PROJECT_ROOT / "dagster.yaml"
#: Sections of the project's dagster.yaml whose paths are relative to the project folder.
_PROJECT_STORAGE_SECTIONS = ("storage", "local_artifact_storage", "compute_logs")
#: How long ``dagster dev`` may take to stop its webserver, daemon and code server after an interrupt
#: (it waits up to 60 s for each of the first two) before its whole process group is killed.
STOP_TIMEOUT_SECONDS = 150.0


def dagster_home(env: dict[str, str]) -> Path:
    """The Dagster instance folder for the UI: ``$DAGSTER_HOME`` if set, else the project folder.

    A ``DAGSTER_HOME`` of the user's without instance settings gets the project's run queue (one run
    writing DuckDB at a time) in a ``dagster.yaml`` of its own; storage stays Dagster's default there.
    The project's file is not copied as is: its storage paths are relative, i.e. they would resolve
    to the project's ``.dagster/`` folder, not the user's.
    """
    home = env.get("DAGSTER_HOME")
    if not home:
        return config.PROJECT_ROOT
    path = Path(home).expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    if not (path / "dagster.yaml").exists() and not (path / "dagster.yml").exists():
        settings = yaml.safe_load(PROJECT_INSTANCE_FILE.read_text())
        for section in _PROJECT_STORAGE_SECTIONS:
            settings.pop(section, None)
        (path / "dagster.yaml").write_text(
            "# Written by `l2c ui`: the l2c run queue (one DuckDB writer at a time); storage is Dagster's\n"
            "# default in this folder. See dagster.yaml in the l2c project.\n"
            + yaml.safe_dump(settings, sort_keys=False)
        )
        print(f"wrote the l2c instance settings (run queue) to {path / 'dagster.yaml'}", flush=True)
    return path


def start_ui(port: int = 3000, n_opportunities: int = 2000, seed: int = 42) -> int:
    """Run ``dagster dev`` on ``orchestration.definitions`` until interrupted; returns its exit code."""
    env = dict(os.environ)
    env["DAGSTER_HOME"] = str(dagster_home(env))
    env.setdefault(config.DUCKDB_PATH_ENV, str(config.duckdb_path()))
    Path(env[config.DUCKDB_PATH_ENV]).parent.mkdir(parents=True, exist_ok=True)
    bin_dir = Path(sys.executable).parent
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    with contextlib.ExitStack() as stack:
        if not any(os.environ.get(name) for name in _ORG_VARIABLES):
            from l2c.demo import sandbox_environment
            from l2c.sandbox.server import SandboxOrg

            print(f"no Salesforce org configured: starting the demo org ({n_opportunities:,} opportunities, "
                  f"seed {seed}) ...", flush=True)
            org = stack.enter_context(SandboxOrg(n_opportunities=n_opportunities, seed=seed))
            for key, value in sandbox_environment(org).items():
                if value:
                    env[key] = value
                else:
                    env.pop(key, None)
            print(f"demo org at {org.instance_url}", flush=True)
        command = [str(bin_dir / "dagster"), "dev", "-m", "orchestration.definitions", "-p", str(port)]
        print(f"Dagster UI on http://127.0.0.1:{port} (DAGSTER_HOME={env['DAGSTER_HOME']}); Ctrl-C stops it",
              flush=True)
        # Relative paths of the project's dagster.yaml resolve against the working directory: the project.
        return _run_until_stopped(command, cwd=config.PROJECT_ROOT, env=env)


def _run_until_stopped(command: list[str], cwd: Path, env: dict[str, str]) -> int:
    """Run ``dagster dev`` in a process group of its own; Ctrl-C, SIGTERM or SIGHUP stop it cleanly.

    ``dagster dev`` starts a webserver, a daemon, a code server and run workers, all in its process
    group. It is given one interrupt and time to stop them (a second Ctrl-C would cut its shutdown
    short, which is why the terminal's Ctrl-C does not reach it directly), then whatever is left of
    its group is killed, so no process outlives ``l2c ui``.
    """
    with _stop_signals_as_keyboard_interrupt():
        process = subprocess.Popen(command, cwd=cwd, env=env, start_new_session=True)
        try:
            while True:
                # In steps: a signal may land on any thread (polars, the demo org's server) and Python
                # raises KeyboardInterrupt only once the main thread runs again; a plain wait() would
                # block in waitpid and never notice.
                with contextlib.suppress(subprocess.TimeoutExpired):
                    return process.wait(timeout=1)
        except KeyboardInterrupt:
            print("stopping the Dagster UI ...", flush=True)
            with contextlib.suppress(KeyboardInterrupt, subprocess.TimeoutExpired):
                process.send_signal(signal.SIGINT)
                process.wait(timeout=STOP_TIMEOUT_SECONDS)
            return 0
        finally:
            _kill_group(process)


def _kill_group(process: subprocess.Popen) -> None:
    """Kill what is left of ``process``'s group (itself included) and reap ``process``."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        time.sleep(1.0 if sig == signal.SIGTERM else 0)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=10)


@contextlib.contextmanager
def _stop_signals_as_keyboard_interrupt():
    """Within the block, SIGTERM and SIGHUP (closed terminal) stop the UI like Ctrl-C does."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    saved = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)

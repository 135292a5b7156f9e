"""``l2c ui`` / ``make ui``: the Dagster UI on the l2c definitions, against the demo org by default."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

from l2c import config

#: Any of these means the user configured a real org (see docs/extraction.md).
_ORG_VARIABLES = ("SALESFORCE_USERNAME", "SALESFORCE_CONSUMER_KEY", "SALESFORCE_INSTANCE_URL")


def start_ui(port: int = 3000, n_opportunities: int = 2000, seed: int = 42) -> int:
    """Run ``dagster dev`` on ``orchestration.definitions`` until interrupted; returns its exit code."""
    env = dict(os.environ)
    env.setdefault("DAGSTER_HOME", str(config.PROJECT_ROOT))
    env.setdefault(config.DUCKDB_PATH_ENV, str(config.duckdb_path()))
    config.duckdb_path().parent.mkdir(parents=True, exist_ok=True)
    bin_dir = Path(sys.executable).parent
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    with contextlib.ExitStack() as stack:
        if not any(os.environ.get(name) for name in _ORG_VARIABLES):
            from l2c.demo import sandbox_environment
            from l2c.sandbox.server import SandboxOrg

            print(f"no Salesforce org configured: starting the demo org ({n_opportunities:,} opportunities) ...",
                  flush=True)
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
        try:
            return subprocess.call(command, cwd=config.PROJECT_ROOT, env=env)
        except KeyboardInterrupt:
            return 0

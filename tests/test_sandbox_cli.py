"""``l2c sandbox serve``: one JSON line with the connection details, then serving until interrupted."""

from __future__ import annotations

import json
import select
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from simple_salesforce import Salesforce


def l2c_command() -> list[str]:
    script = Path(sys.executable).parent / "l2c"
    return [str(script)] if script.exists() else [sys.executable, "-m", "l2c.cli"]


def read_line(proc: subprocess.Popen, timeout: float) -> str:
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    if not ready:
        proc.kill()
        pytest.fail(f"l2c sandbox serve printed nothing within {timeout}s; stderr: {proc.stderr.read()}")
    return proc.stdout.readline()


def test_serve_prints_one_json_line_and_serves_until_terminated():
    proc = subprocess.Popen([*l2c_command(), "sandbox", "serve", "--port", "0", "--opportunities", "30",
                             "--seed", "4", "--faults", "limit:1000"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        info = json.loads(read_line(proc, timeout=60))
        assert {"instance_url", "session_id", "username", "password", "security_token", "ca_bundle"} <= set(info)
        assert info["instance_url"].startswith("https://127.0.0.1:")
        session = requests.Session()
        session.verify = info["ca_bundle"]
        session.trust_env = False
        sf = Salesforce(instance_url=info["instance_url"], session_id=info["session_id"], session=session)
        assert sf.query("SELECT COUNT() FROM Opportunity")["totalSize"] > 0
        assert sf.api_usage["api-usage"].total == 1000
        login = Salesforce(username=info["username"], password=info["password"],
                           security_token=info["security_token"], domain=info["login_domain"], session=session)
        assert login.query("SELECT COUNT() FROM Account")["totalSize"] > 0
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            out, err = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert proc.returncode == 0, err
    assert out == ""  # nothing after the one JSON line
    assert not Path(info["ca_bundle"]).exists()


def test_serve_rejects_a_bad_fault_spec():
    proc = subprocess.run([*l2c_command(), "sandbox", "serve", "--faults", "boom:1"], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert "--faults: unknown fault kind 'boom'" in proc.stderr

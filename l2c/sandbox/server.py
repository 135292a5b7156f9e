"""The sandbox org: a demo Salesforce org served over HTTPS on loopback through the Salesforce APIs.

Unchanged simple-salesforce code talks to it: SOAP and OAuth logins, REST
describe and SOQL queries with ``nextRecordsUrl`` paging, Bulk API 2.0 query
jobs with CSV results, ``limits/`` and the ``Sforce-Limit-Info`` header. Tests
and demos drive it in-process::

    with SandboxOrg(n_opportunities=200, seed=7) as org:
        sf = org.client()                      # simple_salesforce.Salesforce over HTTPS
        sf.query_all("SELECT Id, StageName FROM Opportunity")
        org.advance(timedelta(days=7))         # the org moves on: new and changed records
        org.fail_next("503")                   # the next API request gets an HTTP 503

or from a shell with ``l2c sandbox serve`` (:func:`serve_forever`). The TLS
certificate comes from a throw-away ``trustme`` CA whose PEM is ``ca_bundle``;
clients trust it with ``requests.Session().verify = org.ca_bundle``.
See docs/sandbox.md for endpoints, the faults spec and the login recipes.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import signal
import socket
import ssl
import sys
import tempfile
import threading
from collections.abc import Iterable
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import polars as pl
import trustme

from l2c.sandbox._srv_api import DEFAULT_API_VERSION, Request, SandboxApi
from l2c.sandbox._srv_auth import Credentials, Sessions
from l2c.sandbox._srv_state import OrgState, text_as_string
from l2c.sandbox.faults import FaultInjector, FaultSpec

__all__ = ["SandboxOrg", "serve_forever"]

#: Seconds an idle keep-alive connection stays open.
_IDLE_TIMEOUT = 30.0


class _Handler(BaseHTTPRequestHandler):
    """HTTP/1.1 transport: reads one request, asks the API, writes the answer (or the fault)."""

    protocol_version = "HTTP/1.1"
    server_version = "SFDC"
    sys_version = ""
    timeout = _IDLE_TIMEOUT
    server: _HttpsServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature from the stdlib
        pass

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        url = urlsplit(self.path)
        request = Request(
            method=self.command,
            path=url.path,
            query=parse_qs(url.query, keep_blank_values=True),
            headers=dict(self.headers.items()),
            body=body,
        )
        response = self.server.api.handle(request)
        if response.fault == "drop":
            self.close_connection = True
            return
        if response.delay and self.server.stopping.wait(response.delay):
            self.close_connection = True
            return
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        body = response.body
        if response.fault == "truncate":
            # The full Content-Length was promised; half the body arrives, then the connection ends.
            body = body[: len(body) // 2]
            self.close_connection = True
        # Headers and body leave in one write: separate small writes stall on Nagle + delayed ACK.
        self._headers_buffer.append(b"\r\n" + body)
        self.flush_headers()

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = _serve


class _HttpsServer(ThreadingHTTPServer):
    """A threading HTTP server doing the TLS handshake in the connection's thread, not the accept loop."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], api: SandboxApi, tls: ssl.SSLContext):
        super().__init__(address, _Handler)
        self.api = api
        self.tls = tls
        self.stopping = threading.Event()
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()

    def finish_request(self, request: Any, client_address: Any) -> None:
        request.settimeout(_IDLE_TIMEOUT)
        request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            conn = self.tls.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        with self._open_lock:
            self._open.add(conn)
        try:
            self.RequestHandlerClass(conn, client_address, self)
        except (ConnectionError, ssl.SSLError, TimeoutError, OSError):
            pass
        finally:
            with self._open_lock:
                self._open.discard(conn)
            with contextlib.suppress(OSError):
                conn.close()

    def close_connections(self) -> None:
        with self._open_lock:
            conns = list(self._open)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


def _org_id(seed: int) -> str:
    digest = hashlib.sha256(f"l2c-org-{seed}".encode()).hexdigest().upper()
    return "00D" + digest[:12] + "EAA"


class SandboxOrg:
    """A demo org served over HTTPS on 127.0.0.1 in a background thread (a context manager).

    Pass ``org`` (a ``DemoOrg`` from :func:`l2c.sandbox.generator.generate_org`, or anything with
    ``tables``, ``now`` and ``seed``) to serve it; otherwise one is generated from
    ``n_opportunities`` and ``seed``. ``faults`` is a spec string (see :mod:`l2c.sandbox.faults`).
    ``bulk_processing_seconds`` is how long a Bulk 2.0 query job reports ``InProgress``.
    """

    def __init__(self, n_opportunities: int = 2000, seed: int = 42, faults: str = "", port: int = 0,
                 org: Any = None, *, api_version: str = DEFAULT_API_VERSION, bulk_processing_seconds: float = 0.0,
                 host: str = "127.0.0.1"):
        if org is None:
            from l2c.sandbox.generator import generate_org

            org = generate_org(n_opportunities=n_opportunities, seed=seed)
        self.seed = int(getattr(org, "seed", seed))
        self.n_opportunities = int(getattr(org, "n_opportunities", n_opportunities))
        #: The generator's record of the planted behaviours (``{}`` for an org without one).
        self.ground_truth: dict = getattr(org, "ground_truth", None) or {}
        self.api_version = api_version
        # The org itself is not kept: the served state shares its columns, and whatever it had to
        # copy (re-sorted or re-typed tables) would otherwise stay in memory twice.
        self._state = OrgState(org.tables, org.now)
        del org
        self._faults = FaultInjector(faults, seed=self.seed)
        self.org_id = _org_id(self.seed)
        self._creds = Credentials.generate(self.org_id, "005" + self.org_id[3:15] + "IAA", self.seed)
        self._sessions = Sessions(self.org_id)
        self._tmpdir = Path(tempfile.mkdtemp(prefix="l2c-sandbox-"))
        self._server: _HttpsServer | None = None
        self._thread: threading.Thread | None = None
        try:
            self._start(host, port, bulk_processing_seconds)
        except BaseException:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            raise

    def _start(self, host: str, port: int, bulk_processing_seconds: float) -> None:
        ca = trustme.CA(organization_name="l2c sandbox org test CA")
        cert = ca.issue_cert(host, "localhost")
        self.ca_bundle = str(self._tmpdir / "ca.pem")
        ca.cert_pem.write_to_path(self.ca_bundle)
        self.jwt_private_key_file = str(self._tmpdir / "jwt_private_key.pem")
        Path(self.jwt_private_key_file).write_text(self._creds.jwt_private_key)
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(tls)
        server = _HttpsServer((host, port), api=None, tls=tls)  # type: ignore[arg-type]
        self.host = host
        self.port = server.server_address[1]
        self.instance_url = f"https://{host}:{self.port}"
        server.api = SandboxApi(self._state, self._faults, self._creds, self._sessions, self.instance_url,
                                bulk_processing_seconds=bulk_processing_seconds)
        self.session_id = self._sessions.create()
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"l2c-sandbox-{self.port}", daemon=True)
        self._thread.start()

    # --- lifecycle ------------------------------------------------------------------------------
    def __enter__(self) -> SandboxOrg:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop serving, close open connections and remove the CA bundle and key files."""
        server, self._server = self._server, None
        if server is not None:
            server.stopping.set()
            server.shutdown()
            server.close_connections()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        shutil.rmtree(self._tmpdir, ignore_errors=True)

    @property
    def api(self) -> SandboxApi:
        if self._server is None:
            raise RuntimeError("the sandbox org is closed")
        return self._server.api

    # --- credentials and clients ---------------------------------------------------------------
    @property
    def username(self) -> str:
        return self._creds.username

    @property
    def password(self) -> str:
        return self._creds.password

    @property
    def security_token(self) -> str:
        return self._creds.security_token

    @property
    def consumer_key(self) -> str:
        return self._creds.consumer_key

    @property
    def consumer_secret(self) -> str:
        return self._creds.consumer_secret

    @property
    def jwt_private_key(self) -> str:
        """PEM of the connected app's JWT signing key (its certificate is what the org trusts)."""
        return self._creds.jwt_private_key

    @property
    def user_id(self) -> str:
        return self._creds.user_id

    @property
    def login_domain(self) -> str:
        """What to pass as simple-salesforce's ``domain`` so its login URLs reach this server.

        simple-salesforce logs in at ``https://{domain}.salesforce.com/services/...``; with
        ``domain="127.0.0.1:PORT/login"`` that is ``https://127.0.0.1:PORT/login.salesforce.com/services/...``,
        and the server ignores a ``/<host>.salesforce.com`` path prefix.
        """
        return f"{self.host}:{self.port}/login"

    def credentials(self) -> dict[str, str]:
        """Everything a client needs to connect, as ``l2c sandbox serve`` prints it."""
        return {
            "instance_url": self.instance_url,
            "session_id": self.session_id,
            "username": self.username,
            "password": self.password,
            "security_token": self.security_token,
            "ca_bundle": self.ca_bundle,
            "login_domain": self.login_domain,
            "consumer_key": self.consumer_key,
            "consumer_secret": self.consumer_secret,
            "jwt_private_key_file": self.jwt_private_key_file,
            "api_version": self.api_version,
        }

    def http_session(self):
        """A ``requests.Session`` that trusts this org's CA.

        ``trust_env`` is off because requests lets ``REQUESTS_CA_BUNDLE`` / ``CURL_CA_BUNDLE`` from the
        environment override ``Session.verify`` (and proxies from the environment must not see loopback).
        """
        import requests

        session = requests.Session()
        session.verify = self.ca_bundle
        session.trust_env = False
        return session

    def client(self, session_id: str | None = None, **kwargs: Any):
        """A ``simple_salesforce.Salesforce`` on this org using a session id (direct session access)."""
        from simple_salesforce import Salesforce

        kwargs.setdefault("version", self.api_version)
        return Salesforce(instance_url=self.instance_url, session_id=session_id or self.session_id,
                          session=kwargs.pop("session", None) or self.http_session(), **kwargs)

    def login(self) -> str:
        """A fresh valid session id, as a new login would return (in-process, no HTTP)."""
        return self._sessions.create()

    def expire_sessions(self) -> int:
        """Invalidate every session (as a password reset or session timeout does); returns how many."""
        return self._sessions.invalidate_all()

    # --- faults ----------------------------------------------------------------------------------
    def set_faults(self, spec: str) -> FaultSpec:
        """Replace the random faults, daily budget and slow delay, e.g. ``"500:0.1,limit:100"``."""
        return self._faults.set_spec(spec)

    def fail_next(self, kind: str, n: int = 1, path_contains: str | None = None) -> None:
        """Make the next ``n`` API requests (or requests whose path contains ``path_contains``) fail."""
        self._faults.fail_next(kind, n=n, path_contains=path_contains)

    def clear_faults(self) -> None:
        self._faults.clear()

    @property
    def faults(self) -> FaultSpec:
        return self._faults.spec

    # --- the org's data and clock ------------------------------------------------------------------
    @property
    def clock(self) -> datetime:
        """The org's current time (UTC); records become visible as it moves past their timestamps."""
        return self._state.clock

    def advance(self, delta: timedelta) -> datetime:
        """Move the org clock forward: new records and new versions of existing ones become visible."""
        return self._state.advance(delta)

    def delete(self, object_name: str, ids: Iterable[str]) -> int:
        """Delete records now (they move to the recycle bin: visible to queryAll with IsDeleted = true)."""
        return self._state.delete(object_name, ids)

    def undelete(self, object_name: str, ids: Iterable[str]) -> int:
        """Restore deleted records now (a new version with IsDeleted = false)."""
        return self._state.undelete(object_name, ids)

    def purge_history(self, before: datetime) -> None:
        """Drop field-history rows created before ``before``, as the org's history retention does."""
        self._state.purge_history(before)

    def snapshot(self, object_name: str, include_deleted: bool = False) -> pl.DataFrame:
        """The records the org shows now (one row per Id, sorted by Id; compound fields omitted).

        Text columns are ``pl.String``, as the API shows them (the server itself keeps the
        generator's Enum and Categorical codes; this copy is made for the caller).
        """
        return text_as_string(self._state.snapshot(object_name, include_deleted=include_deleted))

    def versions(self, object_name: str) -> pl.DataFrame:
        """Every version of every record of an object, including future ones, with ``_valid_from``.

        Text columns are ``pl.String``, as in :meth:`snapshot`.
        """
        return text_as_string(self._state.versions(object_name))

    # --- observability --------------------------------------------------------------------------
    @property
    def request_count(self) -> int:
        """HTTP requests received so far (logins, API calls and faulted requests alike)."""
        return self.api.request_count

    @property
    def api_usage(self) -> int:
        """API requests counted against the daily budget in the last 24 hours of org time."""
        return self.api.usage.used(self.clock)

    @property
    def request_log(self) -> list[tuple[str, str, int | str]]:
        """The last requests as (method, path, status or fault)."""
        return list(self.api.request_log)


def serve_forever(n_opportunities: int = 2000, seed: int = 42, port: int = 0, faults: str = "") -> int:
    """``l2c sandbox serve``: generate and serve an org, print one JSON line, serve until interrupted."""
    from l2c.cli import CliError
    from l2c.sandbox.faults import FaultSpecError, parse_fault_spec

    try:
        parse_fault_spec(faults)
    except FaultSpecError as exc:
        raise CliError(f"--faults: {exc}") from None
    if n_opportunities < 1:
        raise CliError(f"--opportunities must be at least 1, got {n_opportunities}")
    stop = threading.Event()

    def request_stop(signum: int, frame: object) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        try:
            org = SandboxOrg(n_opportunities=n_opportunities, seed=seed, faults=faults, port=port)
        except OSError as exc:
            raise CliError(f"cannot serve on port {port}: {exc.strerror or exc}") from None
        with org:
            print(json.dumps(org.credentials()), flush=True)
            while not stop.wait(0.5):
                pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print("l2c sandbox: stopped", file=sys.stderr)
    return 0

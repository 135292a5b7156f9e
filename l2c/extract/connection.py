"""The connection to a Salesforce org: credentials from the environment, retries, API budget.

One :class:`OrgConnection` wraps a simple-salesforce client and is the only way
the extractor talks to an org. It

* reads credentials from ``SALESFORCE_*`` environment variables (four ways to
  log in, see :meth:`SalesforceCredentials.from_env`) and names every missing
  variable in one error;
* runs every API request through :meth:`OrgConnection.call`, which retries
  transient failures (5xx, timeouts, dropped connections, truncated bodies)
  with bounded exponential back-off and jitter, re-authenticates once on
  ``INVALID_SESSION_ID`` and stops the run on ``REQUEST_LIMIT_EXCEEDED``;
* counts requests and reads ``Sforce-Limit-Info`` from every response (REST
  and Bulk alike, through its own ``requests.Session``) so a run stops before
  it eats more than its share of the org's daily API budget;
* keeps secrets out of everything it says: :func:`scrub` masks passwords,
  tokens and session ids in messages, and the ``l2c`` / ``simple_salesforce``
  loggers scrub every record.
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import TypeVar

import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceError,
    SalesforceOperationError,
)

from l2c.extract.errors import (
    ApiLimitReached,
    AuthenticationLost,
    ConfigurationError,
    ObjectFailed,
    TransientRetriesExhausted,
)

log = logging.getLogger("l2c.extract")
T = TypeVar("T")

DEFAULT_API_VERSION = "59.0"

# --- Secrets: never in logs, metadata, exceptions or the database -----------------

_SECRETS: set[str] = set()
_SECRETS_LOCK = threading.Lock()
#: Salesforce session ids / OAuth access tokens look like ``00D<org id>!<token>``.
_SESSION_ID_PATTERN = re.compile(r"00D[A-Za-z0-9]{12,15}![A-Za-z0-9._\-]+")
_BEARER_PATTERN = re.compile(r"(Bearer|OAuth)\s+[^\s'\",}]+", re.IGNORECASE)
MASK = "***"


def register_secret(value: str | None) -> None:
    """Remember a secret so :func:`scrub` masks it wherever it would appear."""
    if value and len(value) >= 4:
        with _SECRETS_LOCK:
            _SECRETS.add(value)


def scrub(text: object) -> str:
    """``text`` as a string with every known secret and anything token-shaped masked."""
    out = str(text)
    with _SECRETS_LOCK:
        secrets = sorted(_SECRETS, key=len, reverse=True)
    for secret in secrets:
        if secret in out:
            out = out.replace(secret, MASK)
    out = _SESSION_ID_PATTERN.sub(MASK, out)
    return _BEARER_PATTERN.sub(lambda m: f"{m.group(1)} {MASK}", out)


class ScrubSecretsFilter(logging.Filter):
    """A logging filter that masks secrets in a record's formatted message."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = scrub(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def _install_log_scrubbing() -> None:
    for name in ("l2c", "l2c.extract", "simple_salesforce"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, ScrubSecretsFilter) for f in logger.filters):
            logger.addFilter(ScrubSecretsFilter())


_install_log_scrubbing()


# --- Credentials -------------------------------------------------------------------

ENV_VARS: dict[str, str] = {
    "username": "SALESFORCE_USERNAME",
    "password": "SALESFORCE_PASSWORD",
    "security_token": "SALESFORCE_SECURITY_TOKEN",
    "domain": "SALESFORCE_DOMAIN",
    "consumer_key": "SALESFORCE_CONSUMER_KEY",
    "consumer_secret": "SALESFORCE_CONSUMER_SECRET",
    "private_key_file": "SALESFORCE_PRIVATE_KEY_FILE",
    "instance_url": "SALESFORCE_INSTANCE_URL",
    "session_id": "SALESFORCE_SESSION_ID",
    "ca_bundle": "SALESFORCE_CA_BUNDLE",
    "api_version": "SALESFORCE_API_VERSION",
}
SECRET_FIELDS = ("password", "security_token", "consumer_secret", "session_id")

#: The ways to log in, each with the variables it needs.
LOGIN_METHODS: dict[str, tuple[str, ...]] = {
    "password": ("username", "password", "security_token"),
    "jwt": ("consumer_key", "private_key_file", "username"),
    "client_credentials": ("consumer_key", "consumer_secret", "domain"),
    "session": ("instance_url", "session_id"),
}
LOGIN_METHOD_LABELS = {
    "password": "username/password login",
    "jwt": "OAuth 2.0 JWT bearer login",
    "client_credentials": "OAuth 2.0 client-credentials login",
    "session": "an existing session",
}


@dataclass(frozen=True, repr=False)
class SalesforceCredentials:
    """How to reach and log in to one org. ``repr`` never shows secret values."""

    username: str | None = None
    password: str | None = None
    security_token: str | None = None
    domain: str | None = None
    consumer_key: str | None = None
    consumer_secret: str | None = None
    private_key_file: str | None = None
    instance_url: str | None = None
    session_id: str | None = None
    ca_bundle: str | None = None
    api_version: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: str | None) -> SalesforceCredentials:
        """Credentials from ``SALESFORCE_*`` variables; non-empty ``overrides`` win over the environment."""
        env = os.environ if environ is None else environ
        values = {name: (env.get(var) or None) for name, var in ENV_VARS.items()}
        values.update({k: v for k, v in overrides.items() if v})
        return cls(**values)

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{f.name}={MASK if f.name in SECRET_FIELDS else getattr(self, f.name)!r}"
            for f in fields(self)
            if getattr(self, f.name)
        )
        return f"SalesforceCredentials({shown})"

    def _set(self, name: str) -> bool:
        return bool(getattr(self, name))

    @property
    def login_method(self) -> str:
        """Which way to log in; raises :class:`ConfigurationError` naming what is missing."""
        candidates: list[str]
        if self._set("session_id") or (self._set("instance_url") and not self._set("consumer_key")):
            candidates = ["session"]
        elif self._set("consumer_key"):
            if self._set("private_key_file"):
                candidates = ["jwt"]
            elif self._set("consumer_secret"):
                candidates = ["client_credentials"]
            else:
                raise ConfigurationError(
                    "Salesforce connection is incomplete: SALESFORCE_CONSUMER_KEY is set but neither "
                    "SALESFORCE_PRIVATE_KEY_FILE (OAuth 2.0 JWT bearer, also needs SALESFORCE_USERNAME) nor "
                    "SALESFORCE_CONSUMER_SECRET (OAuth 2.0 client credentials, also needs SALESFORCE_DOMAIN) is."
                )
        elif any(self._set(n) for n in ("username", "password", "security_token")):
            candidates = ["password"]
        else:
            raise ConfigurationError(
                "Salesforce connection is not configured. Set one of: "
                + "; ".join(
                    f"{LOGIN_METHOD_LABELS[m]}: " + " + ".join(ENV_VARS[n] for n in needed)
                    for m, needed in LOGIN_METHODS.items()
                )
                + " (optional: SALESFORCE_DOMAIN=login|test|<my domain>, SALESFORCE_CA_BUNDLE)."
            )
        method = candidates[0]
        missing = [ENV_VARS[n] for n in LOGIN_METHODS[method] if not self._set(n)]
        if missing:
            raise ConfigurationError(
                f"Salesforce connection is incomplete for {LOGIN_METHOD_LABELS[method]}: "
                f"missing {', '.join(missing)}."
            )
        if method == "jwt" and not os.path.isfile(self.private_key_file or ""):
            raise ConfigurationError(
                f"SALESFORCE_PRIVATE_KEY_FILE points to {self.private_key_file!r}, which is not a readable file."
            )
        if self.ca_bundle and not os.path.isfile(self.ca_bundle):
            raise ConfigurationError(f"SALESFORCE_CA_BUNDLE points to {self.ca_bundle!r}, which is not a file.")
        return method

    def register_secrets(self) -> None:
        for name in SECRET_FIELDS:
            register_secret(getattr(self, name))


# --- Settings for retries and the API budget --------------------------------------


@dataclass
class ConnectionSettings:
    """How patient and how frugal the connection is. Every value has an ``L2C_SF_*`` variable."""

    #: Retries of one request after a transient failure (so ``max_retries + 1`` attempts).
    max_retries: int = 5
    #: First back-off delay in seconds; doubles per retry up to ``backoff_max_seconds``, with jitter.
    backoff_seconds: float = 1.0
    backoff_max_seconds: float = 60.0
    #: Seconds to wait for a response before treating the request as failed (and retrying).
    request_timeout_seconds: float = 120.0
    #: Stop the run when the org has used this share of its daily API requests (0 < share <= 1).
    max_api_share: float = 0.8

    ENV = {
        "max_retries": ("L2C_SF_MAX_RETRIES", int),
        "backoff_seconds": ("L2C_SF_BACKOFF_SECONDS", float),
        "backoff_max_seconds": ("L2C_SF_BACKOFF_MAX_SECONDS", float),
        "request_timeout_seconds": ("L2C_SF_REQUEST_TIMEOUT_SECONDS", float),
        "max_api_share": ("L2C_SF_MAX_API_SHARE", float),
    }

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ConnectionSettings:
        env = os.environ if environ is None else environ
        values = {}
        for name, (var, kind) in cls.ENV.items():
            if env.get(var):
                try:
                    values[name] = kind(env[var])
                except ValueError as exc:
                    raise ConfigurationError(f"{var}={env[var]!r} is not a valid {kind.__name__}.") from exc
        return cls(**values)

    def backoff(self, attempt: int) -> float:
        """Delay before retry number ``attempt`` (1-based): exponential, capped, with equal jitter."""
        ceiling = min(self.backoff_max_seconds, self.backoff_seconds * 2 ** (attempt - 1))
        return ceiling / 2 + random.uniform(0, ceiling / 2)


# --- The HTTP session: timeouts, request counting, API budget ----------------------


@dataclass
class ApiUsage:
    """Requests this connection made, and the org's daily usage from ``Sforce-Limit-Info``."""

    requests: int = 0
    org_used: int | None = None
    org_limit: int | None = None

    _LIMIT_INFO = re.compile(r"(?:^|[;,\s])api-usage=(\d+)/(\d+)")

    def record(self, response: requests.Response) -> None:
        info = response.headers.get("Sforce-Limit-Info")
        if info:
            match = self._LIMIT_INFO.search(info)
            if match:
                self.org_used, self.org_limit = int(match.group(1)), int(match.group(2))

    @property
    def share_used(self) -> float | None:
        if self.org_used is None or not self.org_limit:
            return None
        return self.org_used / self.org_limit


class _OrgSession(requests.Session):
    """A ``requests.Session`` that applies a default timeout, counts requests and guards the budget."""

    def __init__(self, usage: ApiUsage, settings: ConnectionSettings, ca_bundle: str | None) -> None:
        super().__init__()
        self.usage = usage
        self.settings = settings
        self.ca_bundle = ca_bundle
        if ca_bundle:
            self.verify = ca_bundle

    def request(self, method, url, *args, **kwargs):  # type: ignore[override]
        self.check_budget()
        kwargs.setdefault("timeout", self.settings.request_timeout_seconds)
        if self.ca_bundle:
            # Per request, because requests lets REQUESTS_CA_BUNDLE override Session.verify.
            kwargs.setdefault("verify", self.ca_bundle)
        self.usage.requests += 1
        response = super().request(method, url, *args, **kwargs)
        self.usage.record(response)
        return response

    def check_budget(self) -> None:
        share = self.usage.share_used
        if share is not None and share >= self.settings.max_api_share:
            raise ApiLimitReached(
                f"Stopped before exceeding the API budget: the org has used {self.usage.org_used:,} of its "
                f"{self.usage.org_limit:,} daily API requests ({share:.0%}), at or above the configured share "
                f"of {self.settings.max_api_share:.0%} (L2C_SF_MAX_API_SHARE). Objects already loaded are kept; "
                "run again when the budget has reset to continue."
            )


# --- Classifying failures ----------------------------------------------------------


def error_code(exc: BaseException) -> str | None:
    """Salesforce's ``errorCode`` from a simple-salesforce exception, if it carries one."""
    content = getattr(exc, "content", None)
    if isinstance(content, bytes | str):
        try:
            content = json.loads(content)
        except (ValueError, TypeError):
            text = content.decode("utf-8", "replace") if isinstance(content, bytes) else content
            match = re.search(r"\b([A-Z]+(?:_[A-Z]+)+)\b", text)
            return match.group(1) if match else None
    if isinstance(content, list) and content and isinstance(content[0], dict):
        return content[0].get("errorCode")
    if isinstance(content, dict):
        return content.get("errorCode")
    return None


def is_transient(exc: BaseException) -> bool:
    """Worth retrying: server errors, timeouts, dropped connections, truncated or garbled bodies."""
    if isinstance(exc, requests.exceptions.Timeout | requests.exceptions.ConnectionError):
        return True
    if isinstance(exc, requests.exceptions.ChunkedEncodingError | requests.exceptions.ContentDecodingError):
        return True
    if isinstance(exc, json.JSONDecodeError | UnicodeDecodeError):
        return True
    if isinstance(exc, SalesforceError) and not isinstance(exc, SalesforceAuthenticationFailed):
        return exc.status >= 500 or exc.status == 429 or error_code(exc) in ("SERVER_UNAVAILABLE", "UNABLE_TO_LOCK_ROW")
    return isinstance(exc, TruncatedResponse)


class TruncatedResponse(Exception):
    """A response body shorter than its headers promised (e.g. fewer CSV rows than ``Sforce-NumberOfRecords``)."""


def describe_failure(exc: BaseException) -> str:
    """A one-line, secret-free description of a failed request."""
    if isinstance(exc, SalesforceError):
        code = error_code(exc)
        detail = exc.content
        if isinstance(detail, list) and detail and isinstance(detail[0], dict):
            detail = detail[0].get("message", detail)
        if isinstance(detail, bytes):
            detail = detail.decode("utf-8", "replace")
        text = f"HTTP {exc.status}" + (f" {code}" if code else "") + f": {str(detail)[:300]}"
    else:
        text = f"{type(exc).__name__}: {str(exc)[:300]}"
    return scrub(text)


# --- The connection ----------------------------------------------------------------


@dataclass
class OrgConnection:
    """A logged-in org with retrying, budget-aware calls. Create it with :func:`connect`."""

    credentials: SalesforceCredentials
    settings: ConnectionSettings = field(default_factory=ConnectionSettings)
    usage: ApiUsage = field(default_factory=ApiUsage)
    sleep: Callable[[float], None] = time.sleep

    def __post_init__(self) -> None:
        self.method = self.credentials.login_method
        self.credentials.register_secrets()
        self.sf: Salesforce = self._login()

    @property
    def instance_url(self) -> str:
        return f"https://{self.sf.sf_instance}"

    @property
    def api_version(self) -> str:
        return self.sf.sf_version

    def _new_session(self) -> _OrgSession:
        return _OrgSession(self.usage, self.settings, self.credentials.ca_bundle)

    def _login(self) -> Salesforce:
        c = self.credentials
        common = {
            "session": self._new_session(),
            "version": c.api_version or DEFAULT_API_VERSION,
            # Plain dicts parse faster than simple-salesforce's default OrderedDict.
            "object_pairs_hook": dict,
        }
        kwargs: dict
        if self.method == "session":
            kwargs = {"instance_url": c.instance_url, "session_id": c.session_id}
        elif self.method == "password":
            kwargs = {"username": c.username, "password": c.password, "security_token": c.security_token,
                      "domain": c.domain}
        elif self.method == "jwt":
            kwargs = {"username": c.username, "consumer_key": c.consumer_key,
                      "privatekey_file": c.private_key_file, "domain": c.domain}
        else:
            kwargs = {"consumer_key": c.consumer_key, "consumer_secret": c.consumer_secret, "domain": c.domain}
        for attempt in range(1, self.settings.max_retries + 2):
            try:
                sf = Salesforce(**kwargs, **common)
                break
            except SalesforceAuthenticationFailed as exc:
                raise AuthenticationLost(
                    f"Salesforce login failed ({LOGIN_METHOD_LABELS[self.method]}): {describe_failure(exc)}. "
                    "Check the SALESFORCE_* variables."
                ) from None
            except Exception as exc:
                if not is_transient(exc) or attempt > self.settings.max_retries:
                    raise AuthenticationLost(
                        f"Could not log in to Salesforce ({LOGIN_METHOD_LABELS[self.method]}): "
                        f"{describe_failure(exc)}"
                    ) from None
                self.sleep(self.settings.backoff(attempt))
        register_secret(sf.session_id)
        return sf

    def reauthenticate(self) -> None:
        """Log in again (a session-id connection re-reads the same session: it can only recover if still valid)."""
        log.info("Salesforce session expired; re-authenticating (%s)", LOGIN_METHOD_LABELS[self.method])
        self.sf = self._login()

    def check_budget(self) -> None:
        self.sf.session.check_budget()  # type: ignore[attr-defined]

    def call(self, what: str, request: Callable[[Salesforce], T]) -> T:
        """Run ``request(sf)`` with retries, one re-authentication, and budget/limit handling.

        ``what`` names the request for messages, e.g. ``"Opportunity: query page 3"``.
        """
        reauthenticated = False
        attempt = 0
        while True:
            try:
                return request(self.sf)
            except (ApiLimitReached, AuthenticationLost, ObjectFailed):
                raise
            except Exception as exc:
                code = error_code(exc)
                status = getattr(exc, "status", None)
                if code == "REQUEST_LIMIT_EXCEEDED":
                    raise ApiLimitReached(
                        f"Stopped: Salesforce refused {what} with REQUEST_LIMIT_EXCEEDED (the org's daily API "
                        "request limit is used up). Objects already loaded are kept; run again when the limit "
                        "has reset to continue."
                    ) from None
                if code == "INVALID_SESSION_ID" or status == 401:
                    if reauthenticated:
                        raise AuthenticationLost(
                            f"Salesforce rejected the session again after re-authenticating, during {what}: "
                            f"{describe_failure(exc)}. "
                            + ("Provide a fresh SALESFORCE_SESSION_ID or use a login method that can renew it."
                               if self.method == "session" else "Check the credentials.")
                        ) from None
                    reauthenticated = True
                    self.reauthenticate()
                    continue
                if isinstance(exc, SalesforceOperationError):
                    raise
                if not is_transient(exc):
                    raise ObjectFailed(f"{what} failed: {describe_failure(exc)}") from None
                attempt += 1
                if attempt > self.settings.max_retries:
                    raise TransientRetriesExhausted(
                        f"{what} failed {attempt} times with transient errors; last: {describe_failure(exc)}. "
                        "Nothing of this object was committed; the next run retries it."
                    ) from None
                delay = self.settings.backoff(attempt)
                log.warning("%s: %s; retry %d/%d in %.2fs", what, describe_failure(exc), attempt,
                            self.settings.max_retries, delay)
                self.sleep(delay)


def connect(
    credentials: SalesforceCredentials | None = None, settings: ConnectionSettings | None = None
) -> OrgConnection:
    """Log in with ``credentials`` (default: from the environment)."""
    return OrgConnection(
        credentials or SalesforceCredentials.from_env(), settings or ConnectionSettings.from_env()
    )


def connect_from_env(environ: Mapping[str, str] | None = None, **overrides: str | None) -> OrgConnection:
    """Log in from ``SALESFORCE_*`` / ``L2C_SF_*`` variables; ``overrides`` replace single variables."""
    return OrgConnection(
        SalesforceCredentials.from_env(environ, **overrides), ConnectionSettings.from_env(environ)
    )

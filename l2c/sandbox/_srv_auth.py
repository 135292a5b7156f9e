"""Logins to the sandbox org: SOAP ``login``, OAuth 2.0 token flows, and session bookkeeping.

Answers look like Salesforce's: the SOAP ``loginResponse`` carries ``sessionId``
and ``serverUrl`` (simple-salesforce derives the instance host from it), SOAP
faults carry ``sf:exceptionCode`` / ``sf:exceptionMessage``, OAuth answers
``{"access_token", "instance_url", ...}`` or ``{"error", "error_description"}``
with HTTP 400. Supported OAuth grants: ``password`` (consumer key and secret +
username + password, with or without the security token), ``client_credentials``
(HTTP Basic or form credentials; runs as the org's API user) and the JWT bearer
flow (``urn:ietf:params:oauth:grant-type:jwt-bearer``: an RS256 assertion whose
``iss`` is the consumer key, ``sub`` the username, signed with the connected
app's key — ``SandboxOrg.jwt_private_key``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from functools import cache
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

INVALID_LOGIN_MESSAGE = "Invalid username, password, security token; or user locked out."


@dataclass
class Credentials:
    """Who may log in: the API user and the connected app (consumer key/secret, JWT signing key)."""

    org_id: str
    user_id: str
    username: str
    password: str
    security_token: str
    consumer_key: str
    consumer_secret: str
    jwt_private_key: str = ""
    jwt_public_key: str = ""

    @classmethod
    def generate(cls, org_id: str, user_id: str, seed: int) -> Credentials:
        private_pem, public_pem = _connected_app_key_pair()
        digest = hashlib.sha256(f"l2c-sandbox-{seed}".encode()).hexdigest()
        return cls(
            org_id=org_id,
            user_id=user_id,
            username="integration@l2c-demo.example.com",
            password="l2c-Demo-Passw0rd",
            security_token=base64.b32encode(bytes.fromhex(digest[:30])).decode()[:24],
            consumer_key="3MVG9l2cSandbox." + digest[30:62],
            consumer_secret=digest[:64].upper(),
            jwt_private_key=private_pem,
            jwt_public_key=public_pem,
        )


@cache
def _connected_app_key_pair() -> tuple[str, str]:
    """One RSA key pair per process (PEM private, PEM public): generating one takes a noticeable fraction of a second."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    return private_pem, public_pem


@dataclass
class Sessions:
    """Valid session ids (access tokens). Thread-safe."""

    org_id: str
    _valid: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def create(self) -> str:
        sid = f"{self.org_id[:15]}!AQ{secrets.token_urlsafe(72)}"[:112]
        with self._lock:
            self._valid[sid] = time.time()
        return sid

    def is_valid(self, sid: str | None) -> bool:
        with self._lock:
            return sid is not None and sid in self._valid

    def invalidate(self, sid: str | None) -> bool:
        with self._lock:
            return self._valid.pop(sid, None) is not None if sid else False

    def invalidate_all(self) -> int:
        with self._lock:
            n = len(self._valid)
            self._valid.clear()
            return n


# --- SOAP ----------------------------------------------------------------------------------

_SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"


def soap_fault(code: str, message: str) -> tuple[int, bytes]:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<soapenv:Envelope xmlns:soapenv="{_SOAP_ENV}" xmlns:sf="urn:fault.partner.soap.sforce.com" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><soapenv:Fault>'
        f"<faultcode>sf:{code}</faultcode><faultstring>{escape(code)}: {escape(message)}</faultstring>"
        '<detail><sf:LoginFault xsi:type="sf:LoginFault">'
        f"<sf:exceptionCode>{escape(code)}</sf:exceptionCode>"
        f"<sf:exceptionMessage>{escape(message)}</sf:exceptionMessage>"
        "</sf:LoginFault></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>"
    )
    return 500, body.encode()


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _soap_fields(body: bytes) -> dict[str, str]:
    """The text of every element of the envelope, by local name (username, password, organizationId...)."""
    root = ET.fromstring(body)
    return {_local(el.tag): (el.text or "") for el in root.iter()}


def soap_login(body: bytes, creds: Credentials, sessions: Sessions, instance_url: str,
               api_version: str) -> tuple[int, bytes]:
    """Answer a partner-API SOAP ``login`` call."""
    try:
        values = _soap_fields(body)
    except ET.ParseError as exc:
        return soap_fault("INVALID_REQUEST", f"could not parse the SOAP envelope: {exc}")
    if "login" not in values:
        return soap_fault("INVALID_OPERATION", "the sandbox org answers only the SOAP login call")
    username = values.get("username", "")
    password = values.get("password", "")
    trusted_ip_login = values.get("organizationId") == creds.org_id and password == creds.password
    if username != creds.username or not (password == creds.password + creds.security_token or trusted_ip_login):
        return soap_fault("INVALID_LOGIN", INVALID_LOGIN_MESSAGE)
    sid = sessions.create()
    server_url = f"{instance_url}/services/Soap/u/{api_version}/{creds.org_id}"
    body_out = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<soapenv:Envelope xmlns:soapenv="{_SOAP_ENV}" xmlns="urn:partner.soap.sforce.com" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><loginResponse><result>'
        f"<metadataServerUrl>{instance_url}/services/Soap/m/{api_version}/{creds.org_id}</metadataServerUrl>"
        "<passwordExpired>false</passwordExpired><sandbox>true</sandbox>"
        f"<serverUrl>{server_url}</serverUrl><sessionId>{sid}</sessionId><userId>{creds.user_id}</userId>"
        "<userInfo><accessibilityMode>false</accessibilityMode><currencySymbol>$</currencySymbol>"
        f"<orgDefaultCurrencyIsoCode>USD</orgDefaultCurrencyIsoCode><organizationId>{creds.org_id}</organizationId>"
        "<organizationMultiCurrency>true</organizationMultiCurrency>"
        "<organizationName>l2c Demo Org</organizationName><sessionSecondsValid>7200</sessionSecondsValid>"
        f"<userEmail>{creds.username}</userEmail><userFullName>Integration User</userFullName>"
        f"<userId>{creds.user_id}</userId><userName>{creds.username}</userName>"
        "<userTimeZone>Etc/UTC</userTimeZone></userInfo></result></loginResponse></soapenv:Body></soapenv:Envelope>"
    )
    return 200, body_out.encode()


# --- OAuth ---------------------------------------------------------------------------------


def _oauth_error(error: str, description: str, status: int = 400) -> tuple[int, bytes]:
    return status, json.dumps({"error": error, "error_description": description}).encode()


def _token(creds: Credentials, sessions: Sessions, instance_url: str) -> tuple[int, bytes]:
    sid = sessions.create()
    issued_at = str(int(time.time() * 1000))
    identity = f"{instance_url}/id/{creds.org_id}/{creds.user_id}"
    signature = base64.b64encode(
        hmac.new(creds.consumer_secret.encode(), (identity + issued_at).encode(), hashlib.sha256).digest()
    ).decode()
    return 200, json.dumps({
        "access_token": sid,
        "instance_url": instance_url,
        "id": identity,
        "token_type": "Bearer",
        "issued_at": issued_at,
        "signature": signature,
        "scope": "api",
    }).encode()


def _basic_auth(header: str | None) -> tuple[str, str] | None:
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header.split(" ", 1)[1]).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    key, _, secret = decoded.partition(":")
    return key, secret


def oauth_token(body: bytes, authorization: str | None, creds: Credentials, sessions: Sessions,
                instance_url: str) -> tuple[int, bytes]:
    """Answer ``POST /services/oauth2/token`` for the password, client-credentials and JWT bearer grants."""
    form = {k: v[0] for k, v in parse_qs(body.decode(errors="replace")).items()}
    grant = form.get("grant_type", "")
    if grant == "password":
        if form.get("client_id") != creds.consumer_key:
            return _oauth_error("invalid_client_id", "client identifier invalid")
        if form.get("client_secret") != creds.consumer_secret:
            return _oauth_error("invalid_client", "invalid client credentials")
        password = form.get("password", "")
        if form.get("username") != creds.username or password not in (
            creds.password, creds.password + creds.security_token
        ):
            return _oauth_error("invalid_grant", "authentication failure")
        return _token(creds, sessions, instance_url)
    if grant == "client_credentials":
        key, secret = _basic_auth(authorization) or (form.get("client_id"), form.get("client_secret"))
        if key != creds.consumer_key:
            return _oauth_error("invalid_client_id", "client identifier invalid")
        if secret != creds.consumer_secret:
            return _oauth_error("invalid_client", "invalid client credentials")
        return _token(creds, sessions, instance_url)
    if grant == "urn:ietf:params:oauth:grant-type:jwt-bearer":
        return _jwt_bearer(form.get("assertion", ""), creds, sessions, instance_url)
    if not grant:
        return _oauth_error("unsupported_grant_type", "grant type not supported")
    return _oauth_error("unsupported_grant_type", "grant type not supported")


def _jwt_bearer(assertion: str, creds: Credentials, sessions: Sessions, instance_url: str) -> tuple[int, bytes]:
    try:
        claims = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.PyJWTError:
        return _oauth_error("invalid_grant", "invalid assertion")
    if claims.get("iss") != creds.consumer_key:
        return _oauth_error("invalid_client_id", "client identifier invalid")
    try:
        jwt.decode(assertion, creds.jwt_public_key, algorithms=["RS256"], options={"verify_aud": False})
    except jwt.ExpiredSignatureError:
        return _oauth_error("invalid_grant", "expired authorization code")
    except jwt.PyJWTError:
        return _oauth_error("invalid_grant", "invalid assertion")
    audience = str(claims.get("aud", ""))
    if not (audience.endswith("salesforce.com") or audience.startswith(instance_url)):
        return _oauth_error("invalid_grant", "audience is invalid")
    if claims.get("sub") != creds.username:
        return _oauth_error("invalid_grant", "user hasn't approved this consumer")
    return _token(creds, sessions, instance_url)

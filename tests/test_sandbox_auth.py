"""Logging in to the sandbox org with unchanged simple-salesforce: SOAP, OAuth password, client credentials, JWT."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceAuthenticationFailed, SalesforceExpiredSession

COUNT = "SELECT COUNT() FROM Opportunity"


def count_of(sandbox_org) -> int:
    return sandbox_org.snapshot("Opportunity").height


def test_soap_login_with_username_password_and_security_token(sandbox_org):
    sf = Salesforce(username=sandbox_org.username, password=sandbox_org.password,
                    security_token=sandbox_org.security_token, domain=sandbox_org.login_domain,
                    session=sandbox_org.http_session())
    assert sf.sf_instance == f"127.0.0.1:{sandbox_org.port}"
    assert sf.session_id.startswith(sandbox_org.org_id[:15] + "!")
    assert sf.query(COUNT)["totalSize"] == count_of(sandbox_org)


@pytest.mark.parametrize("field", ["username", "password", "security_token"])
def test_soap_login_with_wrong_credentials_is_invalid_login(sandbox_org, field):
    credentials = {"username": sandbox_org.username, "password": sandbox_org.password,
                   "security_token": sandbox_org.security_token}
    credentials[field] = "wrong"
    with pytest.raises(SalesforceAuthenticationFailed) as info:
        Salesforce(**credentials, domain=sandbox_org.login_domain, session=sandbox_org.http_session())
    assert info.value.code == "INVALID_LOGIN"
    assert info.value.auth_message == "Invalid username, password, security token; or user locked out."


def test_soap_login_from_a_trusted_network_with_organization_id(sandbox_org):
    sf = Salesforce(username=sandbox_org.username, password=sandbox_org.password,
                    organizationId=sandbox_org.org_id, domain=sandbox_org.login_domain,
                    session=sandbox_org.http_session())
    assert sf.query(COUNT)["totalSize"] == count_of(sandbox_org)


def test_oauth_password_flow(sandbox_org):
    sf = Salesforce(username=sandbox_org.username, password=sandbox_org.password,
                    consumer_key=sandbox_org.consumer_key, consumer_secret=sandbox_org.consumer_secret,
                    domain=sandbox_org.login_domain, session=sandbox_org.http_session())
    assert sf.query(COUNT)["totalSize"] == count_of(sandbox_org)


@pytest.mark.parametrize(("override", "code", "message"), [
    ({"consumer_key": "nope"}, "invalid_client_id", "client identifier invalid"),
    ({"consumer_secret": "nope"}, "invalid_client", "invalid client credentials"),
    ({"password": "nope"}, "invalid_grant", "authentication failure"),
])
def test_oauth_password_flow_errors(sandbox_org, override, code, message):
    kwargs = {"username": sandbox_org.username, "password": sandbox_org.password,
              "consumer_key": sandbox_org.consumer_key, "consumer_secret": sandbox_org.consumer_secret}
    kwargs.update(override)
    with pytest.raises(SalesforceAuthenticationFailed) as info:
        Salesforce(**kwargs, domain=sandbox_org.login_domain, session=sandbox_org.http_session())
    assert (info.value.code, info.value.auth_message) == (code, message)


def test_oauth_client_credentials_flow(sandbox_org):
    sf = Salesforce(consumer_key=sandbox_org.consumer_key, consumer_secret=sandbox_org.consumer_secret,
                    domain=sandbox_org.login_domain, session=sandbox_org.http_session())
    assert sf.auth_type == "client-credentials"
    assert sf.query(COUNT)["totalSize"] == count_of(sandbox_org)
    with pytest.raises(SalesforceAuthenticationFailed, match="invalid_client"):
        Salesforce(consumer_key=sandbox_org.consumer_key, consumer_secret="nope",
                   domain=sandbox_org.login_domain, session=sandbox_org.http_session())


def test_oauth_jwt_bearer_flow(sandbox_org):
    sf = Salesforce(username=sandbox_org.username, consumer_key=sandbox_org.consumer_key,
                    privatekey_file=sandbox_org.jwt_private_key_file, domain=sandbox_org.login_domain,
                    session=sandbox_org.http_session())
    assert sf.auth_type == "jwt-bearer"
    assert sf.query(COUNT)["totalSize"] == count_of(sandbox_org)


def test_jwt_signed_with_another_key_or_for_another_app_is_rejected(sandbox_org):
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    with pytest.raises(SalesforceAuthenticationFailed) as wrong_key:
        Salesforce(username=sandbox_org.username, consumer_key=sandbox_org.consumer_key, privatekey=other_key,
                   domain=sandbox_org.login_domain, session=sandbox_org.http_session())
    assert (wrong_key.value.code, wrong_key.value.auth_message) == ("invalid_grant", "invalid assertion")
    with pytest.raises(SalesforceAuthenticationFailed) as wrong_app:
        Salesforce(username=sandbox_org.username, consumer_key="someone-else", privatekey=sandbox_org.jwt_private_key,
                   domain=sandbox_org.login_domain, session=sandbox_org.http_session())
    assert wrong_app.value.code == "invalid_client_id"


def test_direct_session_id_use_and_invalid_session(sandbox_org):
    assert sandbox_org.client().query(COUNT)["totalSize"] == count_of(sandbox_org)
    with pytest.raises(SalesforceExpiredSession) as info:
        sandbox_org.client(session_id="00Dbogus!AQbogus").query(COUNT)
    assert info.value.status == 401
    assert info.value.content == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]


def test_missing_authorization_header_is_refused(sandbox_org):
    response = sandbox_org.http_session().get(f"{sandbox_org.instance_url}/services/data/v59.0/limits/")
    assert response.status_code == 401
    assert response.json()[0]["errorCode"] == "INVALID_AUTH_HEADER"

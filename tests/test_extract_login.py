"""Every login method of the extractor, configured from environment variables, against the sandbox org."""

from __future__ import annotations

import pytest
from _extract_helpers import assert_matches_org, object_list

from l2c.extract import AuthenticationLost, connect_from_env, run_sync


def _env(org, method: str) -> dict[str, str]:
    common = {"SALESFORCE_CA_BUNDLE": org.ca_bundle, "L2C_SF_BACKOFF_SECONDS": "0.001"}
    return {**common, **{
        "password": {"SALESFORCE_USERNAME": org.username, "SALESFORCE_PASSWORD": org.password,
                     "SALESFORCE_SECURITY_TOKEN": org.security_token, "SALESFORCE_DOMAIN": org.login_domain},
        "jwt": {"SALESFORCE_CONSUMER_KEY": org.consumer_key, "SALESFORCE_PRIVATE_KEY_FILE": org.jwt_private_key_file,
                "SALESFORCE_USERNAME": org.username, "SALESFORCE_DOMAIN": org.login_domain},
        "client_credentials": {"SALESFORCE_CONSUMER_KEY": org.consumer_key,
                               "SALESFORCE_CONSUMER_SECRET": org.consumer_secret,
                               "SALESFORCE_DOMAIN": org.login_domain},
        "session": {"SALESFORCE_INSTANCE_URL": org.instance_url, "SALESFORCE_SESSION_ID": org.session_id},
    }[method]}


@pytest.mark.parametrize("method", ["password", "jwt", "client_credentials", "session"])
def test_each_login_method_extracts(sandbox_org, tmp_path, method):
    conn = connect_from_env(_env(sandbox_org, method))
    assert conn.method == method
    assert conn.instance_url == sandbox_org.instance_url
    run = run_sync(conn, tmp_path / "l2c.duckdb", object_list("OpportunityStage"))
    assert run.ok
    assert_matches_org(tmp_path / "l2c.duckdb", sandbox_org, "OpportunityStage")


def test_a_wrong_password_fails_clearly_without_showing_it(sandbox_org):
    env = _env(sandbox_org, "password")
    env["SALESFORCE_PASSWORD"] = "Wr0ng-Passw0rd-Value"
    with pytest.raises(AuthenticationLost) as err:
        connect_from_env(env)
    message = str(err.value)
    assert message.startswith("Salesforce login failed (username/password login): ")
    assert "Check the SALESFORCE_* variables." in message
    assert "Wr0ng-Passw0rd-Value" not in message and sandbox_org.security_token not in message

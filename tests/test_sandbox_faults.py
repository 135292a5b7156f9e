"""Injected faults surface in simple-salesforce as the exceptions a real org's failures cause."""

from __future__ import annotations

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceRefusedRequest,
)

from l2c.sandbox.faults import FaultInjector, FaultSpecError, parse_fault_spec

QUERY = "SELECT Id, Name FROM Account"


@pytest.fixture
def org(new_sandbox_org):
    return new_sandbox_org(n_opportunities=40)


def test_http_500_is_a_general_error(org):
    org.fail_next("500")
    with pytest.raises(SalesforceGeneralError) as info:
        org.client().query(QUERY)
    assert info.value.status == 500
    assert info.value.content[0]["errorCode"] == "UNKNOWN_EXCEPTION"


def test_http_503_is_a_general_error_and_the_next_request_works(org):
    sf = org.client()
    org.fail_next("503")
    with pytest.raises(SalesforceGeneralError) as info:
        sf.query(QUERY)
    assert info.value.status == 503
    assert sf.query(QUERY)["totalSize"] == org.snapshot("Account").height


def test_expired_session_with_a_session_id_is_expired_session(org):
    sf = org.client()
    org.fail_next("expire")
    with pytest.raises(SalesforceExpiredSession) as info:
        sf.query(QUERY)
    assert info.value.content == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
    # the session stays invalid until a new login
    with pytest.raises(SalesforceExpiredSession):
        sf.query(QUERY)
    assert org.client(session_id=org.login()).query(QUERY)["totalSize"] == org.snapshot("Account").height


def test_expired_session_with_a_password_login_logs_in_again(org):
    sf = Salesforce(username=org.username, password=org.password, security_token=org.security_token,
                    domain=org.login_domain, session=org.http_session())
    first_session = sf.session_id
    org.fail_next("expire")
    assert sf.query(QUERY)["totalSize"] == org.snapshot("Account").height
    assert sf.session_id != first_session


def test_request_limit_exceeded_is_a_refused_request(org):
    org.fail_next("limit")
    with pytest.raises(SalesforceRefusedRequest) as info:
        org.client().query(QUERY)
    assert info.value.status == 403
    assert info.value.content == [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]


def test_the_daily_budget_runs_out(org):
    sf = org.client()
    org.set_faults("limit:3")
    for _ in range(3):
        sf.query("SELECT COUNT() FROM Account")
    with pytest.raises(SalesforceRefusedRequest):
        sf.query("SELECT COUNT() FROM Account")
    assert org.api_usage == 3


def test_dropped_connection_is_a_connection_error(org):
    org.fail_next("drop")
    with pytest.raises(requests.exceptions.ConnectionError):
        org.client().query(QUERY)


def test_truncated_body_is_a_chunked_encoding_error(org):
    org.fail_next("truncate")
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        org.client().query(QUERY)


def test_truncated_bulk_results_break_the_download(org, tmp_path):
    org.fail_next("truncate", path_contains="/results")
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        org.client().bulk2.Account.download(QUERY, path=str(tmp_path), wait=0.01)


def test_slow_response_times_out_a_patient_client_less_than_the_delay(org):
    org.set_faults("delay:1.5")
    org.fail_next("slow")
    with pytest.raises(requests.exceptions.ReadTimeout):
        org.client().query(QUERY, timeout=0.3)


def test_fault_on_a_chosen_request_only(org):
    sf = org.client()
    org.fail_next("500", path_contains="/sobjects/Opportunity/describe")
    assert sf.query("SELECT COUNT() FROM Opportunity")["totalSize"] > 0
    with pytest.raises(SalesforceGeneralError):
        sf.Opportunity.describe()
    assert sf.Opportunity.describe()["name"] == "Opportunity"


def test_random_faults_are_reproducible_from_the_seed(new_sandbox_org):
    def outcomes(seed: int) -> list[str]:
        org = new_sandbox_org(n_opportunities=20, seed=seed, faults="500:0.3,503:0.2")
        sf = org.client()
        seen = []
        for _ in range(25):
            try:
                sf.query("SELECT COUNT() FROM Account")
                seen.append("ok")
            except SalesforceGeneralError as exc:
                seen.append(str(exc.status))
        return seen

    first, again, other = outcomes(5), outcomes(5), outcomes(6)
    assert first == again
    assert first != other
    assert {"ok", "500", "503"} <= set(first)


def test_fault_spec_parsing():
    spec = parse_fault_spec("500:0.1, 503:0.05,drop:0.01,truncate:0.02,expire:0.01,slow:0.01,limit:250,delay:2")
    assert spec.rates == {"500": 0.1, "503": 0.05, "drop": 0.01, "truncate": 0.02, "expire": 0.01, "slow": 0.01}
    assert (spec.daily_limit, spec.slow_seconds) == (250, 2.0)
    assert parse_fault_spec("").rates == {}
    for bad, message in [("boom:0.1", "unknown fault kind 'boom'"), ("500", "has no value"),
                         ("500:2", "between 0 and 1"), ("limit:1.5", "whole number"), ("500:x", "not a number"),
                         ("500:0.6,503:0.6", "add up to 1.2")]:
        with pytest.raises(FaultSpecError, match=message):
            parse_fault_spec(bad)


def test_deterministic_faults_come_before_random_ones_and_only_on_api_paths():
    injector = FaultInjector("", seed=1)
    injector.fail_next("drop", n=2)
    injector.fail_next("500", path_contains="/services/Soap/")
    assert injector.draw("/services/Soap/u/59.0", is_api=False) == "500"
    assert injector.draw("/services/oauth2/token", is_api=False) is None
    assert injector.draw("/services/data/v59.0/query", is_api=True) == "drop"
    assert injector.draw("/services/data/v59.0/query", is_api=True) == "drop"
    assert injector.draw("/services/data/v59.0/query", is_api=True) is None
    with pytest.raises(ValueError, match="unknown fault kind"):
        injector.fail_next("teapot")

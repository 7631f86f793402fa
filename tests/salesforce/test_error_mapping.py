"""Error paths of auth and the call policy, with ``responses`` standing in for the org."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import responses
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from icpsync.connectors.salesforce.api import Api
from icpsync.connectors.salesforce.auth import Session
from icpsync.connectors.salesforce.settings import SalesforceSettings
from icpsync.core.errors import AuthError, BudgetExhausted, ConfigError, FatalError, RetriableError
from icpsync.core.model import ConnectorStats

INSTANCE = "https://acme.my.salesforce.com"
QUERY = re.compile(re.escape(INSTANCE) + r"/services/data/v62\.0/query/.*")


def _conf(**values: object) -> SalesforceSettings:
    return SalesforceSettings(**values)  # type: ignore[arg-type]


def _api(conf: SalesforceSettings, retries: int = 2) -> tuple[Api, Session]:
    session = Session(conf)
    return Api(session, ConnectorStats(), max_retries=retries, share=0.5), session


SOAP_FAULT = (
    '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
    'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
    'xmlns:sf="urn:fault.partner.soap.sforce.com"><soapenv:Body><soapenv:Fault>'
    "<faultcode>INVALID_LOGIN</faultcode><faultstring>INVALID_LOGIN: bad</faultstring>"
    "<detail><sf:LoginFault><sf:exceptionCode>INVALID_LOGIN</sf:exceptionCode>"
    "<sf:exceptionMessage>Invalid username, password, security token; or user locked out."
    "</sf:exceptionMessage></sf:LoginFault></detail></soapenv:Fault></soapenv:Body>"
    "</soapenv:Envelope>"
)


@responses.activate
def test_password_login_refused_names_the_mode() -> None:
    responses.post("https://test.salesforce.com/services/Soap/u/62.0", body=SOAP_FAULT, status=500)
    conf = _conf(
        auth="password", username="u@example.com", password="pw", security_token="t", domain="test"
    )
    with pytest.raises(AuthError) as caught:
        Session.open(conf)
    message = str(caught.value)
    assert message.startswith("salesforce (password): login refused: Invalid username")
    assert "\n" not in message and "pw" not in message.split(":", 2)[2].replace("password", "")


@responses.activate
def test_jwt_login_refused_names_the_mode(tmp_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path / "server.key"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    responses.post(
        "https://login.salesforce.com/services/oauth2/token",
        json={"error": "invalid_grant", "error_description": "audience is invalid"},
        status=400,
    )
    conf = _conf(auth="jwt", username="u@example.com", consumer_key="ck", privatekey_file=path)
    with pytest.raises(
        AuthError, match=r"^salesforce \(jwt\): login refused: .*audience is invalid"
    ):
        Session.open(conf)
    assert "grant_type=urn" in str(responses.calls[0].request.body)


@responses.activate
def test_client_credentials_uses_my_domain_and_http_basic() -> None:
    responses.post(
        "https://acme.my.salesforce.com/services/oauth2/token",
        json={"error": "invalid_client", "error_description": "invalid client credentials"},
        status=400,
    )
    conf = _conf(auth="client_credentials", consumer_key="ck", consumer_secret="cs", domain="acme")
    with pytest.raises(AuthError, match=r"client_credentials.*invalid client credentials"):
        Session.open(conf)
    assert responses.calls[0].request.headers["Authorization"].startswith("Basic ")


def test_unreachable_login_server_and_missing_settings() -> None:
    conf = _conf(
        auth="client_credentials",
        consumer_key="ck",
        consumer_secret="cs",
        instance_url="https://127.0.0.1:9",
        timeout_s=2,
    )
    with pytest.raises(AuthError, match=r"client_credentials\): cannot reach the login server 127"):
        Session.open(conf).close()
    with pytest.raises(ConfigError, match="needs username"):
        Session(_conf(auth="password"))


@responses.activate
def test_5xx_retries_then_gives_up_as_retriable() -> None:
    api, session = _api(_conf(auth="session", session_id="sid", instance_url=INSTANCE))
    error = [{"message": "down", "errorCode": "SERVER_UNAVAILABLE"}]
    responses.get(QUERY, json=error, status=503)
    with pytest.raises(RetriableError, match="SERVER_UNAVAILABLE"):
        api.call("query", lambda c: c.query("SELECT Id FROM Account"))
    assert len(responses.calls) == 3 and api.stats.api_calls["query"] == 3
    session.close()


@responses.activate
def test_5xx_then_success_and_limit_info_is_read() -> None:
    api, session = _api(_conf(auth="session", session_id="sid", instance_url=INSTANCE))
    responses.get(QUERY, json=[{"message": "x", "errorCode": "SERVER_UNAVAILABLE"}], status=503)
    responses.get(
        QUERY,
        json={"totalSize": 0, "done": True, "records": []},
        headers={"Sforce-Limit-Info": "api-usage=100/1000"},
    )
    assert api.call("query", lambda c: c.query("SELECT Id FROM Account"))["done"] is True
    assert api.budget.used == 100 and api.budget.allowance() == 450
    api.budget.used = 600
    assert api.budget.would_exceed(1) and "budget" in str(api.budget.would_exceed(1))
    session.close()


@responses.activate
def test_request_limit_exceeded_is_budget_exhausted() -> None:
    api, session = _api(_conf(auth="session", session_id="sid", instance_url=INSTANCE))
    responses.get(
        QUERY,
        json=[{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}],
        status=403,
    )
    with pytest.raises(BudgetExhausted, match="REQUEST_LIMIT_EXCEEDED"):
        api.call("query", lambda c: c.query("SELECT Id FROM Account"))
    assert len(responses.calls) == 1  # no retry against a spent budget
    session.close()


@responses.activate
def test_bad_request_is_fatal_with_the_error_code() -> None:
    api, session = _api(_conf(auth="session", session_id="sid", instance_url=INSTANCE))
    responses.get(
        QUERY,
        json=[{"message": "No such column 'X__c'", "errorCode": "INVALID_FIELD", "fields": []}],
        status=400,
    )
    with pytest.raises(FatalError, match="query: INVALID_FIELD: No such column 'X__c'"):
        api.call("query", lambda c: c.query("SELECT X__c FROM Account"))
    session.close()


@responses.activate
def test_expired_session_reauthenticates_with_client_credentials() -> None:
    conf = _conf(
        auth="client_credentials", consumer_key="ck", consumer_secret="cs", instance_url=INSTANCE
    )
    token = responses.post(
        f"{INSTANCE}/services/oauth2/token",
        json={"access_token": "tok", "instance_url": INSTANCE, "id": f"{INSTANCE}/id/00D/005X"},
    )
    expired = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
    responses.get(QUERY, json=expired, status=401)
    responses.get(QUERY, json={"totalSize": 0, "done": True, "records": []})
    api, session = _api(conf)
    assert api.call("query", lambda c: c.query("SELECT Id FROM Account"))["totalSize"] == 0
    assert token.call_count == 2 and session.user_id == "005X"
    session.close()


@responses.activate
def test_expired_session_id_cannot_be_renewed() -> None:
    api, session = _api(_conf(auth="session", session_id="sid", instance_url=INSTANCE))
    responses.get(
        QUERY, json=[{"message": "Session expired", "errorCode": "INVALID_SESSION_ID"}], status=401
    )
    with pytest.raises(AuthError, match=r"salesforce \(session\): the session expired"):
        api.call("query", lambda c: c.query("SELECT Id FROM Account"))
    session.close()


def test_soql_field_names_are_identifiers_and_values_are_quoted() -> None:
    from datetime import UTC, datetime

    from icpsync.connectors.salesforce import soql

    query = soql.accounts("Account", ["Id", "Name"], datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    assert query == (
        "SELECT Id, Name FROM Account WHERE SystemModstamp >= 2026-01-02T03:04:05+00:00 "
        "ORDER BY SystemModstamp, Id"
    )
    assert "IN ('a\\'b')" in soql.accounts_by_id("Account", ["Id"], ["a'b"])
    with pytest.raises(ConfigError, match="not a Salesforce field name"):
        soql.accounts("Account", ["Id", "Name FROM User --"], None)


@responses.activate
def test_a_proxy_error_page_is_retried_then_named_in_one_line() -> None:
    api, session = _api(_conf(auth="session", session_id="sid", instance_url=INSTANCE))
    page = "<html><head><title>502 Bad Gateway</title></head><body><h1>nginx</h1></body></html>"
    responses.get(QUERY, body=page, status=502, content_type="text/html")
    with pytest.raises(RetriableError) as caught:
        api.call("query", lambda c: c.query("SELECT Id FROM Account"))
    assert len(responses.calls) == 3
    assert "502" in str(caught.value) and "\n" not in str(caught.value)
    session.close()


@responses.activate
def test_a_cut_off_body_is_retried_then_a_clear_error() -> None:
    api, session = _api(_conf(auth="session", session_id="sid", instance_url=INSTANCE))
    responses.get(QUERY, body='{"totalSize": 3, "done": true, "records": [{"Id"', status=200)
    with pytest.raises(RetriableError, match="not valid JSON"):
        api.call("query", lambda c: c.query("SELECT Id FROM Account"))
    assert len(responses.calls) == 3
    session.close()

"""The sandbox speaks Salesforce's API shapes: driven with unmodified simple-salesforce."""

from __future__ import annotations

import csv
import io
import json

import pytest
import requests
from simple_salesforce import format_soql
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceMalformedRequest,
    SalesforceResourceNotFound,
)

from icpsync.connectors.salesforce.sandbox import Sandbox
from icpsync.connectors.salesforce.sandbox.seed import sf_id
from icpsync.connectors.salesforce.sandbox.soql import SoqlError, parse


def test_query_pages_with_next_records_url(sf, make_sandbox, client_for) -> None:  # type: ignore[no-untyped-def]
    box = make_sandbox(accounts=2300, opportunities=10)
    client = client_for(sf.settings_for(box))
    first = client.query("SELECT Id, Name FROM Account ORDER BY Id")
    assert first["totalSize"] == 2300 and first["done"] is False
    assert len(first["records"]) == 2000
    assert first["nextRecordsUrl"].startswith("/services/data/v62.0/query/01g")
    assert first["records"][0]["attributes"]["type"] == "Account"
    rows = list(client.query_all_iter("SELECT Id FROM Account ORDER BY Id"))
    assert len(rows) == len({r["Id"] for r in rows}) == 2300
    assert client.query("SELECT COUNT() FROM Account WHERE NumberOfEmployees >= 200")[
        "totalSize"
    ] == sum(1 for r in box.org.records["Account"].values() if (r["NumberOfEmployees"] or 0) >= 200)
    usage = client.api_usage["api-usage"]
    assert usage.used > 0 and usage.total == 1_000_000  # Sforce-Limit-Info was parsed


def test_soql_filters_order_and_limit(sf, sandbox: Sandbox, client_for) -> None:  # type: ignore[no-untyped-def]
    client = client_for(sf.settings_for(sandbox))
    query = format_soql(
        "SELECT Id, Industry, NumberOfEmployees FROM Account WHERE Industry IN {} "
        "AND (NumberOfEmployees > {} OR BillingCountry = {}) "
        "ORDER BY NumberOfEmployees DESC LIMIT 5",
        ["Technology", "Finance"],
        100,
        "Canada",
    )
    rows = client.query(query)["records"]
    assert 0 < len(rows) <= 5
    assert all(r["Industry"] in ("Technology", "Finance") for r in rows)
    employees = [r["NumberOfEmployees"] for r in rows]
    assert employees == sorted(employees, key=lambda v: (v is None, -(v or 0)))
    opps = client.query(
        "SELECT Id, CloseDate, SystemModstamp FROM Opportunity WHERE IsClosed = false LIMIT 1"
    )["records"]
    assert opps[0]["SystemModstamp"].endswith("+0000")


def test_unknown_and_uninstalled_fields_are_invalid(sf, sandbox: Sandbox, client_for) -> None:  # type: ignore[no-untyped-def]
    client = client_for(sf.settings_for(sandbox))
    with pytest.raises(SalesforceMalformedRequest) as caught:
        client.query("SELECT Id, ICP_Score__c FROM Account")
    assert caught.value.content[0]["errorCode"] == "INVALID_FIELD"
    assert set(caught.value.content[0]) == {"message", "errorCode", "fields"}
    with pytest.raises(SalesforceMalformedRequest, match="MALFORMED_QUERY"):
        client.query("SELECT FROM Account")
    names = {f["name"] for f in client.Account.describe()["fields"]}
    assert "Industry" in names and "ICP_Score__c" not in names


def test_new_fields_stay_invisible_until_field_level_security(
    sf, sandbox: Sandbox, client_for
) -> None:  # type: ignore[no-untyped-def]
    client = client_for(sf.settings_for(sandbox))
    created = client.toolingexecute(
        "sobjects/CustomField",
        "POST",
        {
            "FullName": "Account.Fit__c",
            "Metadata": {"label": "Fit", "type": "Number", "precision": 3, "scale": 0},
        },
    )
    assert created["success"] is True and created["id"].startswith("00N")
    with pytest.raises(SalesforceMalformedRequest, match="DUPLICATE_DEVELOPER_NAME"):
        client.restful(
            "tooling/sobjects/CustomField",
            method="POST",
            json={"FullName": "Account.Fit__c", "Metadata": {"label": "Fit", "type": "Number"}},
        )
    with pytest.raises(SalesforceMalformedRequest, match="INVALID_FIELD"):
        client.query("SELECT Fit__c FROM Account")
    perm = client.PermissionSet.create({"Name": "Fit_Edit", "Label": "Fit edit"})
    client.FieldPermissions.create(
        {
            "ParentId": perm["id"],
            "SobjectType": "Account",
            "Field": "Account.Fit__c",
            "PermissionsRead": True,
            "PermissionsEdit": False,
        }
    )
    with pytest.raises(SalesforceMalformedRequest):
        client.query("SELECT Fit__c FROM Account")  # granted, but not assigned yet
    user = client.oauth2("userinfo")["user_id"]
    client.PermissionSetAssignment.create({"AssigneeId": user, "PermissionSetId": perm["id"]})
    assert client.query("SELECT Fit__c FROM Account LIMIT 1")["records"][0]["Fit__c"] is None
    spec = next(f for f in client.Account.describe()["fields"] if f["name"] == "Fit__c")
    assert spec["type"] == "double" and spec["updateable"] is False  # read-only grant
    account_id = client.query("SELECT Id FROM Account LIMIT 1")["records"][0]["Id"]
    with pytest.raises(SalesforceMalformedRequest, match="INVALID_FIELD_FOR_INSERT_UPDATE"):
        client.Account.update(account_id, {"Fit__c": 3})


def test_collections_update_reports_per_record(sf, sandbox: Sandbox, client_for) -> None:  # type: ignore[no-untyped-def]
    client = client_for(sf.settings_for(sandbox))
    ids = [
        r["Id"] for r in client.query("SELECT Id, SystemModstamp FROM Account LIMIT 2")["records"]
    ]
    before = client.Account.get(ids[0])["SystemModstamp"]
    body = {
        "allOrNone": False,
        "records": [
            {"attributes": {"type": "Account"}, "id": ids[0], "NumberOfEmployees": 321},
            {"attributes": {"type": "Account"}, "id": ids[1], "Industry": "x" * 300},
            {"attributes": {"type": "Account"}, "id": sf_id("001", 99_999), "Name": "gone"},
        ],
    }
    results = client.restful("composite/sobjects", method="PATCH", json=body)
    assert results[0] == {"id": ids[0], "success": True, "errors": []}
    assert results[1]["success"] is False
    assert results[1]["errors"][0]["statusCode"] == "STRING_TOO_LONG"
    assert results[2]["errors"][0]["statusCode"] == "ENTITY_IS_DELETED"
    after = client.Account.get(ids[0])
    assert after["NumberOfEmployees"] == 321 and after["SystemModstamp"] > before
    assert sandbox.write_counts()[ids[0]] == 1 and ids[1] not in sandbox.write_counts()
    with pytest.raises(SalesforceMalformedRequest, match="EXCEEDED_ID_LIMIT"):
        client.restful("composite/sobjects", method="PATCH", json={"records": [{}] * 201})


def test_bulk2_query_and_update_through_the_library(sf, sandbox: Sandbox, client_for) -> None:  # type: ignore[no-untyped-def]
    client = client_for(sf.settings_for(sandbox))
    pages = list(
        client.bulk2.Account.query("SELECT Id, Industry FROM Account", max_records=120, wait=0)
    )
    rows = [r for page in pages for r in csv.DictReader(io.StringIO(page))]
    assert len(pages) == 3 and len(rows) == 300
    ids = [r["Id"] for r in rows[:3]]
    records = [
        {"Id": ids[0], "NumberOfEmployees": "77"},
        {"Id": ids[1], "NumberOfEmployees": "lots"},
    ]
    result = client.bulk2.Account.update(records=records, wait=0)
    assert result[0]["numberRecordsProcessed"] == 2 and result[0]["numberRecordsFailed"] == 1
    failed = list(
        csv.DictReader(io.StringIO(client.bulk2.Account.get_failed_records(result[0]["job_id"])))
    )
    assert failed[0]["sf__Id"] == ids[1]
    assert failed[0]["sf__Error"].startswith("INVALID_TYPE_ON_FIELD_IN_RECORD")
    assert sandbox.values(["NumberOfEmployees"])[ids[0]] == (77,)


def test_limits_sessions_and_sandbox_endpoints(sf, sandbox: Sandbox, client_for) -> None:  # type: ignore[no-untyped-def]
    settings = sf.settings_for(sandbox)
    client = client_for(settings)
    limits = client.limits()
    assert limits["DailyApiRequests"]["Max"] == 1_000_000
    with pytest.raises(SalesforceResourceNotFound):
        client.restful("no/such/thing")
    sandbox.app.tokens.discard(client.session_id)  # the session expires
    with pytest.raises(SalesforceExpiredSession) as caught:
        client.query("SELECT Id FROM Account LIMIT 1")
    assert caught.value.content == [
        {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID", "fields": []}
    ]
    verify = str(settings.salesforce.ca_bundle)
    with requests.Session() as http:
        stats = http.get(f"{sandbox.url}/__sandbox__/stats", verify=verify).json()
        assert stats["limits"] == 1 and stats["total"] == sum(
            v for k, v in stats.items() if k != "total"
        )
        http.post(f"{sandbox.url}/__sandbox__/reset-stats", verify=verify)
        assert http.get(f"{sandbox.url}/__sandbox__/stats", verify=verify).json() == {"total": 0}
        denied = http.post(
            f"{sandbox.url}/services/oauth2/token",
            data={"grant_type": "client_credentials"},
            auth=("someone", "wrong"),
            verify=verify,
        )
        assert denied.status_code == 400 and denied.json()["error"] == "invalid_client"


def test_soql_subset_parser() -> None:
    query = parse(
        "SELECT Id, Name FROM Account WHERE SystemModstamp >= 2026-01-01T00:00:00+00:00 "
        "AND Name LIKE 'Ac%' AND Id NOT IN ('a', 'b\\'c') ORDER BY SystemModstamp, Id DESC LIMIT 10"
    )
    assert query.object == "Account" and query.fields == ["Id", "Name"]
    assert query.order == [("SystemModstamp", False), ("Id", True)] and query.limit == 10
    assert query.referenced() == {"Id", "Name", "SystemModstamp"}
    assert parse("SELECT COUNT() FROM Opportunity").count
    for bad in (
        "SELECT Id Account",
        "SELECT Id FROM Account WHERE",
        "SELECT Id FROM Account LIMIT x",
    ):
        with pytest.raises(SoqlError):
            parse(bad)


def test_ids_look_like_salesforce_ids() -> None:
    ident = sf_id("001", 12345)
    assert len(ident) == 18 and ident.startswith("001")
    assert json.dumps(ident).isascii()
    assert sf_id("001", 1) != sf_id("001", 2)


def test_a_rejected_account_fails_its_validation_rule_in_every_write_path(
    sf, sandbox: Sandbox, client_for
) -> None:  # type: ignore[no-untyped-def]
    client = client_for(sf.settings_for(sandbox))
    ids = sorted(sandbox.org.records["Account"])[:2]
    sandbox.reject_writes([ids[1]], "Employees cannot change this quarter")
    body = {
        "allOrNone": False,
        "records": [
            {"attributes": {"type": "Account"}, "id": i, "NumberOfEmployees": 77} for i in ids
        ],
    }
    results = client.restful("composite/sobjects", method="PATCH", json=body)
    assert results[0]["success"] is True
    assert results[1] == {
        "success": False,
        "errors": [
            {
                "statusCode": "FIELD_CUSTOM_VALIDATION_EXCEPTION",
                "message": "Employees cannot change this quarter",
                "fields": [],
            }
        ],
    }
    with pytest.raises(SalesforceMalformedRequest, match="FIELD_CUSTOM_VALIDATION_EXCEPTION"):
        client.Account.update(ids[1], {"NumberOfEmployees": 78})
    assert sandbox.write_counts() == {ids[0]: 1}

    sandbox.reject_writes([])
    client.Account.update(ids[1], {"NumberOfEmployees": 79})
    assert sandbox.write_counts()[ids[1]] == 1
    sandbox.restore()
    assert sandbox.write_counts() == {}
    assert sandbox.org.records["Account"][ids[1]]["NumberOfEmployees"] != 79
    assert len(sandbox.org.records["Account"]) == 300

"""The sandbox speaks HubSpot's shapes: checked with the unmodified hubspot-api-client."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hubspot import HubSpot
from hubspot.crm.associations.v4 import (
    BatchInputPublicFetchAssociationsBatchRequest,
    PublicFetchAssociationsBatchRequest,
)
from hubspot.crm.associations.v4.exceptions import ApiException as AssociationsApiException
from hubspot.crm.companies import (
    BatchInputSimplePublicObjectBatchInput,
    Filter,
    FilterGroup,
    PublicObjectSearchRequest,
    SimplePublicObjectBatchInput,
)
from hubspot.crm.companies.exceptions import ApiException, UnauthorizedException
from hubspot.crm.properties import PropertyCreate
from hubspot.crm.properties.exceptions import ApiException as PropertiesApiException
from urllib3.util.retry import Retry

from icpsync.connectors.hubspot.sandbox import TOKEN, Sandbox


@pytest.fixture
def client(sandbox: Sandbox) -> Iterator[HubSpot]:
    """A plain client; every API object it hands out is closed afterwards."""
    made = []

    def factory(package, name, config):  # type: ignore[no-untyped-def]
        from hubspot.discovery.discovery_base import DiscoveryBase

        api = DiscoveryBase._default_api_factory(package, name, config)
        made.append(api)
        return api

    yield HubSpot(access_token=TOKEN, host=sandbox.url, api_factory=factory)
    for api in made:
        api.api_client.rest_client.pool_manager.clear()


def _search(client: HubSpot, *filters: Filter, **kwargs: object):  # type: ignore[no-untyped-def]
    request = PublicObjectSearchRequest(
        filter_groups=[FilterGroup(filters=list(filters))] if filters else [], **kwargs
    )
    return client.crm.companies.search_api.do_search(public_object_search_request=request)


def test_search_filters_sorts_and_pages_like_hubspot(sandbox: Sandbox, client: HubSpot) -> None:
    companies = sandbox.portal.records["companies"]
    software = {c for c, p in companies.items() if p.get("industry") == "COMPUTER_SOFTWARE"}
    page = _search(
        client,
        Filter(property_name="industry", operator="EQ", value="COMPUTER_SOFTWARE"),
        limit=200,
    )
    assert page.total == len(software) and {r.id for r in page.results} == software

    mid = {
        c
        for c, p in companies.items()
        if p.get("numberofemployees") and 200 <= int(p["numberofemployees"]) <= 2000
    }
    page = _search(
        client,
        Filter(
            property_name="numberofemployees", operator="BETWEEN", value="200", high_value="2000"
        ),
        sorts=[{"propertyName": "numberofemployees", "direction": "DESCENDING"}],
        properties=["numberofemployees"],
        limit=200,
    )
    sizes = [int(r.properties["numberofemployees"]) for r in page.results]
    assert page.total == len(mid) and sizes == sorted(sizes, reverse=True)

    first = _search(client, limit=100)
    assert first.total == 300 and first.paging.next.after == "100"
    with pytest.raises(ApiException) as too_many:
        _search(client, limit=201)
    assert too_many.value.status == 400
    with pytest.raises(ApiException) as past_cap:
        _search(client, limit=200, after="9900")
    assert past_cap.value.status == 400
    assert json.loads(past_cap.value.body)["category"] == "VALIDATION_ERROR"


def test_batch_update_returns_207_with_per_record_errors(sandbox: Sandbox, client: HubSpot) -> None:
    before = sandbox.company("9000000000")["hs_lastmodifieddate"]
    body = BatchInputSimplePublicObjectBatchInput(
        inputs=[
            SimplePublicObjectBatchInput(id="9000000000", properties={"numberofemployees": "42"}),
            SimplePublicObjectBatchInput(id="9000000001", properties={"industry": "NOT_A_VALUE"}),
            SimplePublicObjectBatchInput(id="9000000002", properties={"no_such_prop": "x"}),
        ]
    )
    result = client.crm.companies.batch_api.update(body)
    assert result.num_errors == 2
    codes = {e.context["ids"][0]: e.errors[0].code for e in result.errors}
    assert codes == {"9000000001": "INVALID_OPTION", "9000000002": "PROPERTY_DOESNT_EXIST"}
    assert [r.id for r in result.results] == ["9000000000"]
    after = sandbox.company("9000000000")
    assert after["numberofemployees"] == "42" and after["hs_lastmodifieddate"] > before


def test_wrong_token_is_401_in_hubspots_error_shape(sandbox: Sandbox) -> None:
    bad = HubSpot(access_token="pat-nope", host=sandbox.url)
    api = bad.crm.companies.basic_api
    try:
        with pytest.raises(UnauthorizedException) as err:
            api.get_page(limit=1)
    finally:
        api.api_client.rest_client.pool_manager.clear()
    body = json.loads(err.value.body)
    assert body["status"] == "error" and body["category"] == "INVALID_AUTHENTICATION"
    assert "correlationId" in body


def test_duplicate_property_is_409(client: HubSpot) -> None:
    spec = PropertyCreate(
        name="name", label="Name", type="string", field_type="text", group_name="companyinformation"
    )
    with pytest.raises(PropertiesApiException) as err:
        client.crm.properties.core_api.create("companies", spec)
    assert err.value.status == 409
    assert json.loads(err.value.body)["category"] == "CONFLICT"


def test_associations_pipelines_and_list_associations(sandbox: Sandbox, client: HubSpot) -> None:
    deal_company = sandbox.portal.deal_company
    deal = next(iter(deal_company))
    batch = BatchInputPublicFetchAssociationsBatchRequest(
        inputs=[PublicFetchAssociationsBatchRequest(id=deal)]
    )
    result = client.crm.associations.v4.batch_api.get_page("deals", "companies", batch)
    assert [str(t.to_object_id) for t in result.results[0].to] == [deal_company[deal]]

    stages = client.crm.pipelines.pipelines_api.get_all("deals").results[0].stages
    assert {"closedwon", "closedlost"} <= {s.id for s in stages}

    page = client.crm.companies.basic_api.get_page(limit=5, associations=["deals"])
    linked = [c for c in page.results if c.associations]
    assert linked and all(
        deal_company[a.id] == c.id for c in linked for a in c.associations["deals"].results
    )


def test_association_batch_read_takes_at_most_1000_inputs(
    sandbox: Sandbox, client: HubSpot
) -> None:
    deals = list(sandbox.portal.deal_company)
    api = client.crm.associations.v4.batch_api

    def inputs(n: int) -> BatchInputPublicFetchAssociationsBatchRequest:
        ids = [deals[i % len(deals)] for i in range(n)]
        return BatchInputPublicFetchAssociationsBatchRequest(
            inputs=[PublicFetchAssociationsBatchRequest(id=i) for i in ids]
        )

    assert api.get_page("deals", "companies", inputs(1000)).results
    with pytest.raises(AssociationsApiException) as refused:
        api.get_page("deals", "companies", inputs(1001))
    assert refused.value.status == 400
    assert json.loads(refused.value.body)["category"] == "VALIDATION_ERROR"


def test_ten_second_limit_429_has_policy_name_and_headers(
    start_sandbox: Callable[..., Sandbox],
) -> None:
    sandbox = start_sandbox(accounts=20, opportunities=20, rate_limit=3)
    # urllib3 would wait out the Retry-After of a GET itself: switched off to see the 429
    client = HubSpot(access_token=TOKEN, host=sandbox.url, retry=Retry(False))
    api = client.crm.companies.basic_api
    try:
        _, _, headers = api.get_page_with_http_info(limit=1)
        assert headers["X-HubSpot-RateLimit-Max"] == "3"
        assert headers["X-HubSpot-RateLimit-Remaining"] == "2"
        assert int(headers["X-HubSpot-RateLimit-Daily-Remaining"]) > 0
        api.get_page(limit=1)
        api.get_page(limit=1)
        with pytest.raises(ApiException) as err:
            api.get_page(limit=1)
    finally:
        api.api_client.rest_client.pool_manager.clear()
    assert err.value.status == 429
    body = json.loads(err.value.body)
    assert body["policyName"] == "TEN_SECONDLY_ROLLING" and body["errorType"] == "RATE_LIMIT"
    assert 1 <= int(err.value.headers["Retry-After"]) <= 10
    assert err.value.headers["X-HubSpot-RateLimit-Remaining"] == "0"
    assert sandbox.stats()["429"] == 1


def test_sandbox_command_prints_url_and_config_and_stops_on_sigterm(tmp_path: Path) -> None:
    config = tmp_path / "hs.toml"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ICPSYNC_")}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "icpsync",
            "sandbox",
            "hubspot",
            "--accounts",
            "50",
            "--opportunities",
            "100",
            "--rate-limit",
            "100",
            "--write-config",
            str(config),
        ],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        ready = json.loads(proc.stdout.readline())
        assert ready["config"] == str(config) and config.is_file()
        assert f'host = "{ready["url"]}"' in config.read_text()
        with urllib.request.urlopen(f"{ready['url']}/__sandbox__/stats") as response:
            assert json.loads(response.read()) == {}
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def test_get_by_id_and_batch_read_with_a_missing_id(client: HubSpot) -> None:
    from hubspot.crm.companies import BatchReadInputSimplePublicObjectId, SimplePublicObjectId
    from hubspot.crm.companies.exceptions import NotFoundException

    one = client.crm.companies.basic_api.get_by_id("9000000003", properties=["industry"])
    assert one.id == "9000000003" and "industry" in one.properties
    with pytest.raises(NotFoundException):
        client.crm.companies.basic_api.get_by_id("123")
    body = BatchReadInputSimplePublicObjectId(
        inputs=[SimplePublicObjectId(id="9000000003"), SimplePublicObjectId(id="1")],
        properties=["name"],
        properties_with_history=[],
    )
    result = client.crm.companies.batch_api.read(body)
    assert [r.id for r in result.results] == ["9000000003"]
    assert result.errors[0].category == "OBJECT_NOT_FOUND"
    assert result.errors[0].context["ids"] == ["1"]


def test_a_rejected_company_fails_a_validation_rule_alone_in_a_207(
    sandbox: Sandbox, client: HubSpot
) -> None:
    sandbox.reject_writes(["9000000001"], "Employees cannot change this quarter")
    body = BatchInputSimplePublicObjectBatchInput(
        inputs=[
            SimplePublicObjectBatchInput(id=cid, properties={"numberofemployees": "77"})
            for cid in ("9000000000", "9000000001")
        ]
    )
    result = client.crm.companies.batch_api.update(body)
    assert [r.id for r in result.results] == ["9000000000"]
    [error] = result.errors
    assert (error.category, error.context) == ("VALIDATION_ERROR", {"ids": ["9000000001"]})
    assert error.message.startswith("Property values were not valid: Employees cannot change")
    only = BatchInputSimplePublicObjectBatchInput(inputs=body.inputs[1:])
    with pytest.raises(ApiException) as refused:  # every input invalid: the whole batch is a 400
        client.crm.companies.batch_api.update(only)
    assert refused.value.status == 400
    assert "Employees cannot change" in json.loads(refused.value.body)["message"]
    assert sandbox.write_counts() == {"9000000000": 1}

    sandbox.reject_writes([])
    client.crm.companies.batch_api.update(only)
    assert sandbox.write_counts()["9000000001"] == 1
    sandbox.restore()
    assert sandbox.write_counts() == {}
    assert sandbox.company("9000000001").get("numberofemployees") != "77"

"""Fixtures of the contract suite: each connector's CRM, installed and shared, or fresh.

``crm`` is one CRM per connector for the whole session (started and installed once), put
back to its seed before every test with a fresh state folder. ``fresh_crm`` is a new,
uninstalled CRM for the tests of install and doctor.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from contract.file_crm import FileCrm
from contract.harness import CrmUnderTest
from contract.hubspot_crm import HubSpotCrm
from contract.salesforce_crm import SalesforceCrm

HARNESSES: dict[str, Callable[[Path], CrmUnderTest]] = {
    "file": FileCrm,
    "salesforce": SalesforceCrm,
    "hubspot": HubSpotCrm,
}
CONNECTORS = tuple(HARNESSES)


@pytest.fixture(scope="session", params=CONNECTORS)
def installed_crm(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CrmUnderTest]:
    crm = HARNESSES[request.param](tmp_path_factory.mktemp(request.param))
    crm.start()
    try:
        crm.install()
        yield crm
    finally:
        crm.stop()


@pytest.fixture
def crm(installed_crm: CrmUnderTest, tmp_path: Path) -> Iterator[CrmUnderTest]:
    installed_crm.reset(tmp_path / "state")
    yield installed_crm
    installed_crm.close_state()


@pytest.fixture(params=CONNECTORS)
def fresh_crm(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[CrmUnderTest]:
    crm = HARNESSES[request.param](tmp_path / request.param)
    crm.start()
    crm.reset(tmp_path / "state")
    try:
        yield crm
    finally:
        crm.stop()

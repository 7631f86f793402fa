"""Evidence test fixtures: hand-built deals and the public datasets vendored in tests/data."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from icpsync.core.model import Account
from icpsync.evidence.dataset import Deal, Example

DATA = Path(__file__).resolve().parents[1] / "data"


def _shared_data(name: str) -> tuple[Path, Path]:
    """accounts.csv and opportunities.csv of a public dataset vendored in tests/data."""
    folder = DATA / name
    accounts, opportunities = folder / "accounts.csv", folder / "opportunities.csv"
    if not (accounts.is_file() and opportunities.is_file()):
        pytest.fail(f"vendored dataset missing: expected {folder}")
    return accounts, opportunities


def _example(
    deal_id: str,
    account: Account,
    won: bool,
    *,
    amount: float | None = None,
    created: date | None = None,
    closed: date | None = None,
) -> Example:
    """One closed deal of ``account``."""
    return Example(Deal(deal_id, account.id, won, amount, created, closed), account)


@pytest.fixture
def shared_data() -> Callable[[str], tuple[Path, Path]]:
    """A factory: ``shared_data("maven-crm")`` -> (accounts.csv, opportunities.csv)."""
    return _shared_data


@pytest.fixture
def make_example() -> Callable[..., Example]:
    """A factory: ``make_example(id, account, won, amount=..., created=..., closed=...)``."""
    return _example

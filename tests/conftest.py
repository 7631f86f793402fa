"""Shared fixtures: small canonical CSV files and a settings object pointing at them."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from icpsync.core.model import ACCOUNT_COLUMNS, OPPORTUNITY_COLUMNS
from icpsync.core.synthetic import SyntheticData

REPO = Path(__file__).resolve().parents[1]


def write_synthetic(
    folder: Path, accounts: int = 120, opportunities: int = 360, seed: int = 5
) -> tuple[Path, Path]:
    """Write canonical accounts.csv and opportunities.csv from synthetic data."""
    data = SyntheticData(accounts=accounts, opportunities=opportunities, seed=seed)
    acc_path, opp_path = folder / "accounts.csv", folder / "opportunities.csv"
    with acc_path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([*ACCOUNT_COLUMNS, "last_modified"])
        for a in data.iter_accounts():
            writer.writerow(
                [
                    a.id,
                    a.name,
                    a.domain,
                    a.industry or "",
                    a.employees or "",
                    a.annual_revenue or "",
                    a.country or "",
                    "",
                    ";".join(sorted(a.tech_stack)),
                    a.last_modified.isoformat() if a.last_modified else "",
                ]
            )
    with opp_path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([*OPPORTUNITY_COLUMNS, "last_modified"])
        for o in data.iter_opportunities():
            writer.writerow(
                [
                    o.id,
                    o.account_id,
                    o.stage,
                    o.is_closed,
                    o.is_won,
                    o.amount,
                    o.created,
                    o.closed or "",
                    o.last_modified.isoformat() if o.last_modified else "",
                ]
            )
    return acc_path, opp_path


@pytest.fixture
def repo_root() -> Path:
    return REPO


@pytest.fixture
def synthetic_files():  # type: ignore[no-untyped-def]
    """A factory: ``synthetic_files(folder, accounts=..., opportunities=..., seed=...)``."""
    return write_synthetic


@pytest.fixture
def sample_files(tmp_path: Path) -> tuple[Path, Path]:
    return write_synthetic(tmp_path)


@pytest.fixture
def file_config(tmp_path: Path, sample_files: tuple[Path, Path]) -> Path:
    """A config using the file connector over the sample files, state in tmp_path."""
    accounts, opportunities = sample_files
    config = tmp_path / "icpsync.toml"
    config.write_text(
        f'[sync]\ncrm = "file"\n[state]\ndir = "{tmp_path / "state"}"\n'
        f'[file]\naccounts = "{accounts}"\nopportunities = "{opportunities}"\n'
        f'output = "{tmp_path / "out.csv"}"\n'
    )
    return config


@pytest.fixture(autouse=True)
def _no_user_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Tests never read the developer's own icpsync.toml or ICPSYNC_* variables."""
    import os

    for key in list(os.environ):
        if key.startswith("ICPSYNC_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)

"""Shared fixtures: small canonical CSV files and a settings object pointing at them."""

from __future__ import annotations

from pathlib import Path

import pytest
from synthetic_files import write_synthetic

REPO = Path(__file__).resolve().parents[1]


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

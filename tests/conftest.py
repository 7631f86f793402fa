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


# -- state backends: SQLite, and a real PostgreSQL started from the pgserver wheel ----------


@pytest.fixture(scope="session")
def postgres_server():  # type: ignore[no-untyped-def]
    """A PostgreSQL server for the session (skipped, saying why, if it cannot start).

    Run as root, pgserver runs the server as a user of its own, which must reach the data
    folder: a fresh folder under the system temp dir (pytest's own is private to root).
    """
    import shutil
    import tempfile
    import warnings

    folder = Path(tempfile.mkdtemp(prefix="icpsync-pg-"))
    with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset
        warnings.simplefilter("ignore")
        try:
            import pgserver
        except ImportError:
            pytest.skip("PostgreSQL tests need the test extra (pip install 'icpsync[test]')")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            server = pgserver.get_server(folder, cleanup_mode="stop")
    except Exception as exc:  # no shared memory, no permission to run initdb, ...
        shutil.rmtree(folder, ignore_errors=True)
        pytest.skip(f"pgserver could not start PostgreSQL: {type(exc).__name__}: {exc}")
    yield server
    server.cleanup()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def state_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A SQLAlchemy URL of an empty state database: SQLite, then a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state' / 'icpsync.db'}"
    import uuid

    server = request.getfixturevalue("postgres_server")
    name = f"icpsync_{uuid.uuid4().hex[:12]}"
    server.psql(f"CREATE DATABASE {name};")
    return str(server.get_uri(name)).replace("postgresql://", "postgresql+psycopg://", 1)

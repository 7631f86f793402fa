"""A fourth connector, defined under tests/ and registered only by an entry point, works
through the real command line: its own settings section and secret, field map, install and
doctor steps, dry run and sync, with no edit to icpsync/.

The connector (tests/plugin_connector) is copied into a folder that plays site-packages,
beside a ``*.dist-info`` whose ``entry_points.txt`` registers it, as ``pip install`` would.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from icpsync.cli import cli, main

REPO = Path(__file__).resolve().parents[1]
PLUGIN = Path(__file__).resolve().parent / "plugin_connector"
SECRET = "memo-key-7f3a9c-very-secret"
#: canonical industry -> the memo CRM's own code (memo.toml maps them back).
SECTOR_CODES = {"Technology": "TECH", "Finance": "FIN", "Telecommunications": "TELCO"}
ICP_FIELDS = [
    "memo_icp_score",
    "memo_icp_tier",
    "memo_icp_flags",
    "memo_icp_why",
    "memo_icp_profile",
    "memo_icp_at",
    "memo_icp_override",
]


def install_plugin(site: Path) -> Path:
    """Put the memo connector and its distribution metadata into ``site``."""
    site.mkdir(parents=True, exist_ok=True)
    shutil.copytree(PLUGIN, site / "plugin_connector", ignore=shutil.ignore_patterns("__pycache__"))
    dist = site / "icpsync_memo-0.1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: icpsync-memo\nVersion: 0.1.0\n")
    (dist / "entry_points.txt").write_text(
        "[icpsync.connectors]\nmemo = plugin_connector:MemoConnector\n"
    )
    return site


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def seed_store(path: Path, accounts: Path, opportunities: Path) -> None:
    """A memo store holding the canonical files' records in the memo CRM's own names."""
    companies = [
        {
            "key": r["id"],
            "title": r["name"],
            "web": r["domain"],
            "sector": SECTOR_CODES.get(r["industry"], r["industry"]),
            "staff": r["employees"],
            "turnover": r["annual_revenue"],
            "nation": r["country"],
            "stack": [t for t in r["tech_stack"].split(";") if t],
            "touched": r["last_modified"],
        }
        for r in _rows(accounts)
    ]
    deals = [
        {
            "ref": r["id"],
            "company": r["account_id"],
            "phase": r["stage"],
            "done": r["is_closed"],
            "won": r["is_won"],
            "value": r["amount"],
            "opened": r["created"],
            "shut": r["closed"],
            "touched": r["last_modified"],
        }
        for r in _rows(opportunities)
    ]
    data = {"api_key": SECRET, "fields": [], "companies": companies, "deals": deals}
    path.write_text(json.dumps(data, indent=1), encoding="utf-8")


@pytest.fixture
def memo(tmp_path: Path, sample_files: tuple[Path, Path]) -> dict[str, Path]:
    """A memo store seeded from the sample files, and a config in another folder naming it
    by a relative path (resolved against the config file, as every connector path is)."""
    folder = tmp_path / "conf"
    folder.mkdir()
    store = folder / "crm.json"
    seed_store(store, *sample_files)
    config = folder / "icpsync.toml"
    config.write_text(
        '[sync]\ncrm = "memo"\n[state]\ndir = "state"\n[memo]\nstore = "crm.json"\n'
        "write_batch = 25\n"
    )
    return {"config": config, "store": store, "site": tmp_path / "site"}


def _store(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def _scored(accounts: Path, opportunities: Path, out: str) -> dict[str, tuple[int, str, str]]:
    """``icpsync score`` on the canonical files: id -> (score, tier, flags)."""
    result = CliRunner().invoke(
        cli,
        ["score", "--accounts", str(accounts), "--opportunities", str(opportunities), "--out", out],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    return {
        r["id"]: (int(r["icp_score"]), r["icp_tier"], r["icp_anti_flags"]) for r in _rows(Path(out))
    }


def test_a_fourth_connector_runs_through_the_command_line(
    memo: dict[str, Path], sample_files: tuple[Path, Path], tmp_path: Path
) -> None:
    site = install_plugin(memo["site"])
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(site), str(REPO)]),
        "ICPSYNC_MEMO__API_KEY": SECRET,
    }

    def icpsync(*args: str) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [sys.executable, "-m", "icpsync", "--config", str(memo["config"]), *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
            check=False,
        )
        assert SECRET not in proc.stdout + proc.stderr
        return proc

    before = memo["store"].read_bytes()

    proc = icpsync("config", "check")
    assert proc.returncode == 0, proc.stderr
    effective = json.loads(proc.stdout[proc.stdout.index("{") : proc.stdout.rindex("}") + 1])
    assert effective["memo"]["api_key"] == "**********"
    assert effective["memo"]["store"] == str(memo["store"])  # relative to the config file
    assert effective["memo"]["write_batch"] == 25
    assert {"file", "salesforce", "hubspot"} <= set(effective)

    proc = icpsync("install", "--dry-run")
    assert proc.returncode == 0, proc.stderr
    assert [line.split(": ")[1].split(" - ")[0] for line in proc.stdout.splitlines()] == ICP_FIELDS
    assert all(line.startswith("- would create") for line in proc.stdout.splitlines())

    proc = icpsync("sync", "--dry-run", "--json")
    assert proc.returncode == 0, proc.stderr
    dry = json.loads(proc.stdout)
    assert dry["crm"] == "memo" and dry["dry_run"] and dry["written"] == 0
    assert dry["scored"] == dry["changed"] == 120
    assert memo["store"].read_bytes() == before  # neither install nor sync wrote a thing

    proc = icpsync("sync", "--json")
    assert proc.returncode == 1  # the fields are not installed: every write refused, reported
    refused = json.loads(proc.stdout)
    # two chunks of write_batch records refused in a row stop the run, saying why
    assert refused["failed"] == 2 * 25 and refused["written"] == 0
    assert "fields not installed: memo_icp_score" in refused["stopped"]

    assert icpsync("install").returncode == 0
    assert _store(memo["store"])["fields"] == ICP_FIELDS
    proc = icpsync("sync", "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["written"] == 120 and report["failed"] == 0

    expected = _scored(*sample_files, str(tmp_path / "scored.csv"))
    companies = _store(memo["store"])["companies"]
    written = {
        c["key"]: (c["memo_icp_score"], c["memo_icp_tier"], c["memo_icp_flags"]) for c in companies
    }
    assert written == expected
    assert report["tiers"] == dry["tiers"]
    assert {c["memo_icp_profile"] for c in companies} == {report["profile_version"]}

    proc = icpsync("sync", "--json")
    assert proc.returncode == 0 and json.loads(proc.stdout)["written"] == 0


@pytest.fixture
def registered(memo: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The memo connector registered in this process, after icpsync was imported."""
    monkeypatch.syspath_prepend(str(install_plugin(memo["site"])))
    yield memo["config"]
    for name in [m for m in sys.modules if m.split(".")[0] == "plugin_connector"]:
        del sys.modules[name]


def _invoke(config: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--config", str(config), *args], catch_exceptions=False)
    return result.exit_code, result.output


def test_install_and_doctor_are_the_connectors_own(
    registered: Path, memo: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ICPSYNC_MEMO__API_KEY", SECRET)
    code, output = _invoke(registered, "doctor")
    assert code == 1 and "missing: memo_icp_score" in output
    code, output = _invoke(registered, "install")
    assert code == 0 and output.count("did create") == len(ICP_FIELDS)
    code, output = _invoke(registered, "install")
    assert code == 0 and output.count("- exists: ") == len(ICP_FIELDS)
    code, output = _invoke(registered, "doctor")
    assert code == 0 and "all present" in output
    monkeypatch.setenv("ICPSYNC_MEMO__API_KEY", "a-wrong-key")
    code, output = _invoke(registered, "doctor")
    assert code == 1 and "refused" in output


def test_its_section_is_validated_and_its_secret_never_echoed(registered: Path) -> None:
    from icpsync.core.errors import ConfigError
    from icpsync.engine.settings import load_settings

    config = registered
    config.write_text(f'[memo]\nstore = "crm.json"\napi_key = ["{SECRET}"]\n')
    with pytest.raises(ConfigError) as err:
        load_settings(config)
    assert err.value.key == "memo.api_key" and SECRET not in str(err.value)
    config.write_text('[memo]\nstore = "crm.json"\nwrite_bach = 5\n')
    with pytest.raises(ConfigError) as err:
        load_settings(config)
    assert (err.value.source, err.value.key, err.value.message) == (
        str(config),
        "memo.write_bach",
        "unknown key",
    )
    config.write_text("[memo]\nwrite_batch = 0\n")
    with pytest.raises(ConfigError, match="greater than or equal to 1"):
        load_settings(config)


def test_unregistered_it_is_unknown(memo: dict[str, Path]) -> None:
    from icpsync.core.errors import ConfigError
    from icpsync.engine.settings import load_settings

    with pytest.raises(ConfigError) as err:
        load_settings(memo["config"])
    assert (err.value.key, err.value.message) == ("memo", "unknown key")


def test_its_secret_is_redacted_from_logs(
    registered: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import logging

    from icpsync.engine.logs import RedactingFilter
    from icpsync.engine.settings import load_settings

    monkeypatch.setenv("ICPSYNC_MEMO__API_KEY", SECRET)
    secrets = load_settings(registered).secret_values()
    assert secrets == [SECRET]
    record = logging.LogRecord("memo", logging.INFO, "", 0, "key %s", (SECRET,), None)
    RedactingFilter(secrets).filter(record)
    assert SECRET not in record.getMessage() and "**********" in record.getMessage()


def test_a_package_without_a_spec_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    site = tmp_path / "broken-site"
    (site / "nospec").mkdir(parents=True)
    (site / "nospec" / "__init__.py").write_text("class Thing:\n    name = 'nospec'\n")
    dist = site / "nospec-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: nospec\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[icpsync.connectors]\nnospec = nospec:Thing\n")
    monkeypatch.syspath_prepend(str(site))
    try:
        with pytest.raises(SystemExit) as exit_info:
            main(["config", "check"])
    finally:
        sys.modules.pop("nospec", None)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "connector 'nospec' (nospec:Thing) has no SPEC" in err and len(err.splitlines()) == 1

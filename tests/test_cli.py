"""The command line: score, sync, config check, runs, drift, and exit codes."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from icpsync.cli import cli, main
from icpsync.core.model import TIERS


def _invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout


def test_score_writes_every_row_and_prints_a_tier_summary(repo_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "scored.csv"
    code, output = _invoke(
        "score",
        "--accounts",
        str(repo_root / "examples/accounts.csv"),
        "--opportunities",
        str(repo_root / "examples/opportunities.csv"),
        "--out",
        str(out),
    )
    assert code == 0, output
    rows = list(csv.DictReader(out.read_text().splitlines()))
    assert list(rows[0]) == [
        "id",
        "icp_score",
        "icp_tier",
        "icp_anti_flags",
        "icp_reasons",
        "icp_profile_version",
    ]
    assert len(rows) == 201  # 202 data rows, one duplicate id skipped
    assert all(r["icp_tier"] in TIERS and 0 <= int(r["icp_score"]) <= 100 for r in rows)
    assert all(len(r["icp_reasons"]) <= 255 for r in rows)
    for tier in TIERS:
        assert tier in output
    assert "bad values" in output and "employees 1" in output


def test_score_json_is_one_run_report(repo_root: Path) -> None:
    code, output = _invoke(
        "score", "--accounts", str(repo_root / "examples/accounts.csv"), "--json"
    )
    assert code == 0
    report = json.loads(output)
    assert report["scored"] == 201 and report["accounts_read"] == 201
    assert report["bad_values"] == {"employees": 1}  # "-5"; "N/A" revenue is simply missing
    assert report["skipped"] == {"duplicate_account_id": 1}
    assert sum(report["tiers"].values()) == 201


def test_sync_json_then_runs_and_drift(file_config: Path) -> None:
    code, output = _invoke("--config", str(file_config), "sync", "--json")
    assert code == 0, output
    report = json.loads(output)
    assert report["mode"] == "full" and report["written"] == 120
    assert report["api_calls"]["total"] >= 2
    code, output = _invoke("--config", str(file_config), "sync", "--json")
    assert json.loads(output)["written"] == 0
    code, output = _invoke("--config", str(file_config), "runs", "--json")
    assert [r["mode"] for r in json.loads(output)] == ["incremental", "full"]
    code, output = _invoke("--config", str(file_config), "drift")
    assert code == 0 and "recent wins in T1-2" in output


def test_dry_run_shows_transitions_and_examples(file_config: Path) -> None:
    code, output = _invoke("--config", str(file_config), "sync", "--dry-run")
    assert code == 0
    assert "(dry run)" in output and "wrote 0" in output
    assert "none" in output and "->" in output


def test_config_check_masks_secrets(file_config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ICPSYNC_SALESFORCE__PASSWORD", "hunter2-very-secret")
    code, output = _invoke("--config", str(file_config), "config", "check")
    assert code == 0
    assert "hunter2-very-secret" not in output
    assert "**********" in output and "config OK" in output


def test_main_maps_errors_to_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[sync]\ncrm = 'nosuchcrm'\n")
    with pytest.raises(SystemExit) as exit_info:
        main(["--config", str(bad), "sync"])
    assert exit_info.value.code == 2
    assert "unknown connector 'nosuchcrm'" in capsys.readouterr().err
    main(["--version"])
    assert "icpsync, version" in capsys.readouterr().out


def test_score_loads_only_what_scoring_needs(repo_root: Path, tmp_path: Path) -> None:
    """The other commands' modules (and NumPy, for fewer ids than a fold) load only when
    one of them runs; ``--help`` still lists every command."""
    import subprocess
    import sys

    accounts = tmp_path / "accounts.csv"
    accounts.write_text("id,name,employees\nA,Acme,50\nB,Beta,5\n", encoding="utf-8")
    probe = (
        "import sys\n"
        "from icpsync.cli import main\n"
        "try:\n"
        f"    main(['score', '--accounts', {str(accounts)!r}])\n"
        "except SystemExit as exc:\n"
        "    assert not exc.code, exc.code\n"
        "loaded = [m for m in ('icpsync.cli.crm', 'icpsync.cli.history', 'icpsync.cli.evidence',"
        " 'icpsync.evidence', 'numpy', 'multiprocessing') if m in sys.modules]\n"
        "print('LOADED', loaded)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=repo_root, capture_output=True, text=True, check=True
    )
    assert "LOADED []" in done.stdout
    code, output = _invoke("--help")
    assert code == 0
    listed = output.split("Commands:")[1].split()
    for name in ("demo", "doctor", "drift", "failures", "install", "learn", "report", "runs"):
        assert name in listed
    for name in ("sandbox", "schedule", "score", "sync", "uninstall", "config"):
        assert name in listed
    code, output = _invoke("learn", "--help")
    assert code == 0 and "learn [OPTIONS]" in output

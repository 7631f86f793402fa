"""The bad-input corpus: broken configs get a clear one-line error (exit 2, no traceback);
malformed records are skipped or made missing and counted, and no other record is lost."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from icpsync.cli import main
from icpsync.connectors.file import FileConnector
from icpsync.core.errors import ConfigError
from icpsync.engine.settings import load_settings

BROKEN_CONFIGS: list[tuple[str, str]] = [
    ("[sync\n", "not valid TOML"),
    ("crm = \n", "not valid TOML"),
    ("[sync]\ncrm = 'file'\ncrm = 'file'\n", "not valid TOML"),
    ("\x00\x01binary", "not valid TOML"),
    ("[sync]\nunknown = 1\n", "sync.unknown"),
    ("[sync]\nlookback_days = -1\n", "sync.lookback_days"),
    ("[sync]\nlookback_days = 1.5\n", "sync.lookback_days"),
    ("[sync]\nwrite_chunk = 0\n", "sync.write_chunk"),
    ("[sync]\nexamples = 'five'\n", "sync.examples"),
    ("[sync]\nhuman_edits = 'overwrite'\n", "sync.human_edits"),
    ("sync = 3\n", "sync"),
    ("[state]\nlease_seconds = 1\n", "state.lease_seconds"),
    ("[state]\nextra = true\n", "state.extra"),
    ("[salesforce]\nauth = 'oauth3'\n", "salesforce.auth"),
    ("[salesforce]\ntimeout_s = 0\n", "salesforce.timeout_s"),
    ("[salesforce]\napi_budget_share = 2\n", "salesforce.api_budget_share"),
    ("[salesforce]\nbulk_write_threshold = -3\n", "salesforce.bulk_write_threshold"),
    ("[salesforce]\npasword = 'x'\n", "salesforce.pasword"),
    ("[hubspot]\nrate_limit_per_10s = 0\n", "hubspot.rate_limit_per_10s"),
    ("[hubspot]\nmirror_native_tier = 'maybe'\n", "hubspot.mirror_native_tier"),
    ("[hubspot]\ntoken = 'x'\n", "hubspot.token"),
    ("[schedule]\nincremental_minutes = 0\n", "schedule.incremental_minutes"),
    ("[schedule]\nconnections = 'file'\n", "schedule.connections"),
    ("[drift]\ntier_change_share_warn = 5\n", "drift.tier_change_share_warn"),
    ("[logging]\nlevel = 'LOUD'\n", "logging.level"),
    ("profile_file = 'does-not-exist.toml'\n", "does-not-exist.toml"),
    ("[profile]\nname = 'x'\nweights = 1\n", "profile.weights"),
    ("[profile.tiers]\ntier_1 = 120\n", "profile.tiers.tier_1"),
    (
        "[[profile.criteria]]\nid = 'a'\nfield = 'employees'\nbetween = [5, 1]\npoints = 3\n",
        "profile.criteria.0",
    ),
    (
        "[[profile.criteria]]\nid = 'a'\nfield = 'employees'\nat_least = 'ten'\npoints = 3\n",
        "profile.criteria.0.at_least",
    ),
    (
        "[[profile.criteria]]\nid = 'a'\nfield = 'employees'\nat_least = 1\npoints = 300\n",
        "profile.criteria.0.points",
    ),
    (
        "[[profile.anti]]\nid = 'a'\nfield = 'employees'\nat_most = 1\neffect = 'cap'\n",
        "profile.anti.0",
    ),
    (
        "[[profile.anti]]\nid = 'a'\nfield = 'employees'\nat_most = 1\neffect = 'explode'\n",
        "profile.anti.0.effect",
    ),
    (
        "[[profile.criteria]]\nid = 'a'\nfield = 'employees'\nat_least = 1\npoints = 3\n"
        "[[profile.criteria]]\nid = 'a'\nfield = 'industry'\nin = ['x']\npoints = 3\n",
        "unique",
    ),
]


@pytest.mark.parametrize(("text", "expected"), BROKEN_CONFIGS)
def test_broken_config_is_one_clear_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, expected: str
) -> None:
    config = tmp_path / "broken.toml"
    config.write_text(text)
    with pytest.raises(ConfigError):
        load_settings(config)
    with pytest.raises(SystemExit) as exit_info:
        main(["--config", str(config), "config", "check"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert str(config) in err or "does-not-exist" in err
    assert expected in err


def test_corpus_is_large_enough() -> None:
    assert len(BROKEN_CONFIGS) >= 30
    assert len(MALFORMED_ACCOUNTS) >= 50


GOOD = {
    "id": "good",
    "name": "Good Co",
    "industry": "Technology",
    "employees": 500,
    "annual_revenue": 5e7,
    "country": "United States",
    "tech_stack": "Salesforce",
}

MALFORMED_ACCOUNTS: list[object] = [
    {},
    {"id": None},
    {"id": ""},
    {"id": "   "},
    {"name": "no id"},
    {"id": "x", "employees": "N/A"},
    {"id": "x", "employees": -1},
    {"id": "x", "employees": "12 people"},
    {"id": "x", "employees": 1e400},
    {"id": "x", "employees": float("nan")},
    {"id": "x", "employees": True},
    {"id": "x", "employees": []},
    {"id": "x", "employees": {"n": 1}},
    {"id": "x", "annual_revenue": "$3M"},
    {"id": "x", "annual_revenue": "-5"},
    {"id": "x", "annual_revenue": "Infinity"},
    {"id": "x", "annual_revenue": "1,200"},
    {"id": "x", "industry": 42},
    {"id": "x", "industry": ["a"]},
    {"id": "x", "industry": "x" * 100_000},
    {"id": "x", "name": "n" * 1_000_000},
    {"id": "x" * 5000},
    {"id": 12345},
    {"id": 1.5},
    {"id": True},
    {"id": ["list"]},
    {"id": "x", "tech_stack": 7},
    {"id": "x", "tech_stack": [None, "", 3]},
    {"id": "x", "tech_stack": ";;;"},
    {"id": "x", "tech_stack": {"a": 1}},
    {"id": "x", "country": None},
    {"id": "x", "country": "<html><body>502 Bad Gateway</body></html>"},
    {"id": "x", "last_modified": "yesterday"},
    {"id": "x", "last_modified": "2026-13-45"},
    {"id": "x", "last_modified": 99999999999999999999},
    {"id": "x", "icp_score": "high"},
    {"id": "x", "icp_score": -10},
    {"id": "x", "icp_tier_override": "Tier 0"},
    {"id": "x", "icp_tier_override": 1},
    {"id": "x", "icp_scored_at": "never"},
    {"id": "x", "icp_anti_flags": 3},
    {"id": "x", "domain": "http://"},
    {"id": "x", "domain": 5},
    {"id": "x", "region": "\ud800"},
    {"id": "x", "name": "\x00\x01\x02"},
    {"id": "dup"},
    {"id": "dup"},
    {"id": "x", "employees": "0x1F"},
    {"id": "x", "employees": "1e3"},
    {"id": "x", "annual_revenue": ""},
    {"id": "x", "extra": {"deep": [1, {"deeper": None}]}},
    [1, 2, 3],
    "just a string",
    42,
    None,
]


def test_malformed_records_are_counted_and_lose_no_other_record(tmp_path: Path) -> None:
    path = tmp_path / "accounts.jsonl"
    lines = [json.dumps(GOOD)]
    for index, record in enumerate(MALFORMED_ACCOUNTS):
        if isinstance(record, dict) and record.get("id") == "x":
            record = {**record, "id": f"x{index}"}
        lines.append(json.dumps(record, allow_nan=True))
    lines.append('{"id": "truncated", "employees": 5')
    lines.append("<html><head><title>504 Gateway Time-out</title></head></html>")
    lines.append(json.dumps({**GOOD, "id": "good-2"}))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8", errors="surrogatepass")
    out = tmp_path / "scored.csv"
    result = CliRunner().invoke(
        __import__("icpsync.cli", fromlist=["cli"]).cli,
        ["score", "--accounts", str(path), "--out", str(out), "--json"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    scored_ids = [line.split(",", 1)[0] for line in out.read_text().splitlines()[1:]]
    assert "good" in scored_ids and "good-2" in scored_ids
    assert report["skipped"]["malformed_json_line"] == 2
    assert report["skipped"]["json_line_not_an_object"] == 4
    assert report["skipped"]["duplicate_account_id"] == 1
    assert report["skipped"]["account_without_id"] >= 5
    assert report["bad_values"]["employees"] >= 6
    assert report["bad_values"]["annual_revenue"] >= 3
    assert report["scored"] == len(scored_ids)


def test_file_connector_survives_every_malformed_record(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_text(
        "\n".join(json.dumps(r) for r in MALFORMED_ACCOUNTS if isinstance(r, dict)) + "\n"
    )
    accounts = list(FileConnector(path).read_accounts())
    assert all(a.id for a in accounts)

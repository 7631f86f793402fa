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
    ("[hubspot]\nhost = 'not a url'\n", "hubspot.host"),
    ("[hubspot]\nhost = 'ftp://api.hubapi.com'\n", "hubspot.host"),
    ("[salesforce]\ninstance_url = 'my.salesforce.com'\n", "salesforce.instance_url"),
    ("[file]\nencoding = 'klingon'\n", "file.encoding"),
    ("[file]\ndelimiter = ';;'\n", "file.delimiter"),
    ("[file]\ndelimiter = 'semicolons'\n", "file.delimiter"),
]

#: Configs that load but that a later command would refuse: ``config check`` refuses them.
FILE = "[file]\naccounts = 'accounts.csv'\noutput = 'scored.csv'\n"
CHECKED_CONFIGS: list[tuple[str, list[str]]] = [
    ("", ["sets nothing", "[sync] crm"]),
    ("# only a comment\n", ["sets nothing"]),
    ("[sync]\ncrm = 'pipedrive'\n", ["sync.crm", "'pipedrive'", "file", "salesforce"]),
    ("[sync]\ncrm = 'file'\n", ["file.accounts"]),
    ("[file]\naccounts = 'missing.csv'\n", ["file.accounts", "no such file"]),
    (FILE + "opportunities = 'deals.csv'\n", ["file.opportunities", "deals.csv"]),
    ("[file]\naccounts = 'accounts.csv'\n", ["file.output", "--dry-run"]),
    (FILE + "field_map = 'no_such_map'\n", ["file.field_map", "'no_such_map'"]),
    (FILE + "[schedule]\nvalidate_cron = 'quarterly'\n", ["schedule.validate_cron", "5-field"]),
    (FILE + "[schedule]\nconnections = ['pipedrive']\n", ["schedule.connections", "pipedrive"]),
    (
        "[sync]\ncrm = 'hubspot'\n[hubspot]\naccess_token = 't'\nfield_map = 'nope'\n",
        ["hubspot.field_map", "'nope'"],
    ),
    (FILE + "[schedule]\nfull_cron = 'every night at 2'\n", ["schedule.full_cron", "5-field"]),
    (FILE + "[schedule]\nfull_cron = '0 25 * * *'\n", ["schedule.full_cron"]),
    (FILE + "[schedule]\ntimezone = 'Mars/Olympus'\n", ["schedule.timezone", "Mars/Olympus"]),
    (FILE + "[state]\nurl = 'notadb://'\n", ["state.url", "unknown database 'notadb'"]),
    (FILE + "[state]\nurl = 'not a url at all'\n", ["state.url", "database URL"]),
    (FILE + "[state]\nurl = 'mysql://u@localhost/icp'\n", ["state.url", "MySQLdb"]),
    (
        "[sync]\ncrm = 'salesforce'\n",
        ["salesforce.username", "ICPSYNC_SALESFORCE__PASSWORD", "ICPSYNC_SALESFORCE__USERNAME"],
    ),
    (
        "[sync]\ncrm = 'salesforce'\n[salesforce]\nusername = 'a@b.c'\npassword = 'p'\n",
        ["salesforce.security_token", "ICPSYNC_SALESFORCE__SECURITY_TOKEN"],
    ),
    (
        "[sync]\ncrm = 'salesforce'\n[salesforce]\nauth = 'session'\nsession_id = 'x'\n",
        ["auth = 'session'", "ICPSYNC_SALESFORCE__INSTANCE_URL"],
    ),
    (
        "[sync]\ncrm = 'salesforce'\n[salesforce]\nauth = 'jwt'\nusername = 'a@b.c'\n",
        ["ICPSYNC_SALESFORCE__CONSUMER_KEY", "ICPSYNC_SALESFORCE__PRIVATEKEY_FILE"],
    ),
    ("[sync]\ncrm = 'hubspot'\n", ["hubspot.access_token", "ICPSYNC_HUBSPOT__ACCESS_TOKEN"]),
]


@pytest.mark.parametrize(("text", "expected"), CHECKED_CONFIGS)
def test_config_check_refuses_what_a_later_command_would(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, expected: list[str]
) -> None:
    config = tmp_path / "checked.toml"
    config.write_text(text)
    (tmp_path / "accounts.csv").write_text("id\nA\n")
    load_settings(config)  # it loads: only the checks find the problem
    with pytest.raises(SystemExit) as exit_info:
        main(["--config", str(config), "config", "check"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert str(config) in err
    for part in expected:
        assert part in err


def test_config_check_passes_credentials_from_the_environment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "hubspot.toml"
    config.write_text("[sync]\ncrm = 'hubspot'\n")
    monkeypatch.setenv("ICPSYNC_HUBSPOT__ACCESS_TOKEN", "pat-secret-value")
    main(["--config", str(config), "config", "check"])
    out = capsys.readouterr().out
    assert "config OK" in out and "pat-secret-value" not in out


def test_sync_without_credentials_names_the_file_and_the_variable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "sf.toml"
    config.write_text(f"[sync]\ncrm = 'salesforce'\n[state]\ndir = '{tmp_path}'\n")
    with pytest.raises(SystemExit) as exit_info:
        main(["--config", str(config), "sync", "--dry-run"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert str(config) in err and "ICPSYNC_SALESFORCE__PASSWORD" in err


def test_schedule_names_a_bad_time_zone_not_the_cron(tmp_path: Path) -> None:
    from icpsync.engine.scheduler import job_specs

    config = tmp_path / "tz.toml"
    config.write_text(FILE + "[schedule]\ntimezone = 'Mars/Olympus'\n")
    with pytest.raises(ConfigError, match=r"schedule\.timezone"):
        job_specs(load_settings(config))


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


#: Account files as they come: (name, bytes, exit code, what stdout or stderr must say).
SF_HEADER = "Account ID,Account Name,Employees,Billing Country\r\n"
BAD_FILES: list[tuple[str, bytes, int, list[str]]] = [
    ("bom.csv", b"\xef\xbb\xbfid,name\r\nA,Acme\r\n", 0, ["byte-order mark removed"]),
    ("semicolon.csv", b"id;name;employees\nA;Acme;5\n", 0, ["semicolon-separated"]),
    ("tab.csv", b"id\tname\nA\tAcme\n", 0, ["tab-separated"]),
    ("pipe.csv", b"id|name\nA|Acme\n", 0, ["pipe-separated"]),
    ("latin.csv", "id,name\nA,Société Générale\n".encode("cp1252"), 0, ["windows-1252"]),
    ("utf16.txt", "id\tname\nA\tAcme\n".encode("utf-16"), 0, ["utf-16", "tab-separated"]),
    ("sf.csv", f"{SF_HEADER}001,Acme,50,France\r\n".encode(), 0, ["Account ID -> id"]),
    (
        "hubspot.csv",
        b"Record ID,Company name,Number of Employees,Country/Region\n1,Acme,50,France\n",
        0,
        ["Record ID -> id", "Country/Region -> country"],
    ),
    ("huge.csv", b"id,employees,annual_revenue\nA,1e12,1e14\n", 0, ["implausible"]),
    ("negative.csv", b"id,employees\nA,-3\n", 0, ["row 2, id A: employees '-3'"]),
    ("dups.csv", b"id\nA\nB\nA\n", 0, ["row 4, id A: skipped (duplicate id; row 2 kept)"]),
    ("no-id.csv", b"Company,Employees\nAcme,5\n", 2, ["no id column", "'Company'"]),
    ("empty.csv", b"", 2, ["no id column", "found none"]),
    ("header-only.csv", b"id,name\n", 2, ["no account was scored"]),
    ("all-without-id.csv", b"id,name\n,Acme\n,Beta\n", 2, ["no account was scored"]),
    ("binary.csv", b"PK\x03\x04\x14\x00\x06\x00" + bytes(range(256)), 2, ["no id column"]),
    # JSON Lines keys are matched like CSV headers: an object with no id key at all says so
    ("jsonl-no-ids.jsonl", b'{"name": "a"}\n[1]\n', 2, ["no id column", "'name'"]),
    ("jsonl-empty-ids.jsonl", b'{"id": "", "name": "a"}\n[1]\n', 2, ["no account was scored"]),
    (
        "hubspot.jsonl",
        b'{"Record ID": "A", "Company name": "Acme", "Number of Employees": "50"}\n',
        0,
        ["Record ID -> id", "Number of Employees -> employees"],
    ),
    (
        "salesforce.jsonl",
        b'{"Account ID": "001", "Account Name": "Acme", "Billing Country": "France"}\n',
        0,
        ["Account ID -> id", "Billing Country -> country"],
    ),
]


@pytest.mark.parametrize(("name", "content", "code", "said"), BAD_FILES)
def test_account_files_are_read_or_refused_never_silently_empty(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    name: str,
    content: bytes,
    code: int,
    said: list[str],
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    out = tmp_path / "scored.csv"
    try:
        main(["score", "--accounts", str(path), "--out", str(out)])
        exit_code = 0
    except SystemExit as exc:
        exit_code = int(exc.code or 0)
    captured = capsys.readouterr()
    assert exit_code == code, captured.err
    assert "Traceback" not in captured.err
    for part in said:
        assert part in captured.out + captured.err
    if code == 2:
        assert str(path) in captured.err and len(captured.err.strip().splitlines()) == 1
        assert not out.exists()  # never a header-only output
        assert path.read_bytes() == content
    else:
        assert out.read_text(encoding="utf-8").splitlines()[1].startswith(("A,", "001,", "1,"))


def test_a_file_sync_with_nowhere_to_write_exits_2_instead_of_writing_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "icpsync.toml"
    config.write_text(
        "[sync]\ncrm = 'file'\n[file]\naccounts = 'accounts.csv'\n"
        f"[state]\ndir = '{tmp_path / 's'}'\n"
    )
    (tmp_path / "accounts.csv").write_text("id,name,employees\nA,Acme,500\nB,Beta,20\n")
    with pytest.raises(SystemExit) as exit_info:
        main(["--config", str(config), "sync"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and "file.output" in err and "Traceback" not in err
    main(["--config", str(config), "sync", "--dry-run"])  # a dry run needs no output
    assert "changed 2, wrote 0" in capsys.readouterr().out

"""Files as admins have them: Excel's UTF-8 with a byte-order mark, semicolons and tabs,
Windows-1252, Salesforce and HubSpot export headers; every one scored in full, and a file
that cannot be scored refused with exit 2."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from icpsync.cli import main

PROFILE = """
[profile]
name = "names"
[profile.tiers]
tier_1 = 70
tier_2 = 50
tier_3 = 30
[[profile.criteria]]
id = "sg"
label = "named account"
field = "name"
in = ["Société Générale"]
points = 80
[[profile.criteria]]
id = "big"
label = "200+ employees"
field = "employees"
at_least = 200
points = 20
"""

ROWS = [
    ("001A", "Société Générale", "societegenerale.com", "Banking", "1200", "2.5e10", "France"),
    ("001B", "Acme, Inc.", "acme.com", "Technology", "250", "5000000", "United States"),
    ("001C", "Müller GmbH", "mueller.de", "Manufacturing", "80", "", "Germany"),
]
CANONICAL = ["id", "name", "domain", "industry", "employees", "annual_revenue", "country"]
SALESFORCE_REPORT = [
    "Account ID", "Account Name", "Website", "Industry", "Employees", "Annual Revenue",
    "Billing Country",
]  # fmt: skip
SALESFORCE_DATA_LOADER = [
    "ID", "NAME", "WEBSITE", "INDUSTRY", "NUMBEROFEMPLOYEES", "ANNUALREVENUE", "BILLINGCOUNTRY",
]  # fmt: skip
HUBSPOT = [
    "Record ID", "Company name", "Company Domain Name", "Industry", "Number of Employees",
    "Annual Revenue", "Country/Region",
]  # fmt: skip


def run(*args: str) -> tuple[int, str, str]:
    """``icpsync ARGS``: (exit code, stdout, stderr) through the shared error policy."""
    import io
    from contextlib import redirect_stderr, redirect_stdout

    out, err = io.StringIO(), io.StringIO()
    code = 0
    with redirect_stdout(out), redirect_stderr(err):
        try:
            main(list(args))
        except SystemExit as exc:
            code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()


def write_csv(
    path: Path, header: list[str], *, delimiter: str = ",", encoding: str = "utf-8"
) -> Path:
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(header)
        writer.writerows(ROWS)
    return path


@pytest.fixture
def profile(tmp_path: Path) -> Path:
    path = tmp_path / "profile.toml"
    path.write_text(PROFILE, encoding="utf-8")
    return path


def scored(out: Path) -> dict[str, dict[str, str]]:
    with out.open(encoding="utf-8", newline="") as handle:
        return {row["id"]: row for row in csv.DictReader(handle)}


SHAPES = [
    ("excel-utf8-bom", CANONICAL, ",", "utf-8-sig", "read as utf-8 (byte-order mark removed)"),
    ("semicolon", CANONICAL, ";", "utf-8", "semicolon-separated"),
    ("tab", CANONICAL, "\t", "utf-8", "tab-separated"),
    ("pipe", CANONICAL, "|", "utf-8", "pipe-separated"),
    ("windows-1252", CANONICAL, ";", "windows-1252", "read as windows-1252"),
    ("salesforce-report", SALESFORCE_REPORT, ",", "utf-8-sig", "Account ID -> id"),
    ("data-loader", SALESFORCE_DATA_LOADER, ",", "utf-8", "NUMBEROFEMPLOYEES -> employees"),
    ("hubspot", HUBSPOT, ",", "utf-8", "Company Domain Name -> domain"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("shape", "header", "delimiter", "encoding", "said"), SHAPES, ids=[s[0] for s in SHAPES]
)
def test_each_export_shape_is_scored_in_full(
    tmp_path: Path,
    profile: Path,
    shape: str,
    header: list[str],
    delimiter: str,
    encoding: str,
    said: str,
) -> None:
    accounts = write_csv(tmp_path / f"{shape}.csv", header, delimiter=delimiter, encoding=encoding)
    out = tmp_path / "scored.csv"
    code, stdout, stderr = run(
        "score", "--accounts", str(accounts), "--profile", str(profile), "--out", str(out)
    )
    assert code == 0, stderr
    assert said in stdout
    rows = scored(out)
    assert list(rows) == ["001A", "001B", "001C"]
    # "Société Générale" matched its criterion (80) and 1,200 employees (20): every byte read
    assert rows["001A"]["icp_score"] == "100" and rows["001A"]["icp_tier"] == "Tier 1"
    assert rows["001B"]["icp_score"] == "20" and rows["001C"]["icp_score"] == "0"
    assert "bad values" not in stdout and "skipped" not in stdout


def test_quoted_cells_keep_their_delimiters(tmp_path: Path) -> None:
    path = tmp_path / "quoted.csv"
    path.write_text(
        'id;name;employees\n"1";"Acme; Inc.";"1,200"\n"2";"Say ""hi"" Ltd";5\n', encoding="utf-8"
    )
    code, stdout, _ = run("score", "--accounts", str(path), "--json")
    report = json.loads(stdout)
    assert code == 0 and report["scored"] == 2 and report["bad_values"] == {}
    assert "semicolon-separated" in report["inputs"][0]


def test_encoding_and_delimiter_can_be_given(tmp_path: Path, profile: Path) -> None:
    accounts = write_csv(tmp_path / "a.txt", CANONICAL, delimiter="|", encoding="latin-1")
    out = tmp_path / "scored.csv"
    code, stdout, stderr = run(
        "score", "--accounts", str(accounts), "--profile", str(profile), "--out", str(out),
        "--encoding", "latin-1", "--delimiter", "|",
    )  # fmt: skip
    assert code == 0, stderr
    assert "read as iso8859-1, pipe-separated" in stdout
    assert scored(out)["001A"]["icp_score"] == "100"
    code, _, stderr = run("score", "--accounts", str(accounts), "--encoding", "klingon")
    assert code == 2 and "--encoding" in stderr and "klingon" in stderr


def test_field_map_flag_and_config_name_other_headers(tmp_path: Path, profile: Path) -> None:
    header = ["Customer No", "Legal Name", "Web", "Sector", "Staff", "Turnover", "Land"]
    accounts = write_csv(tmp_path / "erp.csv", header)
    field_map = tmp_path / "erp.toml"
    field_map.write_text(
        '[account.fields]\nid = "Customer No"\nname = "Legal Name"\nemployees = "Staff"\n',
        encoding="utf-8",
    )
    out = tmp_path / "scored.csv"
    code, stdout, stderr = run(
        "score", "--accounts", str(accounts), "--profile", str(profile), "--out", str(out),
        "--field-map", str(field_map),
    )  # fmt: skip
    assert code == 0, stderr
    assert "Customer No -> id" in stdout and "Staff -> employees" in stdout
    assert scored(out)["001A"]["icp_score"] == "100"
    config = tmp_path / "icpsync.toml"
    config.write_text(f'[file]\nfield_map = "{field_map}"\n', encoding="utf-8")
    code, stdout, stderr = run(
        "--config", str(config), "score", "--accounts", str(accounts), "--profile", str(profile)
    )
    assert code == 0, stderr
    assert "Legal Name -> name" in stdout
    config.unlink()
    code, _, stderr = run("score", "--accounts", str(accounts))  # without the map: refused
    assert code == 2 and "Customer No" in stderr


def test_opportunity_export_headers_feed_the_aggregates(tmp_path: Path) -> None:
    accounts = write_csv(tmp_path / "accounts.csv", SALESFORCE_REPORT)
    opportunities = tmp_path / "opportunities.csv"
    opportunities.write_text(
        "Opportunity ID,Account ID,Stage,Amount,Created Date,Close Date,Closed,Won\n"
        "006A,001A,Closed Won,50000,2026-01-02,2026-03-01,true,true\n"
        "006B,001B,Prospecting,1000,2026-02-02,,false,false\n",
        encoding="utf-8",
    )
    profile = tmp_path / "customers.toml"
    profile.write_text(
        '[profile]\nname = "c"\n[[profile.criteria]]\nid = "customer"\nfield = "customer"\n'
        "in = [true]\npoints = 90\n",
        encoding="utf-8",
    )
    out = tmp_path / "scored.csv"
    code, stdout, stderr = run(
        "score", "--accounts", str(accounts), "--opportunities", str(opportunities),
        "--profile", str(profile), "--out", str(out),
    )  # fmt: skip
    assert code == 0, stderr
    assert "Opportunity ID -> id, Account ID -> account_id" in stdout
    assert "read 3 accounts and 2 opportunities" in stdout
    assert scored(out)["001A"]["icp_score"] == "90"
    assert scored(out)["001B"]["icp_score"] == "0"


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("Company,Employees\nAcme,5\n", "'Company', 'Employees'"),
        ("name;employees\nAcme;5\n", "'name', 'employees'"),
        ("", "found none"),
    ],
    ids=["no-id", "semicolon-no-id", "empty"],
)
def test_a_file_without_an_id_column_exits_2_naming_columns(
    tmp_path: Path, text: str, found: str
) -> None:
    path = tmp_path / "accounts.csv"
    path.write_text(text, encoding="utf-8")
    out = tmp_path / "scored.csv"
    code, _, stderr = run("score", "--accounts", str(path), "--out", str(out))
    assert code == 2
    assert len(stderr.strip().splitlines()) == 1 and "Traceback" not in stderr
    assert str(path) in stderr and found in stderr
    assert "expected one of id, Account ID, Id, Record ID" in stderr
    assert not out.exists()


def test_out_onto_an_input_is_refused_and_the_input_kept(tmp_path: Path) -> None:
    accounts = write_csv(tmp_path / "accounts.csv", CANONICAL)
    before = accounts.read_bytes()
    for target in (accounts, tmp_path / "." / "accounts.csv"):
        code, _, stderr = run("score", "--accounts", str(accounts), "--out", str(target))
        assert code == 2 and "--out" in stderr and f"is also an input file ({accounts})" in stderr
        assert accounts.read_bytes() == before
    code, _, stderr = run(
        "score", "--accounts", str(accounts), "--rejects", str(accounts)
    )  # the rejects file neither
    assert code == 2 and accounts.read_bytes() == before


def test_output_replaces_the_old_file_whole(tmp_path: Path) -> None:
    accounts = write_csv(tmp_path / "accounts.csv", CANONICAL)
    out = tmp_path / "scored.csv"
    out.write_text("old,content\n")
    code, _, _ = run("score", "--accounts", str(accounts), "--out", str(out))
    assert code == 0
    assert list(scored(out)) == ["001A", "001B", "001C"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["accounts.csv", "scored.csv"]


def test_rejects_file_lists_every_row_with_its_address(tmp_path: Path) -> None:
    accounts = tmp_path / "accounts.csv"
    accounts.write_text(
        "Account ID,Account Name,Employees,Annual Revenue,Industry\n"
        "A1,Fine,250,5000000,Technology\n"
        "A2,Negative,-5,,Technology\n"
        ",No id,10,,\n"
        "A3,Huge,1e12,2e13,Retail\n"
        "A1,Again,3,,\n"
        "\n"
        "A4,Texty,twelve,lots,Retail\n",
        encoding="utf-8",
    )
    rejects = tmp_path / "rejects.csv"
    code, stdout, stderr = run("score", "--accounts", str(accounts), "--rejects", str(rejects))
    assert code == 0, stderr
    with rejects.open(encoding="utf-8", newline="") as handle:
        rows = [
            (r["row"], r["id"], r["column"], r["value"], r["reason"])
            for r in csv.DictReader(handle)
        ]
    assert rows == [
        ("3", "A2", "employees", "-5", "negative"),
        ("4", "", "", "", "no id"),
        ("5", "A3", "employees", "1e12", "implausible: above 10,000,000"),
        ("5", "A3", "annual_revenue", "2e13", "implausible: above 10^13"),
        ("8", "A4", "employees", "twelve", "not a number"),
        ("8", "A4", "annual_revenue", "lots", "not a number"),
        ("6", "A1", "", "", "duplicate id; row 2 kept"),
    ]
    assert "rows skipped or with values set to missing (7):" in stdout
    assert "row 5, id A3: employees '1e12' set to missing (implausible: above 10,000,000)" in stdout
    assert "row 6, id A1: skipped (duplicate id; row 2 kept)" in stdout


def test_the_default_summary_is_capped_and_says_how_many_more(tmp_path: Path) -> None:
    accounts = tmp_path / "accounts.csv"
    lines = ["id,employees"] + [f"A{i},-{i}" for i in range(1, 31)]
    accounts.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, stdout, _ = run("score", "--accounts", str(accounts))
    assert code == 0
    assert "rows skipped or with values set to missing (30):" in stdout
    assert "row 2, id A1: employees '-1' set to missing (negative)" in stdout
    assert "row 12, id A11" not in stdout
    assert "... and 20 more (--rejects FILE lists them all)" in stdout


def test_long_values_are_shortened_in_rejects(tmp_path: Path) -> None:
    accounts = tmp_path / "accounts.jsonl"
    accounts.write_text(json.dumps({"id": "L", "employees": "9" * 5000}) + "\n")
    rejects = tmp_path / "rejects.csv"
    code, _, _ = run("score", "--accounts", str(accounts), "--rejects", str(rejects))
    assert code == 0
    with rejects.open(encoding="utf-8", newline="") as handle:
        (row,) = list(csv.DictReader(handle))
    assert row["row"] == "1" and row["id"] == "L" and row["column"] == "employees"
    assert row["value"].endswith("(5000 characters)") and len(row["value"]) < 80
    assert row["reason"] == "not a finite number"


def test_sync_reads_exports_through_the_same_path(tmp_path: Path) -> None:
    accounts = write_csv(tmp_path / "hubspot.csv", HUBSPOT, delimiter=";", encoding="windows-1252")
    out = tmp_path / "out.csv"
    config = tmp_path / "icpsync.toml"
    config.write_text(
        f'[sync]\ncrm = "file"\n[state]\ndir = "{tmp_path / "state"}"\n'
        f'[file]\naccounts = "{accounts}"\noutput = "{out}"\n',
        encoding="utf-8",
    )
    code, stdout, stderr = run("--config", str(config), "sync", "--json")
    assert code == 0, stderr
    report = json.loads(stdout)
    assert report["accounts_read"] == 3 and report["written"] == 3
    assert sorted(scored(out)) == ["001A", "001B", "001C"]


def test_doctor_on_files_shows_the_columns_or_the_missing_id(tmp_path: Path) -> None:
    from icpsync.connectors.file import FileConnector

    good = write_csv(tmp_path / "sf.csv", SALESFORCE_REPORT)
    checks = {c.name: c for c in FileConnector(good).preflight()}
    assert checks["columns"].ok and "Account ID -> id" in checks["columns"].detail
    bad = tmp_path / "bad.csv"
    bad.write_text("Company\nAcme\n", encoding="utf-8")
    checks = {c.name: c for c in FileConnector(bad).preflight()}
    assert not checks["columns"].ok and "no id column" in checks["columns"].detail


def test_rejects_onto_the_output_is_refused(tmp_path: Path) -> None:
    accounts = write_csv(tmp_path / "accounts.csv", CANONICAL)
    out = tmp_path / "scored.csv"
    code, _, stderr = run(
        "score", "--accounts", str(accounts), "--out", str(out), "--rejects", str(out)
    )
    assert code == 2 and "--rejects" in stderr and not out.exists()


def test_sync_over_files_logs_the_rejects_with_their_rows(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from icpsync.engine.registry import build_connector
    from icpsync.engine.settings import load_settings
    from icpsync.engine.sync import run_once

    accounts = tmp_path / "accounts.csv"
    accounts.write_text("Account ID;Employees\nA1;250\nA2;-5\nA1;3\n", encoding="utf-8")
    config = tmp_path / "icpsync.toml"
    config.write_text(
        f'[sync]\ncrm = "file"\n[file]\naccounts = "{accounts}"\noutput = "{tmp_path / "o.csv"}"\n',
        encoding="utf-8",
    )
    settings = load_settings(config)
    connector = build_connector(settings)
    with caplog.at_level("WARNING", logger="icpsync.connectors.file.connector"):
        try:
            report = run_once(settings, connector=connector)
        finally:
            connector.close()
    assert report.accounts_read == 2  # A1 and A2 (its headcount missing); the second A1 skipped
    lines = [r.getMessage().strip() for r in caplog.records]
    assert "row 3, id A2: employees '-5' set to missing (negative)" in lines
    assert "row 4, id A1: skipped (duplicate id; row 2 kept)" in lines


def _sync_config(tmp_path: Path, accounts: Path, out: Path, extra: str = "") -> Path:
    config = tmp_path / "icpsync.toml"
    tmp_path.mkdir(exist_ok=True)
    config.write_text(
        f'[sync]\ncrm = "file"\n[state]\ndir = "{tmp_path / "state"}"\n'
        f'[file]\naccounts = "{accounts}"\noutput = "{out}"\n{extra}',
        encoding="utf-8",
    )
    return config


def test_sync_honours_the_configured_encoding_and_delimiter(tmp_path: Path, profile: Path) -> None:
    # Mac Roman and semicolons, with a header holding more commas than semicolons: detection
    # reads it as windows-1252 ("SociŽtŽ") and comma-separated; [file] says otherwise.
    header = [*CANONICAL, "tags, a, b, c, d, e, f, g"]
    accounts = write_csv(tmp_path / "mac.csv", header, delimiter=";", encoding="mac-roman")
    out = tmp_path / "out.csv"
    guessed = _sync_config(tmp_path / "guessed", accounts, out)
    code, _, _ = run("--config", str(guessed), "sync", "--profile", str(profile), "--json")
    assert code == 2  # comma-separated: no id column
    given = _sync_config(
        tmp_path, accounts, out, 'encoding = "mac-roman"\ndelimiter = "semicolon"\n'
    )
    code, stdout, stderr = run("--config", str(given), "sync", "--profile", str(profile), "--json")
    assert code == 0, stderr
    assert json.loads(stdout)["accounts_read"] == 3
    rows = scored(out)
    assert rows["001A"]["icp_score"] == "100"  # "Société Générale" read byte for byte
    assert rows["001B"]["icp_score"] == "20"


def test_a_bad_configured_encoding_is_a_config_error_naming_file_and_key(tmp_path: Path) -> None:
    accounts = write_csv(tmp_path / "a.csv", CANONICAL)
    config = _sync_config(tmp_path, accounts, tmp_path / "out.csv", 'encoding = "klingon"\n')
    code, _, stderr = run("--config", str(config), "sync")
    assert code == 2 and "Traceback" not in stderr
    assert str(config) in stderr and "file.encoding" in stderr and "klingon" in stderr
    config = _sync_config(tmp_path, accounts, tmp_path / "out.csv", 'delimiter = "::"\n')
    code, _, stderr = run("--config", str(config), "sync")
    assert code == 2 and str(config) in stderr and "file.delimiter" in stderr


def test_json_lines_export_keys_are_matched_like_csv_headers(tmp_path: Path, profile: Path) -> None:
    accounts = tmp_path / "hubspot.jsonl"
    accounts.write_text(
        "\n".join(json.dumps(dict(zip(HUBSPOT, row, strict=True))) for row in ROWS) + "\n",
        encoding="utf-8",
    )
    out = tmp_path / "scored.csv"
    code, stdout, stderr = run(
        "score", "--accounts", str(accounts), "--profile", str(profile), "--out", str(out)
    )
    assert code == 0, stderr
    assert "Record ID -> id" in stdout and "Number of Employees -> employees" in stdout
    rows = scored(out)
    assert list(rows) == ["001A", "001B", "001C"]
    assert rows["001A"]["icp_score"] == "100" and rows["001B"]["icp_score"] == "20"
    assert "skipped" not in stdout


def test_nothing_scored_leaves_no_header_only_output(tmp_path: Path) -> None:
    accounts = tmp_path / "accounts.csv"
    accounts.write_text("id,name\n,Acme\n", encoding="utf-8")
    out = tmp_path / "scored.csv"
    code, _, stderr = run("score", "--accounts", str(accounts), "--out", str(out))
    assert code == 2 and f"{out} was not written" in stderr
    assert not out.exists()
    out.write_text("id,icp_score\nold,50\n", encoding="utf-8")  # a previous run's output
    code, _, _ = run("score", "--accounts", str(accounts), "--out", str(out))
    assert code == 2
    assert out.read_text(encoding="utf-8") == "id,icp_score\nold,50\n"
    assert accounts.read_text(encoding="utf-8") == "id,name\n,Acme\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["accounts.csv", "scored.csv"]


@pytest.mark.parametrize("old", [None, "file,row,id,column,value,reason\nold,2,,,,no id\n"])
def test_a_run_stopped_by_a_config_error_leaves_no_rejects_file_behind(
    tmp_path: Path, old: str | None
) -> None:
    accounts = tmp_path / "accounts.csv"
    accounts.write_text("name,domain\nAcme,acme.com\n", encoding="utf-8")  # no id column
    rejects = tmp_path / "rejects.csv"
    if old is not None:
        rejects.write_text(old, encoding="utf-8")  # a previous run's rejects
    code, _, stderr = run("score", "--accounts", str(accounts), "--rejects", str(rejects))
    assert code == 2 and "no id column" in stderr
    expected = ["accounts.csv"] + (["rejects.csv"] if old is not None else [])
    assert sorted(p.name for p in tmp_path.iterdir()) == expected
    if old is not None:
        assert rejects.read_text(encoding="utf-8") == old


def test_nothing_scored_still_writes_the_rejects_and_no_temporary(tmp_path: Path) -> None:
    accounts = tmp_path / "accounts.csv"
    accounts.write_text("id,name\n,Acme\n", encoding="utf-8")
    rejects = tmp_path / "rejects.csv"
    code, _, _ = run("score", "--accounts", str(accounts), "--rejects", str(rejects))
    assert code == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["accounts.csv", "rejects.csv"]
    assert rejects.read_text(encoding="utf-8").splitlines()[1] == "accounts.csv,2,,,,no id"

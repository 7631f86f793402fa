"""``learn`` and ``report`` end to end from CSV files: the public datasets, synthetic data
with a known truth, too few deals, and never overwriting a profile without --force."""

from __future__ import annotations

import csv
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from icpsync.cli import cli
from icpsync.core.default_profile import default_profile
from icpsync.core.model import NO_AGGREGATES, Account
from icpsync.core.profile import load_profile
from icpsync.core.scoring import Scorer

SharedData = Callable[[str], tuple[Path, Path]]
SyntheticFiles = Callable[..., tuple[Path, Path]]
NOW = datetime(2026, 11, 1, tzinfo=UTC)


def _invoke(*args: str | Path) -> dict[str, Any]:
    result = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_maven_crm_has_no_reliable_signal(shared_data: SharedData, tmp_path: Path) -> None:
    accounts, opportunities = shared_data("maven-crm")
    out = tmp_path / "learned.toml"
    payload = _invoke(
        "learn", "--accounts", accounts, "--opportunities", opportunities, "--out", out, "--json"
    )
    assert payload["data"]["closed_deals"] == 6711
    summary = payload["validation"]["summary"]
    assert summary["auc"]["low"] <= 0.5 <= summary["auc"]["high"]
    assert not summary["signal"]["reliable"]
    assert payload["profile"]["kind"] == "none"
    assert not out.exists()  # noise is not presented as a profile
    assert any("no reliable signal" in n for n in payload["notes"])


def test_salvirt_runs_without_dates_and_finds_its_signal(
    shared_data: SharedData, tmp_path: Path
) -> None:
    accounts, opportunities = shared_data("salvirt-b2b")
    out = tmp_path / "learned.toml"
    payload = _invoke(
        "learn", "--accounts", accounts, "--opportunities", opportunities, "--out", out, "--json"
    )
    comparison = payload["validation"]["comparison"]
    assert comparison["method"] == "cv"
    assert "no close dates" in comparison["description"]
    assert any("cross-validation" in n for n in payload["notes"])
    assert payload["validation"]["summary"]["signal"]["reliable"]
    assert comparison["points_profile"]["low"] > 0.6
    profile = load_profile(out)
    assert {c.field for c in profile.criteria} >= {"signals.client", "employees"}


def test_learn_then_report_on_synthetic_files(
    synthetic_files: SyntheticFiles, tmp_path: Path
) -> None:
    accounts, opportunities = synthetic_files(tmp_path, accounts=600, opportunities=1800, seed=3)
    out = tmp_path / "learned.toml"
    payload = _invoke(
        "learn",
        "--accounts",
        accounts,
        "--opportunities",
        opportunities,
        "--out",
        out,
        "--holdout",
        "25%",
        "--json",
    )
    assert payload["profile"]["kind"] == "learned"
    profile = load_profile(out)  # the scorer's loader, unchanged
    assert profile.version == payload["profile"]["version"]
    best = Account(
        id="X",
        industry="Technology",
        employees=800,
        country="United States",
        tech_stack=frozenset({"Salesforce", "Outreach", "Gong", "Salesloft", "HubSpot"}),
    )
    assert Scorer(profile).score(best, NO_AGGREGATES, NOW).tier == "Tier 1"
    html = tmp_path / "report.html"
    report = _invoke(
        "report",
        "--accounts",
        accounts,
        "--opportunities",
        opportunities,
        "--profile",
        out,
        "--holdout",
        "0.25",
        "--html",
        html,
        "--json",
    )
    assert report["profile"]["version"] == profile.version
    assert report["holdout"] is not None and report["comparison"]["method"] == "time"
    _assert_offline_html(html.read_text(encoding="utf-8"))
    text = CliRunner().invoke(
        cli,
        [
            "report",
            "--accounts",
            str(accounts),
            "--opportunities",
            str(opportunities),
            "--profile",
            str(out),
        ],
    )
    assert text.exit_code == 0, text.output
    assert "gradient-boosted trees (reference)" in text.output
    scored = CliRunner().invoke(cli, ["score", "--accounts", str(accounts), "--profile", str(out)])
    assert scored.exit_code == 0, scored.output


def _assert_offline_html(html: str) -> None:
    svgs = re.findall(r"<svg.*?</svg>", html, re.S)
    # win rate by tier, score distribution, lift: for all deals and for the holdout; and the
    # AUC by quarter
    assert len(svgs) == 7
    for svg in svgs:
        ET.fromstring(svg)
        assert 'class="title"' in svg and svg.count('class="axis"') == 2  # title, two axes
    assert "<pre>" not in html and "<th>AUC on held-out deals (95% CI)</th>" in html
    assert not re.search(r"(src|href)\s*=|url\(|<script|<link", html)


def test_learn_never_overwrites_without_force(
    synthetic_files: SyntheticFiles, tmp_path: Path
) -> None:
    accounts, opportunities = synthetic_files(tmp_path, accounts=30, opportunities=25, seed=1)
    out = tmp_path / "active.toml"
    out.write_text("# my profile\n")
    refused = CliRunner().invoke(
        cli,
        [
            "learn",
            "--accounts",
            str(accounts),
            "--opportunities",
            str(opportunities),
            "--out",
            str(out),
        ],
    )
    assert refused.exit_code == 2 and "--force" in refused.output
    assert out.read_text() == "# my profile\n"
    payload = _invoke(
        "learn",
        "--accounts",
        accounts,
        "--opportunities",
        opportunities,
        "--out",
        out,
        "--force",
        "--json",
    )
    # 25 deals are too few: the hypothesis profile is proposed instead of an over-fit
    assert payload["profile"]["kind"] == "hypothesis"
    assert any("too few" in n for n in payload["notes"])
    assert load_profile(out).version == default_profile().version
    assert "too few to learn from" in out.read_text()


def test_file_options_go_together(tmp_path: Path) -> None:
    accounts = tmp_path / "a.csv"
    with accounts.open("w", newline="") as handle:
        csv.writer(handle).writerow(["id"])
    result = CliRunner().invoke(cli, ["report", "--accounts", str(accounts)])
    assert result.exit_code == 2 and "--opportunities" in result.output

"""On a book with planted truths (tests/evidence/planted.py): the learned tiers are selective,
the rival-suite segment is flagged by an applied anti-ICP rule, and a planted ICP shift is
reported stale while the same book without the shift is not."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from evidence.planted import PlantedBook, is_rival, write_book

from icpsync.cli import cli
from icpsync.engine.settings import load_settings
from icpsync.engine.state import StateStore
from icpsync.evidence.dataset import Dataset, load_dataset
from icpsync.evidence.evaluate import score_examples
from icpsync.evidence.learn import candidate_fields, learn_profile
from icpsync.evidence.profile_writer import profile_from_text
from icpsync.evidence.runs import LearnOutcome, run_learn
from icpsync.evidence.scheduled import validate_profile
from icpsync.evidence.staleness import check_staleness

NOW = datetime(2026, 11, 1, tzinfo=UTC)
SHIFT = date(2026, 1, 1)


@pytest.fixture(scope="module")
def planted() -> tuple[PlantedBook, Dataset, LearnOutcome]:
    book = PlantedBook()  # 3,000 accounts, 9,000 deals, 1 in 12 a rival-suite account
    dataset = load_dataset(book.iter_accounts(), book.iter_opportunities())
    return book, dataset, run_learn(dataset, holdout=None, now=NOW, source="planted book")


def test_learned_tier_1_is_selective_and_wins(
    planted: tuple[PlantedBook, Dataset, LearnOutcome],
) -> None:
    _, _, outcome = planted
    summary = outcome.payload["validation"]["summary"]  # held-out deals, newest 20%
    tiers = {t["tier"]: t for t in summary["tiers"]}
    tier_1, tier_3 = tiers["Tier 1"], tiers["Tier 3"]
    assert tier_1["book_share"]["value"] <= 0.20  # of every account, not only those with deals
    assert tier_1["deals"] >= 100 and tier_3["deals"] >= 100
    assert tier_1["win_rate"]["value"] >= 3 * tier_3["win_rate"]["value"]
    assert tier_1["win_rate"]["value"] >= 1.5 * summary["base_rate"]
    # value by tier: Tier 1 holds more of the won revenue than of the book
    assert tier_1["won_revenue_share"]["value"] > 2 * tier_1["book_share"]["value"]
    low, high = tier_1["won_revenue_share"]["low"], tier_1["won_revenue_share"]["high"]
    assert low < tier_1["won_revenue_share"]["value"] < high
    assert tier_1["median_cycle"]["low"] <= tier_1["median_cycle"]["high"]
    profile = outcome.payload["profile"]
    assert profile["tier_policy"]["kind"] == "lift"
    book_tiers = profile["book_tiers"]
    assert book_tiers["Tier 1"] / sum(book_tiers.values()) <= 0.25


def test_rival_suite_segment_is_flagged_by_an_applied_rule(
    planted: tuple[PlantedBook, Dataset, LearnOutcome],
) -> None:
    book, dataset, outcome = planted
    assert outcome.text is not None
    profile = profile_from_text(outcome.text)
    rival_rules = [r for r in profile.anti if r.contains_any == ["RivalSuite"]]
    assert rival_rules and rival_rules[0].effect == "cap"
    assert "[[profile.anti]]" in outcome.text and "# 722 deals, win rate" in outcome.text
    scored = score_examples(profile, dataset.book(), now=NOW)
    rival = [s for s in scored if is_rival(s.example.account)]
    ordinary = [
        s
        for s in scored
        if not is_rival(s.example.account)
        and book.probability(s.example.account, SHIFT) >= dataset.base_rate / 2
    ]
    assert sum(bool(s.flags) for s in rival) >= 0.8 * len(rival)
    assert sum(bool(s.flags) for s in ordinary) <= 0.1 * len(ordinary)
    # weaker evidence stays commented out for a human
    assert any(not a["active"] for a in outcome.payload["profile"]["anti_candidates"])
    assert "# [[profile.anti]]" in outcome.text


def _stale_verdict(shift: date | None) -> dict[str, object]:
    book = PlantedBook(accounts=2000, opportunities=6000, shift_from=shift)
    dataset = load_dataset(book.iter_accounts(), book.iter_opportunities())
    before = [e for e in dataset.examples if e.deal.closed is not None and e.deal.closed < SHIFT]
    learned = learn_profile(before, candidate_fields(dataset), book=dataset.book(before=SHIFT))
    verdict = check_staleness(
        learned.profile, score_examples(learned.profile, dataset.examples, now=NOW)
    )
    assert verdict is not None
    return verdict


def test_a_planted_shift_is_stale_and_an_unshifted_book_is_not() -> None:
    shifted = _stale_verdict(SHIFT)
    assert shifted["stale"] is True
    assert any("AUC on the newest deals" in r for r in shifted["reasons"])  # type: ignore[attr-defined]
    moved = shifted["moved"][0]  # type: ignore[index]
    assert moved["criterion"] == "industry Technology" and moved["change"] < -0.2
    steady = _stale_verdict(None)
    assert steady["stale"] is False and steady["reasons"] == []


def test_report_and_the_scheduled_check_say_stale(tmp_path: Path) -> None:
    book = PlantedBook(accounts=1500, opportunities=4500, shift_from=SHIFT)
    accounts, opportunities = write_book(book, tmp_path)
    dataset = load_dataset(book.iter_accounts(), book.iter_opportunities())
    before = [e for e in dataset.examples if e.deal.closed is not None and e.deal.closed < SHIFT]
    learned = learn_profile(before, candidate_fields(dataset), book=dataset.book(before=SHIFT))
    profile_path = tmp_path / "learned.toml"
    profile_path.write_text(learned.text)
    config = tmp_path / "icpsync.toml"
    config.write_text(
        f'profile_file = "{profile_path}"\n[sync]\ncrm = "file"\n'
        f'[state]\ndir = "{tmp_path / "state"}"\n'
        f'[file]\naccounts = "{accounts}"\nopportunities = "{opportunities}"\n'
        f'output = "{tmp_path / "out.csv"}"\n'
    )
    settings = load_settings(config)
    state = StateStore(settings.state.database_url())
    try:
        verdict = validate_profile(settings, state, "file", now=NOW)
        assert verdict["stale"] is True
        assert state.last_validation("file")["stale"] is True  # type: ignore[index]
    finally:
        state.close()
    runner = CliRunner()
    for command in ("drift", "runs"):
        result = runner.invoke(cli, ["--config", str(config), command])
        assert result.exit_code == 0, result.output
        assert "profile check" in result.output and "STALE" in result.output
    report = runner.invoke(
        cli,
        [
            "report",
            "--accounts",
            str(accounts),
            "--opportunities",
            str(opportunities),
            "--profile",
            str(profile_path),
        ],
    )
    assert report.exit_code == 0, report.output
    assert "verdict: STALE" in report.output and "icpsync learn" in report.output

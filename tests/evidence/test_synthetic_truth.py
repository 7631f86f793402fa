"""On data whose deals are won with a known probability, the learned profile comes close to
the truth on the newest deals, and its tiers separate won from lost."""

from __future__ import annotations

from datetime import UTC, datetime

from icpsync.core.synthetic import SyntheticData, true_win_probability
from icpsync.evidence.dataset import load_dataset
from icpsync.evidence.holdout import plan_splits
from icpsync.evidence.learn import candidate_fields, validate
from icpsync.evidence.metrics import auc
from icpsync.evidence.summary import summarise
from icpsync.evidence.tiers import TierPolicy

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def test_learned_profile_reaches_the_true_win_probabilities_on_the_holdout() -> None:
    data = SyntheticData()  # the sandboxes' data set: 2,000 accounts, 6,000 deals, seed 7
    dataset = load_dataset(data.iter_accounts(), data.iter_opportunities())
    plan = plan_splits(dataset)
    assert plan.method == "time"
    # Tier 3 at 0.1-0.4x the base rate, as before tier policies: at this book's 59% base
    # rate the default policy's Tier 3 starts at 0.5x, so "3x Tier 3" is out of its reach
    # (the default policy is tested on the planted book, test_tiers_that_act.py)
    legacy = TierPolicy("lift", shares=(1.0, 1.0, 1.0), lifts=(1.2, 0.4, 0.1))
    validation = validate(dataset, plan, candidate_fields(dataset), now=NOW, policy=legacy)
    summary = summarise(validation.scored)
    won = [s.won for s in validation.scored]
    truth = auc([true_win_probability(s.example.account) for s in validation.scored], won)
    assert summary.auc.value >= 0.95 * truth
    tier_1, tier_3 = summary.tier("Tier 1"), summary.tier("Tier 3")
    assert tier_3.deals >= 30
    assert tier_1.win_rate.value >= 3 * tier_3.win_rate.value
    assert summary.verdict.reliable
    comparison = validation.comparison()
    assert abs(comparison["explainability_cost"]) <= 0.03

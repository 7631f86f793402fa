"""The holdout: nothing from the test period reaches the fit, and undated deals fall back
to cross-validation that says so."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from icpsync.core.errors import ConfigError
from icpsync.core.model import Account, Opportunity
from icpsync.evidence.dataset import load_dataset
from icpsync.evidence.holdout import Holdout, parse_holdout, plan_splits

START = date(2025, 1, 1)


def _dated(n: int = 200) -> tuple[list[Account], list[Opportunity]]:
    accounts = [Account(id=f"A{i}", employees=100 + i) for i in range(20)]
    opps = []
    for i in range(n):
        created = START + timedelta(days=i)
        opps.append(
            Opportunity(
                id=f"O{i}",
                account_id=f"A{i % 20}",
                is_closed=True,
                is_won=i % 3 == 0,
                created=created,
                closed=created + timedelta(days=30 + i % 7),
            )
        )
    opps.append(Opportunity(id="open", account_id="A1", is_closed=False, created=START))
    opps.append(
        Opportunity(id="orphan", account_id="nobody", is_closed=True, is_won=True, closed=START)
    )
    return accounts, opps


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0.2", Holdout(share=0.2)),
        ("25%", Holdout(share=0.25)),
        ("90d", Holdout(share=None, days=90)),
        ("30 days", Holdout(share=None, days=30)),
    ],
)
def test_parse_holdout(text: str, expected: Holdout) -> None:
    assert parse_holdout(text) == expected


@pytest.mark.parametrize("text", ["0", "1.5", "abc", "0d", "-3d"])
def test_parse_holdout_rejects_nonsense(text: str) -> None:
    with pytest.raises(ConfigError, match="--holdout"):
        parse_holdout(text)


def test_dataset_skips_open_and_orphan_deals_and_orders_by_close() -> None:
    dataset = load_dataset(*_dated())
    assert dataset.dated
    assert dataset.skipped == {"open": 1, "closed_without_account": 1}
    closes = [e.deal.closed or date.min for e in dataset.examples]
    assert closes == sorted(closes)


@pytest.mark.parametrize("holdout", [Holdout(share=0.2), Holdout(share=None, days=45)])
def test_time_split_has_no_leakage_from_the_future(holdout: Holdout) -> None:
    dataset = load_dataset(*_dated())
    plan = plan_splits(dataset, holdout)
    assert plan.method == "time" and len(plan.splits) == 1
    split = plan.splits[0]
    train = [dataset.examples[i] for i in split.train]
    test = [dataset.examples[i] for i in split.test]
    assert len(train) + len(test) == len(dataset.examples)
    latest_train = max(e.deal.closed for e in train)  # type: ignore[type-var]
    assert all(e.deal.closed >= plan.cutoff > latest_train for e in test)  # type: ignore[operator]
    # a deal's aggregates count only deals of its account closed before it was created
    by_account: dict[str, list] = {}
    for e in dataset.examples:
        by_account.setdefault(e.account.id, []).append(e.deal)
    for e in train:
        prior = [d for d in by_account[e.account.id] if d.closed < e.deal.created]
        assert e.aggregates.won_deals == sum(d.won for d in prior)
        assert e.aggregates.lost_deals == len(prior) - sum(d.won for d in prior)
        assert all(d.closed < plan.cutoff for d in prior)


def test_undated_deals_fall_back_to_cross_validation_and_say_so() -> None:
    accounts = [Account(id=f"A{i}") for i in range(60)]
    opps = [
        Opportunity(id=f"O{i}", account_id=f"A{i % 60}", is_closed=True, is_won=i % 2 == 0)
        for i in range(120)
    ]
    dataset = load_dataset(accounts, opps)
    assert not dataset.dated
    plan = plan_splits(dataset)
    assert plan.method == "cv"
    assert "no close dates" in plan.description
    assert len(plan.splits) == 5
    seen: list[int] = []
    for split in plan.splits:
        train_accounts = {dataset.examples[i].account.id for i in split.train}
        test_accounts = {dataset.examples[i].account.id for i in split.test}
        assert not train_accounts & test_accounts  # an account's deals stay together
        seen.extend(split.test)
    assert sorted(seen) == list(range(120))

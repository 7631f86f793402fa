"""Aggregates from opportunities and the write/no-write decision, on hand-made examples."""

from __future__ import annotations

import random
from dataclasses import FrozenInstanceError, replace
from datetime import UTC, date, datetime

import pytest

from icpsync.core.aggregates import AggregateBuilder
from icpsync.core.batch import OUTCOME_FIELDS, AccountBatch, ScoreBatch
from icpsync.core.diff import WRITTEN_FIELDS, Diff, update_for
from icpsync.core.model import (
    UPDATE_FIELDS,
    Account,
    Aggregates,
    CurrentIcp,
    IcpScore,
    Opportunity,
    ScoreUpdate,
)


def test_aggregates_by_hand() -> None:
    opps = [
        Opportunity(
            "1",
            "a",
            is_closed=True,
            is_won=True,
            amount=100,
            created=date(2026, 1, 1),
            closed=date(2026, 1, 31),
        ),
        Opportunity(
            "2",
            "a",
            is_closed=True,
            is_won=True,
            amount=50,
            created=date(2026, 2, 1),
            closed=date(2026, 2, 11),
        ),
        Opportunity(
            "3",
            "a",
            is_closed=True,
            is_won=True,
            amount=50,
            created=date(2026, 3, 1),
            closed=date(2026, 5, 30),
        ),
        Opportunity("4", "a", is_closed=True, is_won=False),
        Opportunity("5", "a", amount=70.5),
        Opportunity("6", "a", amount=None),
        Opportunity("7", None, is_closed=True, is_won=True),
        Opportunity("8", "b", is_closed=True, is_won=False),
    ]
    builder = AggregateBuilder()
    for opp in opps:
        builder.add(opp)
    aggs = builder.result()
    a = aggs["a"]
    assert (a.won_deals, a.lost_deals, a.open_deals, a.open_pipeline) == (3, 1, 2, 70.5)
    assert a.last_win == date(2026, 5, 30)
    assert a.sales_cycle_days == 30.0  # median of 30, 10, 90
    assert a.customer and not aggs["b"].customer
    assert set(aggs) == {"a", "b"}
    made = Aggregates(3, 1, 2, 70.5, date(2026, 5, 30), 30.0)  # as the constructor makes it
    assert a == made and hash(a) == hash(made) and repr(a) == repr(made)
    assert aggs["b"] == Aggregates(lost_deals=1) and type(a.open_pipeline) is float


def _score(**kw: object) -> IcpScore:
    base: dict[str, object] = {
        "account_id": "a",
        "score": 72,
        "tier": "Tier 1",
        "flags": ("x",),
        "contributions": (),
        "missing": (),
        "profile_version": "v1",
        "computed_tier": "Tier 1",
        "reasons": "+72 fit",
        "reasons_short": "+72 fit",
    }
    return IcpScore(**{**base, **kw})  # type: ignore[arg-type]


def test_no_update_when_the_crm_already_holds_the_values() -> None:
    held = CurrentIcp(
        score=72, tier="Tier 1", flags=("x",), reasons="+72 fit", profile_version="v1"
    )
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert update_for(Account("a", current=held), _score(), scored_at=now) is None
    for change in (
        {"score": 71},
        {"tier": "Tier 2"},
        {"flags": ()},
        {"reasons_short": "+71 fit"},
        {"profile_version": "v2"},
    ):
        update = update_for(Account("a", current=held), _score(**change), scored_at=now)
        assert update is not None and update.previous == held and update.scored_at == now
    fresh = update_for(Account("a"), _score(), scored_at=now)
    assert fresh is not None and (fresh.previous.tier, fresh.tier) == (None, "Tier 1")


def _outcome(**kw: object) -> tuple[object, ...]:
    result = _score(**kw)
    return tuple(getattr(result, name) for name in OUTCOME_FIELDS)


def test_the_batch_diff_compares_each_pair_of_shared_values_once_and_right() -> None:
    """Shared outcomes and a shared empty ``current`` (a first sync) next to accounts whose
    own values differ: each position is decided as one account alone would be."""
    held = CurrentIcp(
        score=72, tier="Tier 1", flags=("x",), reasons="+72 fit", profile_version="v1"
    )
    empty = CurrentIcp()
    same, other = _outcome(), _outcome(score=71)
    unsorted = _outcome(flags=("y", "x"))  # a rep's kept edit keeps the scorer's flags
    current = [empty, held, held, empty, held, replace(held, flags=("x", "y"))]
    outcomes = [same, same, other, same, same, unsorted]
    now = datetime(2026, 1, 1, tzinfo=UTC)
    accounts = [Account(f"a{i}", current=c) for i, c in enumerate(current)]
    positions = Diff().changed(current, outcomes)
    alone = [
        i
        for i, (a, o) in enumerate(zip(accounts, outcomes, strict=True))
        if update_for(a, IcpScore(a.id, *o), scored_at=now) is not None
    ]
    assert positions == alone == [0, 2, 3]
    run, full = Diff(), Diff(limit=0)  # one run's diff remembers outcomes across batches
    for _ in range(2):
        assert run.changed(current, outcomes) == full.changed(current, outcomes) == positions
    assert run.changed(current[::-1], outcomes) == [0, 2, 5]
    batch = AccountBatch.from_accounts(accounts)
    scores = ScoreBatch(batch.ids, outcomes)
    written = Diff().updates_at(batch, scores, positions, scored_at=now, overrides={2: "Tier 3"})
    assert [(u.account_id, u.score, u.previous, u.override) for u in written] == [
        ("a0", 72, empty, None),
        ("a2", 71, held, "Tier 3"),
        ("a3", 72, empty, None),
    ]


def test_updates_are_built_a_field_at_a_time_as_the_constructor_would() -> None:
    """``updates_at`` sets each field of every update by ``map`` (no ``__init__`` call per
    update): the same frozen updates as ``ScoreUpdate(...)``, every field set."""
    rng = random.Random(3)
    held = [CurrentIcp(), CurrentIcp(score=5, tier="Tier 3", flags=("b", "a"))]
    outcomes = [_outcome(score=s, flags=f) for s in (10, 72) for f in ((), ("y", "x"), ("a",))]
    accounts = [Account(f"a{i}", current=rng.choice(held)) for i in range(300)]
    batch = AccountBatch.from_accounts(accounts)
    scores = ScoreBatch(batch.ids, [rng.choice(outcomes) for _ in accounts])
    positions = sorted(rng.sample(range(300), 120))
    overrides = {p: "Tier 2" for p in positions[::7]}
    now = datetime(2026, 1, 1, tzinfo=UTC)
    built = [
        ScoreUpdate(
            batch.ids[p],
            scores.outcomes[p][OUTCOME_FIELDS.index("score")],
            scores.outcomes[p][OUTCOME_FIELDS.index("tier")],
            tuple(sorted(scores.outcomes[p][OUTCOME_FIELDS.index("flags")])),
            scores.outcomes[p][OUTCOME_FIELDS.index("reasons_short")],
            scores.outcomes[p][OUTCOME_FIELDS.index("profile_version")],
            now,
            batch.current[p],
            overrides.get(p),
        )
        for p in positions
    ]
    calls: list[object] = []
    init = ScoreUpdate.__init__
    try:
        ScoreUpdate.__init__ = lambda self, *a, **k: calls.append(a)  # type: ignore[method-assign]
        written = Diff().updates_at(batch, scores, positions, scored_at=now, overrides=overrides)
    finally:
        ScoreUpdate.__init__ = init  # type: ignore[method-assign]
    assert not calls
    assert written == built and list(map(hash, written)) == list(map(hash, built))
    assert [tuple(getattr(u, f) for f in UPDATE_FIELDS) for u in written] == [
        tuple(getattr(u, f) for f in UPDATE_FIELDS) for u in built
    ]
    with pytest.raises(FrozenInstanceError):
        written[0].score = 1  # type: ignore[misc]
    assert UPDATE_FIELDS[1:6] == WRITTEN_FIELDS
    assert Diff().updates_at(batch, scores, [], scored_at=now) == []


def test_the_diff_of_random_batches_is_each_position_compared_alone() -> None:
    rng = random.Random(5)
    held = [CurrentIcp(), *(CurrentIcp(score=s, tier="Tier 1", flags=("x",), reasons="+72 fit",
            profile_version="v1") for s in (71, 72))]  # fmt: skip
    outcomes = [_outcome(), _outcome(score=71), _outcome(flags=("x",)), _outcome(score=0)]
    run = Diff()
    for _ in range(20):
        current = [rng.choice(held) for _ in range(rng.randint(0, 60))]
        outs = [rng.choice(outcomes) for _ in current]
        alone = [
            i
            for i, (c, o) in enumerate(zip(current, outs, strict=True))
            if update_for(Account("a", current=c), IcpScore("a", *o), scored_at=datetime.now(UTC))
        ]
        assert run.changed(current, outs) == alone


def test_a_run_works_out_what_each_outcome_writes_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The diff and the updates of a run share what each outcome writes, batch after batch."""
    import icpsync.core.diff as diff_module

    worked: list[object] = []
    real = diff_module._written
    monkeypatch.setattr(diff_module, "_written", lambda o: worked.append(o) or real(o))
    outcomes = [_outcome(score=s) for s in (10, 20, 30)]
    accounts = [Account(f"a{i}") for i in range(30)]
    batch = AccountBatch.from_accounts(accounts)
    scores = ScoreBatch(batch.ids, [outcomes[i % 3] for i in range(30)])
    now = datetime(2026, 1, 1, tzinfo=UTC)
    run = Diff()
    for _ in range(3):
        positions = run.changed(batch.current, scores.outcomes)
        written = run.updates_at(batch, scores, positions, scored_at=now)
        assert [u.score for u in written] == [10, 20, 30] * 10
    assert len(worked) == 3

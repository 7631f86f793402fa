"""The fast scorer gives exactly the results of the reference scorer (the code before the
throughput work, frozen in tests/reference), for arbitrary profiles and accounts."""

from __future__ import annotations

from datetime import UTC, date, datetime
from types import MappingProxyType
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from reference import scoring_v1 as REFERENCE

from icpsync.core.model import TIERS, Account, Aggregates, CurrentIcp
from icpsync.core.profile import Profile
from icpsync.core.scoring import Scorer

AS_OF = datetime(2026, 11, 1, tzinfo=UTC)

WORDS = ["Technology", "technology ", "TECH", "Finance", "Education", "x", "", " ", "5", "5.0"]
NUMBERS = st.one_of(
    st.integers(-10, 3000),
    st.sampled_from([0.0, -0.0, 5.0, 199.5, 2000.0, 2e7, float("nan"), float("inf")]),
    st.floats(allow_nan=True, allow_infinity=True),
)
TEXT = st.one_of(st.sampled_from(WORDS), st.text(max_size=8))
ANY_VALUE = st.one_of(
    st.none(),
    st.booleans(),
    NUMBERS,
    TEXT,
    st.frozensets(st.sampled_from(WORDS), max_size=3),
    st.lists(st.sampled_from(WORDS), max_size=3),
)
TEXT_FIELDS = ["industry", "country", "domain", "name", "region"]
NUMBER_FIELDS = [
    "employees",
    "annual_revenue",
    "won_deals",
    "open_pipeline",
    "days_since_last_win",
    "sales_cycle_days",
    "customer",
    "signals.intent",
]
SET_FIELDS = ["tech_stack", "signals.tools"]
OPERAND = st.one_of(st.sampled_from(WORDS), st.integers(0, 10), st.sampled_from([5.0, True]))


@st.composite
def conditions(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["text", "number", "set", "missing"]))
    if kind == "text":
        field = draw(st.sampled_from([*TEXT_FIELDS, "signals.plan"]))
        op = draw(st.sampled_from(["in", "not_in"]))
        return {"field": field, op: draw(st.lists(OPERAND, min_size=1, max_size=4))}
    if kind == "number":
        field = draw(st.sampled_from(NUMBER_FIELDS))
        op = draw(st.sampled_from(["between", "at_least", "at_most", "in"]))
        if op == "between":
            low = draw(st.integers(0, 2000))
            return {"field": field, "between": [low, low + draw(st.integers(0, 2000))]}
        if op == "in":
            return {"field": field, "in": draw(st.lists(OPERAND, min_size=1, max_size=3))}
        return {"field": field, op: draw(st.integers(0, 2000))}
    if kind == "set":
        field = draw(st.sampled_from(SET_FIELDS))
        op = draw(st.sampled_from(["contains_any", "contains_all"]))
        return {"field": field, op: draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=3))}
    field = draw(st.sampled_from([*TEXT_FIELDS, *NUMBER_FIELDS, *SET_FIELDS]))
    return {"field": field, "is_missing": draw(st.booleans())}


@st.composite
def profiles(draw: st.DrawFn) -> Profile:
    criteria = [
        {**draw(conditions()), "id": f"c{i}", "points": draw(st.integers(-100, 100))}
        for i in range(draw(st.integers(0, 7)))
    ]
    if criteria and draw(st.booleans()):
        criteria[0]["label"] = draw(st.text(max_size=300))
    anti = []
    for i in range(draw(st.integers(0, 3))):
        effect = draw(st.sampled_from(["disqualify", "cap", "penalty"]))
        rule = {**draw(conditions()), "id": f"a{i}", "effect": effect}
        if effect == "cap":
            rule["cap"] = draw(st.sampled_from(TIERS[:4]))
        if effect == "penalty":
            rule["points"] = draw(st.integers(1, 100))
        anti.append(rule)
    cuts = sorted(draw(st.lists(st.integers(0, 100), min_size=3, max_size=3)), reverse=True)
    tiers = dict(zip(("tier_1", "tier_2", "tier_3"), cuts, strict=True))
    return Profile.model_validate({"criteria": criteria, "anti": anti, "tiers": tiers})


@st.composite
def accounts(draw: st.DrawFn) -> tuple[Account, Aggregates]:
    text = st.one_of(st.none(), TEXT)
    account = Account(
        id=draw(st.sampled_from(["A", "B", "C"])),
        name=draw(text),
        domain=draw(text),
        industry=draw(text),
        employees=draw(st.one_of(st.none(), st.integers(-5, 3000))),
        annual_revenue=draw(st.one_of(st.none(), NUMBERS)),
        country=draw(text),
        region=draw(text),
        tech_stack=draw(st.frozensets(st.sampled_from(WORDS), max_size=3)),
        signals=MappingProxyType(
            draw(st.dictionaries(st.sampled_from(["intent", "tools", "plan"]), ANY_VALUE))
        ),
        current=CurrentIcp(
            override=draw(st.one_of(st.none(), st.sampled_from([*TIERS, "Tier 9", ""])))
        ),
    )
    aggregates = Aggregates(
        won_deals=draw(st.integers(0, 3)),
        lost_deals=draw(st.integers(0, 3)),
        open_deals=draw(st.integers(0, 3)),
        open_pipeline=draw(st.sampled_from([0.0, 1500.0, 2e6])),
        last_win=draw(st.one_of(st.none(), st.dates(date(2020, 1, 1), date(2026, 11, 1)))),
        sales_cycle_days=draw(st.one_of(st.none(), st.sampled_from([10.0, 90.5, 400.0]))),
    )
    return account, aggregates


@settings(max_examples=250, deadline=None)
@given(profiles(), st.lists(accounts(), min_size=1, max_size=12))
def test_fast_scorer_matches_reference(
    profile: Profile, batch: list[tuple[Account, Aggregates]]
) -> None:
    fast, reference = Scorer(profile), REFERENCE.Scorer(profile)
    for account, aggregates in batch:
        expected = reference.score(account, aggregates, AS_OF)
        fresh = REFERENCE.Scorer(profile).score(account, aggregates, AS_OF)
        got = fast.score(account, aggregates, AS_OF)
        assert type(got) is type(expected)
        assert got == expected == fresh
        assert repr(got) == repr(expected)


@settings(max_examples=100, deadline=None)
@given(profiles(), st.lists(accounts(), max_size=12))
def test_score_many_matches_score(
    profile: Profile, batch: list[tuple[Account, Aggregates]]
) -> None:
    scorer = Scorer(profile)
    by_id = {account.id: aggregates for account, aggregates in batch}
    streamed = list(scorer.score_many([a for a, _ in batch], by_id, AS_OF))
    assert streamed == [REFERENCE.Scorer(profile).score(a, by_id[a.id], AS_OF) for a, _ in batch]


def test_equal_values_that_print_differently_are_not_conflated() -> None:
    """0.0 and -0.0 (and 1 and True) are equal keys but give different matched text."""
    profile = Profile.model_validate(
        {
            "criteria": [
                {"id": "r", "field": "annual_revenue", "in": [0, 1], "points": 10},
                {"id": "s", "field": "signals.flag", "in": [1], "points": 10},
            ]
        }
    )
    fast, reference = Scorer(profile), REFERENCE.Scorer(profile)
    for revenue, flag in [(0.0, 1), (-0.0, True), (1.0, 1.0), (0.0, True), (-0.0, 1)]:
        account = Account(id="A", annual_revenue=revenue, signals=MappingProxyType({"flag": flag}))
        got = fast.score(account, Aggregates(), AS_OF)
        assert repr(got) == repr(reference.score(account, Aggregates(), AS_OF))
    assert "(-0.0)" in got.reasons and "(1)" in got.reasons

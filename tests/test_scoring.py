"""The scoring core: operators, tier edges, anti-ICP effects, overrides and reasons."""

from __future__ import annotations

from datetime import UTC, date, datetime
from types import MappingProxyType
from typing import Any

import pytest

from icpsync.core.default_profile import default_profile
from icpsync.core.model import NO_AGGREGATES, Account, Aggregates, CurrentIcp
from icpsync.core.profile import Profile
from icpsync.core.scoring import Scorer, score_account

AS_OF = datetime(2026, 11, 1, tzinfo=UTC)


def profile(
    *criteria: dict[str, Any],
    anti: tuple[dict[str, Any], ...] = (),
    tiers: dict[str, int] | None = None,
) -> Profile:
    return Profile.model_validate(
        {
            "criteria": list(criteria),
            "anti": list(anti),
            "tiers": tiers or {"tier_1": 70, "tier_2": 50, "tier_3": 30},
        }
    )


def one(field: str, points: int = 10, **op: Any) -> dict[str, Any]:
    return {"id": "c", "field": field, "points": points, **op}


ACME = Account(
    id="1",
    name="Acme",
    domain="acme.com",
    industry="Technology",
    employees=500,
    annual_revenue=5e7,
    country="United States",
    tech_stack=frozenset({"Salesforce", "Gong"}),
    signals=MappingProxyType({"client": "Current", "intent": 0.8}),
)


@pytest.mark.parametrize(
    ("criterion", "account", "aggregates", "earned"),
    [
        (one("industry", **{"in": ["technology", "Finance"]}), ACME, NO_AGGREGATES, True),
        (one("industry", **{"in": ["Finance"]}), ACME, NO_AGGREGATES, False),
        (one("industry", not_in=["Education"]), ACME, NO_AGGREGATES, True),
        (one("industry", not_in=["TECHNOLOGY"]), ACME, NO_AGGREGATES, False),
        (one("employees", between=[200, 500]), ACME, NO_AGGREGATES, True),
        (one("employees", between=[501, 900]), ACME, NO_AGGREGATES, False),
        (one("employees", at_least=500), ACME, NO_AGGREGATES, True),
        (one("employees", at_most=499), ACME, NO_AGGREGATES, False),
        (one("annual_revenue", at_most=5e7), ACME, NO_AGGREGATES, True),
        (one("tech_stack", contains_any=["gong", "Outreach"]), ACME, NO_AGGREGATES, True),
        (one("tech_stack", contains_all=["Gong", "Salesforce"]), ACME, NO_AGGREGATES, True),
        (one("tech_stack", contains_all=["Gong", "HubSpot"]), ACME, NO_AGGREGATES, False),
        (one("region", is_missing=True), ACME, NO_AGGREGATES, True),
        (one("country", is_missing=True), ACME, NO_AGGREGATES, False),
        (one("signals.client", **{"in": ["current"]}), ACME, NO_AGGREGATES, True),
        (one("signals.intent", at_least=0.5), ACME, NO_AGGREGATES, True),
        (one("customer", **{"in": [True]}), ACME, Aggregates(won_deals=1), True),
        (one("customer", **{"in": [True]}), ACME, NO_AGGREGATES, False),
        (one("won_deals", at_least=2), ACME, Aggregates(won_deals=2), True),
        (one("open_pipeline", at_least=1000), ACME, Aggregates(open_pipeline=999.0), False),
        (
            one("days_since_last_win", at_most=31),
            ACME,
            Aggregates(won_deals=1, last_win=date(2026, 10, 1)),
            True,
        ),
        (
            one("days_since_last_win", at_most=30),
            ACME,
            Aggregates(won_deals=1, last_win=date(2026, 10, 1)),
            False,
        ),
        (one("sales_cycle_days", between=[30, 90]), ACME, Aggregates(sales_cycle_days=45.0), True),
    ],
)
def test_operators(
    criterion: dict[str, Any], account: Account, aggregates: Aggregates, earned: bool
) -> None:
    result = score_account(account, aggregates, profile(criterion), as_of=AS_OF)
    assert result.score == (10 if earned else 0)


def test_missing_inputs_earn_nothing_and_are_named_once() -> None:
    bare = Account(id="2")
    p = profile(
        one("employees", at_least=1),
        {**one("employees", between=[1, 9]), "id": "d"},
        {**one("industry", **{"in": ["x"]}), "id": "e"},
        {**one("industry", not_in=["x"]), "id": "f"},
    )
    result = score_account(bare, NO_AGGREGATES, p, as_of=AS_OF)
    assert result.score == 0
    assert result.missing == ("employees", "industry")
    assert result.reasons.endswith("missing: employees, industry")


@pytest.mark.parametrize(
    ("points", "tier"),
    [
        (70, "Tier 1"),
        (69, "Tier 2"),
        (50, "Tier 2"),
        (49, "Tier 3"),
        (30, "Tier 3"),
        (29, "Not ICP"),
        (0, "Not ICP"),
    ],
)
def test_tier_edges(points: int, tier: str) -> None:
    p = profile(one("employees", points=points, at_least=0)) if points else profile()
    result = score_account(ACME, NO_AGGREGATES, p, as_of=AS_OF)
    assert (result.score, result.tier) == (points, tier)


def test_score_is_clamped_to_0_100() -> None:
    p = profile(
        one("employees", points=80, at_least=0),
        {**one("industry", points=80, **{"in": ["Technology"]}), "id": "x"},
    )
    assert score_account(ACME, NO_AGGREGATES, p, as_of=AS_OF).score == 100
    negative = profile(one("employees", points=-60, at_least=0))
    assert score_account(ACME, NO_AGGREGATES, negative, as_of=AS_OF).score == 0


def _anti(effect: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": "competitor",
        "label": "competitor",
        "field": "domain",
        "in": ["acme.com"],
        "effect": effect,
        **extra,
    }


def test_anti_icp_effects() -> None:
    base = one("employees", points=80, at_least=0)
    disq = score_account(
        ACME, NO_AGGREGATES, profile(base, anti=(_anti("disqualify"),)), as_of=AS_OF
    )
    assert (disq.score, disq.tier, disq.flags) == (0, "Anti-ICP", ("competitor",))
    assert "anti-ICP: competitor (disqualified)" in disq.reasons
    cap = score_account(
        ACME, NO_AGGREGATES, profile(base, anti=(_anti("cap", cap="Tier 3"),)), as_of=AS_OF
    )
    assert (cap.score, cap.tier) == (80, "Tier 3")
    assert "capped at Tier 3" in cap.reasons
    pen = score_account(
        ACME, NO_AGGREGATES, profile(base, anti=(_anti("penalty", points=30),)), as_of=AS_OF
    )
    assert (pen.score, pen.tier) == (50, "Tier 2")
    assert pen.reasons.startswith("+80 employees at least 0; -30 anti-ICP: competitor")
    miss = score_account(
        Account(id="x", domain="other.com", employees=10),
        NO_AGGREGATES,
        profile(base, anti=(_anti("disqualify"),)),
        as_of=AS_OF,
    )
    assert miss.flags == () and miss.tier == "Tier 1"


def test_manual_override_wins_and_says_so() -> None:
    held = Account(id="3", employees=5, current=CurrentIcp(override="Tier 1"))
    result = score_account(
        held, NO_AGGREGATES, profile(one("employees", at_least=100)), as_of=AS_OF
    )
    assert result.tier == "Tier 1" and result.computed_tier == "Not ICP" and result.overridden
    assert result.reasons.startswith("manual override: Tier 1 (computed Not ICP)")


def test_reasons_are_ordered_by_size_with_matched_values() -> None:
    result = score_account(ACME, NO_AGGREGATES, default_profile(), as_of=AS_OF)
    assert result.reasons.startswith(
        "+25 target industry (Technology); +20 employees 200-2,000; +15 revenue $20M-$500M; "
        "+15 North America (United States); +15 CRM in tech stack (Salesforce); "
        "+10 sales-engagement tool in tech stack (Gong)"
    )
    assert result.score == 100 and result.tier == "Tier 1"


def test_short_reasons_fit_255_characters() -> None:
    criteria = [
        {
            "id": f"c{i}",
            "label": f"criterion number {i} with a fairly long label",
            "field": "employees",
            "at_least": 0,
            "points": 1,
        }
        for i in range(20)
    ]
    result = score_account(ACME, NO_AGGREGATES, profile(*criteria), as_of=AS_OF)
    assert len(result.reasons) > 255
    assert len(result.reasons_short) <= 255
    assert result.reasons_short.endswith("…")
    assert result.reasons.startswith(result.reasons_short[:-1].rstrip("; "))


def test_same_input_same_output_and_scorer_equals_function() -> None:
    scorer = Scorer(default_profile())
    first = scorer.score(ACME, NO_AGGREGATES, AS_OF)
    assert first == scorer.score(ACME, NO_AGGREGATES, AS_OF)
    assert first == score_account(ACME, NO_AGGREGATES, default_profile(), as_of=AS_OF)


def test_profile_version_changes_with_content_not_name() -> None:
    a = profile(one("employees", at_least=10))
    b = Profile.model_validate({**a.model_dump(by_alias=True), "name": "renamed"})
    c = profile(one("employees", at_least=11))
    assert a.version == b.version != c.version
    assert len(a.version) == 10


def test_the_deciding_anti_icp_note_comes_first_and_survives_shortening() -> None:
    from icpsync.core.reasons import join_reasons

    parts = [
        "+25 target industry (Technology)",
        "+20 employees 200-2,000",
        "-30 anti-ICP: competitor",
        "anti-ICP: excluded industry (capped at Not ICP)",
        "missing: " + ", ".join(["annual revenue"] * 20),
    ]
    full, short = join_reasons(parts)
    assert full.startswith("anti-ICP: excluded industry (capped at Not ICP); +25 target")
    assert "-30 anti-ICP: competitor" in full  # penalties keep their place by size
    assert short.startswith("anti-ICP: excluded industry") and len(short) <= 255
    assert join_reasons([]) == ("no ICP criteria matched", "no ICP criteria matched")


def test_outcome_codes_started_afresh_score_as_before(monkeypatch: pytest.MonkeyPatch) -> None:
    """A field that has named as many outcomes as it remembers starts afresh between
    batches (its codes renamed, the score keys forgotten): every account still gets what it
    gets scored alone, when a code names another outcome in the next batch."""
    monkeypatch.setattr("icpsync.core.checks.VALUE_CACHE_LIMIT", 5)

    def accounts(*industries: str) -> list[Account]:
        return [Account(id=str(i), industry=v, employees=300) for i, v in enumerate(industries)]

    first = accounts("Technology", "Software", "Finance")
    for then in (accounts("Technology"), accounts("Software"), accounts("Finance")):
        scorer = Scorer(default_profile())  # the one next gets the first new code again
        batched = list(scorer.score_many(first, {}, AS_OF))
        assert any(field.full for field in scorer._fields)
        batched += scorer.score_many(then, {}, AS_OF)
        assert batched == [
            score_account(a, NO_AGGREGATES, default_profile(), as_of=AS_OF) for a in first + then
        ]

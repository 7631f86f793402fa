"""Point conversion: the worst bin of a trait is 0, the best account scores about 100,
equal points merge into one criterion, and tiers follow the expected win rate."""

from __future__ import annotations

from collections.abc import Callable

from icpsync.core.model import Account
from icpsync.evidence.binning import Bin, Feature
from icpsync.evidence.dataset import Example
from icpsync.evidence.fit import FittedModel
from icpsync.evidence.points import PointsProfile, Rule, tier_thresholds, to_points
from icpsync.evidence.profile_writer import profile_from_text, render_profile
from icpsync.evidence.tiers import LIFT_POLICY, SHARE_POLICY, TierPolicy

MakeExample = Callable[..., Example]


SIZE = Feature(
    "employees",
    "numeric",
    (
        Bin("employees", "range", None, 199.0),
        Bin("employees", "range", 200.0, 1999.0),
        Bin("employees", "range", 2000.0, None),
    ),
)
INDUSTRY = Feature(
    "industry",
    "categorical",
    (
        Bin("industry", "values", values=("Finance",)),
        Bin("industry", "values", values=("Tech",)),
        Bin("industry", "other", values=("Finance", "Tech")),
    ),
)
STACK = Feature(
    "tech_stack",
    "items",
    (
        Bin("tech_stack", "item", values=("Salesforce",)),
        Bin("tech_stack", "item", values=("Shopify",)),
    ),
)


def _examples(make_example: MakeExample) -> list[Example]:
    accounts = [
        Account(id="A1", employees=500, industry="Tech", tech_stack=frozenset({"Salesforce"})),
        Account(id="A2", employees=50, industry="Retail", tech_stack=frozenset({"Shopify"})),
        Account(id="A3", employees=5000, industry="Finance"),
    ]
    return [make_example(f"D{i}", accounts[i % 3], i % 3 == 0) for i in range(30)]


def test_points_shift_the_worst_bin_to_zero_and_scale_to_100(make_example: MakeExample) -> None:
    # best of each trait above its worst: size 1.5, industry 1.0, items 0.5 -> scale 100 / 3
    model = FittedModel(
        (SIZE, INDUSTRY, STACK), ((-0.5, 1.0, 0.0), (0.5, 0.5, -0.5), (0.5, -0.5)), 0.0, 1.0
    )
    points = to_points(model, _examples(make_example))
    by_label = {r.bin.label: r.points for r in points.rules}
    assert by_label == {
        "employees 200-1,999": 50,  # (1.0 + 0.5) * 100 / 3
        "employees at least 2,000": 17,
        "industry Finance, Tech": 33,  # equal points: one criterion
        "Salesforce in tech stack": 17,
        "Shopify in tech stack": -17,  # lowers the odds: negative, no "not contains"
    }
    assert by_label["employees 200-1,999"] + by_label["industry Finance, Tech"] + 17 == 100
    evidence = {r.bin.label: (r.deals, r.wins) for r in points.rules}
    assert evidence["employees 200-1,999"] == (10, 10)
    assert evidence["industry Finance, Tech"] == (20, 10)


def test_learned_points_render_as_a_profile_the_loader_accepts(make_example: MakeExample) -> None:
    model = FittedModel(
        (SIZE, INDUSTRY, STACK), ((-0.5, 1.0, 0.0), (0.5, 0.5, -0.5), (0.5, -0.5)), 0.0, 1.0
    )
    points = to_points(model, _examples(make_example))
    text = render_profile(points, name="Learned", description="test", header=["from a test"])
    profile = profile_from_text(text)
    criteria = {c.id: c for c in profile.criteria}
    assert criteria["employees_200_1999"].between == (200.0, 1999.0)
    assert criteria["industry_finance_tech"].in_ == ["Finance", "Tech"]
    assert criteria["shopify_in_tech_stack"].points == -17
    assert "# 10 deals, win rate 100.0% (base rate 33.3%)" in text
    assert text.startswith("# from a test\n")


def test_tiers_follow_the_expected_win_rate(make_example: MakeExample) -> None:
    rule = Rule((Bin("employees", "range", 200.0, None),), 80, 0, 0)
    profile = PointsProfile((rule,), (), (0, 0, 0), 0, 0)
    big, small = Account(id="B", employees=500), Account(id="S", employees=10)
    examples = [make_example(f"B{i}", big, i % 10 < 8) for i in range(50)]
    examples += [make_example(f"S{i}", small, i % 10 < 2) for i in range(50)]
    # the lift policy without share caps, at the multiples learn used before tier policies
    lifts_only = TierPolicy("lift", shares=(1.0, 1.0, 1.0), lifts=(1.2, 0.4, 0.1))
    t1, t2, t3 = tier_thresholds(profile, examples, policy=lifts_only)
    # base rate 0.5; the logistic fit gives 0.2 at score 0 and 0.8 at 80, so Tier 1
    # (0.6 expected) starts between them, Tier 2 (0.2) at 0-1, Tier 3 at the floor of 1.
    assert 0 < t1 < 80
    assert t2 <= 1 and t3 == 1


def test_tier_policies_cap_shares_of_the_whole_book(make_example: MakeExample) -> None:
    rule = Rule((Bin("employees", "range", 200.0, None),), 80, 0, 0)
    profile = PointsProfile((rule,), (), (0, 0, 0), 0, 0)
    big, small = Account(id="B", employees=500), Account(id="S", employees=10)
    examples = [make_example(f"B{i}", big, i % 10 < 8) for i in range(50)]
    examples += [make_example(f"S{i}", small, i % 10 < 2) for i in range(50)]
    # a book where 30% of the accounts are big: more than Tier 1's 20% cap
    book = [make_example(f"K{i}", big if i < 30 else small, False) for i in range(100)]
    # share: no cut-off at or under 80 keeps Tier 1 within 20%; Tiers 1-2 then hold the
    # big accounts (30% <= 50%) and everything above score 0 is Tier 3 at least
    assert tier_thresholds(profile, examples, policy=SHARE_POLICY, book=book) == (81, 1, 1)
    # lift: 2x a base rate of 0.5 is out of reach, so Tier 1 starts where the expected
    # loss rate is half the base loss rate (win rate 0.75, short of the big accounts' 0.8)
    # but may hold only 20% of the book: empty; Tiers 2 and 3 start where 0.5x the base
    # rate (0.25) is expected, between the small (0.2) and big (0.8) accounts
    t1, t2, t3 = tier_thresholds(profile, examples, policy=LIFT_POLICY, book=book)
    assert t1 == 81 and 0 < t2 == t3 <= 80
    lifted = tier_thresholds(
        profile, examples, policy=TierPolicy("lift", (0.4, 0.5, 1.0), (2.0, 0.5, 0.5)), book=book
    )
    assert 0 < lifted[0] <= 80  # with room in the book, the big accounts reach Tier 1
    text = render_profile(
        PointsProfile((rule,), (), (t1, t2, t3), 100, 50, LIFT_POLICY), name="x", description=""
    )
    tiers = profile_from_text(text).tiers
    assert (tiers.policy, tiers.lifts, tiers.shares) == ("lift", (2.0, 0.5, 0.5), (0.2, 0.5, 1.0))
    assert (tiers.tier_1, tiers.tier_2, tiers.tier_3) == (t1, t2, t3)

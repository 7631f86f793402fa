"""What ``learn`` and ``report`` do, as plain functions returning plain data.

``run_learn`` validates the learning procedure, then either proposes a learned profile,
says plainly that no reliable signal was found (and proposes nothing), or, with too few
closed deals, falls back to the hypothesis profile. ``run_report`` judges a given profile
on the closed deals, optionally on the newest ones only, next to what a learned profile
and the reference trees reach on the same data.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from typing import Any

from icpsync.core.profile import Profile
from icpsync.evidence.dataset import Dataset
from icpsync.evidence.evaluate import ScoredDeal, score_examples
from icpsync.evidence.fit import Objective
from icpsync.evidence.holdout import Holdout, plan_splits
from icpsync.evidence.learn import candidate_fields, learn_profile, validate
from icpsync.evidence.metrics import wilson
from icpsync.evidence.staleness import check_staleness, quarter_trend
from icpsync.evidence.summary import MIN_DEALS, summarise
from icpsync.evidence.tiers import LIFT_POLICY, TierPolicy

log = logging.getLogger(__name__)


def data_summary(dataset: Dataset) -> dict[str, Any]:
    """Counts describing the closed deals read."""
    closes = [e.deal.closed for e in dataset.examples if e.deal.closed is not None]
    return {
        "closed_deals": len(dataset.examples),
        "wins": dataset.wins,
        "accounts": len(dataset.accounts),
        "accounts_with_deals": len({e.account.id for e in dataset.examples}),
        "dated": dataset.dated,
        "first_close": min(closes).isoformat() if dataset.dated and closes else None,
        "last_close": max(closes).isoformat() if dataset.dated and closes else None,
        "skipped": dict(dataset.skipped),
    }


@dataclass(frozen=True)
class LearnOutcome:
    """What ``learn`` found and the profile text to write (None: write nothing)."""

    payload: dict[str, Any]
    text: str | None


def hypothesis_text(n_deals: int) -> str:
    """The built-in default profile's TOML with a header saying why it is proposed."""
    body = resources.files("icpsync.core").joinpath("profiles/default.toml").read_text("utf-8")
    header = (
        f"# Hypothesis profile: only {n_deals} closed deals, too few to learn from (at least "
        f"{MIN_DEALS} are needed).\n# This is the built-in default; edit it to your market and "
        "run `icpsync learn` again once more deals have closed.\n"
    )
    return header + body


def run_learn(
    dataset: Dataset,
    *,
    holdout: Holdout | None,
    ignore: Sequence[str] = (),
    now: datetime,
    source: str,
    seed: int = 0,
    objective: Objective = "wins",
    policy: TierPolicy = LIFT_POLICY,
) -> LearnOutcome:
    """Validate, then learn (or decline to learn) a profile from ``dataset``; tiers follow
    ``policy``, points rank by ``objective`` (wins, or expected won revenue)."""
    payload: dict[str, Any] = {
        "data": data_summary(dataset),
        "validation": None,
        "profile": {"kind": None},
        "notes": [],
    }
    notes: list[str] = payload["notes"]
    n = len(dataset.examples)
    if n < MIN_DEALS or dataset.wins == 0 or dataset.wins == n:
        notes.append(
            f"only {n} closed deals ({dataset.wins} won): too few to learn from; "
            f"proposing the hypothesis profile (the built-in default) instead"
        )
        payload["profile"] = {"kind": "hypothesis"}
        return LearnOutcome(payload, hypothesis_text(n))
    fields = candidate_fields(dataset, ignore)
    plan = plan_splits(dataset, holdout, seed=seed)
    if plan.method == "cv":
        notes.append(f"validated by {plan.description}")
    validation = validate(
        dataset, plan, fields, now=now, seed=seed, policy=policy, objective=objective
    )
    summary = summarise(validation.scored, seed=seed, book_tiers=validation.book_tiers)
    payload["validation"] = {
        "summary": summary.to_dict(),
        "comparison": validation.comparison(seed=seed),
    }
    if not summary.verdict.reliable:
        notes.append(
            "no reliable signal: the closed deals do not separate won from lost on these "
            "traits, so no profile is proposed; keep your hypothesis profile"
        )
        payload["profile"] = {"kind": "none"}
        return LearnOutcome(payload, None)
    first, last = payload["data"]["first_close"], payload["data"]["last_close"]
    period = f", closed {first} to {last}" if first else " (no close dates)"
    t1 = summary.tier("Tier 1").win_rate
    low = [summary.tier(t) for t in ("Tier 3", "Not ICP", "Anti-ICP")]
    header = [
        f"Learned by `icpsync learn` from {source}: {n:,} closed deals, "
        f"{dataset.wins:,} won{period}.",
        f"Validation ({plan.description}):",
        f"  AUC {summary.auc.value:.3f} ({summary.auc.low:.3f}-{summary.auc.high:.3f}); "
        f"gradient-boosted trees on the same traits "
        f"{payload['validation']['comparison']['reference_trees']['value']:.3f};",
        f"  Tier 1 won {t1.value:.1%}, Tier 3 and below "
        f"{sum(r.wins for r in low) / max(1, sum(r.deals for r in low)):.1%}.",
        f"Points rank accounts by expected {'won revenue' if objective == 'revenue' else 'wins'}"
        "; within each trait the weakest group earns 0 points, the best account about 100.",
        "The profile itself is learned from every closed deal. Review each criterion before use.",
        "",
    ]
    learned = learn_profile(
        dataset.examples,
        fields,
        book=dataset.book(),
        policy=policy,
        objective=objective,
        name="Learned ICP profile",
        description=f"Learned from {n} closed deals of {source}",
        header=header,
        seed=seed,
    )
    base = dataset.base_rate
    payload["profile"] = {
        "kind": "learned",
        "version": learned.profile.version,
        "tiers": list(learned.points.tiers),
        "tier_policy": {"kind": policy.kind, "description": policy.describe()},
        "objective": objective,
        "book_tiers": dict(
            Counter(s.tier for s in score_examples(learned.profile, dataset.book(), now=now))
        ),
        "criteria": [
            {
                "label": r.bin.label,
                "field": r.field,
                "points": r.points,
                "deals": r.deals,
                "win_rate": r.win_rate,
            }
            for r in sorted(learned.points.rules, key=lambda r: (r.field, -r.points))
        ],
        "anti_candidates": [
            {
                "label": r.bin.label,
                "deals": r.deals,
                "win_rate": r.win_rate,
                "base_rate": base,
                "active": r.active,
            }
            for r in learned.points.anti
        ],
    }
    return LearnOutcome(payload, learned.text)


def run_report(
    dataset: Dataset,
    profile: Profile,
    *,
    holdout: Holdout | None,
    ignore: Sequence[str] = (),
    now: datetime,
    seed: int = 0,
) -> dict[str, Any]:
    """Judge ``profile`` on the closed deals (and the newest ones when ``holdout`` is given)."""
    notes: list[str] = []
    scored = score_examples(profile, dataset.examples, now=now)
    book = score_examples(profile, dataset.book(), now=now)
    book_tiers = Counter(s.tier for s in book)
    payload: dict[str, Any] = {
        "data": data_summary(dataset),
        "profile": {
            "name": profile.name,
            "version": profile.version,
            "tier_policy": profile.tiers.policy,
        },
        "all": summarise(scored, seed=seed, book_tiers=book_tiers).to_dict(),
        "anti_rules": anti_rule_figures(profile, scored, book),
        "holdout": None,
        "comparison": None,
        "staleness": None,
        "trend": quarter_trend(scored, seed=seed),
        "notes": notes,
    }
    if len(dataset.examples) < MIN_DEALS:
        notes.append(
            f"only {len(dataset.examples)} closed deals: every figure is too uncertain to act on"
        )
        return payload
    plan = plan_splits(dataset, holdout, seed=seed)
    if holdout is not None:
        if plan.method == "time":
            test = set(plan.splits[0].test)
            held = [s for i, s in enumerate(scored) if i in test]
            payload["holdout"] = {
                "description": f"newest deals only ({holdout}, closed from {plan.cutoff})",
                "summary": summarise(held, seed=seed, book_tiers=book_tiers).to_dict(),
            }
        else:
            notes.append(f"no time holdout: {plan.description}")
    cutoff = plan.cutoff if holdout is not None and plan.method == "time" else None
    payload["staleness"] = check_staleness(profile, scored, cutoff=cutoff, seed=seed)
    if payload["staleness"] and payload["staleness"]["stale"]:
        notes.append("the profile is stale: run `icpsync learn` to propose a new one")
    fields = candidate_fields(dataset, ignore)
    validation = validate(dataset, plan, fields, now=now, seed=seed)
    payload["comparison"] = validation.comparison(seed=seed)
    if plan.method == "cv":
        notes.append(f"comparison uses {plan.description}")
    notes.append(
        "figures on all closed deals are in-sample when the profile was learned from "
        "these deals; the comparison and the holdout are not"
    )
    return payload


def anti_rule_figures(
    profile: Profile, scored: Sequence[ScoredDeal], book: Sequence[ScoredDeal]
) -> list[dict[str, Any]]:
    """Per anti-ICP rule: the book's accounts it flags and the win rate of its deals."""
    rows = []
    for rule in profile.anti:
        deals = [s for s in scored if rule.id in s.flags]
        rate = wilson(sum(s.won for s in deals), len(deals))
        rows.append(
            {
                "id": rule.id,
                "label": rule.label or rule.id,
                "effect": rule.effect if rule.effect != "cap" else f"cap at {rule.cap}",
                "accounts": sum(rule.id in s.flags for s in book),
                "book_share": round(sum(rule.id in s.flags for s in book) / len(book), 4)
                if book
                else None,
                "deals": len(deals),
                "win_rate": rate.to_dict() if deals else None,
            }
        )
    return rows

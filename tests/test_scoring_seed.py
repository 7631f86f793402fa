"""Reasons do not depend on the interpreter's hash seed (a set holding case variants)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = """
from datetime import UTC, datetime
from icpsync.core.model import NO_AGGREGATES, Account
from icpsync.core.profile import Profile
from icpsync.core.scoring import Scorer
profile = Profile.model_validate({
    "criteria": [
        {"id": "stack", "field": "tech_stack", "points": 20,
         "contains_any": ["salesforce", "gong"]},
        {"id": "intent", "field": "signals.tools", "points": 10, "contains_any": ["slack"]},
    ],
    "anti": [],
    "tiers": {"tier_1": 70, "tier_2": 50, "tier_3": 30},
})
account = Account(
    id="1",
    tech_stack=frozenset({"Salesforce", "salesforce", "SALESFORCE", "Gong", "gong "}),
    signals={"tools": {"Slack", "slack", "SLACK "}},
)
print(Scorer(profile).score(account, NO_AGGREGATES, datetime(2026, 11, 1, tzinfo=UTC)).reasons)
"""


def _reasons(seed: int) -> str:
    env = {**os.environ, "PYTHONHASHSEED": str(seed), "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def test_case_variants_in_a_set_give_the_same_reasons_under_any_hash_seed() -> None:
    reasons = {seed: _reasons(seed) for seed in (0, 1, 2, 3, 4, 5)}
    assert set(reasons.values()) == {
        "+20 tech stack has one of salesforce, gong (Gong, SALESFORCE); "
        "+10 tools has one of slack (SLACK)"
    }, reasons

"""``[profile.tiers] policy``: hand-written profiles stay valid and keep their version, a
stated policy is checked and followed by ``learn``; the revenue objective weighs won deals
by their amount."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from icpsync.core.default_profile import default_profile
from icpsync.core.errors import ConfigError
from icpsync.core.model import Account
from icpsync.core.profile import load_profile
from icpsync.evidence.dataset import Example
from icpsync.evidence.fit import deal_weights
from icpsync.evidence.tiers import LIFT_POLICY, SHARE_POLICY, TierPolicy, policy_for

BASE = """[profile]
name = "x"
[profile.tiers]
{tiers}
tier_1 = 70
tier_2 = 50
tier_3 = 30
[[profile.criteria]]
id = "big"
field = "employees"
at_least = 200
points = 60
"""


def _profile(tmp_path: Path, tiers: str) -> Path:
    path = tmp_path / "profile.toml"
    path.write_text(BASE.format(tiers=tiers))
    return path


def test_fixed_cut_offs_stay_the_default_and_policies_do_not_change_the_version(
    tmp_path: Path,
) -> None:
    assert default_profile().tiers.policy == "fixed"
    fixed = load_profile(_profile(tmp_path, ""))
    stated = load_profile(_profile(tmp_path, 'policy = "share"\nshares = [0.1, 0.4, 0.7]'))
    assert stated.tiers.policy == "share" and stated.tiers.shares == (0.1, 0.4, 0.7)
    assert stated.version == fixed.version  # scoring reads only the cut-offs
    assert policy_for(fixed.tiers) == LIFT_POLICY  # learn's default for hand-written tiers
    assert policy_for(stated.tiers) == TierPolicy("share", (0.1, 0.4, 0.7))
    lift = load_profile(_profile(tmp_path, 'policy = "lift"\nlifts = [3.0, 1.0, 0.5]'))
    assert policy_for(lift.tiers) == TierPolicy("lift", LIFT_POLICY.shares, (3.0, 1.0, 0.5))
    assert policy_for(load_profile(_profile(tmp_path, 'policy = "share"')).tiers) == SHARE_POLICY


@pytest.mark.parametrize(
    ("tiers", "expected"),
    [
        ('policy = "quantile"', "profile.tiers.policy"),
        ('policy = "share"\nshares = [0.5, 0.2, 0.8]', "profile.tiers"),
        ("shares = [0.2, 0.5, 0.8]", "profile.tiers"),
    ],
)
def test_a_wrong_policy_names_the_file_and_key(tmp_path: Path, tiers: str, expected: str) -> None:
    path = _profile(tmp_path, tiers)
    with pytest.raises(ConfigError) as err:
        load_profile(path)
    assert err.value.key == expected and str(path) in str(err.value)


def test_revenue_objective_weighs_won_deals_by_amount(
    make_example: Callable[..., Example],
) -> None:
    account = Account(id="A")
    deals = [
        make_example("W1", account, True, amount=30_000.0),
        make_example("W2", account, True, amount=10_000.0),
        make_example("W3", account, True),
        make_example("L1", account, False, amount=50_000.0),
    ]
    assert deal_weights(deals, "wins").tolist() == [1.0, 1.0, 1.0, 1.0]
    assert np.allclose(deal_weights(deals, "revenue"), [1.5, 0.5, 1.0, 1.0])


def test_learn_follows_the_configured_policy_and_objective(
    tmp_path: Path, synthetic_files: Callable[..., tuple[Path, Path]]
) -> None:
    import json

    from click.testing import CliRunner

    from icpsync.cli import cli

    accounts, opportunities = synthetic_files(tmp_path, accounts=600, opportunities=1800, seed=3)
    config = tmp_path / "icpsync.toml"
    config.write_text(f'profile_file = "{_profile(tmp_path, chr(10).join(SHARE_LINES))}"\n')
    out = tmp_path / "learned.toml"
    args = ["--config", config, "learn", "--accounts", accounts, "--opportunities", opportunities]
    result = CliRunner().invoke(
        cli, [str(a) for a in [*args, "--out", out, "--objective", "revenue", "--json"]]
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["profile"]["objective"] == "revenue"
    assert payload["profile"]["tier_policy"]["kind"] == "share"
    learned = load_profile(out)
    assert learned.tiers.policy == "share" and learned.tiers.shares == (0.25, 0.5, 0.75)
    book = payload["profile"]["book_tiers"]
    assert book.get("Tier 1", 0) <= 0.25 * sum(book.values())
    bad = CliRunner().invoke(cli, [str(a) for a in [*args, "--out", out, "--objective", "deals"]])
    assert bad.exit_code == 2


SHARE_LINES = ('policy = "share"', "shares = [0.25, 0.5, 0.75]")

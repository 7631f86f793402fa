"""State is kept by org: a second org under the same state is a full first run. A rep's
direct edit of the tier is kept as the override (``human_edits = "keep"``) through later
runs, or reverted and reported (``"revert"``)."""

from __future__ import annotations

from collections import Counter

from contract.harness import ACCOUNTS, CrmUnderTest
from icpsync.core.model import ANTI_ICP, TIER_1, TIER_3

#: seeded accounts a rep re-tiers by hand.
EDITED = ("A0000002", "A0000030", "A0000064", "A0000099")


def test_a_second_org_under_one_state_is_scored_in_full(crm: CrmUnderTest) -> None:
    first = crm.sync()
    assert crm.sync().mode == "incremental"
    second_org = crm.use_org(2)
    crm.reset_counts()

    report = crm.sync()

    assert report.org == second_org and second_org != first.org
    assert report.mode == "full" and report.status == "complete"
    assert report.accounts_read == report.scored == report.written == ACCOUNTS
    assert len(crm.write_counts()) == ACCOUNTS
    assert crm.held() == crm.expected(report)  # every account of the new org scored
    assert crm.sync().mode == "incremental"
    crm.use_org(1)
    back = crm.sync()
    assert back.mode == "incremental" and back.written == 0  # the first org's cursor stands
    orgs = [r["org"] for r in reversed(crm.runs())]
    assert orgs == [first.org] * 2 + [second_org] * 2 + [first.org]


def _rep_edits(crm: CrmUnderTest) -> dict[str, tuple[str, str]]:
    """A rep re-tiers the :data:`EDITED` accounts: id -> (the tier we wrote, the rep's)."""
    held = crm.held()
    edits = {}
    for seed in EDITED:
        rid = crm.account_id(seed)
        ours = held[rid].tier
        assert ours is not None
        theirs = TIER_3 if ours != TIER_3 else TIER_1
        crm.rep_sets_tier(rid, theirs)
        edits[rid] = (ours, theirs)
    return edits


def test_a_reps_tier_edit_is_kept_as_the_override_through_later_runs(crm: CrmUnderTest) -> None:
    crm.sync()
    crm.sync()  # its cursor passes the first run's own writes
    edits = _rep_edits(crm)
    crm.reset_counts()

    report = crm.sync(full=not crm.edits_seen_by_incremental)

    found = {e["account_id"]: (e["ours"], e["rep_value"], e["action"]) for e in report.human_edits}
    assert found == {rid: (ours, theirs, "kept") for rid, (ours, theirs) in edits.items()}
    assert report.drift["human_edits"] == len(edits) and report.drift["tier_changed"] == 0
    assert not report.transitions  # an edit is no tier change of the profile
    assert report.written == len(edits) and set(crm.write_counts()) == set(edits)
    held = crm.held()
    assert crm.overrides() == {rid: theirs for rid, (_, theirs) in edits.items()}
    for rid, (ours, theirs) in edits.items():
        assert held[rid].tier == theirs
        assert f"tier set by a rep: {theirs} (was {ours})" in (held[rid].reasons or "")
    crm.reset_counts()

    incremental = crm.sync()
    full = crm.sync(full=True)

    assert incremental.mode == "incremental" and incremental.written == 0
    assert full.mode == "full" and full.written == 0 and not full.human_edits
    assert crm.write_counts() == Counter() and crm.held() == held


def test_a_persons_override_is_honoured_after_a_reps_edit_was_kept(crm: CrmUnderTest) -> None:
    crm.sync()
    crm.sync()
    edits = _rep_edits(crm)
    crm.sync(full=not crm.edits_seen_by_incremental)  # the edits become overrides
    kept = crm.held()
    other = crm.account_id("A0000011")
    override = ANTI_ICP if kept[other].tier != ANTI_ICP else TIER_1
    crm.set_override(other, override)
    crm.reset_counts()

    report = crm.sync()

    assert report.written == 1 and crm.write_counts() == Counter({other: 1})
    held = crm.held()
    assert held[other].tier == override
    assert {rid: held[rid] for rid in edits} == {rid: kept[rid] for rid in edits}
    assert crm.overrides() == {
        **{rid: theirs for rid, (_, theirs) in edits.items()},
        other: override,
    }
    assert crm.sync(full=True).written == 0


def test_a_reps_tier_edit_is_reverted_and_reported(crm: CrmUnderTest) -> None:
    crm.configure(human_edits="revert")
    crm.sync()
    crm.sync()
    before = crm.held()
    edits = _rep_edits(crm)
    crm.reset_counts()

    report = crm.sync(full=not crm.edits_seen_by_incremental)

    found = {
        e["account_id"]: (e["rep_value"], e["restored"], e["action"]) for e in report.human_edits
    }
    assert found == {rid: (theirs, ours, "reverted") for rid, (ours, theirs) in edits.items()}
    assert report.drift["human_edits"] == len(edits) and report.drift["tier_changed"] == 0
    assert report.written == len(edits) and crm.write_counts() == Counter(dict.fromkeys(edits, 1))
    assert crm.held() == before and crm.overrides() == {}  # restored, no override set
    assert crm.sync(full=True).written == 0

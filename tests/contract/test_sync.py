"""Every connector syncs alike: full, again, incremental, with an override, as a dry run."""

from __future__ import annotations

import json
from collections import Counter

from contract.harness import ACCOUNTS, CrmUnderTest, Held
from icpsync.core.model import ANTI_ICP, TIER_1


def test_a_full_sync_writes_every_account_what_score_computes(crm: CrmUnderTest) -> None:
    report = crm.sync()

    assert report.mode == "full" and report.complete
    assert report.accounts_read == report.scored == report.written == ACCOUNTS
    writes = crm.write_counts()
    assert set(writes) == {crm.account_id(a.id) for a in crm.data.iter_accounts()}
    assert set(writes.values()) == {1}
    held = crm.held()
    assert held == crm.expected(report)
    assert len({h.tier for h in held.values()}) >= 3 and any(h.flags for h in held.values())


def test_a_resync_writes_nothing(crm: CrmUnderTest) -> None:
    crm.sync()
    held = crm.held()
    crm.reset_counts()

    full = crm.sync(full=True)
    incremental = crm.sync()

    assert full.mode == "full" and full.complete
    assert full.accounts_read == full.unchanged == ACCOUNTS
    assert full.changed == full.written == 0
    assert incremental.mode == "incremental" and incremental.complete
    assert incremental.changed == incremental.written == 0
    assert crm.write_counts() == Counter()
    assert crm.held() == held


def test_an_incremental_run_reads_only_what_changed(crm: CrmUnderTest) -> None:
    crm.sync()
    crm.sync()  # its cursor passes the first run's own writes
    before = crm.held()
    edited = crm.edit_accounts(5, seed=11)
    crm.reset_counts()

    report = crm.sync()

    assert report.mode == "incremental" and report.complete
    assert report.accounts_read == len(edited) == 5
    assert report.opportunities_read == 0
    writes = crm.write_counts()
    assert 0 < report.written == report.changed == len(writes)
    assert set(writes) <= set(edited) and set(writes.values()) == {1}
    after = crm.held()
    assert {i for i in after if after[i] != before[i]} == set(writes)
    # What the increment left is what a full run computes: it finds nothing to write.
    assert crm.sync(full=True).written == 0


def test_a_human_override_is_honoured_and_never_written(crm: CrmUnderTest) -> None:
    crm.sync()
    before = crm.held()
    target = crm.account_id("A0000003")
    computed = before[target].tier
    override = ANTI_ICP if computed != ANTI_ICP else TIER_1
    crm.set_override(target, override)
    crm.reset_counts()

    report = crm.sync()

    assert report.mode == "incremental" and report.written == 1
    assert crm.write_counts() == Counter({target: 1})
    after = crm.held()
    assert after[target].tier == override
    assert after[target].score == before[target].score
    assert (after[target].reasons or "").startswith(
        f"manual override: {override} (computed {computed})"
    )
    assert {i: h for i, h in after.items() if i != target} == {
        i: h for i, h in before.items() if i != target
    }
    assert crm.overrides() == {target: override}
    assert crm.sync(full=True).written == 0  # the override stays honoured


def test_dry_run_writes_nothing_and_moves_no_cursor(crm: CrmUnderTest) -> None:
    result = crm.cli("sync", "--dry-run", "--json")

    assert result.exit_code == 0, result.output
    dry = json.loads(result.stdout)
    assert dry["dry_run"] is True and dry["crm"] == crm.name
    assert dry["accounts_read"] == dry["changed"] == ACCOUNTS
    assert dry["written"] == 0
    assert crm.write_counts() == Counter()
    assert set(crm.held().values()) == {Held()}

    first = crm.sync()
    assert first.mode == "full" and first.written == ACCOUNTS

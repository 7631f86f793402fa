"""The budget share counts the run's Bulk API 2.0 calls as it sends them: their answers
carry no usage figure simple-salesforce reads, so the org's figure lags behind them."""

from __future__ import annotations

import threading

import pytest

from icpsync.connectors.salesforce.api import Budget
from icpsync.engine.state import StateStore


@pytest.mark.parametrize("allowed", [3, 5, 7, 9, 11])
def test_a_bulk_sync_never_sends_more_calls_than_its_share(  # type: ignore[no-untyped-def]
    sf, make_sandbox, tmp_path, allowed: int
) -> None:
    box = make_sandbox(daily_limit=1000)
    sf.install(sf.settings_for(box))
    box.org.api_used = 0
    bulk = {"bulk_read_threshold": 1, "bulk_write_threshold": 1}
    state = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
    try:
        tight = sf.settings_for(box, tmp_path, api_budget_share=(allowed + 0.5) / 1000, **bulk)
        stopped = sf.sync(tight, state)
        assert box.org.api_used <= allowed  # the org's own count of the run's calls
        assert stopped.stopped and "budget" in stopped.stopped and not stopped.complete
        assert f"used {box.org.api_used} of the {allowed} calls" in stopped.stopped
        resumed = sf.sync(sf.settings_for(box, tmp_path, **bulk), state)
        assert resumed.complete and resumed.written + stopped.written >= box.data.accounts
    finally:
        state.close()


def test_calls_set_aside_for_a_job_in_one_thread_leave_it_room_against_another() -> None:
    budget = Budget(share=1.0)
    budget.total, budget.start_used, budget.used = 100, 0, 88  # 12 calls left
    budget.made = 88
    with budget.set_aside(6) as why:
        assert why is None
        seen: list[str | None] = []

        def other() -> None:  # another writer's job, begun meanwhile
            with budget.set_aside(7) as theirs:
                seen.append(theirs)
            seen.append(budget.would_exceed(7))
            seen.append(budget.would_exceed(6))

        job = threading.Thread(target=other)
        job.start()
        job.join()
        assert seen[0] is not None and "budget" in seen[0]  # 6 set aside + 7 > 12
        assert seen[1] is not None and seen[2] is None  # what is left beside them: 6
        for _ in range(6):  # this thread's own calls use what it set aside
            assert budget.would_exceed(1) is None
            budget.spend()
    assert budget.aside == 0 and budget.would_exceed(6) is None and budget.would_exceed(7)

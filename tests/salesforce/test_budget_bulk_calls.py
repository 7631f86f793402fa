"""The budget share counts the run's Bulk API 2.0 calls as it sends them: their answers
carry no usage figure simple-salesforce reads, so the org's figure lags behind them."""

from __future__ import annotations

import pytest

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

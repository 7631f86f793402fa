"""A record the CRM refuses for good is reported with its id and reason and quarantined;
the run completes as ``partial`` and the cursor moves; ``sync --retry-failed`` writes it
once the CRM takes it, and the failures table is empty again."""

from __future__ import annotations

from collections import Counter

from contract.harness import ACCOUNTS, REJECT_WRITES, CrmUnderTest, Held, require


def test_a_refused_record_is_quarantined_and_written_by_a_retry(crm: CrmUnderTest) -> None:
    require(crm, REJECT_WRITES)
    refused = crm.account_id("A0000007")
    crm.reject_writes([refused])

    first = crm.sync()

    assert first.status == "partial" and first.complete
    assert first.failed == 1 and first.quarantined == 1
    assert first.written == ACCOUNTS - 1
    [failure] = first.failures
    assert failure.account_id == refused
    assert "validation rule" in failure.reason and not failure.retriable
    writes = crm.write_counts()
    assert refused not in writes and len(writes) == ACCOUNTS - 1
    assert crm.held()[refused] == Held()
    moved = crm.cursor()
    assert moved is not None  # the refused record does not hold the others back
    assert crm.quarantined() == {refused: failure.reason}

    crm.reject_writes([])  # the admin fixes the record
    crm.reset_counts()
    second = crm.sync(retry_failed=True)

    assert second.mode == "incremental" and second.status == "complete"
    assert second.failed == 0 and second.written == 1 and second.released == 1
    assert crm.write_counts() == Counter({refused: 1})
    assert crm.quarantined() == {}
    assert crm.held() == crm.expected(second)
    assert (crm.cursor() or moved) > moved

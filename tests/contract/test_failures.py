"""A record the CRM refuses is reported with its id and reason, and written by the next run."""

from __future__ import annotations

from collections import Counter

from contract.harness import ACCOUNTS, REJECT_WRITES, CrmUnderTest, Held, require


def test_a_refused_record_is_reported_and_written_next_run(crm: CrmUnderTest) -> None:
    require(crm, REJECT_WRITES)
    refused = crm.account_id("A0000007")
    crm.reject_writes([refused])

    first = crm.sync()

    assert first.failed == 1 and not first.complete
    assert first.written == ACCOUNTS - 1
    [failure] = first.failures
    assert failure.account_id == refused
    assert "validation rule" in failure.reason and not failure.retriable
    writes = crm.write_counts()
    assert refused not in writes and len(writes) == ACCOUNTS - 1
    assert crm.held()[refused] == Held()

    crm.reject_writes([])  # the admin fixes the record
    crm.reset_counts()
    second = crm.sync()

    assert second.failed == 0 and second.complete
    assert second.written == 1
    assert crm.write_counts() == Counter({refused: 1})
    assert crm.held() == crm.expected(second)

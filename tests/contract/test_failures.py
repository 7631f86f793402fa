"""A record the CRM refuses for good is reported with its id and reason and quarantined;
the run completes as ``partial`` and the cursor moves; ``sync --retry-failed`` writes it
once the CRM takes it, and the failures table is empty again."""

from __future__ import annotations

from collections import Counter

from contract.harness import (
    ACCOUNTS,
    REJECT_WRITES,
    WHOLE_BATCH_REJECTION,
    CrmUnderTest,
    Held,
    require,
)


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


#: seeded accounts a validation rule refuses for good (in the first and second batch of 100).
POISON = ("A0000003", "A0000041", "A0000077", "A0000104", "A0000118")


def _poison_run(crm: CrmUnderTest) -> None:
    poison = {crm.account_id(seed) for seed in POISON}
    every = {crm.account_id(a.id) for a in crm.data.iter_accounts()}
    crm.reject_writes(sorted(poison))

    report = crm.sync()

    assert report.mode == "full" and report.status == "partial" and report.complete
    assert report.failed == report.quarantined == len(poison)
    assert report.written == ACCOUNTS - len(poison)
    assert {f.account_id for f in report.failures} == poison
    for failure in report.failures:  # a readable line naming the rule, never retried
        assert not failure.retriable and "validation rule" in failure.reason
        assert "\n" not in failure.reason and len(failure.reason) <= 200
    assert crm.quarantined() == {f.account_id: f.reason for f in report.failures}
    assert crm.cursor() is not None  # the poison does not stall the schedule
    [row] = crm.runs()
    assert row["status"] == "partial" and row["written"] == report.written
    writes = crm.write_counts()  # every valid record written, once
    assert set(writes) == every - poison and set(writes.values()) == {1}
    held, expected = crm.held(), crm.expected(report)
    assert {i: held[i] for i in writes} == {i: expected[i] for i in writes}
    assert {held[i] for i in poison} == {Held()}

    crm.reset_counts()
    quiet = crm.sync()  # the next scheduled run: incremental, the poison left waiting
    assert quiet.mode == "incremental" and quiet.status == "complete"
    assert quiet.quarantined == quiet.written == 0
    assert set(crm.quarantined()) == poison


def test_poison_records_are_listed_and_every_valid_record_is_written(crm: CrmUnderTest) -> None:
    require(crm, REJECT_WRITES)
    _poison_run(crm)


def test_a_whole_batch_rejection_still_writes_every_valid_record(crm: CrmUnderTest) -> None:
    require(crm, REJECT_WRITES)
    require(crm, WHOLE_BATCH_REJECTION)
    crm.reject_whole_batch(True)  # one refused input rejects its whole batch, nothing applied
    _poison_run(crm)

"""Faults a CRM throws at a schedule left alone end in a complete run with the values of a
clean one: transient faults (5xx, 429s, lost responses, row locks), and 401s on a valid
session that cannot be renewed."""

from __future__ import annotations

from contract.harness import ACCOUNTS, SPURIOUS_401, TRANSIENT_FAULTS, CrmUnderTest, require


def _clean_values(crm: CrmUnderTest, report_written: int) -> None:
    assert report_written == ACCOUNTS
    writes = crm.write_counts()
    assert set(writes) == {crm.account_id(a.id) for a in crm.data.iter_accounts()}
    assert set(writes.values()) == {1}  # a retried write is never applied twice


def test_a_run_under_transient_faults_ends_complete_with_a_clean_runs_values(
    crm: CrmUnderTest,
) -> None:
    require(crm, TRANSIENT_FAULTS)
    crm.configure(write_chunk=20)  # six write requests, not one or two
    crm.inject_faults(0.2)

    report = crm.sync()

    assert crm.faults_injected() >= 2
    assert report.status == "complete" and report.failed == 0
    _clean_values(crm, report.written)
    assert crm.held() == crm.expected(report)  # what a clean run leaves
    crm.inject_faults(0.0)
    assert crm.cursor() is not None and crm.sync(full=True).written == 0


def test_spurious_401s_on_a_valid_session_do_not_fail_the_run(crm: CrmUnderTest) -> None:
    require(crm, SPURIOUS_401)
    crm.spurious_401s(4)

    report = crm.sync()

    assert crm.faults_injected() == 4
    assert report.status == "complete" and report.failed == 0
    _clean_values(crm, report.written)
    assert crm.held() == crm.expected(report)
    assert [r["status"] for r in crm.runs()] == ["complete"]

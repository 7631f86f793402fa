"""Install creates the tool's fields once; doctor passes after it (and only after, where
there is something to install)."""

from __future__ import annotations

from contract.harness import CrmUnderTest


def _created(output: str) -> list[str]:
    """The lines of ``install`` that report something created."""
    return [line for line in output.splitlines() if line.startswith("- did ")]


def test_install_is_idempotent(fresh_crm: CrmUnderTest) -> None:
    crm = fresh_crm
    assert crm.schema() == frozenset()

    dry = crm.cli("install", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert crm.schema() == frozenset()

    first = crm.cli("install")
    assert first.exit_code == 0, first.output
    installed = crm.schema()
    if crm.needs_install:
        assert _created(first.stdout) and installed
        assert "would " in dry.stdout
    else:  # nothing to create: said so, not silently skipped
        assert not _created(first.stdout) and "exists" in first.stdout
        assert installed == frozenset()

    second = crm.cli("install")
    assert second.exit_code == 0, second.output
    assert not _created(second.stdout)
    assert "exists" in second.stdout or "nothing to do" in second.stdout
    assert crm.schema() == installed


def test_doctor_passes_after_install(fresh_crm: CrmUnderTest) -> None:
    crm = fresh_crm
    before = crm.cli("doctor")
    assert before.exit_code == (1 if crm.needs_install else 0), before.output
    if crm.needs_install:
        assert "icpsync install" in before.stdout

    assert crm.cli("install").exit_code == 0
    after = crm.cli("doctor")

    assert after.exit_code == 0, after.output
    assert all(check.ok for check in crm.doctor())
    report = crm.sync()
    assert report.complete and report.written == report.accounts_read > 0

"""A full sync writes to each CRM's sandbox exactly the values the release wrote (score,
tier, flags, reasons, profile version, last change at the fixed clock; the override left
alone), and a second full sync writes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from equivalence.compare import CORPUS, read_json, same_records, same_value, stored
from equivalence.runs import synced
from icpsync.core.profile import load_profile

SYNCS = stored("sync")


def test_the_corpus_has_both_crms() -> None:
    assert [p.name.split(".")[0] for p in SYNCS] == ["hubspot", "salesforce"]


@pytest.mark.parametrize("path", SYNCS, ids=[p.name.split(".")[0] for p in SYNCS])
def test_sync_writes_what_the_release_wrote(path: Path, tmp_path: Path) -> None:
    crm = path.name.split(".")[0]
    data = read_json(path)
    spec, expected = data["spec"], data["expected"]
    profile = load_profile(CORPUS / "profiles" / spec["profile"])
    got = synced(crm, spec, profile, tmp_path / "state")
    assert len(expected["written"]) == spec["accounts"]
    same_records(
        f"{crm}: ids written",
        sorted(expected["written"]),
        sorted(got["written"]),
    )
    same_records(
        f"{crm}: values written",
        [{"id": k, **v} for k, v in expected["written"].items()],
        [{"id": k, **v} for k, v in got["written"].items()],
        key="id",
    )
    for part in ("writes_per_account", "accounts_written", "first_run", "second_run"):
        same_value(f"{crm}: {part}", expected[part], got[part])
    assert expected["second_run_writes"] == {}
    same_value(f"{crm}: writes of the second run", {}, got["second_run_writes"])

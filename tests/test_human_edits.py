"""A rep's direct edit of the tier: found against what we last wrote, kept as the override
(or reverted), reported, and never counted as a tier change. Pure rules, then the file
connector end to end (the CRMs are in tests/salesforce and tests/hubspot)."""

from __future__ import annotations

import csv
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from icpsync.connectors.file import FileConnector
from icpsync.core.default_profile import default_profile
from icpsync.core.human_edits import (
    Written,
    edited_tier,
    standing_edit,
    with_override,
    with_rep_reasons,
)
from icpsync.core.model import NO_AGGREGATES, TIER_1, TIER_2, TIER_3, Account, CurrentIcp
from icpsync.core.scoring import Scorer
from icpsync.engine.run_report import RunReport
from icpsync.engine.settings import Settings, load_settings
from icpsync.engine.state import StateStore
from icpsync.engine.sync import run_once

NOW = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("current", "written", "expected"),
    [
        (CurrentIcp(tier=TIER_1), Written(TIER_2), TIER_1),  # a rep changed it
        (CurrentIcp(tier=TIER_2), Written(TIER_2), None),  # what we wrote
        (CurrentIcp(tier=TIER_1), None, None),  # we never wrote it: nothing to compare
        (CurrentIcp(tier=None), Written(TIER_2), None),  # cleared: recomputed, not kept
        (CurrentIcp(tier="Gold"), Written(TIER_2), None),  # not a tier
        (CurrentIcp(tier=TIER_1, override=TIER_3), Written(TIER_2), None),  # used the override
    ],
)
def test_what_counts_as_a_direct_edit(
    current: CurrentIcp, written: Written | None, expected: str | None
) -> None:
    assert edited_tier(current, written) == expected


def test_a_kept_edit_stands_while_the_override_holds_it() -> None:
    kept = Written(TIER_1, 40, rep_tier=TIER_1, rep_was=TIER_2)
    assert standing_edit(CurrentIcp(override=TIER_1), kept) == (
        TIER_1,
        TIER_2,
    )
    assert standing_edit(CurrentIcp(override=None), kept) is None
    assert standing_edit(CurrentIcp(override=TIER_3), kept) is None


def test_reasons_say_a_rep_set_the_tier() -> None:
    scorer = Scorer(default_profile())
    account = Account(
        "a", employees=500, industry="Technology", current=with_override(CurrentIcp(), TIER_3)
    )
    result = scorer.score(account, NO_AGGREGATES, NOW)
    assert result.tier == TIER_3 and result.overridden
    edited = with_rep_reasons(result, TIER_3, TIER_1)
    assert edited.reasons.startswith("tier set by a rep: Tier 3 (was Tier 1)")
    assert edited.reasons_short.startswith("tier set by a rep: Tier 3 (was Tier 1)")
    assert "manual override" not in edited.reasons
    assert len(edited.reasons_short) <= 255
    plain = scorer.score(replace(account, current=CurrentIcp()), NO_AGGREGATES, NOW)
    assert with_rep_reasons(plain, TIER_3, TIER_1) == plain  # no override: nothing to say


# -- the file connector end to end -------------------------------------------------------


def _run(settings: Settings, state: StateStore, **options: object) -> RunReport:
    connector = FileConnector.from_settings(settings)
    try:
        return run_once(settings, connector=connector, state=state, now=NOW, **options)  # type: ignore[arg-type]
    finally:
        connector.close()


def _rows(path: Path) -> dict[str, dict[str, str]]:
    with path.open() as handle:
        return {r["id"]: r for r in csv.DictReader(handle)}


def _rep_edits(path: Path, count: int) -> dict[str, tuple[str, str]]:
    """A rep changes the tier of ``count`` accounts in the output ("the CRM"):
    id -> (the tier we wrote, the rep's tier)."""
    rows = _rows(path)
    chosen = sorted(rows)[:count]
    edits = {}
    for rid in chosen:
        ours = rows[rid]["icp_tier"]
        theirs = TIER_3 if ours != TIER_3 else TIER_1
        rows[rid]["icp_tier"] = theirs
        edits[rid] = (ours, theirs)
    columns = list(next(iter(rows.values())))
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows.values())
    return edits


def _settings(file_config: Path, policy: str) -> Settings:
    text = file_config.read_text().replace(
        'crm = "file"', f'crm = "file"\nhuman_edits = "{policy}"'
    )
    file_config.write_text(text)
    return load_settings(file_config)


def test_file_rep_edit_is_kept_as_the_override_through_later_runs(file_config: Path) -> None:
    settings = load_settings(file_config)
    assert settings.sync.human_edits == "keep"  # the default
    output = settings.file.output
    assert output is not None
    state = StateStore(settings.state.database_url())
    try:
        _run(settings, state)
        edits = _rep_edits(output, 3)
        report = _run(settings, state, full=True)
        assert {e["account_id"]: (e["ours"], e["rep_value"]) for e in report.human_edits} == edits
        assert {e["action"] for e in report.human_edits} == {"kept"}
        assert report.drift["human_edits"] == 3 and report.drift["tier_changed"] == 0
        assert not report.transitions  # nothing else changed, and an edit is no tier change
        rows = _rows(output)
        for rid, (ours, theirs) in edits.items():
            assert rows[rid]["icp_tier"] == theirs and rows[rid]["icp_tier_override"] == theirs
            assert f"tier set by a rep: {theirs} (was {ours})" in rows[rid]["icp_reasons"]
        for later in (_run(settings, state), _run(settings, state, full=True)):
            assert later.written == 0 and not later.human_edits
        assert _rows(output) == rows
    finally:
        state.close()


def test_file_rep_edit_is_reverted_and_reported(file_config: Path) -> None:
    settings = _settings(file_config, "revert")
    output = settings.file.output
    assert output is not None
    state = StateStore(settings.state.database_url())
    try:
        _run(settings, state)
        before = _rows(output)
        edits = _rep_edits(output, 3)
        report = _run(settings, state, full=True)
        assert report.written == 3
        assert sorted(
            (e["account_id"], e["rep_value"], e["restored"]) for e in report.human_edits
        ) == sorted((rid, theirs, ours) for rid, (ours, theirs) in edits.items())
        assert {e["action"] for e in report.human_edits} == {"reverted"}
        assert report.drift["tier_changed"] == 0 and report.drift["human_edits"] == 3
        after = _rows(output)
        for rid in edits:
            assert after[rid]["icp_tier"] == before[rid]["icp_tier"]
            assert not after[rid].get("icp_tier_override")
        assert _run(settings, state, full=True).written == 0
    finally:
        state.close()


def test_sync_prints_each_edit(file_config: Path) -> None:
    from click.testing import CliRunner

    from icpsync.cli import cli

    def sync() -> str:
        result = CliRunner().invoke(cli, ["--config", str(file_config), "sync", "--full"])
        assert result.exit_code == 0, result.stdout
        return result.stdout

    sync()
    settings = load_settings(file_config)
    assert settings.file.output is not None
    edits = _rep_edits(settings.file.output, 2)
    out = sync()
    assert "2 direct edits by reps of the tool's fields (2 kept as the override, 0 reverted)" in out
    for rid, (ours, theirs) in edits.items():
        line = f"{rid}: tier set to {theirs} by a rep; kept as the override (we had written {ours})"
        assert line in out
    assert "direct edits" not in sync()

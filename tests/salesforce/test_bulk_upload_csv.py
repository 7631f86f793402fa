"""The Bulk ingest CSV, built a column at a time, is byte for byte the rows of what
``values`` gives for each update (``#N/A`` for no value, an empty override cell when the
update leaves the override alone)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from icpsync.connectors.salesforce.writer import Writer, values
from icpsync.core.model import ScoreUpdate
from icpsync.engine.field_map import load_field_map

ICP = load_field_map("salesforce").icp
AT = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def _update_by_update(updates: Sequence[ScoreUpdate]) -> str:
    """The specification: one row per update from ``values``, in ``ICP``'s field order."""
    keys = ("score", "tier", "flags", "reasons", "profile_version", "scored_at")
    names = [ICP[k] for k in keys]
    if any(u.override is not None for u in updates):
        names.append(ICP["override"])
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["Id", *names])
    for update in updates:
        row = values(update, ICP)
        cells = [row.get(n, "") for n in names]
        writer.writerow([update.account_id, *["#N/A" if c is None else c for c in cells]])
    return out.getvalue()


def _writer() -> Writer:
    api: Any = None  # building the CSV makes no call
    return Writer(api, "Account", ICP, bulk_threshold=1, concurrency=1, lock_retries=0)


@pytest.mark.parametrize("fold", [0, 1])
def test_the_upload_is_what_values_gives_for_each_update(fold: int) -> None:
    eastern = timezone(timedelta(hours=-5))
    moments = [AT, AT, AT.astimezone(eastern), AT + timedelta(seconds=1), AT.replace(fold=fold)]
    flags: list[tuple[str, ...]] = [(), ("no_fit",), ("no_fit", "tiny"), ("a,b",)]
    updates = [
        ScoreUpdate(
            f"001{i:015d}",
            i % 101,
            ["Tier 1", "Tier 2", "Tier 3"][i % 3],
            flags[i % 4],
            ["", "fit: yes", 'says "why"\nand more'][i % 3],
            ["v1", ""][i % 2],
            moments[i % 5],
            override=["Tier 1", None, None][i % 3],
        )
        for i in range(60)
    ]
    built = _writer()._bulk_csv(updates)
    assert built == _update_by_update(updates)
    rows = list(csv.reader(io.StringIO(built)))
    assert rows[0][-1] == ICP["override"] and {r[-1] for r in rows[1:]} == {"Tier 1", ""}
    assert {r[3] for r in rows[1:]} == {"#N/A", "no_fit", "no_fit;tiny", "a,b"}
    assert {r[6] for r in rows[1:]} == {"2026-11-25T09:00:00Z", "2026-11-25T09:00:01Z"}


def test_without_overrides_there_is_no_override_column() -> None:
    updates = [ScoreUpdate("001A", 50, "Tier 2", (), "", "v1", AT)]
    built = _writer()._bulk_csv(updates)
    assert built == _update_by_update(updates)
    assert built.splitlines() == [
        "Id,ICP_Score__c,ICP_Tier__c,ICP_Anti_Flags__c,ICP_Reasons__c,ICP_Profile_Version__c,"
        "ICP_Scored_At__c",
        "001A,50,Tier 2,#N/A,#N/A,v1,2026-11-25T09:00:00Z",
    ]


TEXT = st.text(st.sampled_from(["a", "é", " ", ",", '"', "\n", "\r", ";", "#"]), max_size=6)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.text('0123456789AB,"', min_size=1, max_size=4),
            st.integers(-5, 200),
            TEXT,
            st.lists(TEXT, max_size=3).map(tuple),
            TEXT,
            TEXT,
            st.none() | TEXT,
        ),
        min_size=1,
        max_size=12,
    )
)
def test_any_text_is_written_as_csv_writer_writes_it(rows: list[tuple[Any, ...]]) -> None:
    updates = [
        ScoreUpdate(f"001{i}{key}", score, tier, flags, why, version, AT, override=override)
        for i, (key, score, tier, flags, why, version, override) in enumerate(rows)
    ]
    assert _writer()._bulk_csv(updates) == _update_by_update(updates)


def test_equal_values_of_other_types_keep_their_own_cells() -> None:
    scores: list[Any] = [1, True, 1.0, 2, 0.0, -0.0]  # equal as keys of a dict, not as cells
    updates = [ScoreUpdate(f"001{i}", s, "Tier 2", (), "", "v1", AT) for i, s in enumerate(scores)]
    built = _writer()._bulk_csv(updates)
    assert built == _update_by_update(updates)
    assert [row[1] for row in csv.reader(io.StringIO(built))][1:] == [
        "1",
        "True",
        "1.0",
        "2",
        "0.0",
        "-0.0",
    ]


def test_a_writer_remembers_cells_chunk_after_chunk_up_to_its_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The cells one writer remembers (reasons repeat across chunks) give every later
    chunk what ``values`` gives, past the limit too, and a ``True`` score after a ``1``
    keeps its own cell."""
    monkeypatch.setattr("icpsync.connectors.salesforce.writer.CELLS_REMEMBERED", 6)
    reasons = ["+25 fit, 2,000", 'says "why"', "a\nb", "plain", "x,y", ""]
    scores: list[Any] = [1, 2, 3, 1, True, 1.0, 40]
    writer = _writer()
    for chunk in range(5):
        updates = [
            ScoreUpdate(
                f"001{chunk}{i}",
                scores[(i + chunk) % 7],
                "Tier 2",
                (),
                reasons[(i * chunk) % 6],
                "v1",
                AT,
            )
            for i in range(3 + chunk)
        ]
        assert writer._bulk_csv(updates) == _update_by_update(updates)
    assert 0 < len(writer._cells) <= 6

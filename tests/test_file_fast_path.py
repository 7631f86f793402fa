"""The CSV fast path (rows without DictReader, accounts cleaned and scored column by column,
batch output) gives byte for byte what the reference pipeline gives: the code before the
throughput work, frozen in tests/reference."""

from __future__ import annotations

import csv
import io
import tempfile
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import plausible_reference as PLAUSIBLE
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reference import normalise_v1 as NORMALISE
from reference import rows_v1 as ROWS
from reference import scoring_v1 as SCORING

import icpsync.connectors.file.connector as file_connector
import icpsync.core.checks as checks
import icpsync.core.clean_columns as clean_columns
import icpsync.core.scoring as scoring
from icpsync.connectors.file.rows import read_rows
from icpsync.core.default_profile import default_profile
from icpsync.core.errors import ConfigError
from icpsync.core.model import NO_AGGREGATES, ConnectorStats
from icpsync.core.normalise import ICP_RAW_KEYS
from icpsync.core.profile import Profile
from icpsync.engine.field_map import FieldMap, load_field_map
from icpsync.engine.score_files import OUTPUT_COLUMNS, score_files

NOW = datetime(2026, 11, 1, tzinfo=UTC)

CELLS = [
    "", " ", "n/a", "-", "A1", "A2", "a3", "Technology", "technology", "Education", "USA",
    "Canada", "Germany", "250", "1,200", "-5", "5", "9", "lots", "3.5e7", "nan", "1e400",
    "Salesforce;Outreach", "HubSpot; Gong", ";;", "https://www.Acme.com/x", "competitor-one.com",
    "Tier 1", "Tier 9", "Current", "2026-01-02", "2026-13-40", "x" * 1100, "a,b", 'say "hi"',
    "two\nlines",
]  # fmt: skip
HEADER_NAMES = [
    "id", "name", "domain", "industry", "employees", "annual_revenue", "country", "region",
    "tech_stack", "last_modified", "client", "icp_score", "icp_tier_override", "icp_tier",
]  # fmt: skip
SIGNAL_PROFILE = Profile.model_validate(
    {
        "criteria": [
            {"id": "client", "field": "signals.client", "in": ["Current"], "points": 40},
            {"id": "no_region", "field": "region", "is_missing": True, "points": 10},
            {"id": "big", "field": "employees", "at_least": 5, "points": 30},
            {"id": "stack", "field": "tech_stack", "contains_all": ["Gong"], "points": 25},
        ],
        "anti": [{"id": "edu", "field": "industry", "not_in": ["Education"], "effect": "penalty",
                  "points": 5}],
    }
)  # fmt: skip


@st.composite
def csv_texts(draw: st.DrawFn) -> str:
    header = draw(st.lists(st.sampled_from(HEADER_NAMES), min_size=1, max_size=9))
    if draw(st.booleans()):
        header = ["id", *header]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for _ in range(draw(st.integers(0, 25))):
        if draw(st.integers(0, 9)) == 0:
            buffer.write("\r\n")  # a blank line
            continue
        width = len(header) + draw(st.sampled_from([0, 0, 0, 0, -1, 1, -len(header)]))
        writer.writerow(draw(st.lists(st.sampled_from(CELLS), min_size=width, max_size=width)))
    return buffer.getvalue()


def written(text: str) -> Path:
    handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 - removed by the caller
        "w", suffix=".csv", delete=False, encoding="utf-8", newline=""
    )
    with handle:
        handle.write(text)
    return Path(handle.name)


@settings(max_examples=100, deadline=None)
@given(csv_texts())
def test_csv_rows_match_dictreader(text: str) -> None:
    path = written(text)
    try:
        fast_bad: list[str] = []
        reference_bad: list[str] = []
        fast = list(read_rows(path, fast_bad.append))
        assert fast == list(ROWS.read_rows(path, reference_bad.append))
        assert fast_bad == reference_bad
    finally:
        path.unlink()


def reference_raw(row: dict[str, Any], field_map: FieldMap) -> dict[str, Any]:
    """The file connector's row -> raw record before the throughput work (no output file)."""
    fields = field_map.account.fields
    used = set(fields.values())
    raw: dict[str, Any] = {canonical: row.get(column) for canonical, column in fields.items()}
    ignore = set(field_map.options.get("ignore_columns", []))
    icp_columns = set(field_map.icp.values())
    raw["signals"] = {
        k: v
        for k, v in row.items()
        if k not in used and k not in ignore and k not in icp_columns and v not in (None, "")
    }
    for key, column in field_map.icp.items():
        raw[ICP_RAW_KEYS[key]] = row.get(column)
    return raw


def reference_score_files(path: Path, profile: Profile) -> tuple[str, dict[str, Any]]:
    """What ``icpsync score`` wrote and counted before the throughput work."""
    field_map = load_field_map("file")
    stats = ConnectorStats()
    vocabularies = {
        name: NORMALISE.Vocabulary(dict(v.values), v.keep_unknown)
        for name, v in field_map.vocabularies.items()
    }
    normaliser = PLAUSIBLE.Normaliser(stats, vocabularies)
    scorer = SCORING.Scorer(profile)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(OUTPUT_COLUMNS)
    tiers: Counter[str] = Counter()
    histogram = [0] * 10
    for row in ROWS.read_rows(path, lambda reason: stats.skipped.update([reason])):
        account = normaliser.account(reference_raw(row, field_map))
        if account is None:
            continue
        result = scorer.score(account, NO_AGGREGATES, NOW)
        tiers[result.tier] += 1
        histogram[min(result.score // 10, 9)] += 1
        writer.writerow(
            (
                account.id,
                result.score,
                result.tier,
                ";".join(result.flags),
                result.reasons_short,
                result.profile_version,
            )
        )
    counts = {
        "tiers": dict(tiers),
        "histogram": histogram,
        "bad_values": dict(stats.bad_values),
        "skipped": dict(stats.skipped),
    }
    return buffer.getvalue(), counts


@pytest.mark.parametrize(("batch_rows", "memo_limit"), [(3, 1), (2048, 0), (2048, 20_000)])
@pytest.mark.parametrize("profile", [default_profile(), SIGNAL_PROFILE], ids=["default", "signals"])
def test_score_files_matches_reference_pipeline(
    batch_rows: int, memo_limit: int, profile: Profile, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Also with memories that fill at once (0, 1): what is not remembered is recomputed."""
    for module, name in [
        (clean_columns, "MEMO_LIMIT"),
        (checks, "VALUE_CACHE_LIMIT"),
        (scoring, "CACHE_LIMIT"),
    ]:
        monkeypatch.setattr(module, name, memo_limit)

    @settings(max_examples=40, deadline=None)
    @given(csv_texts())
    def check(text: str) -> None:
        path = written(text)
        out = path.with_suffix(".out.csv")
        try:
            if "id" not in next(csv.reader(io.StringIO(text))):
                # no id column: refused before anything is written (exit 2 on the CLI)
                with pytest.raises(ConfigError, match="no id column"):
                    score_files(path, None, out, profile, now=NOW)
                assert not out.exists()
                return
            report = score_files(path, None, out, profile, now=NOW)
            expected_text, expected = reference_score_files(path, profile)
            if not expected["tiers"]:
                # Nothing scored: the reference wrote a header-only file; ``score`` now
                # leaves ``out`` uncreated (the CLI exits 2), so no empty output replaces
                # a previous one.
                assert expected_text.count("\n") == 1 and not out.exists()
            else:
                assert out.read_bytes().decode("utf-8") == expected_text
            assert {t: n for t, n in report.tiers.items() if n} == expected["tiers"]
            assert report.score_histogram == expected["histogram"]
            assert dict(report.bad_values) == expected["bad_values"]
            assert dict(report.skipped) == expected["skipped"]
            assert report.scored == sum(expected["tiers"].values())
        finally:
            path.unlink()
            out.unlink(missing_ok=True)

    monkeypatch.setattr(file_connector, "BATCH_ROWS", batch_rows)
    check()

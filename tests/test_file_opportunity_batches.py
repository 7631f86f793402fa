"""The file connector's deals read a batch of rows at a time as columns are exactly those of
the row-by-row reading (each row cleaned by ``Normaliser.opportunity``): same deals, order,
counts, and rejects (row, id, column, value, reason) in row order, from CSV and JSON Lines."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from itertools import chain
from pathlib import Path

import pytest

from icpsync.connectors.file import FileConnector
from icpsync.connectors.file.rejects import RejectLog
from icpsync.connectors.file.rows import read_numbered_rows
from icpsync.core.model import ConnectorStats, Opportunity
from icpsync.core.normalise import Normaliser, Reject

HEADER = ["id", "account_id", "stage", "is_closed", "is_won", "amount", "created", "closed",
          "last_modified"]  # fmt: skip
ROWS = 5000  # more than one batch of rows


def _row(i: int) -> list[str]:
    closed = i % 3 != 0
    return [
        "" if i % 97 == 5 else f"D{i % 4900:05d}",  # no id; ids repeating from row 4,900
        "" if i % 13 == 0 else f"A{i % 400}",
        "Closed Won" if closed and i % 2 else "Prospecting",
        "maybe" if i % 89 == 3 else str(closed).lower(),
        str(closed and i % 2 == 1).lower(),
        "N/A" if i % 11 == 0 else "-5" if i % 23 == 0 else f"{1000 + i * 7.25}",
        "not a date" if i % 31 == 0 else f"2025-{1 + i % 12:02d}-{1 + i % 28:02d}",
        f"2026-{1 + i % 10:02d}-{1 + i % 28:02d}" if closed else "",
        f"2026-0{1 + i % 9}-15T10:00:00+00:00" if i % 41 else "yesterday",
    ]


def _write(path: Path) -> None:
    rows = [_row(i) for i in range(ROWS)]
    if path.suffix == ".jsonl":
        lines = [json.dumps(dict(zip(HEADER, r, strict=True))) for r in rows]
        lines[100] = "{not json"
        lines[2500] = "[1, 2]"
        lines.insert(3000, "")
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return
    rows[100] = [""] * len(HEADER)  # an empty row
    rows[200] = []  # a blank line
    rows[2047] = [*rows[2047], "extra"]  # a long row at the end of the first batch
    rows[3000] = rows[3000][:4]  # a short row
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(rows)


class Captured(RejectLog):
    def __init__(self) -> None:
        super().__init__()
        self.got: list[tuple[str, Reject]] = []

    def add(self, reject: Reject) -> None:
        self.got.append((self._label, reject))


def _row_by_row(
    connector: FileConnector, path: Path, since: datetime | None
) -> tuple[list[Opportunity], ConnectorStats, list[tuple[str, Reject]]]:
    """The specification: each row cleaned by ``Normaliser.opportunity`` as it is read, bad
    rows and rejects reported as they come."""
    stats, rejects = ConnectorStats(), []

    def bad_row(reason: str, row: int) -> None:
        stats.skipped[reason] += 1
        rejects.append((path.name, Reject(row, None, None, None, reason)))

    fields = connector.columns(path, connector.field_map.opportunity)
    normaliser = Normaliser(
        stats, connector.field_map.vocabularies, lambda r: rejects.append((path.name, r))
    )
    deals = []
    for number, row in read_numbered_rows(path, bad_row, connector.text_format(path)):
        deal = normaliser.opportunity({k: row.get(c) for k, c in fields.items()}, row=number)
        if deal is None:
            continue
        if since is not None and deal.last_modified is not None and deal.last_modified < since:
            continue
        deals.append(deal)
    return deals, stats, rejects


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
@pytest.mark.parametrize("since", [None, datetime(2026, 5, 1, tzinfo=UTC)])
def test_batches_are_the_deals_of_the_row_by_row_reading(
    tmp_path: Path, suffix: str, since: datetime | None
) -> None:
    accounts = tmp_path / "accounts.csv"
    accounts.write_text("id,name\nA1,One\n", encoding="utf-8")
    deals_file = tmp_path / f"deals{suffix}"
    _write(deals_file)
    rejects = Captured()
    connector = FileConnector(accounts, deals_file, rejects=rejects)
    batches = list(connector.read_opportunity_batches(since))
    got_rejects, rejects.got = rejects.got, []
    stats = connector.stats
    again = list(connector.read_opportunities(since))
    expected, expected_stats, expected_rejects = _row_by_row(connector, deals_file, since)

    assert len(batches) > 1 and all(b.rows is not None for b in batches)
    deals = list(chain.from_iterable(batches))
    assert deals == expected and again == expected
    assert got_rejects == expected_rejects and rejects.got == expected_rejects
    assert {k: v // 2 for k, v in stats.bad_values.items()} == dict(expected_stats.bad_values)
    assert {k: v // 2 for k, v in stats.skipped.items()} == dict(expected_stats.skipped)
    # the rows' numbers travel with the deals
    rows = [r for b in batches for r in b.rows or []]
    assert rows == sorted(rows) and len(rows) == len(deals)
    # none of it vacuous
    reasons = {r.reason for _, r in expected_rejects}
    assert {"opportunity_without_id", "duplicate_opportunity_id"} <= reasons
    assert {"amount", "is_closed", "created", "last_modified"} <= set(expected_stats.bad_values)
    assert ("empty_row" if suffix == ".csv" else "malformed_json_line") in reasons
    assert (len(deals) < 4000) if since else (len(deals) > 4000)

"""The rows of ``icpsync score`` are what ``csv.writer`` writes, whatever the ids hold, and
the CSV column reader stops at a malformed record where the row reader does."""

from __future__ import annotations

import csv
import io
from collections import Counter
from pathlib import Path

import pytest

import icpsync.connectors.file.rows as rows_module
import icpsync.engine.scored_rows as scored_rows
from icpsync.connectors.file.rows import read_csv_columns, read_numbered_rows
from icpsync.core.batch import ScoreBatch
from icpsync.core.plain_csv import plain_columns
from icpsync.engine.scored_rows import OUTPUT_COLUMNS, ScoredRows

IDS = ["A1", "a,b", 'say "hi"', "two\nlines", "cr\rhere", " padded ", "Ünïcode", "x" * 300, "7"]
OUTCOMES = [
    (55, "Tier 2", ("competitor",), (), (), "v1", "Tier 2", False, "long", "+20 big; +15 a,b"),
    (0, "Not ICP", (), (), ("industry",), "v1", "Not ICP", False, "r", 'missing: "industry"'),
    (100, "Tier 1", ("a", "b"), (), (), "v1", "Tier 1", False, "r", "line\nbreak"),
]


def written_by_csv_writer(ids: list[str], outcomes: list[tuple[object, ...]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(OUTPUT_COLUMNS)
    for account_id, o in zip(ids, outcomes, strict=True):
        writer.writerow((account_id, o[0], o[1], ";".join(o[2]), o[9], o[5]))  # type: ignore[arg-type]
    return buffer.getvalue()


@pytest.mark.parametrize("memo_limit", [1, 100_000])
def test_lines_and_counts_match_csv_writer(
    memo_limit: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Also when the memory of outcomes fills at once and starts afresh every batch."""
    monkeypatch.setattr(scored_rows, "MEMO_LIMIT", memo_limit)
    rows = ScoredRows()
    text = rows.header()
    all_ids: list[str] = []
    all_outcomes: list[tuple[object, ...]] = []
    batches = [
        (["P1", "P2", "P3"], [OUTCOMES[0], OUTCOMES[0], OUTCOMES[1]]),  # plain ids
        (IDS, [OUTCOMES[i % 3] for i in range(len(IDS))]),  # ids that need quotes
        (["Q1", "Q2"], [OUTCOMES[2], tuple(OUTCOMES[2])]),  # equal outcomes, two objects
    ]
    for ids, outcomes in batches:
        keys = rows.remember(ScoreBatch(ids, list(outcomes)))
        rows.tally(keys)
        text += rows.lines(ids, keys)
        all_ids += ids
        all_outcomes += outcomes
    tiers, histogram = rows.counts()
    assert text == written_by_csv_writer(all_ids, all_outcomes)
    assert tiers == Counter(o[1] for o in all_outcomes)
    assert list(tiers) == list(dict.fromkeys(o[1] for o in all_outcomes))  # first-seen order
    assert histogram == [4, 0, 0, 0, 0, 5, 0, 0, 0, 5]


def test_no_accounts_no_lines() -> None:
    rows = ScoredRows()
    assert rows.lines([], rows.remember(ScoreBatch([], []))) == ""


def test_column_reader_stops_at_a_malformed_record_like_the_row_reader(tmp_path: Path) -> None:
    """A field over the CSV field limit ends the read at its record, in both readers: the
    rows before it are read (across batches) and the record is reported once."""
    path = tmp_path / "accounts.csv"
    lines = ["id,name"] + [f"A{i},n{i}" for i in range(2, 7)] + ["A7," + "x" * 50, "A8,n8"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    previous = csv.field_size_limit(20)
    try:
        by_columns: list[tuple[str, int]] = []
        column_rows: list[int] = []
        for header, columns, numbers in read_csv_columns(
            path, lambda reason, row: by_columns.append((reason, row)), 2
        ):
            assert header == ["id", "name"]
            assert list(columns[0]) == [f"A{n}" for n in numbers]
            column_rows += numbers
        by_rows: list[tuple[str, int]] = []
        numbered = read_numbered_rows(path, lambda reason, row: by_rows.append((reason, row)))
        row_numbers = [number for number, _ in numbered]
    finally:
        csv.field_size_limit(previous)
    assert column_rows == row_numbers == [2, 3, 4, 5, 6]
    assert by_columns == by_rows == [("malformed_csv", 7)]


@pytest.mark.parametrize("piece", [1, 3, 256])
@pytest.mark.parametrize("size", [4, 10, 2048])
def test_column_batches_hold_the_row_readers_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, piece: int, size: int
) -> None:
    """Batches read a piece at a time hold the rows, numbers and reports of the row
    reader, whatever pieces the blank lines, short, long and empty rows fall in, and
    however the batches cut the file; a malformed record ends both."""
    monkeypatch.setattr("icpsync.connectors.file.rows.PIECE", piece)
    lines = ["id,name,size"]
    for i in range(2, 60):
        kind = i % 9
        lines.append(
            "" if kind == 1 else f"A{i}" if kind == 2 else f"A{i},n,3,extra" if kind == 3
            else ",," if kind == 4 else f",n{i}," if kind == 5 else f"A{i},n{i},{i}"
        )  # fmt: skip
    lines += ["A60," + "x" * 50, "A61,n,1"]
    path = tmp_path / "accounts.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    by_columns: list[tuple[str, int]] = []
    got: list[tuple[int, str | None, str | None, str | None]] = []
    by_rows: list[tuple[str, int]] = []
    previous = csv.field_size_limit(20)
    try:
        for header, columns, numbers in read_csv_columns(
            path, lambda reason, row: by_columns.append((reason, row)), size
        ):
            assert header == ["id", "name", "size"]
            assert 0 < len(numbers) <= size
            got += zip(numbers, *columns, strict=True)
        numbered = read_numbered_rows(path, lambda reason, row: by_rows.append((reason, row)))
        expected = [(n, row["id"], row["name"], row["size"]) for n, row in numbered]
    finally:
        csv.field_size_limit(previous)
    assert got == expected
    assert sorted(by_columns) == sorted(by_rows)
    assert ("malformed_csv", 60) in by_rows and ("empty_row", 4) in by_rows


def _plain(rows: list[str], end: str = "\r\n") -> str:
    return "".join(f"{row}{end}" for row in rows)


_HEAD = ["id;name;size"]
_BODY = [f"A{i};n{i};{i}" for i in range(2, 14)]
_QUOTED = ['"id";"name";"size"', *(f'"A{i}";"n;{i}";"{i}"' for i in range(2, 14))]
#: whole files (after a header of three columns, ``;``-separated), each read in batches of
#: 4 lines: plain shapes cut by ``split``, and what must go to ``csv.reader`` from its batch
FILES = {
    "crlf": _plain(_HEAD + _BODY),
    "lf": _plain(_HEAD + _BODY, "\n"),
    "no end after the last row": _plain(_HEAD + _BODY).removesuffix("\r\n"),
    "quoted cell by cell": _plain(_QUOTED),
    "empty rows and first cells": _plain(_HEAD + _BODY[:5] + [";;", ";n;1", "A9;;"] + _BODY[5:]),
    "blank line": _plain(_HEAD + _BODY[:6] + [""] + _BODY[6:]),
    "blank line at the end": _plain(_HEAD + _BODY) + "\r\n",
    "short and long rows": _plain(_HEAD + _BODY[:5] + ["A9;n", "A10;n;1;x"] + _BODY[5:]),
    "a quote inside a cell": _plain(_HEAD + _BODY[:9] + ['A99;say "hi";1'] + _BODY[9:]),
    "a quoted line break": _plain([*_QUOTED[:7], '"A9";"two\r\nlines";"1"', *_QUOTED[7:]]),
    "unquoted beside quoted": _plain(_HEAD + _BODY[:5] + ['A9;"n;9";9'] + _BODY[5:]),
    "lf among crlf": _plain(_HEAD + _BODY[:6]) + _plain(_BODY[6:7], "\n") + _plain(_BODY[7:]),
    "cr alone": _plain(_HEAD + _BODY[:6]) + _plain(_BODY[6:7], "\r") + _plain(_BODY[7:]),
    "cr alone at the end": _plain(_HEAD + _BODY).removesuffix("\n"),
    "cr inside a cell": _plain(_HEAD + _BODY[:6] + ["A9;a\rb;1"] + _BODY[6:]),
    "lf inside a cell": _plain(_HEAD + _BODY[:6]) + "A9;a\nb;1\r\n" + _plain(_BODY[6:]),
    "lf alone at the end": _plain(_HEAD + _BODY[:-1]) + _BODY[-1] + "\n",
    "a quoted cr": _plain([*_QUOTED[:7], '"A9";"a\rb";"1"', *_QUOTED[7:]]),
    "a quoted lf": _plain([*_QUOTED[:7], '"A9";"a\nb";"1"', *_QUOTED[7:]]),
}
#: characters per line of a batch's first read: reads that end inside lines, between a CR
#: and its LF, short of a batch (then topped up by lines) and past it
_LINE_CHARS = [*range(1, 16), 1000]


@pytest.mark.parametrize("line_chars", _LINE_CHARS)
@pytest.mark.parametrize("name", FILES)
def test_column_batches_of_plain_and_other_text_hold_the_row_readers_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, line_chars: int
) -> None:
    """Batches cut by ``split`` hold the row reader's rows, numbers and reports, and a
    batch of any other shape is read by ``csv.reader`` (with the rest of the file),
    wherever the text's reads end."""
    monkeypatch.setattr(rows_module, "LINE_CHARS", line_chars)
    path = tmp_path / "accounts.csv"
    path.write_bytes(FILES[name].encode())
    by_columns: list[tuple[str, int]] = []
    got: list[tuple[int, str | None, str | None, str | None]] = []
    for header, columns, numbers in read_csv_columns(
        path, lambda reason, row: by_columns.append((reason, row)), 4
    ):
        assert header == ["id", "name", "size"]
        assert 0 < len(numbers) <= 4
        got += zip(numbers, *columns, strict=True)
    by_rows: list[tuple[str, int]] = []
    numbered = read_numbered_rows(path, lambda reason, row: by_rows.append((reason, row)))
    expected = [(n, row["id"], row["name"], row["size"]) for n, row in numbered]
    assert got == expected
    assert by_columns == by_rows


@pytest.mark.parametrize("line_chars", _LINE_CHARS)
def test_plain_batches_are_cut_by_split(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, line_chars: int
) -> None:
    """The plain shapes do not reach ``csv.reader`` past the header, and their batches
    are of the size asked for, wherever the text's reads end."""
    monkeypatch.setattr(rows_module, "LINE_CHARS", line_chars)
    for name in ("crlf", "lf", "no end after the last row", "quoted cell by cell", "a quoted cr"):
        path = tmp_path / "accounts.csv"
        path.write_bytes(FILES[name].encode())
        with monkeypatch.context() as patched:
            patched.setattr(rows_module, "_column_batches", None)  # called: TypeError
            batches = list(read_csv_columns(path, lambda *_: None, 4))
        last = 14 if name == "a quoted cr" else 13  # a row more (its cell keeps the CR)
        assert [list(numbers) for _, _, numbers in batches] == [
            list(range(first, min(first + 4, last + 1))) for first in range(2, last + 1, 4)
        ]


def test_a_read_that_ends_between_cr_and_lf_reads_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A text read that stops between a CR and its LF, in a batch that ``csv.reader``
    then reads, gives the row reader's rows (no blank line made of the LF)."""
    rows = ['A2;say "hi";2', *_BODY[1:]]
    body = _plain(rows)
    # a first read (4 lines of ``line_chars``) that holds 4 line ends and stops on a CR
    line_chars = next(
        n for n in range(1, 60) if body[4 * n - 1] == "\r" and body[: 4 * n].count("\n") >= 4
    )
    monkeypatch.setattr(rows_module, "LINE_CHARS", line_chars)
    path = tmp_path / "accounts.csv"
    path.write_bytes(_plain(_HEAD + rows).encode())
    got: list[tuple[int, str | None, str | None, str | None]] = []
    for _, columns, numbers in read_csv_columns(path, lambda *_: None, 4):
        got += zip(numbers, *columns, strict=True)
    numbered = read_numbered_rows(path, lambda *_: None)
    assert got == [(n, row["id"], row["name"], row["size"]) for n, row in numbered]


def test_plain_columns_with_the_rows_the_caller_counted() -> None:
    """A caller's count of line feeds stands for the rows of a body free of quotes: an LF
    that is not the line end leaves too few cells; a quoted body's rows are counted anew."""
    assert plain_columns("a,b\r\nc,d\r\ne,f", 2, ",", "\r\n", 3) == [
        ["a", "c", "e"],
        ["b", "d", "f"],
    ]
    assert plain_columns("a,b\r\nc\n,d\r\ne,f", 2, ",", "\r\n", 4) is None
    assert plain_columns("a,b\nc,d", 2, ",", "\n", 2) == [["a", "c"], ["b", "d"]]
    assert plain_columns('"a","b"\r\n"c","d"', 2, ",", "\r\n", 5) == [["a", "c"], ["b", "d"]]

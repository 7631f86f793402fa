"""The CSV column reader's batches read in chunks (plain batches cut by ``split``) hold the
rows, numbers, reports and batches of the row-by-row ``csv.reader`` reading, for seeded
random files of every line end, quoting, width, encoding and delimiter, with chunk reads
small enough that their ends land anywhere."""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Iterator
from pathlib import Path

import pytest

import icpsync.connectors.file.rows as rows_module
from icpsync.connectors.file.rows import (
    _column_batches,
    _csv_reader,
    _open,
    file_format,
    read_csv_columns,
    read_header,
    read_numbered_rows,
)
from icpsync.core.plain_csv import plain_columns

CASES = 1500
ENDS = ["\n", "\r\n", "\r"]
#: cells written as they are (the delimiter is put in by the row's writer)
PLAIN = ["A1", "n", "7", "", "Ünïcode", "é", "x" * 60, " s p ", "0", "\x0c\x85\u2028", "\x00"]
#: cells that are not plain: quotes inside, stray quotes, line ends inside quotes or not
ODD = [
    '"q"',
    '"two\nlines"',
    '"cr\rhere"',
    '"crlf\r\nin"',
    '"say ""hi"""',
    '""',
    'a"b',
    '"a"b',
    '"\n"',
    '"\r"',
    "a\rb",
    "a\nb",
    '"open',
    ' "a"',
    '"a" ',
    '"a""b"',
    '"x' + "y" * 80 + '"',
]


def _row(rng: random.Random, width: int, delimiter: str, odd: float, quoted: float) -> str:
    """One row's text (no line end): plain or quoted cell by cell, and at the file's rate
    ``odd`` blank, short, long, empty, or with an odd cell."""
    count = width
    kind = rng.random() / odd if odd else 1.0
    if kind < 0.2:
        return ""
    if kind < 0.4:
        count = rng.randint(1, width + 2)
    cells = [rng.choice(PLAIN) for _ in range(count)]
    if kind < 0.6:
        cells = [""] * count
    elif kind < 0.8:  # any text of quotes, delimiters and line ends
        pieces = ['"', '""', delimiter, f'"{delimiter}"', "a", "é", " ", "\n", "\r", "\r\n"]
        return "".join(rng.choice(pieces) for _ in range(rng.randint(0, 10)))
    elif kind < 1.0:
        cells[rng.randrange(count)] = rng.choice(ODD)
    elif rng.random() < quoted:
        return delimiter.join(f'"{cell}"' for cell in cells)
    return delimiter.join(cells)


def _file(rng: random.Random) -> tuple[bytes, int]:
    """A CSV file's bytes, and the batch size to read it in."""
    delimiter = rng.choice([",", ",", ";", "\t", "|"])
    width = rng.choice([1, 2, 2, 3, 4])
    names = [f"c{i}" for i in range(width)]
    if rng.random() < 0.05:
        names[-1] = names[0]  # a repeated name: the dicts decide
    if rng.random() < 0.1:
        names[0] = rng.choice(['"c\n0"', '"c\r\n0"', '"c\r0"'])  # a header of two lines
    header = delimiter.join(f'"{n}"' if rng.random() < 0.2 else n for n in names)
    if rng.random() < 0.02:
        header = ""  # an empty file, or lines before a first record
    style = rng.random()
    file_end = rng.choice(ENDS)

    def end() -> str:
        return rng.choice(ENDS) if style < 0.2 else file_end

    odd = rng.choice([0.0, 0.03, 0.1, 0.4])
    quoted = rng.choice([0.0, 0.0, 1.0, 0.5])
    rows = [_row(rng, width, delimiter, odd, quoted) for _ in range(rng.randint(0, 16))]
    text = header + end() + "".join(row + end() for row in rows)
    if rng.random() < 0.3:
        text = text.rstrip("\r\n")  # no line end after the last row (or the header)
    encoding = rng.choice(["utf-8", "utf-8", "utf-8-sig", "windows-1252", "utf-16"])
    if encoding == "windows-1252":
        text = text.translate({ord("Ü"): "U", ord("ï"): "i", 0x85: "…", 0x2028: " "})
    return text.encode(encoding), rng.randint(1, 5)


def _expected_batches(
    path: Path, size: int
) -> Iterator[tuple[list[int], list[tuple[object, ...]]]]:
    """The batches the records give when read one by one by ``csv.reader``."""
    fmt = file_format(path)
    with _open(path, fmt) as handle:
        reader = _csv_reader(handle, fmt)
        header = next(reader)
        for _, columns, numbers in _column_batches(reader, header, size, [], lambda *_: None):
            yield list(numbers), list(zip(*columns, strict=True))


def _check(path: Path, size: int) -> None:
    by_columns: list[tuple[str, int]] = []
    got: list[tuple[object, ...]] = []
    batches: list[tuple[list[int], list[tuple[object, ...]]]] = []
    names: list[str] = []
    for header, columns, numbers in read_csv_columns(
        path, lambda reason, row: by_columns.append((reason, row)), size
    ):
        names = header
        assert 0 < len(numbers) <= size
        rows = list(zip(*columns, strict=True))
        assert len(rows) == len(numbers)
        batches.append((list(numbers), rows))
        got += zip(numbers, *columns, strict=True)
    by_rows: list[tuple[str, int]] = []
    numbered = list(read_numbered_rows(path, lambda reason, row: by_rows.append((reason, row))))
    if numbered and not names:  # rows but no batch names: compare with the file's header
        names = list(numbered[0][1])
    expected = [(n, *(row[name] for name in names)) for n, row in numbered]
    assert got == expected
    assert by_columns == by_rows  # the same reports in the same order
    header_row = read_header(path)
    if header_row and len(set(header_row)) == len(header_row):
        assert batches == list(_expected_batches(path, size))


def _cases() -> Iterator[tuple[int, bytes, int, int, int, int | None]]:
    rng = random.Random(20261202)
    for case in range(CASES):
        data, size = _file(rng)
        limit = rng.choice([None, None, None, 30, 70])  # the CSV field limit
        yield case, data, size, rng.randint(1, 12), rng.choice([1, 2, 3, 256]), limit


def test_chunked_batches_match_the_row_by_row_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "accounts.csv"
    for case, data, size, line_chars, piece, limit in _cases():
        monkeypatch.setattr(rows_module, "LINE_CHARS", line_chars)
        monkeypatch.setattr(rows_module, "PIECE", piece)
        path.write_bytes(data)
        previous = csv.field_size_limit(limit) if limit else None
        try:
            _check(path, size)
        except AssertionError as exc:
            raise AssertionError(
                f"case {case}: size={size} LINE_CHARS={line_chars} PIECE={piece} "
                f"field limit={limit} data={data!r}"
            ) from exc
        finally:
            if previous is not None:
                csv.field_size_limit(previous)


def test_a_quoted_body_whose_last_quote_ends_a_cut_is_not_plain(tmp_path: Path) -> None:
    '''``"""|"`` is one cell (``"|``) to ``csv.reader``. Its quotes count as those of a
    row quoted cell by cell, but its last quote ends the cut ``"|"``: not plain (it was
    read as two cells, ``"`` and an empty one). Found by the test above.'''
    assert plain_columns('"""|"', 2, "|") is None
    assert plain_columns('"|"\n"a"|"b"', 2, "|") is None
    assert plain_columns('"a"|"b"\n"|"', 2, "|") is None
    assert plain_columns('"a"|"b"\n"c"|"d"', 2, "|") == [["a", "c"], ["b", "d"]]
    path = tmp_path / "accounts.csv"
    path.write_bytes(b'c0|c1\n"""|"\n"a"|"b"\n')
    batches = [
        (list(numbers), list(zip(*columns, strict=True)))
        for _, columns, numbers in read_csv_columns(path, lambda *_: None, 1)
    ]
    assert batches == [([2], [('"|', None)]), ([3], [("a", "b")])]
    _check(path, 1)


def _body(rng: random.Random, width: int, delimiter: str, line_end: str) -> str:
    """Rows joined by ``line_end``: quoted cell by cell (cells of quotes, delimiters and
    line ends) or any text of quotes, cuts, delimiters and line ends."""
    cut, row_cut = f'"{delimiter}"', f'"{line_end}"'
    pieces = ['"', '""', delimiter, cut, row_cut, "a", " ", "\n", "\r", "\r\n", '"a"']
    rows = []
    for _ in range(rng.randint(1, 4)):
        if rng.random() < 0.5:
            inner = ["a", "", delimiter, "\n", "\r", '""']
            cells = ("".join(rng.choices(inner, k=rng.randint(0, 2))) for _ in range(width))
            rows.append(delimiter.join(f'"{cell}"' for cell in cells))
        else:
            rows.append("".join(rng.choices(pieces, k=rng.randint(0, 8))))
    return line_end.join(rows)


def test_plain_columns_are_what_csv_reader_reads() -> None:
    """Whatever text ``plain_columns`` cuts (with the rows counted by the caller, or by
    it where the line end is a LF), ``csv.reader`` reads as those rows."""
    rng = random.Random(20261202)
    for _ in range(20_000):
        delimiter = rng.choice([",", ";", "|", "\t"])
        width = rng.randint(2, 4)
        line_end = rng.choice(["\n", "\r\n"])
        body = _body(rng, width, delimiter, line_end)
        if not body:
            continue
        for rows in (body.count("\n") + 1, None if line_end == "\n" else 0):
            columns = plain_columns(body, width, delimiter, line_end, rows or None)
            if rows == 0 or columns is None:
                continue
            text = io.StringIO(body + line_end, newline="")
            expected = list(csv.reader(text, delimiter=delimiter))
            assert [list(row) for row in zip(*columns, strict=True)] == expected, repr(body)

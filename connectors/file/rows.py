"""Read rows from CSV or JSON Lines without holding the file in memory.

Each file is read with the encoding and delimiter of its :class:`TextFormat` (detected when
not given). A malformed JSON line or an oversized CSV field is skipped and reported by the
caller through ``on_bad_row``. Rows are numbered as a spreadsheet shows them: the header is
row 1, so the first record is row 2 (JSON Lines: the line number).
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import chain, islice
from pathlib import Path
from typing import TextIO

from icpsync.connectors.file.text_format import TextFormat, detect_format
from icpsync.core.errors import FatalError
from icpsync.core.plain_csv import plain_columns

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))

#: (reason, row number) of a row skipped or cut by the reader.
OnBadRow = Callable[[str, int], None]
#: Records read at a time into a batch's columns (see :func:`_column_batches`).
PIECE = 256
#: Characters per line the first read of a CSV file's plain batches takes (then the mean of
#: the batch before).
LINE_CHARS = 128
#: A batch of CSV rows: the column names, one column per name, the rows' numbers.
CsvColumns = tuple[list[str], list[Sequence[str | None]], Sequence[int]]


def is_jsonl(path: Path) -> bool:
    """JSON Lines by extension (``.jsonl``, ``.ndjson``); anything else is CSV."""
    return path.suffix.lower() in (".jsonl", ".ndjson")


def file_format(path: Path, fmt: TextFormat | None = None) -> TextFormat:
    """``fmt``, or the format detected for ``path``."""
    return fmt or detect_format(path, csv_file=not is_jsonl(path))


def _open(path: Path, fmt: TextFormat) -> TextIO:
    try:
        return path.open(encoding=fmt.encoding, errors="replace", newline="")
    except OSError as exc:
        raise FatalError(f"{path}: cannot read ({exc.strerror})") from exc


def _csv_reader(handle: TextIO, fmt: TextFormat) -> Iterator[list[str]]:
    return csv.reader(handle, delimiter=fmt.delimiter or ",")


def read_header(path: Path, fmt: TextFormat | None = None) -> list[str]:
    """The column names of a CSV file (empty for an empty file)."""
    fmt = file_format(path, fmt)
    with _open(path, fmt) as handle:
        try:
            return next(_csv_reader(handle, fmt), [])
        except csv.Error:
            return []


def read_keys(path: Path, fmt: TextFormat | None = None, lines: int = 100) -> list[str]:
    """A JSON Lines file's keys, in order of appearance in its first ``lines`` objects
    (its "header", for matching columns; empty when it has no object)."""
    keys: dict[str, None] = {}
    rows = read_numbered_rows(path, lambda _reason, _row: None, file_format(path, fmt))
    for count, (_, row) in enumerate(rows, 1):
        keys.update(dict.fromkeys(str(k) for k in row))
        if count >= lines:
            break
    return list(keys)


def read_rows(
    path: Path, on_bad_row: Callable[[str], None], fmt: TextFormat | None = None
) -> Iterator[dict[str, object]]:
    """Yield one dict per row of ``path``.

    Raises:
        FatalError: the file cannot be opened.
    """
    for _, row in read_numbered_rows(path, lambda reason, _row: on_bad_row(reason), fmt):
        yield row


def read_numbered_rows(
    path: Path, on_bad_row: OnBadRow, fmt: TextFormat | None = None
) -> Iterator[tuple[int, dict[str, object]]]:
    """Yield (row number, row) for every row of ``path``."""
    fmt = file_format(path, fmt)
    with _open(path, fmt) as handle:
        if is_jsonl(path):
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    on_bad_row("malformed_json_line", number)
                    continue
                if isinstance(row, dict):
                    yield number, row
                else:
                    on_bad_row("json_line_not_an_object", number)
            return
        failed: list[int] = []
        yield from _csv_rows(_until_error(_csv_reader(handle, fmt), failed), on_bad_row)
        if failed:
            on_bad_row("malformed_csv", failed[0])


def _csv_rows(
    reader: Iterator[tuple[int, list[str]]], on_bad_row: OnBadRow
) -> Iterator[tuple[int, dict[str, object]]]:
    """Rows as ``csv.DictReader`` makes them (blank lines skipped, short rows padded with
    None, surplus cells dropped and counted), without its per-row Python overhead."""
    first = next(reader, None)
    if first is None:
        return
    header = first[1]
    width = len(header)
    for number, cells in reader:
        if not cells:
            continue
        row: dict[str, object] = dict(zip(header, cells, strict=False))
        if len(cells) > width:
            on_bad_row("csv_row_with_extra_columns", number)
        elif len(cells) < width:
            for name in header[len(cells) :]:
                row[name] = None
        # Cells are strings (or None for padding): present means neither None nor "".
        if any(row.values()):
            yield number, row
        else:
            on_bad_row("empty_row", number)


def read_csv_columns(
    path: Path, on_bad_row: OnBadRow, size: int, fmt: TextFormat | None = None
) -> Iterator[CsvColumns]:
    """The rows of a CSV file ``size`` at a time, as (column names, one column per name,
    the rows' numbers).

    The rows and counts are those of :func:`read_rows` (a repeated column name keeps its
    last value); only the shape differs: no dict per row.

    Raises:
        FatalError: the file cannot be opened.
    """
    fmt = file_format(path, fmt)
    with _open(path, fmt) as handle:
        failed: list[int] = []
        reader = _csv_reader(handle, fmt)
        header = _first_record(reader, failed)
        if header is None:
            pass
        elif not header or len(set(header)) < len(header):  # let the dicts decide
            rows = _csv_rows(_chained((1, header), _until_error(reader, failed, 1)), on_bad_row)
            names = list(dict.fromkeys(header))
            while records := list(islice(rows, size)):
                yield (
                    names,
                    [[row[name] for _, row in records] for name in names],  # type: ignore[misc]
                    [number for number, _ in records],
                )
        else:
            yield from _split_batches(handle, fmt, header, size, failed, on_bad_row)
        if failed:
            on_bad_row("malformed_csv", failed[0])


def _split_batches(
    handle: TextIO,
    fmt: TextFormat,
    header: list[str],
    size: int,
    failed: list[int],
    on_bad_row: OnBadRow,
) -> Iterator[CsvColumns]:
    """The lines after the header ``size`` at a time as columns, each batch cut by
    ``str.split`` while its lines are records of a plain shape (:func:`_plain_batch`);
    from the first batch that is not, the rest of the file through ``csv.reader``
    (:func:`_column_batches`), beginning with that batch's lines.

    The text is read in chunks of about a batch (:func:`_next_lines`), not line by line:
    no string per line is made and joined again."""
    width = len(header)
    delimiter = fmt.delimiter or ","
    plain = width > 1 and delimiter not in '"\r\n'
    number = 2  # the next record's number
    text = ""  # read and not yet in a batch
    line_chars = LINE_CHARS
    while True:
        text, end, lines = _next_lines(handle, text, size, line_chars)
        if not lines:
            return
        columns = _plain_batch(text, end, lines, width, delimiter) if plain else None
        if columns is None:
            if not text.endswith(("\n", "\r")):  # the line read in part: its rest
                text += handle.readline()
            lined = chain(io.StringIO(text, newline=""), handle)
            reader = _csv_reader(lined, fmt)  # type: ignore[arg-type]
            yield from _column_batches(reader, header, size, failed, on_bad_row, number)
            return
        line_chars = end // lines + 1
        text = text[end:]
        numbers: Sequence[int] = range(number, number + lines)
        if not all(columns[0]):  # a row without a first cell: empty rows dropped and counted
            rows = list(zip(*columns, strict=True))
            numbers, columns = _fitted_piece(rows, number, width, on_bad_row)  # type: ignore[arg-type, assignment]
        number += lines
        if numbers:
            yield header, columns, numbers  # type: ignore[misc]
        del columns


def _next_lines(handle: TextIO, text: str, size: int, line_chars: int) -> tuple[str, int, int]:
    """``text`` and what is read after it, where the next ``size`` lines end in it and how
    many lines that is (fewer at the file's end, or where a line ends at a CR alone: such
    a batch is not plain).

    About ``size`` * ``line_chars`` characters are read at once, then whole lines while
    fewer than ``size`` line feeds are held (the text file's own lines: a CR alone ends one,
    so no more than ``size`` lines are added). A read that stops on a CR reads on, so that a
    CRLF is never cut; the text then ends at a line end, or within a line the file goes on
    with."""
    wanted = size * line_chars - len(text)
    if wanted > 0:
        chunk = handle.read(wanted)
        while chunk.endswith("\r"):
            more = handle.read(1)
            chunk += more
            if not more:
                break
        text += chunk
    found = text.count("\n")
    if found < size:
        more = "".join(islice(handle, size - found))  # the first completes a line cut
        text += more
        found += more.count("\n")
    if found >= size:
        end = len(text)
        for _ in range(found - size + 1):
            end = text.rfind("\n", 0, end)
        return text, end + 1, size
    return text, len(text), found + (not text.endswith("\n") and text != "")


def _plain_batch(
    text: str, end: int, lines: int, width: int, delimiter: str
) -> list[list[str]] | None:
    """The columns of the ``lines`` lines ``text[:end]`` when each line is one record
    ``width`` cells wide of a plain shape (:func:`~icpsync.core.plain_csv.plain_columns`),
    every line but the file's last ends alike (LF, or CRLF where the text holds a CR), and
    no cell can pass the CSV field limit; else None.

    ``lines`` counts the line feeds (and a last line without one), and the records must
    be as many: no LF stands alone in CRLF text. A CR alone outside quotes, or a line end
    inside a quoted cell, gets None; a quoted cell's CR alone is kept, as ``csv.reader``
    keeps it.
    """
    if end > csv.field_size_limit():
        return None
    line_end = "\n" if text.find("\r", 0, end) == -1 else "\r\n"
    if text.endswith(line_end, 0, end):
        cut = end - len(line_end)
    elif text.endswith(("\r", "\n"), 0, end):
        return None
    else:  # the file's last line, without an end
        cut = end
    columns = plain_columns(text[:cut], width, delimiter, line_end, lines)
    return columns if columns is not None and len(columns[0]) == lines else None


def _column_batches(
    reader: Iterator[list[str]],
    header: list[str],
    size: int,
    failed: list[int],
    on_bad_row: OnBadRow,
    number: int = 2,
) -> Iterator[CsvColumns]:
    """The records from record ``number`` on (record 1 is the header) ``size`` at a time
    as columns, up to a malformed one (its number in ``failed``).

    The records are read :data:`PIECE` at a time and each piece's rows are let go once
    its values are in the batch's columns (a batch's rows all alive at once cost more
    than the reading). A piece with a row of another width or an empty row is fitted
    (:func:`_fitted_piece`); the batch then names its rows one by one.
    """
    width = len(header)
    more = True
    while more:
        first = number
        columns: list[list[str | None]] = [[] for _ in range(width)]
        numbers: list[int] | None = None  # None: every record from ``first`` to ``number``
        while more and number - first < size:
            wanted = min(PIECE, size - (number - first))
            rows: list[list[str | None]] = []
            try:
                rows.extend(islice(reader, wanted))  # type: ignore[arg-type]
            except csv.Error:  # the rows read before the malformed one are kept
                failed.append(number + len(rows))
                more = False
            more = more and len(rows) == wanted
            piece = _piece_columns(rows, width)
            if piece is None:
                kept, piece = _fitted_piece(rows, number, width, on_bad_row)
                numbers = [*(range(first, number) if numbers is None else numbers), *kept]
            elif numbers is not None:
                numbers.extend(range(number, number + len(rows)))
            for column, values in zip(columns, piece, strict=False):
                column.extend(values)
            number += len(rows)
        if columns[0]:
            yield header, columns, range(first, number) if numbers is None else numbers  # type: ignore[misc]


def _piece_columns(rows: list[list[str | None]], width: int) -> list[Sequence[str | None]] | None:
    """The rows' columns when every row has ``width`` cells and a first cell (so no row is
    empty); else None."""
    try:
        columns: list[Sequence[str | None]] = list(zip(*rows, strict=True))
    except ValueError:  # rows of different lengths
        return None
    if not rows:
        return [()] * width
    return columns if len(columns) == width and all(columns[0]) else None


def _fitted_piece(
    rows: list[list[str | None]], first: int, width: int, on_bad_row: OnBadRow
) -> tuple[list[int], list[Sequence[str | None]]]:
    """The numbers and columns of the rows (the first numbered ``first``) that are kept
    (:func:`_fitted`); the rows as they are when each is ``width`` cells with a value."""
    if set(map(len, rows)) == {width} and all(map(any, rows)):
        return list(range(first, first + len(rows))), list(zip(*rows, strict=True))
    numbers, fitted = _fitted(enumerate(rows, first), width, on_bad_row)
    return numbers, list(zip(*fitted, strict=True))


def _first_record(reader: Iterator[list[str]], failed: list[int]) -> list[str] | None:
    """The first record (the header); None for an empty file or a malformed first record."""
    try:
        return next(reader, None)
    except csv.Error:
        failed.append(1)
        return None


def _chained(
    first: tuple[int, list[str]], rest: Iterator[tuple[int, list[str]]]
) -> Iterator[tuple[int, list[str]]]:
    yield first
    yield from rest


def _until_error(
    reader: Iterator[list[str]], failed: list[int], number: int = 0
) -> Iterator[tuple[int, list[str]]]:
    """The reader's rows, numbered from ``number`` + 1, up to a malformed one (its number in
    ``failed``)."""
    try:
        for cells in reader:
            number += 1
            yield number, cells
    except csv.Error:
        failed.append(number + 1)


def _fitted(
    batch: Iterable[tuple[int, list[str | None]]], width: int, on_bad_row: OnBadRow
) -> tuple[list[int], list[list[str | None]]]:
    """Rows as ``width`` cells: blank lines dropped, short rows padded with None, surplus
    cells dropped and counted, then rows without a value dropped and counted, each report
    in row order (as :func:`_csv_rows` makes them)."""
    numbers: list[int] = []
    fitted: list[list[str | None]] = []
    for number, cells in batch:
        if not cells:
            continue
        if len(cells) > width:
            on_bad_row("csv_row_with_extra_columns", number)
            cells = cells[:width]
        elif len(cells) < width:
            cells = [*cells, *[None] * (width - len(cells))]
        if any(cells):
            numbers.append(number)
            fitted.append(cells)
        else:
            on_bad_row("empty_row", number)
    return numbers, fitted

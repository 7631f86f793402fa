"""Read rows from CSV or JSON Lines without holding the file in memory.

Undecodable bytes are replaced (never a crash); a malformed JSON line or an oversized CSV
field is skipped and counted by the caller through ``on_bad_row``.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from icpsync.errors import FatalError

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


def is_jsonl(path: Path) -> bool:
    """JSON Lines by extension (``.jsonl``, ``.ndjson``); anything else is CSV."""
    return path.suffix.lower() in (".jsonl", ".ndjson")


def read_rows(path: Path, on_bad_row: Callable[[str], None]) -> Iterator[dict[str, object]]:
    """Yield one dict per row of ``path``.

    Raises:
        FatalError: the file cannot be opened.
    """
    try:
        handle = path.open(encoding="utf-8", errors="replace", newline="")
    except OSError as exc:
        raise FatalError(f"{path}: cannot read ({exc.strerror})") from exc
    with handle:
        if is_jsonl(path):
            for line in handle:
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    on_bad_row("malformed_json_line")
                    continue
                if isinstance(row, dict):
                    yield row
                else:
                    on_bad_row("json_line_not_an_object")
            return
        try:
            yield from _csv_rows(csv.reader(handle), on_bad_row)
        except csv.Error:
            on_bad_row("malformed_csv")


def _csv_rows(
    reader: Iterator[list[str]], on_bad_row: Callable[[str], None]
) -> Iterator[dict[str, object]]:
    """Rows as ``csv.DictReader`` makes them (blank lines skipped, short rows padded with
    None, surplus cells dropped and counted), without its per-row Python overhead."""
    header = next(reader, None)
    if header is None:
        return
    width = len(header)
    for cells in reader:
        if not cells:
            continue
        row: dict[str, object] = dict(zip(header, cells, strict=False))
        if len(cells) > width:
            on_bad_row("csv_row_with_extra_columns")
        elif len(cells) < width:
            for name in header[len(cells) :]:
                row[name] = None
        # Cells are strings (or None for padding): present means neither None nor "".
        if any(row.values()):
            yield row
        else:
            on_bad_row("empty_row")

"""Frozen copy of connectors/file/rows.py as it was before the throughput work.

The reference the fast path must match. Read rows from CSV or JSON Lines without holding
the file in memory.

Undecodable bytes are replaced (never a crash); a malformed JSON line or an oversized CSV
field is skipped and counted by the caller through ``on_bad_row``.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from icpsync.core.errors import FatalError

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
        reader = csv.DictReader(handle)
        try:
            for row in reader:
                extra = row.pop(None, None)
                if extra:
                    on_bad_row("csv_row_with_extra_columns")
                if any(v not in (None, "") for v in row.values()):
                    yield dict(row)
                else:
                    on_bad_row("empty_row")
        except csv.Error:
            on_bad_row("malformed_csv")

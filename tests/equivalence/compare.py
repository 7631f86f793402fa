"""Reading the stored corpus, and saying where an answer first differs from it.

A failure names the case, the first record (or line) that differs, and the fields that
differ in it, each value shortened: enough to find the change, never the whole output.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from pathlib import Path
from typing import Any

import pytest

CORPUS = Path(__file__).resolve().parent / "corpus"
#: characters of a value shown in a failure.
SHOWN = 300


def read_bytes(path: Path) -> bytes:
    """A stored file's bytes (a ``.gz`` file unpacked)."""
    data = path.read_bytes()
    return gzip.decompress(data) if path.suffix == ".gz" else data


def read_json(path: Path) -> Any:
    """A stored JSON file (``.json`` or ``.json.gz``)."""
    return json.loads(read_bytes(path))


def stored(folder: str, pattern: str = "*.json*") -> list[Path]:
    """The stored files of one part of the corpus, in name order."""
    return sorted((CORPUS / folder).glob(pattern))


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= SHOWN else f"{text[:SHOWN]}... ({len(text)} characters)"


def _pair(expected: Any, got: Any) -> str:
    """Both values, shortened; two texts from just before where they first differ."""
    if not (isinstance(expected, str | bytes) and isinstance(got, str | bytes)):
        return f"    expected {_short(expected)}\n    got      {_short(got)}"
    at = next(
        (i for i, (a, b) in enumerate(zip(expected, got, strict=False)) if a != b),
        min(len(expected), len(got)),
    )
    start = max(0, at - 40)
    where = f"at character {at}"
    if isinstance(expected, str) and "\n" in expected[:at]:
        where += f" (line {expected[:at].count(chr(10)) + 1})"
    lines = [f"    first difference {where} of {len(expected)} / {len(got)}"]
    for label, text in (("expected", expected), ("got     ", got)):
        window = repr(text[start : at + 80])
        lines.append(
            f"    {label} {'...' if start else ''}{window}{'...' if at + 80 < len(text) else ''}"
        )
    return "\n".join(lines)


def _field_differences(expected: Any, got: Any, prefix: str = "") -> list[str]:
    """``field: expected ... got ...`` for each leaf that differs (dicts walked)."""
    if isinstance(expected, dict) and isinstance(got, dict):
        lines = []
        for key in [*expected, *(k for k in got if k not in expected)]:
            if expected.get(key, "<absent>") != got.get(key, "<absent>"):
                lines += _field_differences(
                    expected.get(key, "<absent>"), got.get(key, "<absent>"), f"{prefix}{key}."
                )
        return lines
    return [f"  {prefix.rstrip('.') or 'value'}:\n{_pair(expected, got)}"]


def same_records(what: str, expected: list[Any], got: list[Any], key: str | None = None) -> None:
    """Fail at the first record that differs, naming it and its differing fields."""
    for index, (want, have) in enumerate(zip(expected, got, strict=False)):
        if want != have:
            name = f" ({key} {want.get(key)!r})" if key and isinstance(want, dict) else ""
            lines = _field_differences(want, have)
            pytest.fail(
                f"{what}: record {index}{name} differs from the release's:\n" + "\n".join(lines),
                pytrace=False,
            )
    if len(expected) != len(got):
        pytest.fail(f"{what}: {len(got)} records, the release gave {len(expected)}", pytrace=False)


def same_value(what: str, expected: Any, got: Any) -> None:
    """Fail, naming the differing fields, when two JSON values differ."""
    if expected != got:
        lines = _field_differences(expected, got)
        pytest.fail(f"{what} differs from the release's:\n" + "\n".join(lines), pytrace=False)


def same_text(what: str, expected: bytes, got: bytes) -> None:
    """Fail at the first line that differs (a CSV line: the first column that differs)."""
    if expected == got:
        return
    want_lines = expected.splitlines(keepends=True)
    have_lines = got.splitlines(keepends=True)
    for number, (want, have) in enumerate(zip(want_lines, have_lines, strict=False), start=1):
        if want != have:
            detail = _csv_detail(want_lines[0], want, have) if number > 1 else ""
            pytest.fail(
                f"{what}: line {number} differs from the release's{detail}\n" + _pair(want, have),
                pytrace=False,
            )
    pytest.fail(
        f"{what}: {len(have_lines)} lines, the release wrote {len(want_lines)}", pytrace=False
    )


def _csv_detail(header: bytes, want: bytes, have: bytes) -> str:
    """`` (id X; the columns that differ)`` for two CSV lines, when they parse."""
    try:
        names, a, b = (next(csv.reader(io.StringIO(x.decode()))) for x in (header, want, have))
    except (UnicodeDecodeError, StopIteration, csv.Error):
        return ""
    moved = [name for name, x, y in zip(names, a, b, strict=False) if x != y]
    if len(a) != len(b):
        moved.append(f"{len(b)} cells instead of {len(a)}")
    return f" ({names[0]} {_short(a[0])[:80]!r}; {', '.join(moved)})" if moved else ""

"""Reading ahead in a second process yields what the read in this process yields: the same
batches, the same bad rows told at the same points, the same failure."""

from __future__ import annotations

import csv
import multiprocessing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from icpsync.cli import main
from icpsync.connectors.file import read_ahead as read_ahead_module
from icpsync.connectors.file.read_ahead import read_ahead
from icpsync.connectors.file.rows import CsvColumns, OnBadRow, read_csv_columns

SIZE = 50  # rows per batch: a few hundred rows make many batches
#: A cell past the csv module's field limit (``small_field_limit``): the rest of the file
#: is malformed.
TOO_LONG = "A8," + "x" * 2_000 + ",1\nA9,After,2\n"


@pytest.fixture(autouse=True)
def small_field_limit() -> Iterator[None]:
    previous = csv.field_size_limit(1_000)
    try:
        yield
    finally:
        csv.field_size_limit(previous)


def messy_csv(path: Path, rows: int = 400, tail: str = "") -> Path:
    """Full rows, with blank lines, short and long rows, empty rows, quoted line breaks and
    repeated ids among them."""
    lines = ["id,name,employees"]
    for i in range(rows):
        kind = i % 37
        if kind == 3:
            lines.append("")
        elif kind == 5:
            lines.append(f"S{i}")
        elif kind == 7:
            lines.append(f"L{i},Long,5,extra,more")
        elif kind == 11:
            lines.append(",,")
        elif kind == 13:
            lines.append(f'"Q,{i}","two\nlines",7')
        elif kind == 17:
            lines.append("A1,Again,3")
        else:
            lines.append(f"A{i},Name {i},{i}")
    path.write_text("\n".join(lines) + "\n" + tail, encoding="utf-8")
    return path


def events(read: Iterator[CsvColumns], told: list[Any]) -> list[Any]:
    """The batches and the bad rows told, in the order they happened."""
    for batch in read:
        told.append(("batch", batch))
    return told


@pytest.mark.parametrize("tail", ["", 'A9,"unclosed\n', TOO_LONG])
def test_batches_and_bad_rows_come_in_the_same_order(tmp_path: Path, tail: str) -> None:
    path = messy_csv(tmp_path / "accounts.csv", tail=tail)
    here: list[Any] = []
    ahead: list[Any] = []

    def read(on_bad_row: OnBadRow) -> Iterator[CsvColumns]:
        return read_csv_columns(path, on_bad_row, SIZE)

    events(read(lambda reason, row: here.append((reason, row))), here)
    events(read_ahead(read, lambda reason, row: ahead.append((reason, row))), ahead)
    assert ahead == here
    reasons = {event[0] for event in here if event[0] != "batch"}
    assert {"empty_row", "csv_row_with_extra_columns"} <= reasons
    assert ("malformed_csv" in reasons) == (tail == TOO_LONG)
    assert sum(event[0] == "batch" for event in here) > 5
    assert not multiprocessing.active_children()


def test_a_failure_in_the_child_happens_again_here() -> None:
    def read(on_bad_row: OnBadRow) -> Iterator[int]:
        for number in range(10):
            if number % 3 == 0:
                on_bad_row("empty_row", number)
            yield number
        on_bad_row("malformed_csv", 10)
        raise ValueError("cannot read row 11")

    outcomes = []
    for ahead in (False, True):
        told: list[Any] = []

        def tell(reason: str, row: int, told: list[Any] = told) -> None:
            told.append((reason, row))

        with pytest.raises(ValueError, match="cannot read row 11"):
            for item in read_ahead(read, tell) if ahead else read(tell):
                told.append(item)
        outcomes.append(told)
    assert outcomes[0] == outcomes[1]
    assert outcomes[0][-1] == ("malformed_csv", 10) and 9 in outcomes[0]
    assert not multiprocessing.active_children()


def test_stopping_early_ends_the_child(tmp_path: Path) -> None:
    path = messy_csv(tmp_path / "accounts.csv", rows=4000)

    def read(on_bad_row: OnBadRow) -> Iterator[CsvColumns]:
        return read_csv_columns(path, on_bad_row, SIZE)

    batches = read_ahead(read, lambda reason, row: None)
    assert next(batches)[1][0][0] == "A0"
    assert multiprocessing.active_children()
    batches.close()
    assert not multiprocessing.active_children()


def run(*args: str) -> tuple[int, str]:
    import io
    from contextlib import redirect_stdout

    out = io.StringIO()
    with redirect_stdout(out):
        try:
            main(list(args))
        except SystemExit as exc:
            return int(exc.code or 0), out.getvalue()
    return 0, out.getvalue()


def test_score_writes_the_same_bytes_reading_ahead_or_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = messy_csv(tmp_path / "accounts.csv", rows=5000, tail=TOO_LONG)
    from icpsync.connectors.file import connector

    started: list[int] = []

    def counted(read: Any, on_bad_row: OnBadRow) -> Any:
        started.append(1)
        return read_ahead(read, on_bad_row)

    monkeypatch.setattr(connector, "read_ahead", counted)
    results = []
    calls = []
    for min_bytes in (1 << 60, 0):
        monkeypatch.setattr(read_ahead_module, "MIN_BYTES", min_bytes)
        monkeypatch.setattr(read_ahead_module, "FREE_CORES", -1e9)  # whatever the load
        out, rejects = tmp_path / f"out{min_bytes}.csv", tmp_path / f"rejects{min_bytes}.csv"
        code, stdout = run(
            "score", "--accounts", str(path), "--out", str(out), "--rejects", str(rejects)
        )
        stdout = stdout.replace(str(rejects), "REJECTS").replace(str(out), "OUT")
        stdout = "\n".join(line for line in stdout.splitlines() if " in " not in line)
        results.append((code, stdout, out.read_bytes(), rejects.read_bytes()))
        calls.append(len(started))
    assert results[0] == results[1]
    assert calls == [0, 1]  # the second run read ahead
    assert results[0][0] == 0 and b"malformed CSV" in results[0][3]

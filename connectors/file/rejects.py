"""Every row skipped and every value made missing, with its address.

A :class:`RejectLog` takes :class:`Reject` records as the rows are read, writes them to a
CSV when asked (``--rejects FILE``: row, id, column, value, reason; replaced atomically),
and keeps the first few for the run's summary. A duplicate id is told which row kept it
once the read is over (the first row with that id). Used as a context manager, a run that
stops before :meth:`RejectLog.finish` leaves no file behind (an existing one is kept).
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from types import TracebackType
from typing import Self

from icpsync.core.normalise import Reject

REJECT_COLUMNS = ("row", "id", "column", "value", "reason")
SUMMARY_LINES = 10
_DUPLICATES = {"duplicate_account_id", "duplicate_opportunity_id"}
_PLAIN = {
    "account_without_id": "no id",
    "opportunity_without_id": "no id",
    "duplicate_account_id": "duplicate id",
    "duplicate_opportunity_id": "duplicate id",
    "empty_row": "empty row",
    "malformed_json_line": "not a JSON object line",
    "json_line_not_an_object": "JSON line is not an object",
    "malformed_csv": "malformed CSV from here on",
    "csv_row_with_extra_columns": "more cells than the header (extra cells dropped)",
}


class RejectLog:
    """Rejects of one run, in a CSV file (optional) and a short summary.

    Args:
        path: where the rejects CSV goes; None for the summary only.
        keep: how many rejects the summary shows.
    """

    def __init__(self, path: Path | None = None, keep: int = SUMMARY_LINES):
        self.path = path
        self.keep = keep
        self.count = 0
        self.shown: list[Reject] = []
        self.duplicates: list[tuple[str, Reject]] = []  # (file label, reject)
        self._label = ""
        self._tmp: Path | None = None
        self._writer = None
        self._handle = None
        if path is not None:
            self._tmp = path.with_name(f".{path.name}.tmp")
            self._handle = self._tmp.open("w", encoding="utf-8", newline="")
            self._writer = csv.writer(self._handle)
            self._writer.writerow(("file", *REJECT_COLUMNS))

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.discard()

    def discard(self) -> None:
        """Close and remove the unfinished rejects file (nothing once :meth:`finish` ran)."""
        if self._handle is not None:
            self._handle.close()
            self._handle = self._writer = None
            if self._tmp is not None:
                self._tmp.unlink(missing_ok=True)

    def reading(self, label: str) -> None:
        """The file the next rejects come from (its name)."""
        self._label = label

    def add(self, reject: Reject) -> None:
        """Record one reject."""
        if reject.reason in _DUPLICATES:
            self.duplicates.append((self._label, reject))
            return
        self._record(self._label, reject)

    def _record(self, label: str, reject: Reject) -> None:
        self.count += 1
        if len(self.shown) < self.keep:
            self.shown.append(reject)
        if self._writer is not None:
            self._writer.writerow(
                (label, reject.row, reject.id, reject.column, reject.value, explain(reject))
            )

    def finish(self, first_rows: Callable[[str, Iterable[str]], dict[str, int]]) -> None:
        """Name the kept row of each duplicate id and close the rejects file.

        Args:
            first_rows: (file label, ids) -> the first row of each id in that file.
        """
        labels = {label for label, _ in self.duplicates}
        kept = {
            label: first_rows(label, {r.id for lab, r in self.duplicates if lab == label and r.id})
            for label in labels
        }
        for label, reject in self.duplicates:
            row = kept[label].get(reject.id or "")
            where = f"row {row} kept" if row is not None else "the first one kept"
            self._record(
                label,
                Reject(reject.row, reject.id, None, None, f"duplicate id; {where}"),
            )
        self.duplicates = []
        if self._handle is not None and self._tmp is not None and self.path is not None:
            self._handle.close()
            os.replace(self._tmp, self.path)
            self._handle = self._writer = None

    def summary(self) -> list[str]:
        """The first rejects, one line each, and how many more there are."""
        if not self.count:
            return []
        lines = [f"rows skipped or with values set to missing ({self.count}):"]
        lines += [f"  {line(r)}" for r in self.shown]
        more = self.count - len(self.shown)
        if more:
            hint = f" (all in {self.path})" if self.path else " (--rejects FILE lists them all)"
            lines.append(f"  ... and {more} more{hint}")
        return lines


def explain(reject: Reject) -> str:
    """The reason in plain words."""
    return _PLAIN.get(reject.reason, reject.reason)


def line(reject: Reject) -> str:
    """``row 7, id A7: employees '-5' set to missing (negative)`` and the like."""
    where = ", ".join(
        part
        for part in (
            f"row {reject.row}" if reject.row is not None else "",
            f"id {reject.id}" if reject.id else "",
        )
        if part
    )
    if reject.reason == "csv_row_with_extra_columns":
        return f"{where}: {explain(reject)}"
    if reject.column is None:
        return f"{where or 'a record'}: skipped ({explain(reject)})"
    return f"{where}: {reject.column} {reject.value!r} set to missing ({explain(reject)})"

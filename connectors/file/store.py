"""The output file's values, kept in a temporary SQLite table so memory stays flat.

The previous output CSV is loaded once (streamed), looked up a batch of ids at a time while
accounts are read, updated by ``write_scores``, and streamed back out to the CSV on ``export``.
"""

from __future__ import annotations

import csv
import json
import os
import sqlite3
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from icpsync.connectors.file.rows import read_rows


class OutputStore:
    """Rows of the output file by account id (``id`` plus the ICP columns)."""

    def __init__(self, path: Path, on_bad_row: Callable[[str], None]):
        handle, self._db_path = tempfile.mkstemp(prefix="icpsync-output-", suffix=".db")
        os.close(handle)
        self._db = sqlite3.connect(self._db_path)
        self._db.execute("PRAGMA journal_mode=OFF")
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.execute("CREATE TABLE rows (seq INTEGER PRIMARY KEY, id TEXT UNIQUE, row TEXT)")
        self.columns: list[str] = ["id"]
        if path.exists():
            self._load(path, on_bad_row)

    def _load(self, path: Path, on_bad_row: Callable[[str], None]) -> None:
        def rows() -> Iterable[tuple[str, str]]:
            for row in read_rows(path, on_bad_row):
                key = str(row.get("id") or "")
                if key:
                    for column in row:
                        if column not in self.columns:
                            self.columns.append(column)
                    yield key, json.dumps({k: v for k, v in row.items() if v is not None})

        self._db.executemany("INSERT OR REPLACE INTO rows (id, row) VALUES (?, ?)", rows())

    def get_many(self, account_ids: Iterable[str]) -> dict[str, dict[str, str]]:
        """The stored rows of the named accounts that have one, by id (one query)."""
        wanted = json.dumps([key for key in account_ids if key])
        found = self._db.execute(
            "SELECT id, row FROM rows WHERE id IN (SELECT value FROM json_each(?))", (wanted,)
        )
        return {key: json.loads(text) for key, text in found}

    def put(self, rows: Iterable[dict[str, str]]) -> None:
        """Insert or replace rows (each with an ``id``)."""
        batch = []
        for row in rows:
            for column in row:
                if column not in self.columns:
                    self.columns.append(column)
            batch.append((row["id"], json.dumps(row)))
        self._db.executemany(
            "INSERT INTO rows (id, row) VALUES (?, ?) "
            "ON CONFLICT(id) DO UPDATE SET row = excluded.row",
            batch,
        )

    def export(self, path: Path, columns: list[str]) -> None:
        """Write every row to ``path`` atomically, in first-seen order."""
        tmp = path.with_name(path.name + ".tmp")
        path.parent.mkdir(parents=True, exist_ok=True)
        with tmp.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
            writer.writeheader()
            for (text,) in self._db.execute("SELECT row FROM rows ORDER BY seq"):
                writer.writerow(json.loads(text))
            handle.flush()
            os.fsync(handle.fileno())  # on disk before the rename, and so before the cursor
        os.replace(tmp, path)

    def close(self) -> None:
        """Drop the temporary table."""
        self._db.close()
        Path(self._db_path).unlink(missing_ok=True)

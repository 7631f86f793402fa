"""File connector: CSV/JSONL in, a CSV of ICP values out (the file plays the CRM).

Columns are mapped through ``field_maps/file.toml`` (defaults: the canonical names); columns
the map does not name become account signals. The output file holds one row per scored
account (``id`` plus the ICP columns); it is read back as the values "the CRM holds", so a
second sync writes nothing, and it is replaced atomically on ``close()``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from datetime import datetime
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from icpsync.connectors.file.rows import is_jsonl, read_csv_columns, read_rows
from icpsync.connectors.file.store import OutputStore
from icpsync.engine.field_map import FieldMap, load_field_map
from icpsync.core.model import Account, ConnectorStats, Opportunity, ScoreUpdate, WriteReport
from icpsync.core.normalise import ICP_RAW_KEYS, Normaliser
from icpsync.core.normalise_columns import accounts_from_columns
from icpsync.engine.protocol import Check, PlanStep

if TYPE_CHECKING:
    from icpsync.engine.settings import Settings


#: Rows cleaned together on the CSV fast path.
BATCH_ROWS = 2048


def _signals(row: Mapping[str, object], not_signals: set[str]) -> dict[str, object]:
    """The row's other columns with a value: the account's signals."""
    if not row.keys() - not_signals:
        return {}
    return {k: v for k, v in row.items() if k not in not_signals and v not in (None, "")}


class FileConnector:
    """Accounts and opportunities from files; ICP values to an output CSV.

    Args:
        accounts: accounts file (CSV or JSON Lines).
        opportunities: opportunities file, optional.
        output: where ICP values are written and read back from, optional.
        field_map: column names; the shipped ``file`` map by default.
    """

    name: ClassVar[str] = "file"
    write_chunk_size = 5000

    def __init__(
        self,
        accounts: Path,
        opportunities: Path | None = None,
        output: Path | None = None,
        field_map: FieldMap | None = None,
    ):
        self.accounts_path = Path(accounts)
        self.opportunities_path = Path(opportunities) if opportunities else None
        self.output_path = Path(output) if output else None
        self.field_map = field_map or load_field_map("file")
        self.stats = ConnectorStats()
        self._store: OutputStore | None = None
        self._dirty = False

    @classmethod
    def from_paths(
        cls, accounts: Path, opportunities: Path | None = None, output: Path | None = None
    ) -> FileConnector:
        """A connector over these files with the default column names."""
        return cls(accounts, opportunities, output)

    @classmethod
    def from_settings(cls, settings: Settings) -> FileConnector:
        """Build from the ``[file]`` settings."""
        from icpsync.core.errors import ConfigError

        conf = settings.file
        if conf.accounts is None and settings.source == "defaults":
            raise ConfigError(
                "not found in this folder: pass --config PATH or set ICPSYNC_CONFIG "
                "(config.example.toml is a commented starting point)",
                source="icpsync.toml",
            )
        if conf.accounts is None:
            raise ConfigError(
                "expected a path to the accounts file", source=settings.source, key="file.accounts"
            )
        return cls(conf.accounts, conf.opportunities, conf.output, load_field_map(conf.field_map))

    # -- reading -------------------------------------------------------------------------

    def _skip(self, reason: str) -> None:
        self.stats.skipped[reason] += 1

    def _output(self) -> OutputStore | None:
        if self.output_path is None:
            return None
        if self._store is None:
            self._store = OutputStore(self.output_path, self._skip)
        return self._store

    def _account_columns(self) -> tuple[list[tuple[str, str]], set[str]]:
        """(raw key, file column) pairs the normaliser reads, and the columns that are
        not signals."""
        fields = list(self.field_map.account.fields.items())
        icp = [(ICP_RAW_KEYS[key], column) for key, column in self.field_map.icp.items()]
        not_signals = (
            {column for _, column in fields}
            | set(self.field_map.options.get("ignore_columns", []))
            | {column for _, column in icp}
        )
        return fields + icp, not_signals

    def _raw_account_maker(self) -> Callable[[Mapping[str, object]], dict[str, object]]:
        """A function from a file row to the normaliser's raw record, the map read once."""
        pairs, not_signals = self._account_columns()
        columns = pairs[: len(self.field_map.account.fields)]
        icp = pairs[len(columns) :]

        def raw_account(row: Mapping[str, object]) -> dict[str, object]:
            get = row.get
            raw: dict[str, object] = {canonical: get(column) for canonical, column in columns}
            raw["signals"] = _signals(row, not_signals)
            store = self._output()
            current = store.get(str(raw.get("id") or "").strip()) if store else {}
            for raw_key, column in icp:
                raw[raw_key] = current.get(column, get(column))
            return raw

        return raw_account

    def _csv_account_batches(self, normaliser: Normaliser) -> Iterator[list[Account]]:
        """Accounts of a CSV file with no output file, cleaned a batch of rows at a time."""
        pairs, not_signals = self._account_columns()
        for header, cells in read_csv_columns(self.accounts_path, self._skip, BATCH_ROWS):
            position = {name: i for i, name in enumerate(header)}
            absent = [None] * len(cells[0])
            columns: dict[str, Sequence[str | None]] = {}
            for key, column in pairs:  # later pairs win, as in the row-by-row record
                columns[key] = cells[position[column]] if column in position else absent
            extra = [name for name in header if name not in not_signals]
            signals = None
            if extra:
                values = [cells[position[name]] for name in extra]
                signals = [
                    {k: v for k, v in zip(extra, row, strict=True) if v not in (None, "")}
                    for row in zip(*values, strict=True)
                ]
            yield accounts_from_columns(normaliser, columns, signals)

    def read_account_batches(self, since: datetime | None = None) -> Iterator[list[Account]]:
        """Accounts a batch at a time (those modified at or after ``since`` when the file
        says so): the same accounts as :meth:`read_accounts`, in the same order."""
        normaliser = Normaliser(self.stats, self.field_map.vocabularies)
        self.stats.api_calls["read_accounts"] += 1
        if self.output_path is None and not is_jsonl(self.accounts_path):
            batches = self._csv_account_batches(normaliser)
        else:
            # One row at a time: the output store is read as the rows go by, between writes.
            raw_account = self._raw_account_maker()
            records = map(raw_account, read_rows(self.accounts_path, self._skip))
            batches = ([a] for a in map(normaliser.account, records) if a is not None)
        for batch in batches:
            if since is not None:
                batch = [a for a in batch if a.last_modified is None or not a.last_modified < since]
            if batch:
                yield batch

    def read_accounts(self, since: datetime | None = None) -> Iterator[Account]:
        """Stream accounts (those modified at or after ``since`` when the file says so)."""
        return chain.from_iterable(self.read_account_batches(since))

    def read_accounts_by_id(self, ids: Collection[str]) -> Iterator[Account]:
        """Stream the named accounts."""
        wanted = set(ids)
        for account in self.read_accounts():
            if account.id in wanted:
                yield account

    def read_opportunities(self, since: datetime | None = None) -> Iterator[Opportunity]:
        """Stream every opportunity of the opportunities file (none without one)."""
        if self.opportunities_path is None:
            return
        normaliser = Normaliser(self.stats, self.field_map.vocabularies)
        self.stats.api_calls["read_opportunities"] += 1
        fields = self.field_map.opportunity.fields
        for row in read_rows(self.opportunities_path, self._skip):
            opp = normaliser.opportunity({c: row.get(col) for c, col in fields.items()})
            if opp is None:
                continue
            if since is not None and opp.last_modified is not None and opp.last_modified < since:
                continue
            yield opp

    # -- writing -------------------------------------------------------------------------

    def write_scores(self, updates: Sequence[ScoreUpdate]) -> WriteReport:
        """Record the ICP values; the output file is replaced on ``close()``."""
        report = WriteReport(attempted=len(updates))
        store = self._output()
        if store is None:
            return report
        icp = self.field_map.icp
        rows = []
        for update in updates:
            row = store.get(update.account_id) or {"id": update.account_id}
            row[icp["score"]] = str(update.score)
            row[icp["tier"]] = update.tier
            row[icp["flags"]] = ";".join(update.flags)
            row[icp["reasons"]] = update.reasons
            row[icp["profile_version"]] = update.profile_version
            row[icp["scored_at"]] = update.scored_at.isoformat()
            rows.append(row)
        store.put(rows)
        report.updated = len(rows)
        self.stats.api_calls["write"] += 1
        self._dirty = True
        return report

    def flush(self) -> None:
        """Replace the output file with the values held, atomically."""
        if not self._dirty or self.output_path is None or self._store is None:
            return
        columns = ["id", *[self.field_map.icp[k] for k in self.field_map.icp if k != "override"]]
        override = self.field_map.icp.get("override")
        if override and override in self._store.columns:
            columns.append(override)
        self._store.export(self.output_path, columns)
        self._dirty = False

    def ensure_fields(self, *, dry_run: bool) -> list[PlanStep]:
        """Files need no fields; the output columns are written as they are."""
        return [PlanStep("none", "file", "the output file carries the ICP columns", done=True)]

    def preflight(self) -> list[Check]:
        """The input files exist and the output folder is writable."""
        checks = [
            Check(
                "accounts file",
                self.accounts_path.is_file(),
                str(self.accounts_path),
                "set [file] accounts to an existing CSV or JSONL file",
            )
        ]
        if self.opportunities_path is not None:
            checks.append(
                Check(
                    "opportunities file",
                    self.opportunities_path.is_file(),
                    str(self.opportunities_path),
                    "set [file] opportunities to an existing file",
                )
            )
        if self.output_path is not None:
            folder = self.output_path.parent
            checks.append(
                Check(
                    "output folder writable",
                    os.access(folder, os.W_OK) if folder.exists() else True,
                    str(folder),
                    "choose an output path in a writable folder",
                )
            )
        return checks

    def close(self) -> None:
        """Write the output file and drop the temporary store."""
        self.flush()
        if self._store is not None:
            self._store.close()
            self._store = None

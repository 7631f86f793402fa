"""File connector: CSV/JSONL in, a CSV of ICP values out (the file plays the CRM).

Columns are found through ``field_maps/file.toml`` (the canonical names, and the headers of
Salesforce and HubSpot exports; see :mod:`headers`); columns the map does not name become
account signals. Encoding and delimiter are detected (:mod:`text_format`) unless given.
Every row skipped and every value made missing goes to the :class:`RejectLog` when one is
given, with its row number. The output file holds one row per scored
account (``id`` plus the ICP columns); it is read back as the values "the CRM holds", so a
second sync writes nothing, and it is replaced atomically on ``close()``.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from itertools import chain, islice
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, TypeVar

from icpsync.connectors.file.headers import describe_columns, match_columns, require_id
from icpsync.connectors.file.rejects import RejectLog
from icpsync.connectors.file.rows import (
    is_jsonl,
    read_csv_columns,
    read_header,
    read_keys,
    read_numbered_rows,
)
from icpsync.connectors.file.settings import SPEC
from icpsync.connectors.file.store import OutputStore
from icpsync.connectors.file.text_format import TextFormat, detect_format
from icpsync.core.batch import AccountBatch, OpportunityBatch
from icpsync.core.errors import ConfigError, IcpSyncError
from icpsync.core.model import Account, ConnectorStats, Opportunity, ScoreUpdate, WriteReport
from icpsync.core.normalise import ICP_RAW_KEYS, Normaliser, Reject, _text
from icpsync.core.normalise_columns import accounts_from_columns, opportunities_from_columns
from icpsync.engine.field_map import FieldMap, ObjectMap, load_field_map
from icpsync.engine.protocol import Check, PlanStep

if TYPE_CHECKING:
    from icpsync.engine.settings import Settings


log = logging.getLogger(__name__)

#: Rows cleaned together.
BATCH_ROWS = 2048
#: a batch of a file's rows: (raw key -> column, each row's signals or None, row numbers).
RawBatch = tuple[dict[str, Sequence[object]], list[Mapping[str, object]] | None, Sequence[int]]
Cleaned = TypeVar("Cleaned", AccountBatch, OpportunityBatch)
#: the longest org id the state store keeps.
ORG_ID_LENGTH = 255


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
        encoding: the files' encoding; detected when None.
        delimiter: the CSV files' delimiter; sniffed from the header when None.
        rejects: where rows skipped and values made missing are recorded.
    """

    name: ClassVar[str] = "file"
    write_chunk_size = 5000

    def __init__(
        self,
        accounts: Path,
        opportunities: Path | None = None,
        output: Path | None = None,
        field_map: FieldMap | None = None,
        *,
        encoding: str | None = None,
        delimiter: str | None = None,
        rejects: RejectLog | None = None,
    ):
        self.accounts_path = Path(accounts)
        self.opportunities_path = Path(opportunities) if opportunities else None
        self.output_path = Path(output) if output else None
        self.field_map = field_map or load_field_map("file")
        self.stats = ConnectorStats()
        self.rejects = rejects
        self._encoding = encoding
        self._delimiter = delimiter
        self._formats: dict[Path, TextFormat] = {}
        self._columns: dict[Path, dict[str, str]] = {}
        self._store: OutputStore | None = None
        self._dirty = False
        #: rejects of the batch being read, passed on in row order
        self._pending: list[Reject] | None = None
        self._log_rejects = False

    @classmethod
    def from_settings(cls, settings: Settings) -> FileConnector:
        """Build from the ``[file]`` settings."""
        from icpsync.core.errors import ConfigError

        conf = SPEC.section(settings)
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
        connector = cls(
            conf.accounts,
            conf.opportunities,
            conf.output,
            load_field_map(conf.field_map, base="file"),
            encoding=conf.encoding,
            delimiter=conf.delimiter,
            rejects=RejectLog(),
        )
        connector._log_rejects = True  # a sync has no --rejects: the summary goes to the log
        return connector

    # -- the files' shape ------------------------------------------------------------------

    def text_format(self, path: Path) -> TextFormat:
        """How ``path`` is read: the encoding and delimiter given, or detected."""
        fmt = self._formats.get(path)
        if fmt is None:
            fmt = self._formats[path] = detect_format(
                path,
                csv_file=not is_jsonl(path),
                encoding=self._encoding,
                delimiter=self._delimiter,
            )
        return fmt

    def columns(self, path: Path, object_map: ObjectMap) -> dict[str, str]:
        """Canonical field -> the file's column (a JSON Lines file: key) holding it.

        Raises:
            ConfigError: the file has no column for the id.
        """
        matched = self._columns.get(path)
        if matched is None:
            fmt = self.text_format(path)
            header = read_keys(path, fmt) if is_jsonl(path) else read_header(path, fmt)
            if is_jsonl(path) and not header:
                matched = dict(object_map.fields)  # no object to match: nothing will be read
            else:
                matched = match_columns(header, object_map)
                require_id(str(path), header, matched, object_map)
            self._columns[path] = matched
        return matched

    def check_columns(self) -> None:
        """Raise (ConfigError) now when a file has no id column, before anything is read."""
        self.columns(self.accounts_path, self.field_map.account)
        if self.opportunities_path is not None:
            self.columns(self.opportunities_path, self.field_map.opportunity)

    def describe_inputs(self) -> list[str]:
        """One line per input file: how it was read and which header became which column."""
        files = [(self.accounts_path, self.field_map.account)]
        if self.opportunities_path is not None:
            files.append((self.opportunities_path, self.field_map.opportunity))
        return [
            f"{path.name}: {self.text_format(path).describe()}; columns: "
            + describe_columns(self.columns(path, object_map))
            for path, object_map in files
        ]

    def org_id(self) -> str:
        """The accounts file's resolved path (the file plays one org); no I/O beyond that.

        A path too long for the state store keeps its end behind a short hash of the whole.
        """
        path = str(self.accounts_path.resolve())
        if len(path) <= ORG_ID_LENGTH:
            return path
        digest = hashlib.sha256(path.encode()).hexdigest()[:16]
        return f"{digest}…{path[-(ORG_ID_LENGTH - 17) :]}"

    # -- reading -------------------------------------------------------------------------

    def _skip(self, reason: str) -> None:
        self.stats.skipped[reason] += 1

    def _skip_row(self, reason: str, row: int) -> None:
        self.stats.skipped[reason] += 1
        if self.rejects is not None:
            self._reject(Reject(row, None, None, None, reason))

    def _reject(self, reject: Reject) -> None:
        if self._pending is not None:
            self._pending.append(reject)
        elif self.rejects is not None:
            self.rejects.add(reject)

    def _pass_on_rejects(self) -> None:
        """The batch's rejects, in row order (the columns are cleaned one after another)."""
        if self._pending and self.rejects is not None:
            for reject in sorted(self._pending, key=lambda r: r.row or 0):
                self.rejects.add(reject)
        if self._pending is not None:
            self._pending.clear()

    def _normaliser(self, path: Path) -> Normaliser:
        on_reject = None
        if self.rejects is not None:
            self.rejects.reading(path.name)
            on_reject = self._reject
        return Normaliser(self.stats, self.field_map.vocabularies, on_reject)

    def first_rows(self, label: str, ids: Iterable[str]) -> dict[str, int]:
        """The first row of each of ``ids`` in the input file named ``label``."""
        path, object_map = self.accounts_path, self.field_map.account
        if self.opportunities_path is not None and label == self.opportunities_path.name:
            path, object_map = self.opportunities_path, self.field_map.opportunity
        column = self.columns(path, object_map)["id"]
        wanted, found = set(ids), {}
        for number, row in read_numbered_rows(path, lambda *_: None, self.text_format(path)):
            key = _text(row.get(column))
            if key in wanted and key not in found:
                found[key] = number
                if len(found) == len(wanted):
                    break
        return found

    def _output(self) -> OutputStore | None:
        if self.output_path is None:
            return None
        if self._store is None:
            self._store = OutputStore(self.output_path, self._skip)
        return self._store

    def _account_columns(self) -> tuple[list[tuple[str, str]], list[tuple[str, str]], set[str]]:
        """(raw key, file column) pairs the normaliser reads (fields, then ICP values), and
        the columns that are not signals."""
        fields = list(self.columns(self.accounts_path, self.field_map.account).items())
        icp = [(ICP_RAW_KEYS[key], column) for key, column in self.field_map.icp.items()]
        not_signals = (
            {column for _, column in fields}
            | set(self.field_map.account.fields.values())
            | set(self.field_map.options.get("ignore_columns", []))
            | {column for _, column in icp}
        )
        return fields, icp, not_signals

    def _account_columns_of(self, path: Path) -> Iterator[RawBatch]:
        """The accounts file's :data:`RawBatch` es, the ICP columns read from the output
        file where it holds the account (see :meth:`_with_current`)."""
        fields, icp, not_signals = self._account_columns()
        override = self.field_map.icp.get("override")
        jsonl = is_jsonl(path)
        # later pairs win, as in a record made row by row
        for columns, signals, rows in self._raw_batches(path, fields + icp, not_signals):
            if override and jsonl:  # a JSON false or 0 is no override, as in the output's rule
                key = ICP_RAW_KEYS["override"]
                columns[key] = [value or None for value in columns[key]]
            yield self._with_current(columns, icp), signals, rows
            del columns, signals  # let the batch's strings go before the next one is cut

    def _raw_batches(
        self, path: Path, pairs: list[tuple[str, str]], not_signals: set[str] | None = None
    ) -> Iterator[RawBatch]:
        """The file's rows :data:`BATCH_ROWS` at a time as (raw key -> column for each
        (raw key, file column) pair, each row's signals: its columns not in
        ``not_signals`` with a value, or None for none or without ``not_signals``, the rows'
        numbers)."""
        fmt = self.text_format(path)
        if is_jsonl(path):
            numbered = read_numbered_rows(path, self._skip_row, fmt)
            while chunk := list(islice(numbered, BATCH_ROWS)):
                columns: dict[str, Sequence[object]] = {
                    key: [row.get(column) for _, row in chunk] for key, column in pairs
                }
                signals: list[Mapping[str, object]] | None = None
                if not_signals is not None:
                    signals = [_signals(row, not_signals) for _, row in chunk]
                yield columns, signals, [number for number, _ in chunk]
            return
        for header, cells, rows in read_csv_columns(path, self._skip_row, BATCH_ROWS, fmt):
            position = {name: i for i, name in enumerate(header)}
            # a column the file lacks is left out: missing in every record
            columns = {key: cells[position[column]] for key, column in pairs if column in position}
            extra = [] if not_signals is None else [n for n in header if n not in not_signals]
            signals = None
            if extra:
                values = [cells[position[name]] for name in extra]
                signals = [
                    {k: v for k, v in zip(extra, row, strict=True) if v not in (None, "")}
                    for row in zip(*values, strict=True)
                ]
                del values
            yield columns, signals, rows
            del columns, cells, signals  # let the batch's strings go before the next is cut

    def _with_current(
        self, columns: dict[str, Sequence[object]], icp: list[tuple[str, str]]
    ) -> dict[str, Sequence[object]]:
        """``columns`` with the ICP values the output file holds (one lookup per batch):
        a value the output row has wins over the accounts file's; an override set in the
        accounts file wins over the output's (the output holds one only for a rep's kept
        edit)."""
        store = self._output()
        if store is None:
            return columns
        override = self.field_map.icp.get("override")
        keys = [str(value or "").strip() for value in columns["id"]]
        held = store.get_many(keys)
        file_overrides = columns.get(ICP_RAW_KEYS["override"]) if override else None
        if held:
            absent = [None] * len(keys)
            for raw_key, column in icp:
                columns[raw_key] = [
                    held[key].get(column, value) if key in held else value
                    for key, value in zip(keys, columns.get(raw_key, absent), strict=True)
                ]
        if override and file_overrides is not None:
            columns[ICP_RAW_KEYS["override"]] = [
                value or (held[key].get(override) if key in held else None)
                for key, value in zip(keys, file_overrides, strict=True)
            ]
        return columns

    def read_account_batches(self, since: datetime | None = None) -> Iterator[AccountBatch]:
        """Accounts a batch of rows at a time (those modified at or after ``since`` when the
        file says so); each batch's rejects are passed on in row order."""
        path = self.accounts_path
        self.check_columns()
        normaliser = self._normaliser(path)
        self.stats.api_calls["read_accounts"] += 1
        yield from self._cleaned(
            self._account_columns_of(path),
            lambda raw: accounts_from_columns(normaliser, raw[0], raw[1], rows=raw[2]),
            since,
        )

    def _cleaned(
        self, raw: Iterator[RawBatch], clean: Callable[[RawBatch], Cleaned], since: datetime | None
    ) -> Iterator[Cleaned]:
        """``clean`` of each raw batch, its rejects passed on in row order, without the
        records modified before ``since`` (None: all), and without empty batches."""
        self._pending = [] if self.rejects is not None else None
        try:
            for batch in map(clean, raw):
                self._pass_on_rejects()
                if since is not None:
                    modified = batch.columns["last_modified"]
                    batch = batch.take(
                        [i for i, at in enumerate(modified) if at is None or not at < since]
                    )
                if len(batch):
                    yield batch
                del batch
            self._pass_on_rejects()
        finally:
            self._pending = None

    def read_accounts(self, since: datetime | None = None) -> Iterator[Account]:
        """Stream accounts (those modified at or after ``since`` when the file says so)."""
        return chain.from_iterable(self.read_account_batches(since))

    def read_accounts_by_id(self, ids: Collection[str]) -> Iterator[Account]:
        """Stream the named accounts."""
        wanted = set(ids)
        for account in self.read_accounts():
            if account.id in wanted:
                yield account

    def read_opportunity_batches(self, since: datetime | None = None) -> Iterator[OpportunityBatch]:
        """Every opportunity of the opportunities file (none without one; those modified
        before ``since`` left out when the file says so), a batch of rows at a time."""
        if self.opportunities_path is None:
            return
        path = self.opportunities_path
        fields = list(self.columns(path, self.field_map.opportunity).items())
        normaliser = self._normaliser(path)
        self.stats.api_calls["read_opportunities"] += 1
        yield from self._cleaned(
            self._raw_batches(path, fields),
            lambda raw: opportunities_from_columns(normaliser, raw[0], rows=raw[2]),
            since,
        )

    def read_opportunities(self, since: datetime | None = None) -> Iterator[Opportunity]:
        """Stream every opportunity of the opportunities file (none without one):
        :meth:`read_opportunity_batches`, a deal at a time."""
        return chain.from_iterable(self.read_opportunity_batches(since))

    # -- writing -------------------------------------------------------------------------

    def write_scores(self, updates: Sequence[ScoreUpdate]) -> WriteReport:
        """Record the ICP values; the output file is replaced on ``close()``."""
        report = WriteReport(attempted=len(updates))
        store = self._output()
        if store is None:  # nowhere to write: say so rather than report nothing written
            raise ConfigError(
                "expected a path for the scored rows ([file] output); "
                "`icpsync sync --dry-run` shows the changes without writing",
                key="file.output",
            )
        icp = self.field_map.icp
        held = store.get_many(update.account_id for update in updates)
        rows = []
        for update in updates:
            row = dict(held.get(update.account_id) or {"id": update.account_id})
            row[icp["score"]] = str(update.score)
            row[icp["tier"]] = update.tier
            row[icp["flags"]] = ";".join(update.flags)
            row[icp["reasons"]] = update.reasons
            row[icp["profile_version"]] = update.profile_version
            row[icp["scored_at"]] = update.scored_at.isoformat()
            if update.override is not None and "override" in icp:
                row[icp["override"]] = update.override
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
        if self.accounts_path.is_file():
            try:
                self.check_columns()
                checks.append(Check("columns", True, "; ".join(self.describe_inputs())))
            except IcpSyncError as exc:
                checks.append(
                    Check("columns", False, str(exc), "name the id column with a field map")
                )
        if self.opportunities_path is not None:
            checks.append(
                Check(
                    "opportunities file",
                    self.opportunities_path.is_file(),
                    str(self.opportunities_path),
                    "set [file] opportunities to an existing file",
                )
            )
        if self.output_path is None:
            checks.append(
                Check(
                    "output file", False, "not set", "set [file] output: the scored rows go there"
                )
            )
        else:
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
        """Write the output file, log the rejects (sync) and drop the temporary store."""
        self.flush()
        if self._log_rejects and self.rejects is not None:
            self._log_rejects = False
            self.rejects.finish(self.first_rows)
            for line in self.rejects.summary():
                log.warning(line)
        if self._store is not None:
            self._store.close()
            self._store = None

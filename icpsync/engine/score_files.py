"""``icpsync score``: score every row of an accounts file and write the ICP columns out.

The files are read by the file connector (the one read path of ``sync`` too). The scored
rows go to a temporary file beside ``out`` that replaces it once every row is written (and
only when at least one row was scored: ``out`` is never left holding a header alone); an
``out`` that is one of the input files is refused before anything is read.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext, suppress
from datetime import datetime
from operator import add
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TextIO

from icpsync.core.aggregates import AggregateBuilder
from icpsync.core.errors import ConfigError
from icpsync.core.profile import Profile
from icpsync.core.scoring import Scorer
from icpsync.engine.account_batches import account_batches
from icpsync.engine.collector import fewer_collections
from icpsync.engine.opportunity_batches import opportunity_batches
from icpsync.engine.registry import connector_class
from icpsync.engine.run_report import RunReport
from icpsync.engine.scored_rows import OUTPUT_COLUMNS, ScoredRows

if TYPE_CHECKING:
    from icpsync.core.aggregates import Aggregates
    from icpsync.core.normalise import Reject
    from icpsync.engine.field_map import FieldMap
    from icpsync.engine.protocol import Connector

__all__ = [
    "OUTPUT_COLUMNS",
    "Rejects",
    "refuse_overwriting_inputs",
    "replaced_atomically",
    "score_files",
]


class Rejects(Protocol):
    """Where the file connector records rows skipped and values made missing."""

    def add(self, reject: Reject) -> None: ...

    def finish(self, first_rows: Callable[[str, Iterable[str]], dict[str, int]]) -> None: ...


def refuse_overwriting_inputs(out: Path | None, *inputs: Path | None, flag: str = "--out") -> None:
    """Raise when ``out`` is one of the input files.

    Raises:
        ConfigError: naming the file, before anything is read or written.
    """
    if out is None:
        return
    for path in inputs:
        if path is None:
            continue
        same = out.exists() and path.exists() and os.path.samefile(out, path)
        if same or out.resolve() == path.resolve():
            raise ConfigError(
                f"{out} is also an input file ({path}); choose another path (the file is left "
                "as it is)",
                source=flag,
            )


@contextmanager
def replaced_atomically(out: Path) -> Iterator[TextIO]:
    """A text file beside ``out`` that replaces ``out`` when the block ends without error."""
    out.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as text:
            yield text
        os.replace(name, out)
    finally:
        Path(name).unlink(missing_ok=True)


class _NothingScored(Exception):
    """No row was scored: ``out`` is neither created nor replaced."""


def score_files(
    accounts: Path,
    opportunities: Path | None,
    out: Path | None,
    profile: Profile,
    *,
    now: datetime,
    stdout: TextIO | None = None,
    field_map: FieldMap | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
    rejects: Rejects | None = None,
    on_input: Callable[[str], None] | None = None,
) -> RunReport:
    """Score ``accounts`` (with aggregates from ``opportunities``) into ``out``.

    With ``out`` None and ``stdout`` given, rows go to ``stdout``; with neither, nothing
    is written and only the report is returned.

    Args:
        field_map: the files' column names (the shipped ``file`` map by default).
        encoding: the files' encoding, else detected; ``delimiter`` likewise.
        rejects: told of every row skipped and every value made missing.
        on_input: told, one line per file, how it was read and its columns.

    Raises:
        ConfigError: ``out`` is an input file, or a file has no id column.
    """
    started = time.perf_counter()
    refuse_overwriting_inputs(out, accounts, opportunities)
    connector = connector_class("file")(  # type: ignore[call-arg]
        accounts,
        opportunities,
        field_map=field_map,
        encoding=encoding,
        delimiter=delimiter,
        rejects=rejects,
    )
    connector.check_columns()  # type: ignore[attr-defined]
    if on_input is not None:
        for line in connector.describe_inputs():  # type: ignore[attr-defined]
            on_input(line)
    report = RunReport(
        crm="file", mode="score", started_at=now.isoformat(), profile_version=profile.version
    )
    scorer = Scorer(profile)
    target = replaced_atomically(out) if out else nullcontext(stdout)
    with fewer_collections():
        builder = AggregateBuilder()
        for deals in opportunity_batches(connector):
            report.opportunities_read += len(deals)
            builder.add_batch(deals)
        aggregates = builder.result()
        # nothing scored: the temporary file is removed; an existing ``out`` is left as it was
        with suppress(_NothingScored):
            _score_into(target, connector, scorer, aggregates, now, report, to_file=out is not None)
    report.accounts_read = report.scored = sum(report.tiers.values())
    report.written = report.scored if (out or stdout) else 0
    report.api_calls.update(connector.stats.api_calls)
    report.bad_values.update(connector.stats.bad_values)
    report.skipped.update(connector.stats.skipped)
    if rejects is not None:
        rejects.finish(connector.first_rows)  # type: ignore[attr-defined]
    report.duration_s = time.perf_counter() - started
    return report


def _score_into(
    target: AbstractContextManager[TextIO | None],
    connector: Connector,
    scorer: Scorer,
    aggregates: dict[str, Aggregates],
    now: datetime,
    report: RunReport,
    *,
    to_file: bool,
) -> None:
    """Score every account into ``target`` (a CSV with a header), counting tiers and scores.

    Raises:
        _NothingScored: ``to_file`` and no row was scored (the file is then not put in place).
    """
    with target as handle:
        rows = ScoredRows()
        if handle is not None:
            handle.write(rows.header())
        for batch in account_batches(connector):
            results = scorer.score_batch(batch, aggregates, now)
            keys = rows.remember(results)
            rows.tally(keys)
            if handle is not None:
                handle.write(rows.lines(results.ids, keys))
            del batch, results, keys
        tiers, histogram = rows.counts()
        report.tiers.update(tiers)
        report.score_histogram[:] = map(add, report.score_histogram, histogram)
        if to_file and not report.tiers:
            raise _NothingScored

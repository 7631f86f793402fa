"""``icpsync score``: score every row of an accounts file and write the ICP columns out."""

from __future__ import annotations

import csv
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import nullcontext
from datetime import datetime
from functools import partial
from itertools import islice
from operator import attrgetter
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from icpsync.core.aggregates import AggregateBuilder
from icpsync.core.profile import Profile
from icpsync.core.scoring import Scorer
from icpsync.engine.registry import connector_class
from icpsync.engine.run_report import RunReport

if TYPE_CHECKING:
    from icpsync.core.model import Account
    from icpsync.engine.protocol import Connector

OUTPUT_COLUMNS = (
    "id",
    "icp_score",
    "icp_tier",
    "icp_anti_flags",
    "icp_reasons",
    "icp_profile_version",
)

_account_id = attrgetter("account_id")
_score = attrgetter("score")
_tier = attrgetter("tier")
_flags = attrgetter("flags")
_reasons_short = attrgetter("reasons_short")
_profile_version = attrgetter("profile_version")


def _account_batches(connector: Connector) -> Iterator[list[Account]]:
    """The connector's accounts in batches (the file connector reads them that way)."""
    read_batches = getattr(connector, "read_account_batches", None)
    if read_batches is not None:
        return read_batches()
    return iter(partial(list, islice(connector.read_accounts(), 2048)), [])  # pragma: no cover


def score_files(
    accounts: Path,
    opportunities: Path | None,
    out: Path | None,
    profile: Profile,
    *,
    now: datetime,
    stdout: TextIO | None = None,
) -> RunReport:
    """Score ``accounts`` (with aggregates from ``opportunities``) into ``out``.

    With ``out`` None and ``stdout`` given, rows go to ``stdout``; with neither, nothing
    is written and only the report is returned.
    """
    started = time.perf_counter()
    connector = connector_class("file")(accounts, opportunities)  # type: ignore[call-arg]
    report = RunReport(
        crm="file", mode="score", started_at=now.isoformat(), profile_version=profile.version
    )
    builder = AggregateBuilder()
    for opp in connector.read_opportunities():
        report.opportunities_read += 1
        builder.add(opp)
    aggregates = builder.result()
    scorer = Scorer(profile)
    target = out.open("w", encoding="utf-8", newline="") if out else nullcontext(stdout)
    with target as handle:
        writer = csv.writer(handle) if handle is not None else None
        if writer:
            writer.writerow(OUTPUT_COLUMNS)
        for batch in _account_batches(connector):
            results = scorer.score_batch(batch, aggregates, now)
            scores = list(map(_score, results))
            report.tiers.update(map(_tier, results))
            for score, n in Counter(scores).items():
                report.score_histogram[min(score // 10, 9)] += n
            if writer:
                writer.writerows(
                    zip(
                        map(_account_id, results),
                        scores,
                        map(_tier, results),
                        map(";".join, map(_flags, results)),
                        map(_reasons_short, results),
                        map(_profile_version, results),
                        strict=True,
                    )
                )
    report.accounts_read = report.scored = sum(report.tiers.values())
    report.written = report.scored if (out or stdout) else 0
    report.api_calls.update(connector.stats.api_calls)
    report.bad_values.update(connector.stats.bad_values)
    report.skipped.update(connector.stats.skipped)
    report.duration_s = time.perf_counter() - started
    return report

"""``icpsync score``: score every row of an accounts file and write the ICP columns out."""

from __future__ import annotations

import csv
import time
from contextlib import nullcontext
from datetime import datetime
from pathlib import Path
from typing import TextIO

from icpsync.aggregates import AggregateBuilder
from icpsync.model import NO_AGGREGATES
from icpsync.profile import Profile
from icpsync.registry import connector_class
from icpsync.run_report import RunReport
from icpsync.scoring import Scorer

OUTPUT_COLUMNS = (
    "id",
    "icp_score",
    "icp_tier",
    "icp_anti_flags",
    "icp_reasons",
    "icp_profile_version",
)


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
        for account in connector.read_accounts():
            report.accounts_read += 1
            result = scorer.score(account, aggregates.get(account.id, NO_AGGREGATES), now)
            report.scored += 1
            report.tiers[result.tier] += 1
            report.score_histogram[min(result.score // 10, 9)] += 1
            if writer:
                writer.writerow(
                    (
                        account.id,
                        result.score,
                        result.tier,
                        ";".join(result.flags),
                        result.reasons_short,
                        result.profile_version,
                    )
                )
    report.written = report.scored if (out or stdout) else 0
    report.api_calls.update(connector.stats.api_calls)
    report.bad_values.update(connector.stats.bad_values)
    report.skipped.update(connector.stats.skipped)
    report.duration_s = time.perf_counter() - started
    return report

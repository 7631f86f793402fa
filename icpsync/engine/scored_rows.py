"""The rows ``icpsync score`` writes: one CSV line per account, as ``csv.writer`` writes it.

A :class:`~icpsync.core.batch.ScoreBatch` shares one outcome tuple between the accounts with
equal results, so a line is the account's id cell followed by its outcome's cells
(``,score,tier,flags,reasons,version`` and the line end), and the outcome's part is made by
a ``csv.writer`` once per outcome, not once per account. Ids are written as they are unless
one of a batch needs quotes; then the writer makes each id's cell too. The accounts are
counted per outcome (by ``Counter`` in C), and by tier and score decile once per outcome.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from icpsync.core.batch import OUTCOME_FIELDS, ScoreBatch

OUTPUT_COLUMNS = (
    "id",
    "icp_score",
    "icp_tier",
    "icp_anti_flags",
    "icp_reasons",
    "icp_profile_version",
)
#: Distinct outcomes whose cells are remembered; past this the memory starts afresh.
MEMO_LIMIT = 100_000
#: What makes ``csv.writer`` (the excel dialect) quote a cell.
_NEEDS_QUOTES = (",", '"', "\r", "\n")
_SCORE, _TIER, _FLAGS, _REASONS, _VERSION = map(
    OUTCOME_FIELDS.index, ("score", "tier", "flags", "reasons_short", "profile_version")
)


class ScoredRows:
    """Formats and counts the scored rows of ``icpsync score``, a batch at a time."""

    def __init__(self) -> None:
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer)
        # id(outcome) -> the outcome (held, so that its id names no other object) and the
        # cells after the account's id
        self._outcomes: dict[int, tuple[Any, ...]] = {}
        self._ends: dict[int, str] = {}
        # accounts per outcome key, not yet in ``_tiers`` and ``_histogram``
        self._counts: Counter[int] = Counter()
        self._tiers: Counter[str] = Counter()
        self._histogram = [0] * 10

    def _line(self, cells: Iterable[object]) -> str:
        """One CSV line as ``csv.writer`` writes it."""
        buffer = self._buffer
        buffer.seek(0)
        buffer.truncate()
        self._writer.writerow(cells)
        return buffer.getvalue()

    def header(self) -> str:
        """The header line."""
        return self._line(OUTPUT_COLUMNS)

    def remember(self, results: ScoreBatch) -> list[int]:
        """Each account's outcome key (formatting the outcomes not seen before)."""
        outcomes = results.outcomes
        keys = list(map(id, outcomes))
        new = set(keys).difference(self._ends)
        if new:
            if len(self._ends) + len(new) > MEMO_LIMIT:
                self._fold_counts()  # the keys name these outcomes only while they are held
                self._outcomes.clear()
                self._ends.clear()
                new = set(keys)
            by_key = dict(zip(keys, outcomes, strict=True))
            for key in new:
                outcome = self._outcomes[key] = by_key[key]
                self._ends[key] = self._line(
                    (
                        "",
                        outcome[_SCORE],
                        outcome[_TIER],
                        ";".join(outcome[_FLAGS]),
                        outcome[_REASONS],
                        outcome[_VERSION],
                    )
                )
        return keys

    def tally(self, keys: Iterable[int]) -> None:
        """Count the accounts of ``keys`` (outcome keys from :meth:`remember`)."""
        self._counts.update(keys)

    def counts(self) -> tuple[Counter[str], list[int]]:
        """The accounts tallied so far by tier (in the order the tiers were first met) and
        by score decile (90-100 the last)."""
        self._fold_counts()
        return self._tiers, self._histogram

    def _fold_counts(self) -> None:
        outcomes, tiers, histogram = self._outcomes, self._tiers, self._histogram
        for key, count in self._counts.items():  # in the order the outcomes were first met
            outcome = outcomes[key]
            tiers[outcome[_TIER]] += count
            histogram[min(outcome[_SCORE] // 10, 9)] += count
        self._counts.clear()

    def lines(self, ids: Sequence[str], keys: Sequence[int]) -> str:
        """The CSV lines of accounts ``ids`` with the outcomes of ``keys``."""
        cells: Sequence[str] = ids
        joined = "".join(ids)
        if any(char in joined for char in _NEEDS_QUOTES):
            cells = [self._line((account_id, ""))[:-3] for account_id in ids]  # drop ",\r\n"
        parts: list[str] = [""] * (2 * len(ids))
        parts[0::2] = cells
        parts[1::2] = map(self._ends.__getitem__, keys)
        return "".join(parts)

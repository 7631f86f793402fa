"""Decide what to write: nothing when the CRM already holds the values we computed.

Compared: score, tier, flags (as a sorted set), the short reasons (what the CRM holds) and
the profile version. ``scored_at`` changes only when something else does, so our own writes
never trigger another write. The diff runs on a batch's columns (:class:`Diff`); a
:class:`~icpsync.core.model.ScoreUpdate` is built only for an account that changed
(:meth:`Diff.updates_at`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from itertools import compress, count, repeat
from operator import is_, ne
from typing import Any

from icpsync.core.batch import OUTCOME_FIELDS, AccountBatch, ScoreBatch
from icpsync.core.model import (
    Account,
    CurrentIcp,
    IcpScore,
    ScoreUpdate,
    score_updates,
)

_SCORE, _TIER, _FLAGS, _VERSION, _SHORT = (
    OUTCOME_FIELDS.index(name)
    for name in ("score", "tier", "flags", "profile_version", "reasons_short")
)


#: The ScoreUpdate fields (after the id) an outcome gives, in the order of :func:`_written`.
WRITTEN_FIELDS = ("score", "tier", "flags", "reasons", "profile_version")


def _written(outcome: tuple[Any, ...]) -> tuple[Any, ...]:
    """What the CRM holds once ``outcome`` is written: score, tier, flags, reasons, version."""
    return (
        outcome[_SCORE],
        outcome[_TIER],
        tuple(sorted(outcome[_FLAGS])),
        outcome[_SHORT],
        outcome[_VERSION],
    )


def _held(current: CurrentIcp) -> tuple[Any, ...]:
    """What the CRM holds now, in the order of :func:`_written`."""
    return (
        current.score,
        current.tier,
        current.flags,
        current.reasons or "",
        current.profile_version,
    )


class Diff:
    """Compares a run's scores with what the CRM holds, a batch at a time.

    Outcomes are shared between accounts and batches (the scorer remembers them), and so
    (on a first sync) is the empty ``CurrentIcp``: what an outcome writes is worked out once
    per run (for the diff and the updates alike), what a ``CurrentIcp`` holds once per
    batch, and the two are compared by ``map`` in C.
    """

    def __init__(self, limit: int = 200_000):
        self._limit = limit
        #: id(outcome) -> what it writes; the outcomes are kept so that their ids stay theirs.
        self._written: dict[int, tuple[Any, ...]] = {}
        self._kept: list[tuple[Any, ...]] = []
        #: the outcomes :meth:`changed` last compared and what each writes, for
        #: :meth:`updates_at` on the same batch (its rows are not worked out twice)
        self._last: tuple[Sequence[tuple[Any, ...]], list[tuple[Any, ...]]] | None = None

    def changed(
        self, current: Sequence[CurrentIcp], outcomes: Sequence[tuple[Any, ...]]
    ) -> list[int]:
        """The positions whose outcome differs from what the CRM holds (``current``)."""
        keys = list(map(id, current))
        if keys and keys.count(keys[0]) == len(keys):  # one CurrentIcp (a first sync's)
            holds: Iterable[tuple[Any, ...]] = repeat(_held(current[0]))
        else:
            held = {key: _held(c) for key, c in dict(zip(keys, current, strict=False)).items()}
            holds = map(held.__getitem__, keys)
        rows = self._writes(outcomes)
        self._last = (outcomes, rows)
        return list(compress(count(), map(ne, holds, rows)))

    def updates_at(
        self,
        batch: AccountBatch,
        scores: ScoreBatch,
        positions: Sequence[int],
        *,
        scored_at: datetime,
        overrides: Mapping[int, str] | None = None,
    ) -> list[ScoreUpdate]:
        """The updates writing ``scores`` at ``positions`` (``previous``: what ``batch``
        holds), built a field at a time (:func:`~icpsync.core.model.score_updates`).

        ``overrides``: position -> a tier to write to the override field too.
        """
        ids: list[Any] = batch.ids
        current: list[Any] = batch.current
        outcomes: list[Any] = scores.outcomes
        last, self._last = self._last, None
        rows = last[1] if last is not None and last[0] is outcomes else None
        if len(positions) != len(ids) or list(positions) != list(range(len(ids))):
            ids, current, outcomes = (
                list(map(column.__getitem__, positions)) for column in (ids, current, outcomes)
            )
            if rows is not None:
                rows = list(map(rows.__getitem__, positions))
        if rows is None:
            rows = self._writes(outcomes)
        written = list(zip(*rows, strict=True)) or [()] * len(WRITTEN_FIELDS)
        columns = [
            ids,
            *written,
            repeat(scored_at),
            current,
            map(overrides.get, positions) if overrides else repeat(None),
        ]
        return score_updates(columns, len(positions))

    def _writes(self, outcomes: Sequence[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        """What each outcome writes (:func:`_written`), remembered per outcome up to the
        limit (looked up by ``map`` in C; only outcomes not remembered are worked out)."""
        known = self._written
        rows: list[Any] = list(map(known.get, map(id, outcomes)))
        for i in list(compress(count(), map(is_, rows, repeat(None)))):
            outcome = outcomes[i]
            row = known.get(id(outcome))
            if row is None:
                row = _written(outcome)
                if len(known) < self._limit:
                    known[id(outcome)] = row
                    self._kept.append(outcome)
            rows[i] = row
        return rows


def update_for(account: Account, result: IcpScore, *, scored_at: datetime) -> ScoreUpdate | None:
    """The update to write for one account, or None when its ICP values are already current
    (a batch of one through :meth:`Diff.changed` and :meth:`Diff.updates_at`)."""
    batch = AccountBatch.from_accounts((account,))
    scores = ScoreBatch([account.id], [tuple(getattr(result, f) for f in OUTCOME_FIELDS)])
    diff = Diff()
    positions = diff.changed(batch.current, scores.outcomes)
    return next(iter(diff.updates_at(batch, scores, positions, scored_at=scored_at)), None)

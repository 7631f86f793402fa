"""Decide what to write: nothing when the CRM already holds the values we computed.

Compared: score, tier, flags (as a sorted set), the short reasons (what the CRM holds) and
the profile version. ``scored_at`` changes only when something else does, so our own writes
never trigger another write. The diff runs on a batch's columns (:func:`changed`); a
:class:`~icpsync.core.model.ScoreUpdate` is built only for an account that changed
(:func:`updates_at`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from icpsync.core.batch import OUTCOME_FIELDS, AccountBatch, ScoreBatch
from icpsync.core.model import Account, CurrentIcp, IcpScore, ScoreUpdate

_SCORE, _TIER, _FLAGS, _VERSION, _SHORT = (
    OUTCOME_FIELDS.index(name)
    for name in ("score", "tier", "flags", "profile_version", "reasons_short")
)


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


def changed(current: Sequence[CurrentIcp], outcomes: Sequence[tuple[Any, ...]]) -> list[int]:
    """The positions whose outcome differs from what the CRM holds (``current``).

    Outcomes are shared between accounts, and so (on a first sync) is the empty
    ``CurrentIcp``: each distinct pair is compared once.
    """
    wanted: dict[int, tuple[Any, ...]] = {}
    same: dict[tuple[int, int], bool] = {}
    out: list[int] = []
    for position, (held, outcome) in enumerate(zip(current, outcomes, strict=True)):
        pair = (id(held), id(outcome))
        equal = same.get(pair)
        if equal is None:
            written = wanted.get(pair[1])
            if written is None:
                written = wanted[pair[1]] = _written(outcome)
            equal = same[pair] = _held(held) == written
        if not equal:
            out.append(position)
    return out


def updates_at(
    batch: AccountBatch,
    scores: ScoreBatch,
    positions: Sequence[int],
    *,
    scored_at: datetime,
    overrides: Mapping[int, str] | None = None,
) -> list[ScoreUpdate]:
    """The updates writing ``scores`` at ``positions`` (``previous``: what ``batch`` holds).

    ``overrides``: position -> a tier to write to the override field too.
    """
    ids, current, outcomes = batch.ids, batch.current, scores.outcomes
    overrides = overrides or {}
    out = []
    for position in positions:
        outcome = outcomes[position]
        out.append(
            ScoreUpdate(
                ids[position],
                outcome[_SCORE],
                outcome[_TIER],
                tuple(sorted(outcome[_FLAGS])),
                outcome[_SHORT],
                outcome[_VERSION],
                scored_at,
                current[position],
                overrides.get(position),
            )
        )
    return out


def update_for(account: Account, result: IcpScore, *, scored_at: datetime) -> ScoreUpdate | None:
    """The update to write for one account, or None when its ICP values are already current
    (a batch of one through :func:`changed` and :func:`updates_at`)."""
    batch = AccountBatch.from_accounts((account,))
    scores = ScoreBatch([account.id], [tuple(getattr(result, f) for f in OUTCOME_FIELDS)])
    positions = changed(batch.current, scores.outcomes)
    return next(iter(updates_at(batch, scores, positions, scored_at=scored_at)), None)

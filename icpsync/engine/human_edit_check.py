"""The engine's side of human edits: look up what we wrote, apply the policy, remember.

Used by the sync run a batch of accounts at a time (see :mod:`icpsync.core.human_edits`
for what counts as an edit and what each policy does). Only the accounts we wrote before
are looked at one by one; a batch we never wrote to (a first sync) goes through untouched.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from icpsync.core.batch import OUTCOME_FIELDS, AccountBatch, ScoreBatch
from icpsync.core.human_edits import (
    KEPT,
    REVERTED,
    HumanEdit,
    Written,
    edited_tier,
    standing_edit,
    with_override,
    with_rep_reasons,
)
from icpsync.core.model import CurrentIcp, ScoreUpdate
from icpsync.engine.written_values import WrittenValues

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

_SCORE = OUTCOME_FIELDS.index("score")
_TIER = OUTCOME_FIELDS.index("tier")
_NO_MARKS: tuple[None, None] = (None, None)


@dataclass(slots=True)
class EditPlan:
    """One batch before scoring: the accounts to score and the edits found in them.

    Attributes:
        batch: the accounts to score (with ``keep``, a rep's new tier as the override).
        written: position -> what we last wrote to that account (only accounts we wrote).
        kept: position -> ``(rep tier, our tier before it)`` for an edit kept as the
            override (found now, or kept earlier and still the override).
        reps: position -> the tier a rep set since our last write (found now).
    """

    batch: AccountBatch
    written: dict[int, Written] = field(default_factory=dict)
    kept: dict[int, tuple[str, str]] = field(default_factory=dict)
    reps: dict[int, str] = field(default_factory=dict)


@dataclass(slots=True)
class EditDecision:
    """One batch after scoring: what to write and the edits to report.

    Attributes:
        positions: the accounts to write, in batch order (those that changed, and those
            whose rep's tier must be written to the override field).
        overrides: position -> the tier to write to the override field too.
        edits: position -> the edit found there, in batch order.
    """

    positions: list[int]
    overrides: dict[int, str] = field(default_factory=dict)
    edits: dict[int, HumanEdit] = field(default_factory=dict)


class HumanEditCheck:
    """Finds direct edits of the tier and applies ``[sync] human_edits``.

    Args:
        policy: ``keep`` or ``revert``.
        store: the org's written values; None without a state store (nothing is known).
        record: keep the written values current (False for dry runs).
    """

    def __init__(self, policy: str, store: WrittenValues | None, *, record: bool = True):
        self.policy = policy
        self.store = store
        self.record = record and store is not None
        self._marks: dict[str, Written] = {}

    def begin_batch(self, batch: AccountBatch) -> EditPlan:
        """Before scoring: look up what we last wrote to these accounts (one query) and find
        the edits.

        With ``keep``, an edit found now (or kept earlier and still the override) makes the
        rep's tier the account's override.
        """
        known = self.store.get(batch.ids) if self.store is not None else {}
        plan = EditPlan(batch)
        if not known:
            return plan  # nothing written to these accounts yet: no edit to find
        current = batch.current
        overrides: dict[int, CurrentIcp] = {}
        for position, account_id in enumerate(batch.ids):
            written = known.get(account_id)
            if written is None:
                continue
            plan.written[position] = written
            held = current[position]
            rep = edited_tier(held, written)
            if rep is not None:
                plan.reps[position] = rep
                if self.policy == "keep":
                    plan.kept[position] = (rep, written.tier)
                    overrides[position] = with_override(held, rep)
                continue
            kept = standing_edit(held, written)
            if kept is not None:
                plan.kept[position] = kept
        plan.batch = batch.with_current(overrides)
        return plan

    def reword(self, plan: EditPlan, scores: ScoreBatch) -> None:
        """After scoring: a kept edit's reasons say a rep set the tier."""
        for position, (tier, was) in plan.kept.items():
            scores.set(position, with_rep_reasons(scores[position], tier, was))

    def finish_batch(self, plan: EditPlan, scores: ScoreBatch, changed: list[int]) -> EditDecision:
        """After scoring and diffing (``changed``: the positions whose values differ from
        the CRM's): what to write and the edits to report; the accounts found holding our
        values are remembered (they are not written)."""
        decision = EditDecision(changed)
        if plan.reps:
            self._apply_policy(plan, scores, decision)
        if plan.kept or self._marks:
            self._mark(plan, scores, decision.positions)
        if self.record:
            self._remember_unchanged(plan, scores, decision.positions)
        return decision

    def written(
        self,
        updates: Sequence[ScoreUpdate],
        *,
        conn: Connection | None = None,
        order: Sequence[int] | None = None,
    ) -> None:
        """After a write applied ``updates``: they hold our values now (stored as columns,
        in ``conn``'s transaction when given; ``order``: the updates' positions in the order
        of their account ids, when the caller has it). An update carrying a kept edit's mark
        is stored as marked (see :meth:`_mark`)."""
        if not self.record or self.store is None or not updates:
            return
        ids = [u.account_id for u in updates]
        tiers = [u.tier for u in updates]
        scores: list[int | None] = [u.score for u in updates]
        rep_tiers: list[str | None] | None = None
        rep_was: list[str | None] | None = None
        marks = self._marks
        if marks:
            found = [marks.pop(i, None) for i in ids]
            if any(w is not None for w in found):
                rep_tiers, rep_was = [], []
                for position, mark in enumerate(found):
                    if mark is None:
                        rep_tiers.append(None)
                        rep_was.append(None)
                        continue
                    tiers[position], scores[position] = mark.tier, mark.score
                    rep_tiers.append(mark.rep_tier)
                    rep_was.append(mark.rep_was)
        self.store.put_many(ids, tiers, scores, rep_tiers, rep_was, conn=conn, order=order)

    def _apply_policy(self, plan: EditPlan, scores: ScoreBatch, decision: EditDecision) -> None:
        ids, outcomes = plan.batch.ids, scores.outcomes
        extra = []
        changed = set(decision.positions)
        for position, rep in plan.reps.items():
            ours = plan.written[position].tier
            account_id = ids[position]
            if position in plan.kept:
                decision.edits[position] = HumanEdit(account_id, "tier", rep, ours, KEPT)
                decision.overrides[position] = rep
                if position not in changed:
                    extra.append(position)  # the override must be written
            elif (tier := outcomes[position][_TIER]) != rep:
                decision.edits[position] = HumanEdit(account_id, "tier", rep, ours, REVERTED, tier)
        if extra:
            decision.positions = sorted(changed.union(extra))

    def _mark(self, plan: EditPlan, scores: ScoreBatch, positions: list[int]) -> None:
        """Remember the kept edit each update carries, for when it is written."""
        ids, outcomes, kept, marks = plan.batch.ids, scores.outcomes, plan.kept, self._marks
        for position in positions:
            account_id = ids[position]
            if position in kept:
                outcome = outcomes[position]
                marks[account_id] = Written(outcome[_TIER], outcome[_SCORE], *kept[position])
            elif marks:
                marks.pop(account_id, None)  # an earlier read of this account is superseded

    def _remember_unchanged(self, plan: EditPlan, scores: ScoreBatch, positions: list[int]) -> None:
        """Keep the values of the accounts found holding ours (an edit is caught on them)."""
        size = len(scores)
        if len(positions) == size or self.store is None:
            return
        writing = set(positions)
        ids, outcomes = plan.batch.ids, scores.outcomes
        kept, known = plan.kept, plan.written
        seen: dict[str, tuple[str, int | None, str | None, str | None]] = {}
        for position in range(size):
            if position in writing:
                continue
            outcome = outcomes[position]
            tier, score = outcome[_TIER], outcome[_SCORE]
            rep_tier, rep_was = kept.get(position, _NO_MARKS)
            before = known.get(position)
            if (
                before is None
                or before.tier != tier
                or before.score != score
                or before.rep_tier != rep_tier
                or before.rep_was != rep_was
            ):
                seen[ids[position]] = (tier, score, rep_tier, rep_was)
        if seen:  # one row per account, the last read's values (as a dict keeps them)
            values = seen.values()
            self.store.put_many(
                list(seen),
                [v[0] for v in values],
                [v[1] for v in values],
                [v[2] for v in values],
                [v[3] for v in values],
            )

"""The engine's side of human edits: look up what we wrote, apply the policy, remember.

Used by the sync run a batch of accounts at a time (see :mod:`icpsync.core.human_edits`
for what counts as an edit and what each policy does).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from icpsync.core.human_edits import (
    KEPT,
    REVERTED,
    HumanEdit,
    Written,
    edited_tier,
    standing_edit,
    with_override,
)
from icpsync.core.model import Account, IcpScore, ScoreUpdate
from icpsync.engine.written_values import WrittenValues


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
        self._written: dict[str, Written] = {}
        self._marks: dict[str, Written] = {}
        self._seen: dict[str, Written] = {}

    def begin_batch(self, account_ids: list[str]) -> None:
        """Look up what we last wrote to these accounts (one query)."""
        self._written = self.store.get(account_ids) if self.store is not None else {}

    def prepare(self, account: Account) -> tuple[Account, tuple[str, str] | None, str | None]:
        """Before scoring: the account to score, a kept edit ``(rep tier, was)``, an edit.

        With ``keep``, an edit found now (or kept earlier and still the override) makes the
        rep's tier the account's override.
        """
        written = self._written.get(account.id)
        rep = edited_tier(account, written)
        if rep is not None and written is not None:
            if self.policy == "keep":
                return with_override(account, rep), (rep, written.tier), rep
            return account, None, rep
        kept = standing_edit(account, written)
        return account, kept, None

    def finish(
        self,
        account: Account,
        result: IcpScore,
        kept: tuple[str, str] | None,
        rep: str | None,
        *,
        scored_at: datetime,
        update: ScoreUpdate | None,
    ) -> tuple[ScoreUpdate | None, HumanEdit | None]:
        """After scoring and diffing: the update to write and the edit to report, if any."""
        written = self._written.get(account.id)
        edit: HumanEdit | None = None
        if rep is not None and written is not None:
            if kept is not None:
                edit = HumanEdit(account.id, "tier", rep, written.tier, KEPT)
                update = update or _rewrite(account, result, scored_at)
                update = replace(update, override=rep)
            elif result.tier != rep:
                edit = HumanEdit(account.id, "tier", rep, written.tier, REVERTED, result.tier)
        marks = kept or (None, None)
        if update is not None:
            self._marks[account.id] = Written(update.tier, update.score, *marks)
        elif self.record:
            now = Written(result.tier, result.score, *marks)
            if written != now:
                self._seen[account.id] = now
        return update, edit

    def end_batch(self) -> None:
        """Remember the accounts found holding our values (they were not written)."""
        if self.record and self._seen and self.store is not None:
            self.store.put(self._seen)
        self._seen = {}

    def written(self, updates: list[ScoreUpdate]) -> None:
        """After a write applied ``updates``: they hold our values now."""
        if not self.record or self.store is None:
            return
        rows = {
            u.account_id: self._marks.pop(u.account_id, Written(u.tier, u.score)) for u in updates
        }
        self.store.put(rows)


def _rewrite(account: Account, result: IcpScore, scored_at: datetime) -> ScoreUpdate:
    """An update writing ``result`` whatever the CRM holds (the override must be written)."""
    return ScoreUpdate(
        account_id=account.id,
        score=result.score,
        tier=result.tier,
        flags=tuple(sorted(result.flags)),
        reasons=result.reasons_short,
        profile_version=result.profile_version,
        scored_at=scored_at,
        previous=account.current,
    )

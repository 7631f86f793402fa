"""Decide what to write: nothing when the CRM already holds the values we computed."""

from __future__ import annotations

from datetime import datetime

from icpsync.core.model import Account, IcpScore, ScoreUpdate


def update_for(account: Account, result: IcpScore, *, scored_at: datetime) -> ScoreUpdate | None:
    """The update to write for ``account``, or None when its ICP values are already current.

    Compared: score, tier, flags (as a sorted set), the short reasons (what the CRM holds)
    and the profile version. ``scored_at`` changes only when something else does, so our
    own writes never trigger another write.
    """
    current = account.current
    flags = tuple(sorted(result.flags))
    if (
        current.score == result.score
        and current.tier == result.tier
        and current.flags == flags
        and (current.reasons or "") == result.reasons_short
        and current.profile_version == result.profile_version
    ):
        return None
    return ScoreUpdate(
        account_id=account.id,
        score=result.score,
        tier=result.tier,
        flags=flags,
        reasons=result.reasons_short,
        profile_version=result.profile_version,
        scored_at=scored_at,
        previous=current,
    )

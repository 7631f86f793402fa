"""A rep's direct edit of a tool-owned field: how it is found and what it becomes.

The run knows what it last wrote to each account (:class:`Written`, kept in the state
store). When the CRM holds another tier now, and the override field is empty, a person
changed the tier by hand since our last write. The ``[sync] human_edits`` policy decides:

* ``keep`` (default): the rep's tier becomes the account's override (the tool writes it to
  the override field), the reasons say ``tier set by a rep: <tier> (was <our tier>)`` and the
  account keeps that tier until someone clears or changes the override;
* ``revert``: the computed values are written back and the edit is reported.

Either way the edit is reported (:class:`HumanEdit`) and is not a tier change of the profile.
Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from icpsync.core.model import TIERS, CurrentIcp, IcpScore
from icpsync.core.reasons import override_lead

Policy = Literal["keep", "revert"]
POLICIES: tuple[str, ...] = ("keep", "revert")
KEPT = "kept"
REVERTED = "reverted"


@dataclass(frozen=True, slots=True)
class Written:
    """What the tool last wrote to one account, and a rep's tier it keeps as the override."""

    tier: str
    score: int | None = None
    rep_tier: str | None = None
    rep_was: str | None = None


@dataclass(frozen=True, slots=True)
class HumanEdit:
    """One direct edit found in a run: whose value, ours, and what was done with it."""

    account_id: str
    field: str
    rep_value: str
    ours: str
    action: str
    restored: str | None = None

    def describe(self) -> str:
        """One line for the run's output."""
        if self.action == KEPT:
            return (
                f"{self.account_id}: {self.field} set by a rep to {self.rep_value} "
                f"(we wrote {self.ours}); kept as the override"
            )
        return (
            f"{self.account_id}: {self.field} set by a rep to {self.rep_value}; "
            f"restored {self.restored}"
        )


def edited_tier(current: CurrentIcp, written: Written | None) -> str | None:
    """The tier a person put on an account holding ``current`` since our last write, or None.

    Only a tier (one of :data:`TIERS`) other than the one we wrote counts, and only while the
    override field is empty: a rep who sets the override used the intended way.
    """
    if written is None or current.override is not None:
        return None
    if current.tier is None or current.tier not in TIERS or current.tier == written.tier:
        return None
    return current.tier


def standing_edit(current: CurrentIcp, written: Written | None) -> tuple[str, str] | None:
    """``(rep tier, our tier before it)`` when an edit kept earlier is still the override."""
    if written is None or written.rep_tier is None or written.rep_was is None:
        return None
    if current.override != written.rep_tier:
        return None
    return written.rep_tier, written.rep_was


def with_override(current: CurrentIcp, tier: str) -> CurrentIcp:
    """``current`` as if its override field held ``tier``."""
    return replace(current, override=tier)


def rep_lead(tier: str, was: str) -> str:
    """The reason a kept edit leads with."""
    return f"tier set by a rep: {tier} (was {was})"


def with_rep_reasons(result: IcpScore, tier: str, was: str) -> IcpScore:
    """``result`` (scored with the rep's tier as override) with reasons that say a rep set it.

    The scorer's lead for an override (:func:`~icpsync.core.reasons.override_lead`) is
    replaced in the full and the short reasons (the new lead is never longer, so the short
    form still fits).
    """
    if not result.overridden:
        return result
    lead = override_lead(tier, result.computed_tier)
    new = rep_lead(tier, was)
    return replace(
        result,
        reasons=result.reasons.replace(lead, new, 1),
        reasons_short=result.reasons_short.replace(lead, new, 1),
    )

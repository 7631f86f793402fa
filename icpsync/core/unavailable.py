"""Inputs a CRM cannot give: a field the field map names but the org does not have.

The criteria on such a field are not scorable: they earn nothing, and every account's
reasons, the run report and ``doctor`` say so once, with the points they stand for.
"""

from __future__ import annotations

from collections.abc import Mapping

from icpsync.core.profile import Profile


def label(field: str) -> str:
    """A canonical field as a rep reads it: ``tech_stack`` -> ``tech stack``."""
    return field.removeprefix("signals.").replace("_", " ")


def reason(field: str, crm_field: str) -> str:
    """The note in an account's reasons: ``tech stack: field Tech_Stack__c not in this org``."""
    return f"{label(field)}: field {crm_field} not in this org"


def unavailable_notes(profile: Profile, missing: Mapping[str, str]) -> list[str]:
    """One line per missing field the profile uses: what it costs.

    Args:
        profile: the profile in force.
        missing: canonical field -> the CRM field the org lacks.
    """
    notes = []
    for field, crm_field in missing.items():
        points = sum(c.points for c in profile.criteria if c.field == field and c.points > 0)
        rules = [r.id for r in profile.anti if r.field == field]
        if not points and not rules:
            continue
        costs = []
        if points:
            costs.append(f"{points} points unavailable")
        if rules:
            costs.append(f"anti-ICP rule(s) {', '.join(rules)} cannot apply")
        notes.append(f"{reason(field, crm_field)}; {'; '.join(costs)}")
    return notes

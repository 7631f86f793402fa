"""Reason text a rep can read: criterion labels, and the joined line in full or in 255 chars."""

from __future__ import annotations

from icpsync.core.profile import Condition

CRM_TEXT_LIMIT = 255
ELLIPSIS = "…"
#: how a disqualify or cap note begins (a penalty begins with its points).
ANTI_NOTE = "anti-ICP:"
NOTHING_MATCHED = "no ICP criteria matched"


def override_lead(override: str, computed: str) -> str:
    """The reason an overridden tier leads with."""
    return f"manual override: {override} (computed {computed})"


def _number(value: float) -> str:
    value = float(value)
    return f"{int(value):,}" if value.is_integer() else f"{value:,.2f}"


def describe(cond: Condition) -> str:
    """A readable label for a condition that has none (``employees 200-2,000``)."""
    name = cond.field.removeprefix("signals.").replace("_", " ")
    op, operand = cond.operator, cond.operand
    if op == "between":
        return f"{name} {_number(operand[0])}-{_number(operand[1])}"
    if op == "at_least":
        return f"{name} at least {_number(operand)}"
    if op == "at_most":
        return f"{name} at most {_number(operand)}"
    if op == "in":
        return name
    if op == "not_in":
        return f"{name} not {', '.join(str(v) for v in operand)}"
    if op == "contains_any":
        return f"{name} has one of {', '.join(operand)}"
    if op == "contains_all":
        return f"{name} has all of {', '.join(operand)}"
    return f"{name} {'missing' if operand else 'present'}"


def join_reasons(parts: list[str], limit: int = CRM_TEXT_LIMIT) -> tuple[str, str]:
    """The full reasons line and one that fits ``limit`` characters.

    Disqualify and cap notes come first. The short form keeps whole items from the front and
    ends with ``…`` when it had to drop some; a single item longer than the limit is cut at a
    word boundary. No items at all read ``no ICP criteria matched``.
    """
    if not parts:
        return NOTHING_MATCHED, NOTHING_MATCHED
    # A disqualifying or capping rule decides the tier: it comes first, so a rep reads it
    # first and a shortened line never drops it. Point penalties stay in order of size.
    parts = [p for p in parts if p.startswith(ANTI_NOTE)] + [
        p for p in parts if not p.startswith(ANTI_NOTE)
    ]
    full = "; ".join(parts)
    if len(full) <= limit:
        return full, full
    kept: list[str] = []
    used = 0
    for part in parts:
        extra = len(part) + (2 if kept else 0)
        if used + extra + 3 > limit:
            break
        kept.append(part)
        used += extra
    if not kept:
        head = parts[0][: limit - 1].rsplit(" ", 1)[0]
        return full, head + ELLIPSIS
    return full, "; ".join(kept) + "; " + ELLIPSIS

"""Frozen copy of icpsync/scoring.py as it was before the throughput work.

The reference the fast path must match, result for result.

Pure: no I/O, no clock (``as_of`` is passed in), no CRM field names, nothing from
``connectors``. The same input always gives the same output. :class:`Scorer` compiles a
profile once into plain closures so that scoring a million accounts is cheap;
:func:`score_account` is the one-off form.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from icpsync.core.model import (
    ANTI_ICP,
    TIERS,
    Account,
    Aggregates,
    Contribution,
    IcpScore,
)
from reference.reasons_v1 import describe, join_reasons

if TYPE_CHECKING:  # the profile is this reference's input: its types only, no behaviour
    from icpsync.core.profile import AntiRule, Condition, Profile

#: frozen from icpsync.profile v1
TIER_ORDER = {"Tier 1": 0, "Tier 2": 1, "Tier 3": 2, "Not ICP": 3, "Anti-ICP": 4}

Getter = Callable[[Account, Aggregates, datetime], Any]
Predicate = Callable[[Any], "bool | str"]


def _account_getter(name: str) -> Getter:
    if name == "tech_stack":
        return lambda a, g, t: a.tech_stack or None
    return lambda a, g, t: getattr(a, name)


def _days_since_last_win(a: Account, g: Aggregates, t: datetime) -> int | None:
    return None if g.last_win is None else (t.date() - g.last_win).days


_AGGREGATE_GETTERS: dict[str, Getter] = {
    "customer": lambda a, g, t: g.won_deals > 0,
    "won_deals": lambda a, g, t: g.won_deals,
    "lost_deals": lambda a, g, t: g.lost_deals,
    "open_deals": lambda a, g, t: g.open_deals,
    "open_pipeline": lambda a, g, t: g.open_pipeline,
    "days_since_last_win": _days_since_last_win,
    "sales_cycle_days": lambda a, g, t: g.sales_cycle_days,
}


def _signal_getter(name: str) -> Getter:
    def get(a: Account, g: Aggregates, t: datetime) -> Any:
        value = a.signals.get(name)
        return None if value is None or value == "" else value

    return get


def getter_for(field: str) -> Getter:
    """How to read a profile field from an account and its aggregates."""
    if field in _AGGREGATE_GETTERS:
        return _AGGREGATE_GETTERS[field]
    if field.startswith("signals."):
        return _signal_getter(field.removeprefix("signals."))
    return _account_getter(field)


def _key(value: Any) -> str:
    """Case-insensitive comparison key; 5 and 5.0 compare equal."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip().lower()


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value).replace(",", ""))
    except ValueError:
        return None


def _items(value: Any) -> dict[str, str]:
    """Lowered item -> original item, for a set or a ``;``-separated string."""
    raw: Iterable[Any] = (
        value if isinstance(value, frozenset | set | list | tuple) else str(value).split(";")
    )
    return {_key(v): str(v).strip() for v in raw if str(v).strip()}


def predicate_for(cond: Condition) -> Predicate:
    """A function of the (present) value: False, True, or the matched text for the reason."""
    op, operand = cond.operator, cond.operand
    if op == "in":
        wanted = {_key(v) for v in operand}
        return lambda v: str(v) if _key(v) in wanted else False
    if op == "not_in":
        unwanted = {_key(v) for v in operand}
        return lambda v: _key(v) not in unwanted
    if op in ("between", "at_least", "at_most"):
        low, high = (
            operand
            if op == "between"
            else (operand, float("inf"))
            if op == "at_least"
            else (float("-inf"), operand)
        )

        def in_range(v: Any) -> bool:
            number = _number(v)
            return number is not None and low <= number <= high

        return in_range
    if op == "contains_any":
        wanted_any = {_key(v) for v in operand}

        def contains_any(v: Any) -> bool | str:
            items = _items(v)
            hits = sorted(items[k] for k in wanted_any if k in items)
            return ", ".join(hits) if hits else False

        return contains_any
    if op == "contains_all":
        wanted_all = {_key(v) for v in operand}
        return lambda v: wanted_all <= set(_items(v))
    raise ValueError(f"operator {op} has no predicate")  # is_missing is handled by the caller


@dataclass(frozen=True, slots=True)
class _Compiled:
    id: str
    field: str
    get: Getter
    test: Predicate | None  # None: an is_missing test
    wants_missing: bool
    points: int
    label: str
    rule: AntiRule | None = None


def _compile(cond: Condition, points: int, rule: AntiRule | None = None) -> _Compiled:
    tests_missing = cond.operator == "is_missing"
    return _Compiled(
        id=getattr(cond, "id", cond.field),
        field=cond.field,
        get=getter_for(cond.field),
        test=None if tests_missing else predicate_for(cond),
        wants_missing=bool(cond.is_missing) if tests_missing else False,
        points=points,
        label=getattr(cond, "label", None) or describe(cond),
        rule=rule,
    )


_MISSING = None
#: Account attributes read directly (tech_stack is not: an empty set means missing).
_PLAIN_FIELDS = frozenset(
    {"name", "domain", "industry", "employees", "annual_revenue", "country", "region"}
)
CACHE_LIMIT = 200_000


def _memoised(test: Predicate) -> Predicate:
    """Remember the answer for text and set values (they repeat); numbers are cheap anyway."""
    memo: dict[Any, bool | str] = {}

    def cached(value: Any) -> bool | str:
        if isinstance(value, str | frozenset):
            hit = memo.get(value)
            if hit is None:
                hit = test(value)
                if len(memo) < CACHE_LIMIT:
                    memo[value] = hit
            return hit
        return test(value)

    return cached


class Scorer:
    """A profile compiled for fast, repeated scoring.

    Each account is reduced to the outcome of every criterion and rule (held, not held,
    missing, or the matched text); the score, tier and reasons for an outcome are built
    once and remembered, since accounts share outcomes far more often than not.
    """

    def __init__(self, profile: Profile):
        self.profile = profile
        self.version = profile.version
        self._criteria = [_compile(c, c.points) for c in profile.criteria]
        self._anti = [_compile(r, -(r.points or 0), r) for r in profile.anti]
        self._checks = [
            (
                attrgetter(c.field) if c.field in _PLAIN_FIELDS else None,
                c.get,
                None if c.test is None else _memoised(c.test),
                c.wants_missing,
            )
            for c in (*self._criteria, *self._anti)
        ]
        self._tier_for = profile.tiers.tier_for
        self._outcomes: dict[tuple[Any, ...], tuple[Any, ...]] = {}

    def score(self, account: Account, aggregates: Aggregates, as_of: datetime) -> IcpScore:
        """Score one account."""
        hits: list[bool | str | None] = []
        append = hits.append
        for plain, get, test, wants_missing in self._checks:
            value = plain(account) if plain is not None else get(account, aggregates, as_of)
            if test is None:
                append((value is None) == wants_missing)
            elif value is None:
                append(_MISSING)
            else:
                append(test(value))
        key = (*hits, account.current.override)
        outcome = self._outcomes.get(key)
        if outcome is None:
            outcome = self._assemble(hits, account.current.override)
            if len(self._outcomes) < CACHE_LIMIT:
                self._outcomes[key] = outcome
        return IcpScore(account.id, *outcome)

    def _assemble(self, hits: list[bool | str | None], override: str | None) -> tuple[Any, ...]:
        """Score, tier, flags, contributions and reasons for one set of outcomes."""
        missing: list[str] = []
        for c, hit in zip((*self._criteria, *self._anti), hits, strict=True):
            name = c.field.removeprefix("signals.").replace("_", " ")
            if hit is _MISSING and name not in missing:
                missing.append(name)
        gains: list[tuple[int, int, str]] = []
        total = 0
        for index, (c, hit) in enumerate(zip(self._criteria, hits, strict=False)):
            if hit:
                total += c.points
                label = f"{c.label} ({hit})" if isinstance(hit, str) else c.label
                gains.append((c.points, index, label))
        flags: list[str] = []
        notes: list[str] = []
        cap_rank = 0
        disqualified = False
        offset = len(self._criteria)
        for index, c in enumerate(self._anti):
            if not hits[offset + index]:
                continue
            rule = c.rule
            assert rule is not None
            flags.append(rule.id)
            if rule.effect == "penalty":
                total += c.points
                gains.append((c.points, offset + index, f"anti-ICP: {c.label}"))
            elif rule.effect == "cap":
                cap_rank = max(cap_rank, TIER_ORDER[rule.cap or "Not ICP"])
                notes.append(f"anti-ICP: {c.label} (capped at {rule.cap})")
            else:
                disqualified = True
                notes.append(f"anti-ICP: {c.label} (disqualified)")
        score = 0 if disqualified else max(0, min(100, total))
        tier = self._tier_for(score)
        if TIER_ORDER[tier] < cap_rank:
            tier = TIERS[cap_rank]
        if disqualified:
            tier = ANTI_ICP
        computed = tier
        overridden = override is not None and override in TIER_ORDER
        lead: list[str] = []
        if override is not None and overridden:
            tier = override
            lead.append(f"manual override: {override} (computed {computed})")
        gains.sort(key=lambda g: (g[0] < 0, -abs(g[0]), g[1]))
        contributions = tuple(Contribution(points, label) for points, _, label in gains)
        parts = [*lead, *(str(c) for c in contributions), *notes]
        if missing:
            parts.append("missing: " + ", ".join(missing))
        reasons, short = join_reasons(parts)
        return (
            score,
            tier,
            tuple(sorted(flags)),
            contributions,
            tuple(missing),
            self.version,
            computed,
            overridden,
            reasons,
            short,
        )


def score_account(
    account: Account, aggregates: Aggregates, profile: Profile, *, as_of: datetime
) -> IcpScore:
    """Score one account against a profile (compiles the profile; use :class:`Scorer` in loops)."""
    return Scorer(profile).score(account, aggregates, as_of)

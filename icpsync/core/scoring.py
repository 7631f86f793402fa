"""The scoring core: one account, its aggregates and a profile in; an :class:`IcpScore` out.

Pure: no I/O, no clock (``as_of`` is passed in), no CRM field names, nothing from
``connectors``. The same input always gives the same output. :class:`Scorer` compiles a
profile once into plain closures so that scoring a million accounts is cheap;
:meth:`Scorer.score_many` scores a stream in columnar batches (``scoring_columns``) with
the same results; :func:`score_account` is the one-off form.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from operator import attrgetter
from typing import Any

from icpsync.core.frozen import fast_constructor
from icpsync.core.model import (
    ANTI_ICP,
    TIERS,
    Account,
    Aggregates,
    Contribution,
    IcpScore,
)
from icpsync.core.profile import TIER_ORDER, AntiRule, Condition, Profile
from icpsync.core.reasons import describe, join_reasons, override_lead
from icpsync.core.scoring_columns import score_batch

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
    operator: str = ""
    operand_keys: frozenset[str] = frozenset()  # in / not_in: the keys of the list


def _compile(cond: Condition, points: int, rule: AntiRule | None = None) -> _Compiled:
    tests_missing = cond.operator == "is_missing"
    membership = cond.operator in ("in", "not_in")
    return _Compiled(
        id=getattr(cond, "id", cond.field),
        field=cond.field,
        get=getter_for(cond.field),
        test=None if tests_missing else predicate_for(cond),
        wants_missing=bool(cond.is_missing) if tests_missing else False,
        points=points,
        label=getattr(cond, "label", None) or describe(cond),
        rule=rule,
        operator=cond.operator,
        operand_keys=frozenset(_key(v) for v in cond.operand) if membership else frozenset(),
    )


_MISSING = None
#: Account attributes read directly (tech_stack is not: an empty set means missing).
_PLAIN_FIELDS = frozenset(
    {"name", "domain", "industry", "employees", "annual_revenue", "country", "region"}
)
CACHE_LIMIT = 200_000
#: Distinct values whose outcomes each field remembers (repeated values are far fewer).
VALUE_CACHE_LIMIT = 20_000
#: Accounts scored together by ``score_many``.
BATCH_ACCOUNTS = 2048
#: Value classes whose equal values always get equal outcomes (floats only for ranges:
#: ``-0.0 == 0.0`` but they print differently in a matched-text reason).
_EXACT_CLASSES = (str, frozenset, int, bool)
_RANGE_OPERATORS = frozenset({"between", "at_least", "at_most", "is_missing"})
_MEMBERSHIP_OPERATORS = frozenset({"in", "not_in", "is_missing"})
_new_score = fast_constructor(IcpScore)


class _Field:
    """Every check on one field: read the value once, remember its outcomes per value."""

    __slots__ = ("get", "keys", "memos", "missing", "plain", "positions", "tests", "unmatched")

    def __init__(self, compiled: list[tuple[int, _Compiled]]):
        first = compiled[0][1]
        operators = {c.operator for _, c in compiled}
        self.plain = attrgetter(first.field) if first.field in _PLAIN_FIELDS else None
        self.get = first.get
        self.positions = tuple(index for index, _ in compiled)
        self.tests = tuple((c.test, c.wants_missing) for _, c in compiled)
        self.missing = tuple(_MISSING if test is not None else wants for test, wants in self.tests)
        classes = (*_EXACT_CLASSES, float) if operators <= _RANGE_OPERATORS else _EXACT_CLASSES
        self.memos: dict[type, dict[Any, tuple[Any, ...]]] = {cls: {} for cls in classes}
        # Text tested only for membership: a value whose key is in no list has a fixed
        # outcome, so unique values (domains, names) cost one lookup and are not remembered.
        self.keys: frozenset[str] | None = None
        self.unmatched: tuple[bool | None, ...] = ()
        if operators <= _MEMBERSHIP_OPERATORS:
            conditions = [c for _, c in compiled]
            self.keys = frozenset(k for c in conditions for k in c.operand_keys)
            self.unmatched = tuple(
                not c.wants_missing if c.test is None else c.operator == "not_in"
                for c in conditions
            )

    def outcomes(self, value: Any) -> tuple[Any, ...]:
        """The outcome of each check for a present value (not None)."""
        if (
            self.keys is not None
            and value.__class__ is str
            and value.strip().lower() not in self.keys
        ):
            return self.unmatched
        memo = self.memos.get(value.__class__)
        if memo is not None:
            hit = memo.get(value)
            if hit is not None:
                return hit
        hit = tuple(not wants if test is None else test(value) for test, wants in self.tests)
        if memo is not None and len(memo) < VALUE_CACHE_LIMIT:
            memo[value] = hit
        return hit


class Scorer:
    """A profile compiled for fast, repeated scoring.

    Each account is reduced to the outcome of every criterion and rule (held, not held,
    missing, or the matched text); the score, tier and reasons for an outcome are built
    once and remembered, since accounts share outcomes far more often than not. Checks
    on the same field read it once, and the outcomes of a value are remembered too.
    """

    def __init__(self, profile: Profile):
        self.profile = profile
        self.version = profile.version
        self._criteria = [_compile(c, c.points) for c in profile.criteria]
        self._anti = [_compile(r, -(r.points or 0), r) for r in profile.anti]
        by_field: dict[str, list[tuple[int, _Compiled]]] = {}
        for index, c in enumerate((*self._criteria, *self._anti)):
            by_field.setdefault(c.field, []).append((index, c))
        self._fields = [_Field(checks) for checks in by_field.values()]
        self._reads = tuple((f.plain, f.get, f.missing, f.memos, f.outcomes) for f in self._fields)
        self._tier_for = profile.tiers.tier_for
        self._outcomes: dict[tuple[Any, ...], tuple[Any, ...]] = {}

    def score(self, account: Account, aggregates: Aggregates, as_of: datetime) -> IcpScore:
        """Score one account."""
        key: list[Any] = []
        append = key.append
        for plain, get, missing, memos, outcomes in self._reads:
            value = plain(account) if plain is not None else get(account, aggregates, as_of)
            if value is None:
                append(missing)
                continue
            memo = memos.get(value.__class__)
            hit = memo.get(value) if memo is not None else None
            append(hit if hit is not None else outcomes(value))
        override = account.current.override
        append(override)
        found = tuple(key)
        outcome = self._outcomes.get(found)
        if outcome is None:
            outcome = self._outcome(found, override)
        return _new_score(account.id, *outcome)

    def score_many(
        self,
        accounts: Iterable[Account],
        aggregates: Mapping[str, Aggregates],
        as_of: datetime,
    ) -> Iterator[IcpScore]:
        """Score a stream of accounts, each with its aggregates (none when not in the map).

        Accounts are scored a batch at a time, column by column (``scoring_columns``);
        the results are those of :meth:`score`.
        """
        stream = iter(accounts)
        while batch := list(islice(stream, BATCH_ACCOUNTS)):
            yield from score_batch(self, batch, aggregates, as_of)

    def _outcome(self, key: tuple[Any, ...], override: str | None) -> tuple[Any, ...]:
        """Assemble (and remember) the outcome of a score key not seen before."""
        outcome = self._assemble(self._hits(key), override)
        if len(self._outcomes) < CACHE_LIMIT:
            self._outcomes[key] = outcome
        return outcome

    def _hits(self, key: tuple[Any, ...]) -> list[bool | str | None]:
        """The outcome of every criterion and rule, in profile order, from a score key."""
        hits: list[bool | str | None] = [None] * (len(self._criteria) + len(self._anti))
        for field, outcomes in zip(self._fields, key, strict=False):
            for position, hit in zip(field.positions, outcomes, strict=True):
                hits[position] = hit
        return hits

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
            lead.append(override_lead(override, computed))
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

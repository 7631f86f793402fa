"""A profile's conditions compiled into checks: how to read each field, how to test a value,
and, per field, the outcomes of every check on it remembered by value.

Pure: no I/O, no clock. :mod:`icpsync.core.scoring` assembles scores from these outcomes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from itertools import compress, repeat
from operator import attrgetter, gt
from typing import Any

from icpsync.core.model import Account, Aggregates
from icpsync.core.profile import AntiRule, Condition
from icpsync.core.ranges import Ranges
from icpsync.core.reasons import describe

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


#: Deal-derived fields that are an attribute of the aggregates as they are.
_AGGREGATE_ATTRIBUTES = frozenset(
    {"won_deals", "lost_deals", "open_deals", "open_pipeline", "sales_cycle_days"}
)
_won_deals = attrgetter("won_deals")
_last_win = attrgetter("last_win")


def _present(value: Any) -> Any:
    """A signal's value, None when it is missing or empty."""
    return None if value is None or value == "" else value


def _signal_getter(name: str) -> Getter:
    def get(a: Account, g: Aggregates, t: datetime) -> Any:
        return _present(a.signals.get(name))

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
    """Lowered item -> original item, for a set, a list or a ``;``-separated string.

    Of items equal but for case or spaces, a list or string keeps its last; a set (which
    has no order) the first in sorted order, whatever the interpreter's hash seed.
    """
    raw: Iterable[Any]
    if isinstance(value, frozenset | set):
        raw = sorted(value, key=str, reverse=True)
    elif isinstance(value, list | tuple):
        raw = value
    else:
        raw = str(value).split(";")
    # the key of an item that is not a float is its text lowered (see _key)
    return {
        _key(v) if isinstance(v, float) else text.lower(): text
        for v in raw
        if (text := str(v).strip())
    }


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
class Check:
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
    bounds: tuple[Any, ...] = ()  # between / at_least / at_most: the operand's numbers


def compile_check(cond: Condition, points: int, rule: AntiRule | None = None) -> Check:
    tests_missing = cond.operator == "is_missing"
    membership = cond.operator in ("in", "not_in")
    return Check(
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
        bounds=_bounds(cond),
    )


def _bounds(cond: Condition) -> tuple[Any, ...]:
    """The numbers a range condition compares with (none for other operators)."""
    if cond.operator == "between":
        return tuple(cond.operand)
    if cond.operator in ("at_least", "at_most"):
        return (cond.operand,)
    return ()


MISSING = None
_NO_ACCOUNT = Account(id="")
#: Account attributes read directly (tech_stack is not: an empty set means missing).
_PLAIN_FIELDS = frozenset(
    {"name", "domain", "industry", "employees", "annual_revenue", "country", "region"}
)
#: Distinct values whose outcomes each field remembers (repeated values are far fewer).
VALUE_CACHE_LIMIT = 20_000
#: New values a column is looked up around one at a time (more: as a set).
FEW_NEW = 64
#: Value classes whose equal values always get equal outcomes (floats only for ranges:
#: ``-0.0 == 0.0`` but they print differently in a matched-text reason).
_EXACT_CLASSES = (str, frozenset, int, bool)
_RANGE_OPERATORS = frozenset({"between", "at_least", "at_most", "is_missing"})
_MEMBERSHIP_OPERATORS = frozenset({"in", "not_in", "is_missing"})
_NUMBER_CLASSES = frozenset({int, float})
#: Classes whose memory may answer a whole column at once: no value of another class equals
#: one of theirs (unlike 1 and True).
_USUAL_CLASSES = frozenset({str, frozenset})


class FieldChecks:
    """Every check on one field: read the value once, remember its outcomes per value.

    Each distinct outcome (the tuple of every check's outcome) is named by a small int, its
    code (:attr:`outcome_of` gives the outcome back): a column's outcomes are codes, so a
    score key is a tuple of small ints, hashed and compared without the outcomes' items.
    """

    __slots__ = (
        "_codes", "_fixed", "_usual", "field", "keys", "memos", "missing", "outcome_of",
        "positions", "ranges", "tests", "unmatched",
    )  # fmt: skip

    def __init__(self, compiled: list[tuple[int, Check]]):
        first = compiled[0][1]
        operators = {c.operator for _, c in compiled}
        self.field = first.field
        self.positions = tuple(index for index, _ in compiled)
        self.tests = tuple((c.test, c.wants_missing) for _, c in compiled)
        #: code -> outcome, and outcome -> code
        self.outcome_of: list[tuple[Any, ...]] = []
        self._codes: dict[tuple[Any, ...], int] = {}
        self.missing = self._code(
            tuple(MISSING if test is not None else wants for test, wants in self.tests)
        )
        classes = (*_EXACT_CLASSES, float) if operators <= _RANGE_OPERATORS else _EXACT_CLASSES
        self.memos: dict[type, dict[Any, int]] = {cls: {} for cls in classes}
        # Numbers tested only against ranges: placed among the bounds (see Ranges).
        self.ranges: Ranges | None = None
        if operators <= _RANGE_OPERATORS and operators != {"is_missing"}:
            bounds = [b for _, c in compiled for b in c.bounds]
            self.ranges = Ranges.of(bounds, self._tested_code)
        # the memory that answered a whole column last (see :meth:`column`)
        self._usual: dict[Any, int] | None = None
        if self.ranges is not None:
            # equal numbers (1, 1.0 and True) fall in the same ranges: one memory for the
            # numbers of every class
            self.memos[float] = self._usual = self.memos[int]
        # Text tested only for membership: a value whose key is in no list has a fixed
        # outcome, so unique values (domains, names) cost one lookup and are not remembered.
        self.keys: frozenset[str] | None = None
        self.unmatched = -1  # the fixed outcome's code (membership fields only)
        if operators <= _MEMBERSHIP_OPERATORS:
            conditions = [c for _, c in compiled]
            self.keys = frozenset(k for c in conditions for k in c.operand_keys)
            self.unmatched = self._code(
                tuple(
                    not c.wants_missing if c.test is None else c.operator == "not_in"
                    for c in conditions
                )
            )
        self._fixed = len(self.outcome_of)  # codes kept when the memory starts afresh
        for memo in self.memos.values():
            memo[None] = self.missing

    def _code(self, outcome: tuple[Any, ...]) -> int:
        """The code of ``outcome`` (a new one for an outcome not met before)."""
        code = self._codes.get(outcome)
        if code is None:
            code = self._codes[outcome] = len(self.outcome_of)
            self.outcome_of.append(outcome)
        return code

    @property
    def full(self) -> bool:
        """True when the field has named :data:`VALUE_CACHE_LIMIT` outcomes (see
        :meth:`start_afresh`)."""
        return len(self.outcome_of) >= VALUE_CACHE_LIMIT

    def start_afresh(self) -> None:
        """Forget the outcomes met and the values remembered (the codes of the missing,
        unmatched and range outcomes stay): codes given before name nothing now."""
        del self.outcome_of[self._fixed :]
        self._codes = {outcome: code for code, outcome in enumerate(self.outcome_of)}
        for memo in self.memos.values():
            memo.clear()
            memo[None] = self.missing

    def _tested(self, value: Any) -> tuple[Any, ...]:
        """The outcome of each check for a present value, worked out."""
        return tuple(not wants if test is None else test(value) for test, wants in self.tests)

    def _tested_code(self, value: Any) -> int:
        return self._code(self._tested(value))

    def outcomes(self, value: Any) -> int:
        """The code of the outcomes of the checks for a present value (not None)."""
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
        hit = self._tested_code(value)
        if memo is not None and len(memo) < VALUE_CACHE_LIMIT:
            memo[value] = hit
        return hit

    def values(
        self, columns: Mapping[str, list[Any]], aggregates: list[Aggregates], as_of: datetime
    ) -> list[Any]:
        """The field's value for every account of a batch (None where missing).

        ``columns`` are an :class:`~icpsync.core.batch.AccountBatch`'s; ``aggregates`` one
        per account, read only by the deal-derived fields.
        """
        name = self.field
        if name in _PLAIN_FIELDS:
            return columns[name]
        if name == "tech_stack":
            return [stack or None for stack in columns["tech_stack"]]
        if name.startswith("signals."):
            key = name.removeprefix("signals.")
            return [_present(signals.get(key)) for signals in columns["signals"]]
        if name in _AGGREGATE_ATTRIBUTES:
            return list(map(attrgetter(name), aggregates))
        if name == "customer":
            return list(map(gt, map(_won_deals, aggregates), repeat(0)))
        if name == "days_since_last_win":
            wins = list(map(_last_win, aggregates))
            today = as_of.date()
            days = {win: None if win is None else (today - win).days for win in set(wins)}
            return list(map(days.__getitem__, wins))
        get = getter_for(name)
        account = _NO_ACCOUNT  # deal-derived fields read the aggregates only
        return [get(account, each, as_of) for each in aggregates]

    def _from_memory(self, memo: dict[Any, int], values: list[Any]) -> list[int] | None:
        """Every value's code looked up in ``memo`` by ``map`` in C, the values it lacks then
        worked out and remembered (a column's values are mostly known); None, with nothing
        worked out, when more than :data:`FEW_NEW` are new, or one is unhashable or of a
        class ``memo`` does not hold."""
        out: list[int] = []
        rest = iter(values)
        new: list[int] = []  # where the values ``memo`` lacks stand
        for _ in range(FEW_NEW + 1):
            try:
                out.extend(map(memo.__getitem__, rest))  # the list keeps what came before a miss
                break
            except KeyError:
                value = values[len(out)]
            except TypeError:  # unhashable
                return None
            if self.memos.get(value.__class__) is not memo:
                return None
            new.append(len(out))
            out.append(self.missing)  # worked out below
        else:
            return None
        placed = self._placed([values[position] for position in new])
        for position in new:
            value = values[position]
            code = memo.get(value)  # met earlier in this column
            if code is None:
                code = self.outcomes(value) if placed is None else placed[value]
                if len(memo) < VALUE_CACHE_LIMIT:  # text in no list too
                    memo[value] = code
            out[position] = code
        return out

    def _placed(self, numbers: list[Any]) -> dict[Any, int] | None:
        """Number -> code for ``numbers`` of one class, placed among a range field's bounds
        all at once; None for another field, or numbers that cannot be placed so."""
        if self.ranges is None:
            return None
        classes = set(map(type, numbers))
        return self.ranges.lookup(list(set(numbers)), classes.pop()) if len(classes) == 1 else None

    @property
    def reads_aggregates(self) -> bool:
        """True for a deal-derived field (it needs each account's aggregates)."""
        return self.field in _AGGREGATE_GETTERS

    def column(self, values: list[Any]) -> list[int]:
        """The code of the outcomes of this field's checks for each value of a column.

        Each distinct value is tested once (or found in memory) and every account gets its
        outcome by a dictionary lookup done in C. A column whose values mix classes (``1``
        and ``True``: equal as keys, not as reasons) or cannot be hashed is tested value by
        value, so no two values that print differently share an outcome; except against
        ranges alone, whose outcome depends only on the range a number falls in (``1``,
        ``1.0`` and ``True`` share one).
        """
        if self._usual is not None:
            # every value in the memory that answered a column before (each memory holds
            # None): the usual case, one lookup a value. A memory of text or of stacks holds
            # no key that a value of another class equals; the numbers' memory of a range
            # field holds every class of number (equal numbers fall in the same ranges)
            answered = self._from_memory(self._usual, values)
            if answered is not None:
                return answered
        if self.ranges is not None:
            kinds = set(map(type, values))
            gaps = type(None) in kinds
            kinds.discard(type(None))
            cls = kinds.pop() if len(kinds) == 1 else None
            room = cls in _NUMBER_CLASSES and len(self.memos[cls]) < VALUE_CACHE_LIMIT
            if cls is float or (cls is int and not room):
                # numbers that seldom repeat (revenues), or more than are remembered: each
                # placed among the bounds, without a set or dictionary of their values (and
                # remembered while there is room: the next columns are looked up)
                column = self.ranges.column(values, cls, gaps, self.missing)
                if column is not None:
                    if room:
                        self.memos[cls].update(zip(values, column, strict=True))
                    return column
        if self.keys is not None:
            # text alone, none of it in a list (unique domains), has a fixed outcome: a
            # value's key (stripped, lowered) is part of the values joined and lowered
            try:
                text = "\n".join(values)
            except TypeError:  # not text alone
                pass
            else:
                if set(map(type, values)) == {str} and not any(
                    map(text.lower().__contains__, self.keys)
                ):
                    return [self.unmatched] * len(values)
        try:
            distinct: set[Any] = set(values)
        except TypeError:  # unhashable values: classes of their own, tested one at a time
            distinct = set()
        some_missing = None in distinct
        distinct.discard(None)
        # the distinct values' classes are the column's when they are text (no value of
        # another class equals a text) or numbers tested against ranges only (equal numbers,
        # 1 and 1.0 or True, fall in the same ranges); else every value is looked at
        classes = set(map(type, distinct))
        if classes != {str} and (self.ranges is None or not classes <= _NUMBER_CLASSES):
            classes = set(map(type, values))
            classes.discard(type(None))
        cls = classes.pop() if len(classes) == 1 else None
        memo = self.memos.get(cls) if cls is not None else None
        if self.ranges is not None and (cls is int or cls is float):
            assert memo is not None  # a range field remembers ints and floats
            # remembered (headcounts repeat across batches) until the memo holds its limit,
            # passed by at most one batch's numbers; then every distinct number is placed
            room = len(memo) < VALUE_CACHE_LIMIT
            placed = self.ranges.lookup(list(distinct.difference(memo) if room else distinct), cls)
            if placed is not None:
                if room:
                    memo.update(placed)
                    return list(map(memo.get, values, repeat(self.missing)))
                placed[None] = self.missing
                return list(map(placed.__getitem__, values))
        if memo is None:  # mixed, unhashable or never-remembered values: one at a time
            missing, outcomes = self.missing, self.outcomes
            return [missing if v is None else outcomes(v) for v in values]
        if self.keys is not None and cls is str:
            # text in no list has a fixed outcome; the few that are in one are remembered.
            # A value's key (stripped, lowered) is part of the distinct values joined and
            # lowered: when no list's key is, no value needs its own key.
            lookup = {}
            if any(map("\n".join(distinct).lower().__contains__, self.keys)):
                listed = list(distinct)
                keys = map(str.lower, map(str.strip, listed))
                lookup = {
                    v: self.outcomes(v) for v in compress(listed, map(self.keys.__contains__, keys))
                }
            if not lookup and not some_missing:  # every value in no list (unique domains)
                return [self.unmatched] * len(values)
            if 2 * len(distinct) <= len(values) and len(memo) + len(distinct) <= VALUE_CACHE_LIMIT:
                # values that repeat (industries): those in no list remembered too
                memo.update(dict.fromkeys(distinct.difference(lookup), self.unmatched))
                self._usual = memo
            lookup[None] = self.missing
            return list(map(lookup.get, values, repeat(self.unmatched)))
        else:
            for value in distinct.difference(memo):
                self.outcomes(value)  # remembered while the memo has room
            if len(distinct) <= len(memo) and distinct <= memo.keys():
                if cls in _USUAL_CLASSES:
                    self._usual = memo
                return list(map(memo.__getitem__, values))
            lookup = {value: self.outcomes(value) for value in distinct}
        lookup[None] = self.missing
        return list(map(lookup.__getitem__, values))

"""Turn raw, canonical-keyed records into clean model objects.

Connectors rename CRM fields to canonical keys (through their field map) and hand the raw
values here. A value that cannot be read (``"N/A"`` revenue, negative headcount, an
industry outside the vocabulary, 20 million employees) becomes ``None`` and is counted in
``stats.bad_values`` under its canonical name; it never raises. Given ``on_reject``, every
value made missing and every record skipped is also reported as a :class:`Reject` with its
row (when the caller gives one), id, column, value and reason.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from types import MappingProxyType
from typing import Any, TypeVar

from icpsync.core.frozen import fast_constructor
from icpsync.core.model import (
    TIERS,
    Account,
    ConnectorStats,
    CurrentIcp,
    Opportunity,
)
from icpsync.core.seen_ids import SeenIds

MAX_TEXT = 1000
#: Distinct raw texts remembered per field (values repeat: industries, headcounts, stacks).
MEMO_LIMIT = 20_000
_MISSING_TOKENS = frozenset({"", "n/a", "na", "null", "none", "-", "--", "?", "nan", "unknown"})
_LONGEST_TOKEN = max(len(t) for t in _MISSING_TOKENS)
_TRUE = frozenset({"true", "1", "yes", "y", "t"})
_FALSE = frozenset({"false", "0", "no", "n", "f"})
#: Above these a value is taken for a typing or unit error, not a fact.
MAX_EMPLOYEES = 10_000_000
MAX_REVENUE = 1e13
#: A rejected value is shown shortened to this many characters.
REJECT_VALUE_CHARS = 60

CURRENT_KEYS = {
    "icp_score": "score",
    "icp_tier": "tier",
    "icp_anti_flags": "flags",
    "icp_reasons": "reasons",
    "icp_profile_version": "profile_version",
    "icp_scored_at": "scored_at",
    "icp_tier_override": "override",
}
#: field map ICP key -> the raw key the normaliser reads the current value from.
ICP_RAW_KEYS = {key: raw for raw, key in CURRENT_KEYS.items()}


T = TypeVar("T")


_NO_CURRENT = CurrentIcp()
_NO_SIGNALS: Mapping[str, object] = MappingProxyType({})
_new_account = fast_constructor(Account)


class _BadValue:
    """Marks a remembered raw text that was bad (counted again at every occurrence)."""

    __slots__ = ("reason",)

    def __init__(self, reason: str = "unreadable"):
        self.reason = reason


_BAD = _BadValue()


class _Bad(Exception):
    """Internal: the raw value is present but unusable, and why."""

    def __init__(self, raw: object, reason: str = "unreadable"):
        super().__init__(raw)
        self.reason = reason

    def marker(self) -> _BadValue:
        return _BadValue(self.reason)


@dataclass(frozen=True, slots=True)
class Reject:
    """A record skipped, or one of its values made missing, and why.

    ``row`` is the caller's address for the record (a file's row number), None when it has
    none; ``column`` and ``value`` are None for a whole record.
    """

    row: int | None
    id: str | None
    column: str | None
    value: str | None
    reason: str


def shortened(raw: object) -> str | None:
    """The value as text, cut to :data:`REJECT_VALUE_CHARS` characters."""
    if raw is None:
        return None
    text = raw if isinstance(raw, str) else repr(raw)
    if len(text) > REJECT_VALUE_CHARS:
        return f"{text[: REJECT_VALUE_CHARS - 3]}... ({len(text)} characters)"
    return text


@dataclass(frozen=True)
class Vocabulary:
    """CRM value -> canonical value for one field, matched case-insensitively.

    Args:
        values: raw value -> canonical value.
        keep_unknown: keep a value outside ``values`` as it is (else it is bad).
    """

    values: Mapping[str, str] = field(default_factory=dict)
    keep_unknown: bool = True

    def __post_init__(self) -> None:
        lowered = {k.strip().lower(): v for k, v in self.values.items()}
        object.__setattr__(self, "values", MappingProxyType(lowered))

    def lookup(self, raw: str) -> str:
        hit = self.values.get(raw.lower())
        if hit is not None:
            return hit
        if self.keep_unknown:
            return raw
        raise _Bad(raw, "not one of the field map's values")


def _text(raw: object) -> str | None:
    if raw is None or raw == "":
        return None
    if raw.__class__ is str:
        text = raw.strip()
        if len(text) <= _LONGEST_TOKEN and text.lower() in _MISSING_TOKENS:
            return None
        return text if len(text) <= MAX_TEXT else text[:MAX_TEXT]
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", errors="replace")
    if isinstance(raw, float) and math.isnan(raw):
        return None
    text = str(raw).strip()
    if text.lower() in _MISSING_TOKENS:
        return None
    return text[:MAX_TEXT]


def parse_int(raw: object) -> int | None:
    """A non-negative integer, or None when missing; raises ``_Bad`` when unusable."""
    number = parse_float(raw)
    if number is None:
        return None
    return round(number)


def parse_float(raw: object) -> float | None:
    """A finite non-negative number (``"1,200"``, ``"$3.5M"`` are not guessed at)."""
    if isinstance(raw, bool):
        raise _Bad(raw, "not a number")
    if isinstance(raw, int | float):
        value = float(raw)
    else:
        text = _text(raw)
        if text is None:
            return None
        try:
            value = float(text.replace(",", "").replace("_", "x"))
        except ValueError:
            raise _Bad(raw, "not a number") from None
    if math.isnan(value):
        return None
    if math.isinf(value):
        raise _Bad(raw, "not a finite number")
    if value < 0:
        raise _Bad(raw, "negative")
    return value


def parse_employees(raw: object) -> int | None:
    """A headcount: :func:`parse_int` up to :data:`MAX_EMPLOYEES`."""
    number = parse_int(raw)
    if number is not None and number > MAX_EMPLOYEES:
        raise _Bad(raw, f"implausible: above {MAX_EMPLOYEES:,}")
    return number


def parse_revenue(raw: object) -> float | None:
    """A yearly revenue: :func:`parse_float` up to :data:`MAX_REVENUE`."""
    number = parse_float(raw)
    if number is not None and number > MAX_REVENUE:
        raise _Bad(raw, "implausible: above 10^13")
    return number


def parse_bool(raw: object) -> bool | None:
    """``true/false/1/0/yes/no`` in any case."""
    if isinstance(raw, bool):
        return raw
    text = _text(raw)
    if text is None:
        return None
    low = text.lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise _Bad(raw, "not true or false")


def parse_datetime(raw: object) -> datetime | None:
    """An ISO 8601 date or datetime (``Z`` and ``+0000`` accepted), as aware UTC."""
    if isinstance(raw, datetime):
        value = raw
    elif isinstance(raw, date):
        value = datetime(raw.year, raw.month, raw.day)
    else:
        text = _text(raw)
        if text is None:
            return None
        text = text.replace("Z", "+00:00")
        if len(text) > 5 and text[-5] in "+-" and text[-3] != ":" and "T" in text:
            text = f"{text[:-2]}:{text[-2:]}"
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            try:  # epoch milliseconds (HubSpot date properties)
                value = datetime.fromtimestamp(int(text) / 1000, tz=UTC)
            except (ValueError, OverflowError, OSError):
                raise _Bad(raw, "not a date") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def parse_date(raw: object) -> date | None:
    """A calendar date from an ISO date or datetime."""
    value = parse_datetime(raw)
    return None if value is None else value.date()


def parse_set(raw: object) -> frozenset[str]:
    """A ``;``-separated (or list) set of trimmed, non-empty strings."""
    if raw is None:
        return frozenset()
    items: Iterable[object] = (
        raw
        if isinstance(raw, list | tuple | set | frozenset)
        else (str(_text(raw) or "").split(";"))
    )
    return frozenset(t for t in (_text(i) for i in items) if t)


class Normaliser:
    """Cleans raw records for one connector and counts what it had to drop.

    Args:
        stats: where bad values and skipped records are counted.
        vocabularies: per canonical field, how CRM values map to canonical ones.
        on_reject: told of every value made missing and every record skipped.
    """

    def __init__(
        self,
        stats: ConnectorStats,
        vocabularies: Mapping[str, Vocabulary] | None = None,
        on_reject: Callable[[Reject], None] | None = None,
    ):
        self.stats = stats
        self.vocabularies = dict(vocabularies or {})
        self.on_reject = on_reject
        #: (row, id) of the record being cleaned, for rejects.
        self.at: tuple[int | None, str | None] = (None, None)
        self._seen_accounts = SeenIds()
        self._seen_opportunities = SeenIds()
        # Per field and parser: raw text -> clean value (or _BAD). Parsing is a pure
        # function of the text, so a remembered answer is the answer; bad ones are still
        # counted at every occurrence.
        self._memos: dict[tuple[str, Callable[..., object]], dict[Any, Any]] = {}
        self._vocab_parsers: dict[str, Callable[[object], str | None]] = {}

    def _memo(self, name: str, parse: Callable[..., object]) -> dict[Any, Any]:
        memo = self._memos.get((name, parse))
        if memo is None:
            memo = self._memos[name, parse] = {}
        return memo

    def reject(self, column: str | None, raw: object, reason: str) -> None:
        """Tell ``on_reject`` (when set) about the record being cleaned."""
        if self.on_reject is not None:
            row, record_id = self.at
            self.on_reject(Reject(row, record_id, column, shortened(raw), reason))

    def _bad(self, name: str, raw: object, reason: str) -> None:
        self.stats.bad_values[name] += 1
        if self.on_reject is not None:
            self.reject(name, raw, reason)

    def _clean(self, name: str, raw: object, parse: Callable[[object], T | None]) -> T | None:
        if raw is None:
            return None  # every parser reads None as missing
        if raw.__class__ is str:
            memo = self._memo(name, parse)
            value = memo.get(raw)
            if value is None:
                try:
                    value = parse(raw)
                except _Bad as exc:
                    value = exc.marker()
                if len(memo) < MEMO_LIMIT:
                    memo[raw] = value
            if value.__class__ is _BadValue:
                self._bad(name, raw, value.reason)
                return None
            return value  # type: ignore[return-value]
        try:
            return parse(raw)
        except _Bad as exc:
            self._bad(name, raw, exc.reason)
            return None

    def _vocab_text(self, name: str, raw: object) -> str | None:
        if raw.__class__ is str:
            return self._clean(name, raw, self._vocab_parser(name))
        try:
            return self._vocab_parser(name)(raw)
        except _Bad as exc:
            self._bad(name, raw, exc.reason)
            return None

    def _vocab_parser(self, name: str) -> Callable[[object], str | None]:
        """Text through the field's vocabulary; raises _Bad for a value outside it."""
        vocab = self.vocabularies.get(name)
        if vocab is None:
            return _text
        parser = self._vocab_parsers.get(name)
        if parser is None:
            lookup = vocab.lookup

            def parser(raw: object) -> str | None:
                text = _text(raw)
                return None if text is None else lookup(text)

            self._vocab_parsers[name] = parser
        return parser

    def _tech_stack(self, raw: object) -> frozenset[str]:
        """The stack as a set of vocabulary values; bad items are counted and dropped."""
        if raw.__class__ is str:
            memo = self._memo("tech_stack", parse_set)
            hit: tuple[frozenset[str], int] | None = memo.get(raw)
            if hit is None:
                hit = self.parse_stack(raw)
                if len(memo) < MEMO_LIMIT:
                    memo[raw] = hit
        else:
            hit = self.parse_stack(raw)
        stack, bad = hit
        if bad:
            self.stats.bad_values["tech_stack"] += bad
            if self.on_reject is not None:
                self.reject_stack_items(raw)
        return stack

    def reject_stack_items(self, raw: object) -> None:
        """Report each item of a stack outside the vocabulary (already counted)."""
        parse = self._vocab_parser("tech_stack")
        for item in sorted(parse_set(raw)):
            try:
                parse(item)
            except _Bad as exc:
                self.reject("tech_stack", item, exc.reason)

    def parse_stack(self, raw: object) -> tuple[frozenset[str], int]:
        """The stack of a raw value and how many of its items are bad (nothing counted)."""
        parse = self._vocab_parser("tech_stack")
        values: list[str | None] = []
        bad = 0
        for item in parse_set(raw):
            try:
                values.append(parse(item))
            except _Bad:
                bad += 1
        return frozenset(v for v in values if v), bad

    def _current(self, raw: Mapping[str, object]) -> CurrentIcp:
        get = raw.get
        for key in CURRENT_KEYS:
            if get(key) not in (None, ""):
                break
        else:
            return _NO_CURRENT
        override = _text(raw.get("icp_tier_override"))
        if override is not None and override not in TIERS:
            self._bad("icp_tier_override", override, "not a tier")
            override = None
        return CurrentIcp(
            score=self._clean("icp_score", raw.get("icp_score"), parse_int),
            tier=_text(raw.get("icp_tier")),
            flags=tuple(sorted(parse_set(raw.get("icp_anti_flags")))),
            reasons=_text(raw.get("icp_reasons")),
            profile_version=_text(raw.get("icp_profile_version")),
            scored_at=self._clean("icp_scored_at", raw.get("icp_scored_at"), parse_datetime),
            override=override,
        )

    def account(
        self, raw: Mapping[str, object], *, dedupe: bool = True, row: int | None = None
    ) -> Account | None:
        """One clean Account, or None (counted) when it has no id or repeats one.

        ``row`` is the record's address in rejects."""
        account_id = _text(raw.get("id"))
        if self.on_reject is not None:
            self.at = (row, account_id)
        if account_id is None:
            self.stats.skipped["account_without_id"] += 1
            self.reject(None, None, "account_without_id")
            return None
        if dedupe and not self._seen_accounts.add_new(account_id):
            self.stats.skipped["duplicate_account_id"] += 1
            self.reject(None, None, "duplicate_account_id")
            return None
        get = raw.get
        signals = get("signals")
        return _new_account(  # every field, in Account's order
            account_id,
            _text(get("name")),
            _clean_domain(_text(get("domain"))),
            self._vocab_text("industry", get("industry")),
            self._clean("employees", get("employees"), parse_employees),
            self._clean("annual_revenue", get("annual_revenue"), parse_revenue),
            self._vocab_text("country", get("country")),
            self._vocab_text("region", get("region")),
            self._tech_stack(get("tech_stack")),
            MappingProxyType(dict(signals))
            if isinstance(signals, Mapping) and signals
            else _NO_SIGNALS,
            self._clean("last_modified", get("last_modified"), parse_datetime),
            self._current(raw),
        )

    def opportunity(
        self, raw: Mapping[str, object], *, row: int | None = None
    ) -> Opportunity | None:
        """One clean Opportunity, or None (counted) when it has no id or repeats one."""
        opp_id = _text(raw.get("id"))
        if self.on_reject is not None:
            self.at = (row, opp_id)
        if opp_id is None:
            self.stats.skipped["opportunity_without_id"] += 1
            self.reject(None, None, "opportunity_without_id")
            return None
        if not self._seen_opportunities.add_new(opp_id):
            self.stats.skipped["duplicate_opportunity_id"] += 1
            self.reject(None, None, "duplicate_opportunity_id")
            return None
        is_won = self._clean("is_won", raw.get("is_won"), parse_bool)
        is_closed = self._clean("is_closed", raw.get("is_closed"), parse_bool)
        return Opportunity(
            id=opp_id,
            account_id=_text(raw.get("account_id")),
            stage=self._vocab_text("stage", raw.get("stage")),
            is_closed=bool(is_closed) or bool(is_won),
            is_won=bool(is_won),
            amount=self._clean("amount", raw.get("amount"), parse_float),
            created=self._clean("created", raw.get("created"), parse_date),
            closed=self._clean("closed", raw.get("closed"), parse_date),
            last_modified=self._clean("last_modified", raw.get("last_modified"), parse_datetime),
        )

    def accounts(self, raws: Iterable[Mapping[str, object]]) -> Iterator[Account]:
        """Clean a stream of raw accounts, dropping (and counting) unusable ones."""
        for raw in raws:
            account = self.account(raw)
            if account is not None:
                yield account

    def opportunities(self, raws: Iterable[Mapping[str, object]]) -> Iterator[Opportunity]:
        """Clean a stream of raw opportunities, dropping (and counting) unusable ones."""
        for raw in raws:
            opp = self.opportunity(raw)
            if opp is not None:
                yield opp


def _clean_domain(text: str | None) -> str | None:
    if text is None:
        return None
    low = text.lower()
    for prefix in ("https://", "http://"):
        if low.startswith(prefix):
            low = low[len(prefix) :]
    low = low.split("/", 1)[0]
    if low.startswith("www."):
        low = low[4:]
    return low or None

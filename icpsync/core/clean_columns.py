"""Clean one column of raw values: the cleaning rules of the normaliser.

Each function takes one column (one raw value per record) and gives one clean value per
record, counting in ``normaliser.stats.bad_values`` every value it had to make missing and,
when the normaliser has an ``on_reject``, reporting each at its record's address. A column
of text (``str`` or ``None``, as CSV readers and HubSpot give them) is cleaned once per
distinct value, remembered across batches up to :data:`MEMO_LIMIT` values per field, and
the per-record work left is done by ``map`` in C; any other column (JSON numbers, booleans,
lists) is cleaned value by value with the same parsers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import compress, repeat
from operator import contains, itemgetter, methodcaller, or_
from typing import Any

from icpsync.core.model import TIERS, ConnectorStats
from icpsync.core.parsers import (
    MAX_TEXT,
    MISSING_TOKENS,
    Refused,
    Unusable,
    Vocabulary,
    clean_domain,
    clean_text,
    parse_flags,
    parse_set,
)
from icpsync.core.seen_ids import SeenIds

#: A rejected value is shown shortened to this many characters.
REJECT_VALUE_CHARS = 60
#: Below this many records a column is cleaned value by value (less overhead).
SMALL = 8
#: Distinct raw texts remembered per field (values repeat: industries, headcounts, stacks).
MEMO_LIMIT = 20_000

Column = Sequence[Any]
#: (row, id) of each record of a batch, for rejects; None when no one listens.
Addresses = Sequence[tuple[int | None, str | None]] | None
_TEXT_CLASSES = frozenset({str, type(None)})
_NOTHING = frozenset({None, ""})
_TIERS_OR_NONE: frozenset[str | None] = frozenset({*TIERS, None})
_URL_START = methodcaller("startswith", ("http://", "https://", "www."))
_first = itemgetter(0)
_NONE_AS_EMPTY: dict[Any, str] = {None: ""}
_EMPTY_AS_NONE: dict[Any, None] = {"": None}
_second = itemgetter(1)


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


class NormaliserState:
    """What a run's cleaning remembers (the ids seen, per field the clean value of each
    distinct raw text) and where it counts and reports (see ``Normaliser``)."""

    def __init__(
        self,
        stats: ConnectorStats,
        vocabularies: Mapping[str, Vocabulary] | None = None,
        on_reject: Callable[[Reject], None] | None = None,
    ):
        self.stats = stats
        self.vocabularies = dict(vocabularies or {})
        self.on_reject = on_reject
        self.seen_accounts = SeenIds()
        self.seen_opportunities = SeenIds()
        self._memos: dict[tuple[str, Callable[..., object]], dict[Any, Any]] = {}
        self._vocab_parsers: dict[str, Callable[[object], str | None]] = {}

    def memo(self, name: str, parse: Callable[..., object]) -> dict[Any, Any]:
        """Raw text -> clean value (or refusal) of ``parse`` for field ``name``."""
        memo = self._memos.get((name, parse))
        if memo is None:
            memo = self._memos[name, parse] = {}
        return memo

    def vocab_parser(self, name: str) -> Callable[[object], str | None]:
        """Text through the field's vocabulary; raises ``Unusable`` outside it."""
        vocab = self.vocabularies.get(name)
        if vocab is None:
            return clean_text
        parser = self._vocab_parsers.get(name)
        if parser is None:
            lookup = vocab.lookup

            def parser(raw: object) -> str | None:
                text = clean_text(raw)
                return None if text is None else lookup(text)

            self._vocab_parsers[name] = parser
        return parser

    def reject(
        self,
        address: tuple[int | None, str | None],
        column: str | None,
        raw: object,
        reason: str,
    ) -> None:
        """Tell ``on_reject`` (when set) about the record at ``address`` (row, id)."""
        if self.on_reject is not None:
            row, record_id = address
            self.on_reject(Reject(row, record_id, column, shortened(raw), reason))


def is_text(values: Column) -> bool:
    """True when every value is a ``str`` or None."""
    return set(map(type, values)) <= _TEXT_CLASSES


def all_missing(values: Iterable[Any]) -> bool:
    """True when every value is None or ``""``."""
    try:
        return set(values) <= _NOTHING
    except TypeError:  # unhashable values (JSON lists) are present
        return False


def remembered(memo: dict[Any, Any], values: Column, compute: Callable[[Any], Any]) -> list[Any]:
    """``compute`` of every text value, each distinct one computed once (and remembered
    while ``memo`` holds fewer than :data:`MEMO_LIMIT`)."""
    try:
        return list(map(memo.__getitem__, values))
    except KeyError:
        pass
    distinct = set(values)
    new = distinct.difference(memo)
    if len(memo) + len(new) <= MEMO_LIMIT:
        for value in new:
            memo[value] = compute(value)
        return list(map(memo.__getitem__, values))
    lookup = {value: memo[value] if value in memo else compute(value) for value in distinct}
    return list(map(lookup.__getitem__, values))


def _attempt(parse: Callable[[object], object], raw: object) -> object:
    """``parse(raw)``, or the :class:`Refused` marker saying why not."""
    try:
        return parse(raw)
    except Unusable as exc:
        return exc.marker()


def clean_column(
    normaliser: NormaliserState,
    name: str,
    parse: Callable[[object], object],
    values: Column,
    addresses: Addresses = None,
) -> list[Any]:
    """``parse`` of every value; a value it refuses becomes None and is counted."""
    memo = normaliser.memo(name, parse)
    try:  # every value remembered (the memo holds text only): the usual case
        cleaned = list(map(memo.__getitem__, values))
    except (KeyError, TypeError):
        if is_text(values):
            cleaned = remembered(memo, values, lambda raw: _attempt(parse, raw))
        else:
            cleaned = [_attempt(parse, raw) for raw in values]
    if Refused in set(map(type, cleaned)):
        refused = [i for i, value in enumerate(cleaned) if value.__class__ is Refused]
        normaliser.stats.bad_values[name] += len(refused)
        for i in refused:
            if addresses is not None:
                normaliser.reject(addresses[i], name, values[i], cleaned[i].reason)
            cleaned[i] = None
    return cleaned


def vocabulary_column(
    normaliser: NormaliserState, name: str, values: Column, addresses: Addresses = None
) -> list[str | None]:
    """Text through the field map's vocabulary for ``name`` (when it has one)."""
    return clean_column(normaliser, name, normaliser.vocab_parser(name), values, addresses)


def text_column(values: Column) -> list[str | None]:
    """:func:`clean_text` of every value, the per-value work done by ``map`` in C."""
    if len(values) < SMALL or not is_text(values):
        return list(map(clean_text, values))
    if None in values:  # None and "" are both missing
        values = list(map(_NONE_AS_EMPTY.get, values, values))
    stripped: list[str] = list(map(str.strip, values))
    if max(map(len, stripped), default=0) > MAX_TEXT:
        return list(map(clean_text, values))
    missing = list(map(MISSING_TOKENS.__contains__, map(str.lower, stripped)))
    if not any(missing):
        return stripped  # type: ignore[return-value]
    if all(missing):
        return [None] * len(stripped)
    return [None if gone else text for text, gone in zip(stripped, missing, strict=True)]


def domain_column(values: Column) -> list[str | None]:
    """:func:`clean_domain` of every value's text; plain host names (the usual case) in C,
    the URLs (a scheme, a path or ``www.``) one by one."""
    texts = text_column(values)
    gaps = None in texts
    present: Iterable[Any] = map(_NONE_AS_EMPTY.get, texts, texts) if gaps else texts
    lows: list[Any] = list(map(str.lower, present))
    if "/" in "\0".join(lows) or any(map(_URL_START, lows)):
        urls = map(or_, map(contains, lows, repeat("/")), map(_URL_START, lows))
        for i in compress(range(len(lows)), urls):
            lows[i] = clean_domain(texts[i])
    if gaps:
        return list(map(_EMPTY_AS_NONE.get, lows, lows))
    return lows


def stack_of(normaliser: NormaliserState, raw: object) -> tuple[frozenset[str], int]:
    """The tech stack of a raw value and how many of its items are bad (nothing counted)."""
    parse = normaliser.vocab_parser("tech_stack")
    values: list[str | None] = []
    bad = 0
    for item in parse_set(raw):
        try:
            values.append(parse(item))
        except Unusable:
            bad += 1
    return frozenset(v for v in values if v), bad


def stack_column(
    normaliser: NormaliserState, values: Column, addresses: Addresses = None
) -> list[frozenset[str]]:
    """The stack of every value (a set of vocabulary values); bad items are counted and
    dropped, and each reported (in sorted order) at its record's address."""
    memo = normaliser.memo("tech_stack", parse_set)
    try:
        pairs = list(map(memo.__getitem__, values))
    except (KeyError, TypeError):
        if is_text(values):
            pairs = remembered(memo, values, lambda raw: stack_of(normaliser, raw))
        else:
            pairs = [stack_of(normaliser, raw) for raw in values]
    if any(map(_second, pairs)):
        parse = normaliser.vocab_parser("tech_stack")
        for i, (_, bad) in enumerate(pairs):
            if not bad:
                continue
            normaliser.stats.bad_values["tech_stack"] += bad
            if addresses is not None:
                for item in sorted(parse_set(values[i])):
                    refused = _attempt(parse, item)
                    if refused.__class__ is Refused:
                        normaliser.reject(addresses[i], "tech_stack", item, refused.reason)
    return list(map(_first, pairs))


def flags_column(normaliser: NormaliserState, values: Column) -> list[tuple[str, ...]]:
    """Every value as a sorted tuple of flags (nothing is ever bad)."""
    memo = normaliser.memo("icp_anti_flags", parse_flags)
    try:
        return list(map(memo.__getitem__, values))
    except (KeyError, TypeError):
        if is_text(values):
            return remembered(memo, values, parse_flags)
        return list(map(parse_flags, values))


def tier_column(
    normaliser: NormaliserState, name: str, values: Column, addresses: Addresses = None
) -> list[str | None]:
    """Every value's text when it is a tier; any other text is bad (counted, reported)."""
    texts = text_column(values)
    if set(texts) <= _TIERS_OR_NONE:
        return texts
    for i, text in enumerate(texts):
        if text is not None and text not in TIERS:
            normaliser.stats.bad_values[name] += 1
            if addresses is not None:
                normaliser.reject(addresses[i], name, text, "not a tier")
            texts[i] = None
    return texts

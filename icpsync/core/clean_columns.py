"""Clean one column of raw values: the cleaning rules of the normaliser.

Each function takes one column (one raw value per record) and gives one clean value per
record, counting in ``normaliser.stats.bad_values`` every value it had to make missing and,
when the normaliser has an ``on_reject``, reporting each at its record's address. A column
of text (``str`` or ``None``, as CSV readers and HubSpot give them) is cleaned once per
distinct value, remembered across batches up to :data:`MEMO_LIMIT` values per field, and
the per-record work left is done by ``map`` in C; any other column (JSON numbers, booleans,
lists) is cleaned value by value with the same parsers. A column of mostly new values all of
the common shape of timestamps or numbers is parsed at once
(:mod:`icpsync.core.shaped_columns`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from itertools import repeat
from operator import getitem, itemgetter, methodcaller
from typing import Any

from icpsync.core.model import TIERS, ConnectorStats
from icpsync.core.parsers import (
    LONGEST_TOKEN,
    MAX_TEXT,
    MISSING_TOKENS,
    Refused,
    Unusable,
    Vocabulary,
    clean_text,
    parse_flags,
    parse_set,
)
from icpsync.core.seen_ids import SeenIds
from icpsync.core.shaped_columns import SHORTCUTS

#: A rejected value is shown shortened to this many characters.
REJECT_VALUE_CHARS = 60
#: Below this many records a column is cleaned value by value (less overhead).
SMALL = 8
#: Distinct raw texts remembered per field (values repeat: industries, headcounts, stacks).
MEMO_LIMIT = 20_000
#: New texts a column's values are looked up around one at a time (more: as a set).
FEW_NEW = 64

Column = Sequence[Any]
_TEXT_CLASSES = frozenset({str, type(None)})
_TIERS_OR_NONE: frozenset[str | None] = frozenset({*TIERS, None})
_HTTPS, _HTTP, _WWW = repeat("https://"), repeat("http://"), repeat("www.")
_TO_SLASH = methodcaller("partition", "/")
_first = itemgetter(0)
_NONE_AS_EMPTY: dict[Any, str] = {None: ""}
#: The first character ("" for none) of every text that lowers to a missing token: the
#: tokens' first characters and their upper case (no other character lowers to one of
#: them; a test checks every code point).
_TOKEN_STARTS = frozenset({t[:1] for t in MISSING_TOKENS} | {t[:1].upper() for t in MISSING_TOKENS})
_FIRST_CHARACTER = repeat(slice(0, 1))
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


class RecordAddresses:
    """(row, id) of each record of a batch, for rejects, made only for a record that has
    one (a batch seldom does)."""

    __slots__ = ("ids", "rows")

    def __init__(self, rows: Sequence[int | None] | None, ids: Sequence[str | None]):
        self.rows = rows
        self.ids = ids

    def __getitem__(self, position: int) -> tuple[int | None, str | None]:
        return (None if self.rows is None else self.rows[position], self.ids[position])


#: Where each record of a batch is, for rejects; None when no one listens.
Addresses = RecordAddresses | None


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
        self._refused: dict[tuple[str, Callable[..., object]], set[Any]] = {}
        #: (field, parser) whose last column looked at as a set had mostly new values
        self._mostly_new: set[tuple[str, Callable[..., object]]] = set()
        self._vocab_parsers: dict[str, Callable[[object], str | None]] = {}

    def memo(self, name: str, parse: Callable[..., object]) -> dict[Any, Any]:
        """Raw text -> clean value (or refusal) of ``parse`` for field ``name``."""
        memo = self._memos.get((name, parse))
        if memo is None:
            memo = self._memos[name, parse] = {}
        return memo

    def refused(self, name: str, parse: Callable[..., object]) -> set[Any]:
        """Raw texts that ``parse`` refused for field ``name`` (every refusal its memo
        holds is among them)."""
        refused = self._refused.get((name, parse))
        if refused is None:
            refused = self._refused[name, parse] = set()
        return refused

    def mostly_new(self, name: str, parse: Callable[..., object]) -> bool:
        """Whether the last column of field ``name`` that ``parse`` cleaned through its memo
        had mostly new values (see :func:`remembered`)."""
        return (name, parse) in self._mostly_new

    def note_mostly_new(self, name: str, parse: Callable[..., object], new: bool) -> None:
        """Note whether a column of field ``name`` had mostly new values."""
        if new:
            self._mostly_new.add((name, parse))
        else:
            self._mostly_new.discard((name, parse))

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


def is_text(values: Iterable[Any]) -> bool:
    """True when every value is a ``str`` or None."""
    return set(map(type, values)) <= _TEXT_CLASSES


def all_missing(values: Column) -> bool:
    """True when every value is None or ``""`` (counted by ``count`` in C, which compares
    by identity first: no set of the values is built)."""
    empty = values.count("")
    return empty == len(values) or empty + values.count(None) == len(values)


def remembered(
    memo: dict[Any, Any],
    values: Column,
    compute: Callable[[Column], list[Any]],
    whole: Callable[[Column], list[Any] | None] | None = None,
    note: Callable[[bool], None] | None = None,
) -> list[Any] | None:
    """The answer for every value, some not in ``memo`` (the caller looked them up first),
    when every value is text or ``whole`` answers (None otherwise: the caller computes each
    where it stands).

    ``whole`` (values -> all their answers, or None when it cannot give them) is asked
    first when most values are new (a field whose values seldom repeat: timestamps,
    revenues) or some are not text (JSON booleans, numbers). Else each distinct value is
    answered once, by ``whole`` when it can, else
    by ``compute`` (values -> their answers, in order); those answers are remembered while
    ``memo`` holds fewer than :data:`MEMO_LIMIT`. Once it holds that many every value is
    answered where it stands. ``note`` is told whether most values were new, when the
    distinct values were counted."""
    if len(memo) < MEMO_LIMIT:
        filled = _filled(memo, values, compute)
        if filled is not None:
            return filled
    try:
        distinct = set(values)
    except TypeError:  # unhashable values (JSON lists)
        return None
    # more distinct values than the memo holds by half the column: most are new, whichever
    mostly_new = 2 * (len(distinct) - len(memo)) > len(values)
    if note is not None:
        note(mostly_new)
    new = None if mostly_new and whole is not None else distinct.difference(memo)
    if whole is not None and (new is None or 2 * len(new) > len(values)):
        answers = whole(values)
        if answers is not None:
            return answers
    if not is_text(distinct):  # the distinct values show every class the column has
        return None if whole is None else whole(values)
    if len(memo) >= MEMO_LIMIT:  # a field of as many distinct values: each one where it is
        return _answered(values, compute, whole)
    if new is None:
        new = distinct.difference(memo)
    listed = list(new)
    answers = _answered(listed, compute, whole)
    if len(memo) + len(listed) <= MEMO_LIMIT:
        memo.update(zip(listed, answers, strict=True))
        return list(map(memo.__getitem__, values))
    lookup = dict(zip(listed, answers, strict=True))
    lookup.update((value, memo[value]) for value in distinct - new)
    return list(map(lookup.__getitem__, values))


def _answered(
    values: Column,
    compute: Callable[[Column], list[Any]],
    whole: Callable[[Column], list[Any] | None] | None,
) -> list[Any]:
    """Every value's answer: by ``whole`` at once when it can give them, else ``compute``."""
    answers = None if whole is None else whole(values)
    return compute(values) if answers is None else answers


def _filled(
    memo: dict[Any, Any], values: Column, compute: Callable[[Column], list[Any]]
) -> list[Any] | None:
    """Every value's answer looked up in ``memo`` by ``map`` in C, a text it lacks computed
    and remembered where it first stands (a batch's values are mostly known); None when a
    value it lacks is not text, or more than :data:`FEW_NEW` are new, or ``memo`` is full."""
    out: list[Any] = []
    rest = iter(values)
    for _ in range(FEW_NEW + 1):
        try:
            out.extend(map(memo.__getitem__, rest))  # the list keeps what came before a miss
            return out
        except KeyError:
            raw = values[len(out)]
        except TypeError:  # unhashable
            return None
        if (raw is not None and raw.__class__ is not str) or len(memo) >= MEMO_LIMIT:
            return None
        answer = memo[raw] = compute([raw])[0]
        out.append(answer)
    return None


def _attempt(parse: Callable[[object], object], raw: object) -> object:
    """``parse(raw)``, or the :class:`Refused` marker saying why not."""
    try:
        return parse(raw)
    except Unusable as exc:
        return exc.marker()


def attempts(parse: Callable[[object], object], values: Iterable[Any]) -> list[Any]:
    """:func:`_attempt` of every value, in order: ``parse`` is called by ``map`` in C, and
    where it refuses a value the :class:`Refused` marker takes its place and the rest go on
    (the list keeps what ``extend`` appended before the refusal)."""
    rest = iter(values)
    out: list[Any] = []
    while True:
        try:
            out.extend(map(parse, rest))
        except Unusable as exc:
            out.append(exc.marker())
        else:
            return out


def clean_column(
    normaliser: NormaliserState,
    name: str,
    parse: Callable[[object], object],
    values: Column,
    addresses: Addresses = None,
) -> list[Any]:
    """``parse`` of every value; a value it refuses becomes None and is counted.

    A field whose last column had mostly new values (timestamps, revenues) is answered by
    its whole-column shortcut first, without the set of the values :func:`remembered`
    builds to count them (the shortcut answers only when it refuses no value)."""
    memo = normaliser.memo(name, parse)
    refusals = normaliser.refused(name, parse)
    whole = SHORTCUTS.get(parse)
    if whole is not None and normaliser.mostly_new(name, parse):
        answers = whole(values)
        if answers is not None:
            return answers
    try:  # every value remembered (the memo holds text only): the usual case
        cleaned = list(map(memo.__getitem__, values))
        # a refusal remembered is among ``refusals``: none of them, no refusal here
        if not refusals or refusals.isdisjoint(values):
            return cleaned
    except (KeyError, TypeError):
        note = partial(normaliser.note_mostly_new, name, parse)
        found = remembered(memo, values, partial(attempts, parse), whole, note)
        cleaned = attempts(parse, values) if found is None else found
        if Refused not in set(map(type, cleaned)):
            return cleaned
    refused = [i for i, value in enumerate(cleaned) if value.__class__ is Refused]
    normaliser.stats.bad_values[name] += len(refused)
    for i in refused:
        # only what the memo holds: the shortcut above looks up remembered values alone,
        # and a field of endless distinct refusals must not grow a set past MEMO_LIMIT
        if values[i].__class__ is str and values[i] in memo:
            refusals.add(values[i])
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
    """:func:`clean_text` of every value, the per-value work done by ``map`` in C.

    A column of text (``str`` or None) is stripped value by value, and lowered value by
    value only when some value is as short as a missing token and starts as one can
    (:data:`_TOKEN_STARTS`).
    """
    if len(values) < SMALL:
        return list(map(clean_text, values))
    try:
        stripped: list[str] = list(map(str.strip, values))
    except TypeError:  # a None (missing, as "" is), or not text
        try:
            texts: list[str] = list(map(_NONE_AS_EMPTY.get, values, values))
            stripped = list(map(str.strip, texts))
        except TypeError:  # not text (JSON numbers, booleans, lists)
            return list(map(clean_text, values))
    if not any(stripped):  # every value empty
        return [None] * len(stripped)
    lengths = list(map(len, stripped))
    if max(lengths) > MAX_TEXT:
        return list(map(clean_text, values))
    if min(lengths) > LONGEST_TOKEN or _TOKEN_STARTS.isdisjoint(
        map(getitem, stripped, _FIRST_CHARACTER)
    ):
        return stripped  # type: ignore[return-value]
    missing = list(map(MISSING_TOKENS.__contains__, map(str.lower, stripped)))
    if not any(missing):
        return stripped  # type: ignore[return-value]
    if all(missing):
        return [None] * len(stripped)
    return [None if gone else text for text, gone in zip(stripped, missing, strict=True)]


def adjacent(values: Column) -> Column:
    """The same texts made anew, one after another in memory: ``values`` itself unless there
    are :data:`SMALL` or more, every one a ``str`` holding no line feed.

    A page's cells are made row by row, so one column's strings lie far apart, among the
    other columns'; a column read again and again (the records' ids: the duplicate-id
    guard, the aggregates' lookups, the sort of a written chunk, the state store's rows, the
    ingest CSV) is read two to three times faster from strings that lie one after another,
    and one join and one split make them so."""
    if len(values) < SMALL:
        return values
    try:
        joined = "\n".join(values)
    except TypeError:  # not all text
        return values
    made = joined.split("\n")
    return made if len(made) == len(values) else values


def domain_column(values: Column) -> list[str | None]:
    """The host name in every value's text: lower case, a leading ``https://`` then a
    leading ``http://`` removed, everything from the first ``/`` on dropped, then a leading
    ``www.``; nothing left is missing. Each step is one ``map`` in C, skipped when the
    column's text joined and lowered shows it changes no value."""
    texts = text_column(values)
    # the texts are None or not empty: truth says which (no comparison a value)
    present: list[Any] = texts if all(texts) else list(map(_NONE_AS_EMPTY.get, texts, texts))
    joined = "\n".join(present)
    low = joined.lower()
    steps: Iterable[str] = present if low == joined else map(str.lower, present)
    if "/" in low:  # in a scheme and in a path
        bare = map(str.removeprefix, map(str.removeprefix, steps, _HTTPS), _HTTP)
        steps = map(_first, map(_TO_SLASH, bare))
    if "www." in low:
        steps = map(str.removeprefix, steps, _WWW)
    hosts = steps if steps is present else list(steps)
    if not all(hosts):  # an empty host
        return list(map(_EMPTY_AS_NONE.get, hosts, hosts))
    return hosts


def stack_of(normaliser: NormaliserState, raw: object) -> tuple[frozenset[str], int]:
    """The tech stack of a raw value and how many of its items are bad (nothing counted)."""
    if "tech_stack" not in normaliser.vocabularies:  # the set's items are clean text already
        return parse_set(raw), 0
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
        stack = partial(stack_of, normaliser)
        found = remembered(memo, values, lambda raws: list(map(stack, raws)))
        pairs = list(map(stack, values)) if found is None else found
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
        found = remembered(memo, values, lambda raws: list(map(parse_flags, raws)))
        return list(map(parse_flags, values)) if found is None else found


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

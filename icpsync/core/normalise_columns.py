"""Clean a batch of text records column by column: the fast path for files.

:func:`accounts_from_columns` gives exactly what :meth:`Normaliser.account` gives for each
row of the batch, in order, with the same values counted as bad and the same rows
skipped; only the work is arranged differently. Each column is cleaned once per distinct
value (values repeat: industries, headcounts, stacks), and the per-row work left is done
by ``map`` in C. Every raw value must be a ``str`` or ``None``, as a CSV reader gives them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from operator import itemgetter, methodcaller
from types import MappingProxyType
from typing import Any

from icpsync.core.batch import AccountBatch
from icpsync.core.normalise import (
    _MISSING_TOKENS,
    _NO_CURRENT,
    _NO_SIGNALS,
    CURRENT_KEYS,
    MAX_TEXT,
    MEMO_LIMIT,
    Normaliser,
    _Bad,
    _BadValue,
    _clean_domain,
    _text,
    parse_datetime,
    parse_employees,
    parse_revenue,
    parse_set,
)

Column = Sequence[str | None]
_first = itemgetter(0)


def _lookup(
    memo: dict[Any, Any], distinct: set[Any], compute: Callable[[Any], Any]
) -> Mapping[Any, Any]:
    """A mapping holding every distinct value, filling the memo while it has room."""
    new = distinct.difference(memo)
    if len(memo) + len(new) <= MEMO_LIMIT:
        for value in new:
            memo[value] = compute(value)
        return memo
    return {value: memo[value] if value in memo else compute(value) for value in distinct}


#: (row, id) of each row of a batch, for rejects; None when no one listens.
Addresses = Sequence[tuple[int | None, str]] | None


def _is_bad(value: object) -> bool:
    return value.__class__ is _BadValue


def _all_text(values: Column) -> bool:
    """True when every value is a ``str`` or None, as a CSV reader gives them (JSON pages
    give numbers, booleans and lists too: those columns are cleaned value by value)."""
    return set(map(type, values)) <= _TEXT_CLASSES


_TEXT_CLASSES = frozenset({str, type(None)})


def _value_by_value(
    normaliser: Normaliser,
    clean: Callable[[object], Any],
    values: Sequence[object],
    addresses: Addresses,
) -> list[Any]:
    """``clean`` (one of the normaliser's own per-value cleaners) of every value, each
    reject addressed to its row."""
    if addresses is None:
        return list(map(clean, values))
    cleaned = []
    for address, raw in zip(addresses, values, strict=True):
        normaliser.at = address
        cleaned.append(clean(raw))
    return cleaned


def _clean_column(
    normaliser: Normaliser,
    name: str,
    parse: Callable[[object], object],
    values: Column,
    addresses: Addresses = None,
) -> list[Any]:
    """``normaliser._clean(name, value, parse)`` for every value, bad ones counted."""
    if not _all_text(values):
        return _value_by_value(
            normaliser, lambda raw: normaliser._clean(name, raw, parse), values, addresses
        )

    def compute(raw: object) -> object:
        try:
            return parse(raw)
        except _Bad as exc:
            return exc.marker()

    distinct = set(values)
    lookup = _lookup(normaliser._memo(name, parse), distinct, compute)
    cleaned = list(map(lookup.__getitem__, values))
    bad = {value for value in distinct if _is_bad(lookup[value])}
    if bad:
        normaliser.stats.bad_values[name] += sum(map(bad.__contains__, values))
        if addresses is not None:
            for address, value in zip(addresses, values, strict=True):
                if value in bad:
                    normaliser.at = address
                    normaliser.reject(name, value, lookup[value].reason)
        cleaned = [None if _is_bad(value) else value for value in cleaned]
    return cleaned


def _stack_column(
    normaliser: Normaliser, values: Column, addresses: Addresses = None
) -> list[frozenset[str]]:
    """``normaliser._tech_stack(value)`` for every value, bad items counted."""
    if not _all_text(values):
        return _value_by_value(normaliser, normaliser._tech_stack, values, addresses)
    distinct = set(values)
    memo = normaliser._memo("tech_stack", parse_set)
    lookup = _lookup(memo, distinct, normaliser.parse_stack)
    pairs = list(map(lookup.__getitem__, values))
    bad = {value: lookup[value][1] for value in distinct if lookup[value][1]}
    if bad:
        occurrences = Counter(values)
        normaliser.stats.bad_values["tech_stack"] += sum(
            n * occurrences[value] for value, n in bad.items()
        )
        if addresses is not None:
            for address, value in zip(addresses, values, strict=True):
                if value in bad:
                    normaliser.at = address
                    normaliser.reject_stack_items(value)
    return list(map(_first, pairs))


def _text_column(values: Column) -> list[str | None]:
    """``_text`` of every value, the per-value work done by ``map`` in C."""
    if None in values or not _all_text(values):
        return list(map(_text, values))
    stripped: list[str | None] = list(map(str.strip, values))  # type: ignore[arg-type]
    if max(map(len, stripped), default=0) > MAX_TEXT:  # type: ignore[arg-type]
        return list(map(_text, values))
    missing = list(map(_MISSING_TOKENS.__contains__, map(str.lower, stripped)))  # type: ignore[arg-type]
    if all(missing):
        return [None] * len(stripped)
    if any(missing):
        return [None if gone else text for text, gone in zip(stripped, missing, strict=True)]
    return stripped


_URL_START = methodcaller("startswith", ("http://", "https://", "www."))


def _domain_column(texts: list[str | None]) -> list[str | None]:
    """``_clean_domain`` of every text; plain host names (the usual case) in C."""
    if None in texts:
        return list(map(_clean_domain, texts))
    lows = list(map(str.lower, texts))  # type: ignore[arg-type]
    if "/" in "\0".join(lows) or any(map(_URL_START, lows)):
        return list(map(_clean_domain, texts))
    return lows  # type: ignore[return-value]


def _kept_ids(
    normaliser: Normaliser, raw_ids: Column, dedupe: bool, rows: Sequence[int | None]
) -> tuple[list[str], list[int]]:
    """Clean ids and the positions of the rows kept (no id or a repeated id: skipped)."""
    ids = _text_column(raw_ids)
    seen = normaliser._seen_accounts
    if None not in ids and (not dedupe or (len(set(ids)) == len(ids) and seen.isdisjoint(ids))):
        if dedupe:
            seen.update(ids)  # type: ignore[arg-type]
        return ids, list(range(len(ids)))  # type: ignore[return-value]
    kept: list[int] = []
    skipped = normaliser.stats.skipped
    for position, account_id in enumerate(ids):
        if account_id is None:
            skipped["account_without_id"] += 1
            normaliser.at = (rows[position], None)
            normaliser.reject(None, None, "account_without_id")
        elif dedupe and account_id in seen:
            skipped["duplicate_account_id"] += 1
            normaliser.at = (rows[position], account_id)
            normaliser.reject(None, None, "duplicate_account_id")
        else:
            if dedupe:
                seen.add(account_id)
            kept.append(position)
    return [ids[i] for i in kept], kept  # type: ignore[misc]


def accounts_from_columns(
    normaliser: Normaliser,
    columns: Mapping[str, Column],
    signals: Sequence[Mapping[str, object] | None] | None = None,
    *,
    dedupe: bool = True,
    rows: Sequence[int | None] | None = None,
) -> AccountBatch:
    """The accounts of a batch of rows given as columns of raw text.

    Args:
        normaliser: cleans, remembers and counts, as for its own ``account``.
        columns: canonical key (as ``Normaliser.account`` reads them) -> one raw value per
            row; a key that is absent is missing in every row. ``id`` must be present.
        signals: one signals mapping (or None) per row; None for none in any row.
        dedupe: skip (and count) an id already seen, as ``Normaliser.account`` does.
        rows: each row's address in rejects (``Normaliser.account``'s ``row``).
    """
    numbers: Sequence[int | None] = rows if rows is not None else [None] * len(columns["id"])
    ids, kept = _kept_ids(normaliser, columns["id"], dedupe, numbers)
    size = len(ids)
    everyone = size == len(columns["id"])
    missing: list[str | None] = [None] * size
    addresses: Addresses = None
    if normaliser.on_reject is not None:
        addresses = list(zip([numbers[i] for i in kept], ids, strict=True))

    def column(key: str) -> Column:
        values = columns.get(key)
        if values is None:
            return missing
        return values if everyone else [values[i] for i in kept]

    def vocab(key: str) -> list[Any]:
        return _clean_column(normaliser, key, normaliser._vocab_parser(key), column(key), addresses)

    names = _text_column(column("name"))
    domains = _domain_column(_text_column(column("domain")))
    industries = vocab("industry")
    employees = _clean_column(
        normaliser, "employees", parse_employees, column("employees"), addresses
    )
    revenues = _clean_column(
        normaliser, "annual_revenue", parse_revenue, column("annual_revenue"), addresses
    )
    countries = vocab("country")
    regions = vocab("region")
    stacks = _stack_column(normaliser, column("tech_stack"), addresses)
    signal_maps: Sequence[Mapping[str, object]] = [_NO_SIGNALS] * size
    if signals is not None and any(signals):
        kept_signals = signals if everyone else [signals[i] for i in kept]
        signal_maps = [
            MappingProxyType(dict(s)) if isinstance(s, Mapping) and s else _NO_SIGNALS
            for s in kept_signals
        ]
    modified = _clean_column(
        normaliser, "last_modified", parse_datetime, column("last_modified"), addresses
    )
    currents = [_NO_CURRENT] * size
    icp_columns = {key: column(key) for key in CURRENT_KEYS}
    if any(any(values) for values in icp_columns.values()):
        currents = []
        for i in range(size):
            if addresses is not None:
                normaliser.at = addresses[i]
            currents.append(
                normaliser._current({key: values[i] for key, values in icp_columns.items()})
            )
    return AccountBatch(
        {
            "id": ids,
            "name": names,
            "domain": domains,
            "industry": industries,
            "employees": employees,
            "annual_revenue": revenues,
            "country": countries,
            "region": regions,
            "tech_stack": stacks,
            "signals": list(signal_maps),
            "last_modified": modified,
            "current": currents,
        },
        [numbers[i] for i in kept] if rows is not None else None,
    )

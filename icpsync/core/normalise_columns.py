"""The normaliser: raw records, a batch of columns at a time, into clean accounts and deals.

:func:`accounts_from_columns` and :func:`opportunities_from_columns` are the one cleaning
path; ``Normaliser.account`` and ``Normaliser.opportunity`` are views over them (a batch of
one). Columns are cleaned one after another in the fields' order (the rules are in
:mod:`icpsync.core.clean_columns`), so within a record the bad values are counted and
reported in that order; across records a batch reports column by column (the file
connector puts its rejects back in row order).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from icpsync.core.batch import AccountBatch, OpportunityBatch
from icpsync.core.clean_columns import (
    SMALL,
    Addresses,
    Column,
    NormaliserState,
    RecordAddresses,
    adjacent,
    all_missing,
    clean_column,
    domain_column,
    flags_column,
    stack_column,
    text_column,
    tier_column,
    vocabulary_column,
)
from icpsync.core.model import CurrentIcp
from icpsync.core.parsers import (
    parse_bool,
    parse_date,
    parse_datetime,
    parse_employees,
    parse_float,
    parse_int,
    parse_revenue,
)

if TYPE_CHECKING:
    from icpsync.core.seen_ids import SeenIds

#: Raw key -> CurrentIcp field: the ICP values the CRM holds now.
CURRENT_KEYS = {
    "icp_score": "score",
    "icp_tier": "tier",
    "icp_anti_flags": "flags",
    "icp_reasons": "reasons",
    "icp_profile_version": "profile_version",
    "icp_scored_at": "scored_at",
    "icp_tier_override": "override",
}
#: Every raw key an account is read from (``signals`` aside).
ACCOUNT_KEYS = (
    "id", "name", "domain", "industry", "employees", "annual_revenue", "country", "region",
    "tech_stack", "last_modified", *CURRENT_KEYS,
)  # fmt: skip
#: Every raw key a deal is read from.
OPPORTUNITY_KEYS = (
    "id", "account_id", "stage", "is_closed", "is_won", "amount", "created", "closed",
    "last_modified",
)  # fmt: skip
_NO_CURRENT = CurrentIcp()
_NO_SIGNALS: Mapping[str, object] = MappingProxyType({})
_EMPTY_CURRENT = (None, None, (), None, None, None, None)  # CurrentIcp() as a row


def _kept(
    normaliser: NormaliserState,
    raw_ids: Column,
    seen: SeenIds | None,
    kind: str,
    rows: Sequence[int | None] | None,
) -> tuple[list[str], list[int]]:
    """Clean ids, and the positions of the records kept: one without an id, or repeating
    one already ``seen`` (None: no de-duplication), is skipped, counted and reported. The
    ids are made one after another in memory (:func:`adjacent`): every later step reads
    them."""
    ids = text_column(adjacent(raw_ids))
    # clean ids are None or not empty: ``all`` finds a None by truth, comparing none
    if len(ids) >= SMALL and all(ids) and (seen is None or seen.add_all_new(ids)):  # type: ignore[arg-type]
        return ids, list(range(len(ids)))  # type: ignore[return-value]
    kept: list[int] = []
    skipped = normaliser.stats.skipped
    for position, record_id in enumerate(ids):
        if record_id is None:
            reason = f"{kind}_without_id"
        elif seen is not None and record_id in seen:
            reason = f"duplicate_{kind}_id"
        else:
            if seen is not None:
                seen.add(record_id)
            kept.append(position)
            continue
        skipped[reason] += 1
        if normaliser.on_reject is not None:
            normaliser.reject((rows[position] if rows else None, record_id), None, None, reason)
    return [ids[i] for i in kept], kept  # type: ignore[misc]


class _Kept:
    """The columns of the records kept, and their addresses for rejects."""

    def __init__(
        self,
        normaliser: NormaliserState,
        columns: Mapping[str, Column],
        ids: list[str],
        kept: list[int],
        rows: Sequence[int | None] | None,
    ):
        self.columns = columns
        self.everyone = len(kept) == len(columns["id"])
        self.kept = kept
        self.missing: list[None] = [None] * len(kept)
        self.rows = None if rows is None else list(self.pick(rows))
        self.addresses: Addresses = None
        if normaliser.on_reject is not None:
            self.addresses = RecordAddresses(self.rows, ids)

    def pick(self, values: Sequence[Any]) -> Sequence[Any]:
        return values if self.everyone else [values[i] for i in self.kept]

    def __call__(self, key: str) -> Column:
        values = self.columns.get(key)
        if values is None:
            return self.missing
        return values if self.everyone else [values[i] for i in self.kept]


def _signals(kept: _Kept, signals: Sequence[object] | None) -> list[Mapping[str, object]]:
    if signals is None or not any(signals):
        return [_NO_SIGNALS] * len(kept.missing)
    return [
        MappingProxyType(dict(s)) if isinstance(s, Mapping) and s else _NO_SIGNALS
        for s in kept.pick(signals)
    ]


def _currents(normaliser: NormaliserState, column: _Kept) -> list[CurrentIcp]:
    """The ICP values the CRM holds for each record (override, score and scored-at are
    checked in that order)."""
    raw = [column.columns.get(key, ()) for key in CURRENT_KEYS]
    if all(map(all_missing, raw)):  # in every record, skipped ones too
        return [_NO_CURRENT] * len(column.missing)
    icp = {key: column(key) for key in CURRENT_KEYS}
    at = column.addresses
    overrides = tier_column(normaliser, "icp_tier_override", icp["icp_tier_override"], at)
    scores = clean_column(normaliser, "icp_score", parse_int, icp["icp_score"], at)
    scored = clean_column(normaliser, "icp_scored_at", parse_datetime, icp["icp_scored_at"], at)
    fields = zip(
        scores,
        text_column(icp["icp_tier"]),
        flags_column(normaliser, icp["icp_anti_flags"]),
        text_column(icp["icp_reasons"]),
        text_column(icp["icp_profile_version"]),
        scored,
        overrides,
        strict=True,
    )
    rows = list(fields)
    try:  # one CurrentIcp per distinct row: a run writes the same values to many accounts
        made = {row: CurrentIcp(*row) for row in set(rows)}
    except TypeError:  # an unhashable value
        return [_NO_CURRENT if row == _EMPTY_CURRENT else CurrentIcp(*row) for row in rows]
    made[_EMPTY_CURRENT] = _NO_CURRENT
    return list(map(made.__getitem__, rows))


def accounts_from_columns(
    normaliser: NormaliserState,
    columns: Mapping[str, Column],
    signals: Sequence[object] | None = None,
    *,
    dedupe: bool = True,
    rows: Sequence[int | None] | None = None,
) -> AccountBatch:
    """The accounts of a batch of raw records given as columns.

    Args:
        normaliser: cleans, remembers and counts (its stats, vocabularies, rejects).
        columns: raw key (:data:`ACCOUNT_KEYS`) -> one raw value per record; a key that is
            absent is missing in every record. ``id`` must be present.
        signals: one signals mapping (or None) per record; None for none in any record.
            Anything but a non-empty mapping is no signals.
        dedupe: skip (and count) an id already seen by this normaliser.
        rows: each record's address in rejects (a file's row number).
    """
    seen = normaliser.seen_accounts if dedupe else None
    ids, kept = _kept(normaliser, columns["id"], seen, "account", rows)
    column = _Kept(normaliser, columns, ids, kept, rows)
    at = column.addresses
    clean: dict[str, list[Any]] = {
        "id": ids,
        "name": text_column(column("name")),
        "domain": domain_column(column("domain")),
        "industry": vocabulary_column(normaliser, "industry", column("industry"), at),
        "employees": clean_column(
            normaliser, "employees", parse_employees, column("employees"), at
        ),
        "annual_revenue": clean_column(
            normaliser, "annual_revenue", parse_revenue, column("annual_revenue"), at
        ),
        "country": vocabulary_column(normaliser, "country", column("country"), at),
        "region": vocabulary_column(normaliser, "region", column("region"), at),
        "tech_stack": stack_column(normaliser, column("tech_stack"), at),
        "signals": _signals(column, signals),
        "last_modified": clean_column(
            normaliser, "last_modified", parse_datetime, column("last_modified"), at
        ),
    }
    clean["current"] = _currents(normaliser, column)
    return AccountBatch(clean, column.rows)


def opportunities_from_columns(
    normaliser: NormaliserState,
    columns: Mapping[str, Column],
    *,
    rows: Sequence[int | None] | None = None,
) -> OpportunityBatch:
    """The deals of a batch of raw records given as columns (a repeated id is skipped).

    Args:
        normaliser: cleans, remembers and counts (its stats, vocabularies, rejects).
        columns: raw key (:data:`OPPORTUNITY_KEYS`) -> one raw value per record; a key that
            is absent is missing in every record. ``id`` must be present.
        rows: each record's address in rejects (a file's row number).
    """
    ids, kept = _kept(normaliser, columns["id"], normaliser.seen_opportunities, "opportunity", rows)
    column = _Kept(normaliser, columns, ids, kept, rows)
    at = column.addresses
    won = clean_column(normaliser, "is_won", parse_bool, column("is_won"), at)
    closed = clean_column(normaliser, "is_closed", parse_bool, column("is_closed"), at)
    clean: dict[str, list[Any]] = {
        "id": ids,
        "account_id": text_column(adjacent(column("account_id"))),
        "stage": vocabulary_column(normaliser, "stage", column("stage"), at),
        "is_closed": list(map(any, zip(closed, won, strict=True))),
        "is_won": list(map(bool, won)),
        "amount": clean_column(normaliser, "amount", parse_float, column("amount"), at),
        "created": clean_column(normaliser, "created", parse_date, column("created"), at),
        "closed": clean_column(normaliser, "closed", parse_date, column("closed"), at),
        "last_modified": clean_column(
            normaliser, "last_modified", parse_datetime, column("last_modified"), at
        ),
    }
    return OpportunityBatch(clean, column.rows)

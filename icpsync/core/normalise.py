"""Turn raw, canonical-keyed records into clean model objects.

Connectors rename CRM fields to canonical keys (through their field map) and hand the raw
values here, a batch of columns at a time (:func:`accounts_from_columns`,
:func:`opportunities_from_columns`) or one record at a time (:meth:`Normaliser.account`,
:meth:`Normaliser.opportunity`: views over the same path, a batch of one). A value that
cannot be read (``"N/A"`` revenue, negative headcount, an industry outside the vocabulary,
20 million employees) becomes ``None`` and is counted in ``stats.bad_values`` under its
canonical name; it never raises. Given ``on_reject``, every value made missing and every
record skipped is also reported as a :class:`Reject` with its row (when the caller gives
one), id, column, value and reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from itertools import islice

from icpsync.core.clean_columns import REJECT_VALUE_CHARS, NormaliserState, Reject, shortened
from icpsync.core.model import Account, Opportunity
from icpsync.core.normalise_columns import (
    ACCOUNT_KEYS,
    CURRENT_KEYS,
    OPPORTUNITY_KEYS,
    accounts_from_columns,
    opportunities_from_columns,
)
from icpsync.core.parsers import (
    Vocabulary,
    clean_text,
    parse_bool,
    parse_date,
    parse_datetime,
    parse_employees,
    parse_float,
    parse_int,
    parse_revenue,
    parse_set,
)

__all__ = [
    "BATCH_RECORDS",
    "CURRENT_KEYS",
    "ICP_RAW_KEYS",
    "REJECT_VALUE_CHARS",
    "Normaliser",
    "Reject",
    "Vocabulary",
    "_text",
    "accounts_from_columns",
    "opportunities_from_columns",
    "parse_bool",
    "parse_date",
    "parse_datetime",
    "parse_employees",
    "parse_float",
    "parse_int",
    "parse_revenue",
    "parse_set",
    "shortened",
]

#: field map ICP key -> the raw key the normaliser reads the current value from.
ICP_RAW_KEYS = {key: raw for raw, key in CURRENT_KEYS.items()}
#: Records cleaned together by :meth:`Normaliser.accounts` and ``opportunities``.
BATCH_RECORDS = 1024
_text = clean_text  # the name connectors import


class Normaliser(NormaliserState):
    """Cleans raw records for one connector and counts what it had to drop.

    Args:
        stats: where bad values and skipped records are counted.
        vocabularies: per canonical field, how CRM values map to canonical ones.
        on_reject: told of every value made missing and every record skipped.
    """

    def account(
        self, raw: Mapping[str, object], *, dedupe: bool = True, row: int | None = None
    ) -> Account | None:
        """One clean Account, or None (counted) when it has no id or repeats one: the
        column path on a batch of one. ``row`` is the record's address in rejects."""
        get = raw.get
        columns = {key: [get(key)] for key in ACCOUNT_KEYS}
        batch = accounts_from_columns(
            self, columns, [get("signals")], dedupe=dedupe, rows=None if row is None else [row]
        )
        return batch.account(0) if len(batch) else None

    def opportunity(
        self, raw: Mapping[str, object], *, row: int | None = None
    ) -> Opportunity | None:
        """One clean Opportunity, or None (counted) when it has no id or repeats one: the
        column path on a batch of one."""
        get = raw.get
        columns = {key: [get(key)] for key in OPPORTUNITY_KEYS}
        batch = opportunities_from_columns(self, columns, rows=None if row is None else [row])
        return batch.opportunity(0) if len(batch) else None

    def accounts(self, raws: Iterable[Mapping[str, object]]) -> Iterator[Account]:
        """Clean a stream of raw accounts, :data:`BATCH_RECORDS` at a time, dropping (and
        counting) unusable ones."""
        stream = iter(raws)
        while batch := list(islice(stream, BATCH_RECORDS)):
            columns = {key: [raw.get(key) for raw in batch] for key in ACCOUNT_KEYS}
            signals = [raw.get("signals") for raw in batch]
            yield from accounts_from_columns(self, columns, signals)

    def opportunities(self, raws: Iterable[Mapping[str, object]]) -> Iterator[Opportunity]:
        """Clean a stream of raw opportunities, :data:`BATCH_RECORDS` at a time, dropping
        (and counting) unusable ones."""
        stream = iter(raws)
        while batch := list(islice(stream, BATCH_RECORDS)):
            columns = {key: [raw.get(key) for raw in batch] for key in OPPORTUNITY_KEYS}
            yield from opportunities_from_columns(self, columns)

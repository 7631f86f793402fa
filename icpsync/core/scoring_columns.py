"""Score a batch of accounts column by column: the same results as ``Scorer.score``.

For each field the profile tests, the batch's values are read with one ``map``, each
distinct value is tested once (or found in the scorer's memory), and every account gets
its outcome by a dictionary lookup done in C. The outcome combinations are then looked up
(or assembled once) exactly as :meth:`Scorer.score` does. A field whose values mix
classes (``1`` and ``True``, say, which are equal as keys but not as reasons) or cannot be
hashed is tested value by value instead, so no two values that print differently share
an outcome.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from itertools import repeat
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from icpsync.core.frozen import fast_constructor
from icpsync.core.model import NO_AGGREGATES, Account, Aggregates, IcpScore

if TYPE_CHECKING:
    from icpsync.core.scoring import Scorer, _Field

_ids = attrgetter("id")
_overrides = attrgetter("current.override")
_new_score = fast_constructor(IcpScore)


def _outcome_column(field: _Field, values: list[Any]) -> list[tuple[Any, ...]]:
    """The outcomes of ``field``'s checks for each value of the column."""
    classes = set(map(type, values))
    classes.discard(type(None))
    cls = classes.pop() if len(classes) == 1 else None
    memo = field.memos.get(cls) if cls is not None else None
    if memo is None:  # mixed, unhashable or never-remembered values: one at a time
        missing, outcomes = field.missing, field.outcomes
        return [missing if v is None else outcomes(v) for v in values]
    distinct = set(values)
    distinct.discard(None)
    new = distinct.difference(memo)
    if new and field.keys is not None and cls is str:
        keys = field.keys
        lookup = dict.fromkeys(new, field.unmatched)
        for value in [v for v in new if v.strip().lower() in keys]:
            lookup[value] = field.outcomes(value)
    else:
        lookup = {value: field.outcomes(value) for value in new}
    if len(new) < len(distinct):
        lookup.update((value, memo[value]) for value in distinct - new)
    lookup[None] = field.missing
    return list(map(lookup.__getitem__, values))


def score_batch(
    scorer: Scorer,
    accounts: Sequence[Account],
    aggregates: Mapping[str, Aggregates],
    as_of: datetime,
) -> list[IcpScore]:
    """What ``scorer.score`` gives for each account (its aggregates from ``aggregates``)."""
    if not accounts:
        return []
    ids = list(map(_ids, accounts))
    per_account: list[Aggregates] | None = None
    columns = []
    for field in scorer._fields:
        if field.plain is not None:
            values = list(map(field.plain, accounts))
        else:
            if per_account is None:
                per_account = list(map(aggregates.get, ids, repeat(NO_AGGREGATES)))
            values = list(map(field.get, accounts, per_account, repeat(as_of)))
        columns.append(_outcome_column(field, values))
    overrides = list(map(_overrides, accounts))
    keys = list(zip(*columns, overrides, strict=True))
    remembered = scorer._outcomes
    found: list[Any] = list(map(remembered.get, keys))
    if None in found:
        for position, outcome in enumerate(found):
            if outcome is None:
                found[position] = scorer._outcome(keys[position], overrides[position])
    return list(map(_new_score, ids, *zip(*found, strict=True)))

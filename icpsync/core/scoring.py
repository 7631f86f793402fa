"""The scoring core: one account, its aggregates and a profile in; an :class:`IcpScore` out.

Pure: no I/O, no clock (``as_of`` is passed in), no CRM field names, nothing from
``connectors``. The same input always gives the same output. :class:`Scorer` compiles a
profile once; :meth:`Scorer.score_batch` is the one scoring path (an
:class:`~icpsync.core.batch.AccountBatch` in, a :class:`~icpsync.core.batch.ScoreBatch`
out); :meth:`Scorer.score` and :meth:`Scorer.score_many` are views over it, and
:func:`score_account` is the one-off form. The checks themselves are in :mod:`.checks`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from itertools import chain, compress, count, islice, repeat
from operator import attrgetter, getitem, is_
from typing import Any

from icpsync.core.batch import AccountBatch, ScoreBatch
from icpsync.core.checks import (
    MISSING,
    Check,
    FieldChecks,
    compile_check,
)
from icpsync.core.model import (
    ANTI_ICP,
    NO_AGGREGATES,
    TIERS,
    Account,
    Aggregates,
    Contribution,
    IcpScore,
)
from icpsync.core.profile import TIER_ORDER, Profile
from icpsync.core.reasons import join_reasons, override_lead
from icpsync.core.unavailable import reason as unavailable_reason

#: Distinct outcome combinations remembered (accounts share them far more often than not).
CACHE_LIMIT = 200_000
#: Accounts scored together by ``score_many``.
BATCH_ACCOUNTS = 2048
_override = attrgetter("override")


class Scorer:
    """A profile compiled for fast, repeated scoring, a batch at a time.

    Each account is reduced to the outcome of every criterion and rule (held, not held,
    missing, or the matched text); the score, tier and reasons for an outcome are built
    once and remembered, since accounts share outcomes far more often than not. Checks
    on the same field read it once, and the outcomes of a value are remembered too.
    """

    def __init__(self, profile: Profile, unavailable: Mapping[str, str] | None = None):
        """``unavailable``: canonical field -> the CRM field the org lacks; the reasons then
        name it once instead of listing the field as missing."""
        self.profile = profile
        self._unavailable = dict(unavailable or {})
        self.version = profile.version
        self._criteria = [compile_check(c, c.points) for c in profile.criteria]
        self._anti = [compile_check(r, -(r.points or 0), r) for r in profile.anti]
        by_field: dict[str, list[tuple[int, Check]]] = {}
        for index, c in enumerate((*self._criteria, *self._anti)):
            by_field.setdefault(c.field, []).append((index, c))
        self._fields = [FieldChecks(checks) for checks in by_field.values()]
        self._outcome_lists = [field.outcome_of for field in self._fields]  # code -> outcome
        # A score key holds each field's outcome code in turn (then the override): where
        # each check's outcome is among the fields' outcomes.
        flat = [position for field in self._fields for position in field.positions]
        self._order = sorted(range(len(flat)), key=flat.__getitem__)
        self._absent = [
            (
                unavailable_reason(c.field, self._unavailable[c.field])
                if c.field in self._unavailable
                else None,
                c.field.removeprefix("signals.").replace("_", " "),
            )
            for c in (*self._criteria, *self._anti)
        ]
        earned = [_gain(c.points, c.label) for c in self._criteria]
        offset = len(self._criteria)
        penalties = [
            (c.points, offset + i, False, _gain(c.points, f"anti-ICP: {c.label}"))
            for i, c in enumerate(self._anti)
            if c.rule is not None and c.rule.effect == "penalty"
        ]
        # Every check that may add points (a criterion's names the text it matched), in the
        # order the reasons list them (gains, larger first, then profile order): no sort
        # per outcome.
        self._gainers = sorted(
            [(c.points, i, True, earned[i]) for i, c in enumerate(self._criteria)] + penalties,
            key=lambda g: (g[0] < 0, -abs(g[0]), g[1]),
        )
        self._notes = [
            (
                offset + i,
                c.rule.id,
                c.rule.effect,
                TIER_ORDER[c.rule.cap or "Not ICP"] if c.rule.effect == "cap" else 0,
                f"anti-ICP: {c.label} (capped at {c.rule.cap})"
                if c.rule.effect == "cap"
                else f"anti-ICP: {c.label} (disqualified)",
            )
            for i, c in enumerate(self._anti)
            if c.rule is not None
        ]
        self._tier_for = profile.tiers.tier_for
        self._outcomes: dict[tuple[Any, ...], tuple[Any, ...]] = {}
        self._gains: dict[tuple[int, str], tuple[Contribution, str]] = {}

    def score(self, account: Account, aggregates: Aggregates, as_of: datetime) -> IcpScore:
        """Score one account: a batch of one (see :meth:`score_batch`)."""
        batch = AccountBatch.from_accounts((account,))
        return self.score_batch(batch, {account.id: aggregates}, as_of)[0]

    def score_many(
        self,
        accounts: Iterable[Account],
        aggregates: Mapping[str, Aggregates],
        as_of: datetime,
    ) -> Iterator[IcpScore]:
        """Score a stream of accounts, each with its aggregates (none when not in the map),
        a batch of :data:`BATCH_ACCOUNTS` at a time."""
        stream = iter(accounts)
        while batch := list(islice(stream, BATCH_ACCOUNTS)):
            yield from self.score_batch(AccountBatch.from_accounts(batch), aggregates, as_of)

    def score_batch(
        self,
        accounts: AccountBatch,
        aggregates: Mapping[str, Aggregates],
        as_of: datetime,
    ) -> ScoreBatch:
        """Score a batch column by column, each account with its aggregates (none when
        not in the map).

        Each field's checks run once per distinct value (:meth:`FieldChecks.column`); each
        distinct combination of outcomes is assembled into score, tier and reasons once.
        """
        columns = accounts.columns
        ids = columns["id"]
        if not ids:
            return ScoreBatch([], [])
        per_account: list[Aggregates] = []
        outcome_columns = []
        if any(field.full for field in self._fields):  # its codes renamed: keys forgotten
            for field in self._fields:
                if field.full:
                    field.start_afresh()
            self._outcomes.clear()
        for field in self._fields:
            if field.reads_aggregates and not per_account:
                per_account = list(map(aggregates.get, ids, repeat(NO_AGGREGATES)))
            outcome_columns.append(field.column(field.values(columns, per_account, as_of)))
        overrides = list(map(_override, columns["current"]))
        keys = list(zip(*outcome_columns, overrides, strict=True))
        found: list[Any] = list(map(self._outcomes.get, keys))
        if None in found:
            made: dict[tuple[Any, ...], tuple[Any, ...]] = {}  # shared within the batch too
            for position in list(compress(count(), map(is_, found, repeat(None)))):
                key = keys[position]
                outcome = made.get(key)
                if outcome is None:
                    outcome = made[key] = self._outcome(key, overrides[position])
                found[position] = outcome
        return ScoreBatch(list(ids), found)

    def _outcome(self, key: tuple[Any, ...], override: str | None) -> tuple[Any, ...]:
        """Assemble (and remember) the outcome of a score key not seen before."""
        outcome = self._assemble(self._hits(key), override)
        if len(self._outcomes) < CACHE_LIMIT:
            self._outcomes[key] = outcome
        return outcome

    def _hits(self, key: tuple[Any, ...]) -> list[bool | str | None]:
        """The outcome of every criterion and rule, in profile order, from a score key."""
        flat: list[bool | str | None] = list(
            chain.from_iterable(map(getitem, self._outcome_lists, key))
        )
        return list(map(flat.__getitem__, self._order))

    def _matched(self, index: int, text: str) -> tuple[Contribution, str]:
        """Criterion ``index``'s contribution naming the text it matched (remembered)."""
        gain = self._gains.get((index, text))
        if gain is None:
            c = self._criteria[index]
            gain = _gain(c.points, f"{c.label} ({text})")
            if len(self._gains) < CACHE_LIMIT:
                self._gains[index, text] = gain
        return gain

    def _assemble(self, hits: list[bool | str | None], override: str | None) -> tuple[Any, ...]:
        """Score, tier, flags, contributions and reasons for one set of outcomes."""
        missing: list[str] = []
        unavailable: list[str] = []
        for (note, name), hit in zip(self._absent, hits, strict=True) if MISSING in hits else ():
            if hit is not MISSING:
                continue
            if note is not None:
                if note not in unavailable:
                    unavailable.append(note)
            elif name not in missing:
                missing.append(name)
        total = 0
        contributions: list[Contribution] = []
        texts: list[str] = []
        for points, index, names, earned in self._gainers:
            hit = hits[index]
            if hit:
                total += points
                contribution, text = (
                    self._matched(index, hit) if names and isinstance(hit, str) else earned
                )
                contributions.append(contribution)
                texts.append(text)
        flags: list[str] = []
        notes: list[str] = []
        cap_rank = 0
        disqualified = False
        for index, rule_id, effect, rank, note in self._notes:
            if not hits[index]:
                continue
            flags.append(rule_id)
            if effect == "cap":
                cap_rank = max(cap_rank, rank)
                notes.append(note)
            elif effect != "penalty":
                disqualified = True
                notes.append(note)
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
        parts = [*lead, *texts, *notes]
        if missing:
            parts.append("missing: " + ", ".join(missing))
        parts += unavailable
        reasons, short = join_reasons(parts)
        return (
            score,
            tier,
            tuple(sorted(flags)),
            tuple(contributions),
            tuple(missing),
            self.version,
            computed,
            overridden,
            reasons,
            short,
        )


def _gain(points: int, label: str) -> tuple[Contribution, str]:
    """A contribution and its text in the reasons."""
    contribution = Contribution(points, label)
    return contribution, str(contribution)


def score_account(
    account: Account, aggregates: Aggregates, profile: Profile, *, as_of: datetime
) -> IcpScore:
    """Score one account against a profile (compiles the profile; use :class:`Scorer` in loops)."""
    return Scorer(profile).score(account, aggregates, as_of)

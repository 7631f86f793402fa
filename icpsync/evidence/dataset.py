"""Closed deals joined to their accounts, in the order they closed.

Each closed deal becomes an :class:`Example`: the deal, its account, and the account's
aggregates *as they stood when the deal was created* (only deals closed before that day
count), so nothing about the deal's own outcome, or any later one, leaks into what is used
to predict it.
"""

from __future__ import annotations

import logging
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from icpsync.core.model import NO_AGGREGATES, Account, Aggregates, Opportunity

log = logging.getLogger(__name__)

#: Account traits and point-in-time aggregates a profile may be learned from.
NUMERIC_FIELDS = ("employees", "annual_revenue", "sales_cycle_days")
CATEGORICAL_FIELDS = ("industry", "country", "region")
ITEM_FIELDS = ("tech_stack",)
SIGNAL_PREFIX = "signals."


@dataclass(frozen=True)
class Deal:
    """One closed deal."""

    id: str
    account_id: str
    won: bool
    amount: float | None
    created: date | None
    closed: date | None

    @property
    def cycle_days(self) -> int | None:
        """Days from creation to close, when both dates are known and in order."""
        if self.created is None or self.closed is None or self.closed < self.created:
            return None
        return (self.closed - self.created).days


@dataclass(frozen=True)
class Example:
    """A closed deal with what was known about its account when the deal was created."""

    deal: Deal
    account: Account
    aggregates: Aggregates = NO_AGGREGATES

    def value(self, name: str) -> object:
        """The value of a canonical field, aggregate or ``signals.<name>`` for this deal."""
        if name.startswith(SIGNAL_PREFIX):
            return self.account.signals.get(name[len(SIGNAL_PREFIX) :])
        if name == "sales_cycle_days":
            return self.aggregates.sales_cycle_days
        return getattr(self.account, name)


@dataclass
class Dataset:
    """Closed deals with their accounts, oldest close first (undated deals keep file order).

    Attributes:
        examples: one per closed deal whose account is known.
        accounts: every account read (the book the tiers are set against).
        dated: True when every example has a close date (a time split is possible).
        skipped: deals left out and why.
    """

    examples: list[Example]
    accounts: list[Account]
    dated: bool
    skipped: Counter[str] = field(default_factory=Counter)

    @property
    def wins(self) -> int:
        """Closed-won deals."""
        return sum(e.deal.won for e in self.examples)

    @property
    def base_rate(self) -> float:
        """Share of closed deals won (NaN without deals)."""
        return self.wins / len(self.examples) if self.examples else float("nan")

    def signal_names(self) -> list[str]:
        """Every signal name present on an account with a closed deal, sorted."""
        names = {k for e in self.examples for k in e.account.signals}
        return sorted(names)

    def subset(self, indices: Iterable[int]) -> list[Example]:
        """The examples at ``indices``."""
        return [self.examples[i] for i in indices]

    def book(self, before: date | None = None) -> list[Example]:
        """Every account of the book as an example with no deal of its own (``deal.id`` is
        empty), its aggregates from deals closed before ``before`` (default: all of them).

        The tier policy sets shares against these, so Tier 1's share is of the accounts a
        team works, not only of those that already had a deal.
        """
        history = _history([e.deal for e in self.examples]) if self.dated else {}
        cut = before or date.max
        return [
            Example(
                Deal("", a.id, False, None, None, None),
                a,
                _aggregates_before(history.get(a.id, []), cut),
            )
            for a in self.accounts
        ]


def load_dataset(accounts: Iterable[Account], opportunities: Iterable[Opportunity]) -> Dataset:
    """Join closed opportunities to their accounts and order them by close date.

    Open deals, deals without a known account and (when most deals are dated) closed deals
    without a close date are left out and counted in ``skipped``.
    """
    book = {a.id: a for a in accounts}
    deals: list[Deal] = []
    skipped: Counter[str] = Counter()
    for opp in opportunities:
        if not opp.is_closed:
            skipped["open"] += 1
        elif opp.account_id is None or opp.account_id not in book:
            skipped["closed_without_account"] += 1
        else:
            deals.append(
                Deal(opp.id, opp.account_id, opp.is_won, opp.amount, opp.created, opp.closed)
            )
    with_dates = [d for d in deals if d.closed is not None]
    dated = bool(deals) and len(with_dates) >= 0.9 * len(deals)
    if dated and len(with_dates) < len(deals):
        skipped["closed_without_close_date"] += len(deals) - len(with_dates)
        deals = with_dates
    if dated:
        deals.sort(key=lambda d: (d.closed, d.created or d.closed, d.id))
    history = _history(deals) if dated else {}
    examples = [
        Example(d, book[d.account_id], _aggregates_before(history.get(d.account_id, []), d.created))
        for d in deals
    ]
    log.info(
        "closed deals: %d (won %d); skipped %s",
        len(examples),
        sum(d.won for d in deals),
        dict(skipped),
    )
    return Dataset(examples, list(book.values()), dated, skipped)


def _history(deals: list[Deal]) -> dict[str, list[Deal]]:
    by_account: dict[str, list[Deal]] = defaultdict(list)
    for deal in deals:
        by_account[deal.account_id].append(deal)
    return by_account


def _aggregates_before(history: list[Deal], created: date | None) -> Aggregates:
    """The account's aggregates from deals closed strictly before ``created``."""
    if created is None or not history:
        return NO_AGGREGATES
    prior = [d for d in history if d.closed is not None and d.closed < created]
    if not prior:
        return NO_AGGREGATES
    won = [d for d in prior if d.won]
    cycles = [c for c in (d.cycle_days for d in won) if c is not None]
    return Aggregates(
        won_deals=len(won),
        lost_deals=len(prior) - len(won),
        last_win=max((d.closed for d in won if d.closed is not None), default=None),
        sales_cycle_days=float(statistics.median(cycles)) if cycles else None,
    )

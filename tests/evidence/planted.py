"""A synthetic book with planted truths: a rival-suite segment and an optional ICP shift.

Accounts are :class:`~icpsync.core.synthetic.SyntheticData`'s; every ``RIVAL_EVERY``-th one
looks like a perfect fit (Technology, 400-1,800 employees, United States, Salesforce in stack)
but runs ``RivalSuite`` and wins at ``RIVAL_RATE``. With ``shift_from`` set, deals created
on or after that day follow a different truth: industry and size stop mattering and
Healthcare and Retail accounts of under 200 people win.
"""

from __future__ import annotations

import csv
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path

from icpsync.core.model import ACCOUNT_COLUMNS, OPPORTUNITY_COLUMNS, Account, Opportunity
from icpsync.core.synthetic import SyntheticData, true_win_probability

RIVAL = "RivalSuite"
RIVAL_EVERY = 12
RIVAL_RATE = 0.06


def is_rival(account: Account) -> bool:
    """True for the planted rival-suite accounts."""
    return RIVAL in account.tech_stack


def _sharpened(p: float, scale: float = 2.6, by: float = 2.0) -> float:
    """``p`` with its log-odds times ``scale`` less ``by``: a clearer ICP than the sandboxes'
    data, at a base rate near the seeds' 37%."""
    return 1.0 / (1.0 + math.exp(-(scale * math.log(p / (1 - p)) - by)))


def shifted_probability(account: Account) -> float:
    """The truth after the shift."""
    logit = -1.6
    if account.industry in ("Healthcare", "Retail"):
        logit += 1.6
    if account.employees is not None and account.employees < 200:
        logit += 1.0
    if account.industry == "Technology":
        logit -= 0.8
    return 1.0 / (1.0 + math.exp(-logit))


@dataclass(frozen=True)
class PlantedBook:
    """``accounts`` accounts and ``opportunities`` deals over three years."""

    accounts: int = 3000
    opportunities: int = 9000
    seed: int = 11
    shift_from: date | None = None

    def account(self, index: int) -> Account:
        """Account ``index``, rival-suite for every ``RIVAL_EVERY``-th."""
        account = SyntheticData(self.accounts, self.opportunities, self.seed).account(index)
        if index % RIVAL_EVERY:
            return account
        return replace(
            account,
            industry="Technology",
            employees=400 + (index * 37) % 1400,
            country="United States",
            tech_stack=account.tech_stack | {"Salesforce", RIVAL},
        )

    def probability(self, account: Account, created: date) -> float:
        """The true win probability of a deal of ``account`` created on ``created``."""
        if is_rival(account):
            return RIVAL_RATE
        if self.shift_from is not None and created >= self.shift_from:
            return shifted_probability(account)
        return _sharpened(true_win_probability(account))

    def iter_accounts(self) -> Iterator[Account]:
        """Every account."""
        for index in range(self.accounts):
            yield self.account(index)

    def iter_opportunities(self) -> Iterator[Opportunity]:
        """Every deal, closed (all close before the book's as-of day)."""
        rng = random.Random(self.seed * 31 + 5)
        as_of = SyntheticData().as_of.date()
        start = as_of - timedelta(days=3 * 365)
        book = [self.account(i) for i in range(self.accounts)]
        for index in range(self.opportunities):
            account = book[rng.randrange(self.accounts)]
            created = start + timedelta(days=rng.randrange(3 * 365 - 120))
            closed = created + timedelta(days=max(7, int(rng.gauss(60, 20))))
            won = rng.random() < self.probability(account, created)
            size = account.employees or 100
            yield Opportunity(
                id=f"P{index:07d}",
                account_id=account.id,
                stage="Closed Won" if won else "Closed Lost",
                is_closed=True,
                is_won=won,
                amount=round(rng.lognormvariate(math.log(5_000 + size * 40), 0.6), 2),
                created=created,
                closed=closed,
            )


def write_book(book: PlantedBook, folder: Path) -> tuple[Path, Path]:
    """The book as canonical accounts.csv and opportunities.csv in ``folder``."""
    accounts, opportunities = folder / "accounts.csv", folder / "opportunities.csv"
    with accounts.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(ACCOUNT_COLUMNS)
        for a in book.iter_accounts():
            writer.writerow(
                [
                    a.id,
                    a.name,
                    a.domain,
                    a.industry or "",
                    a.employees or "",
                    a.annual_revenue or "",
                    a.country or "",
                    "",
                    ";".join(sorted(a.tech_stack)),
                ]
            )
    with opportunities.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(OPPORTUNITY_COLUMNS)
        for o in book.iter_opportunities():
            writer.writerow(
                [o.id, o.account_id, o.stage, o.is_closed, o.is_won, o.amount, o.created, o.closed]
            )
    return accounts, opportunities

"""Seeded, realistic synthetic B2B data with a known true win probability.

Used by both sandboxes (which translate it into their CRM's vocabulary), by benchmarks and
by the evidence tests: deals are won with probability :func:`true_win_probability` of their
account, so a learned profile can be checked against the truth. Deterministic per seed.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from icpsync.core.model import Account, Opportunity

INDUSTRIES = (
    ("Technology", 18),
    ("Finance", 8),
    ("Banking", 4),
    ("Insurance", 4),
    ("Healthcare", 9),
    ("Manufacturing", 10),
    ("Retail", 8),
    ("Education", 6),
    ("Government", 4),
    ("Media", 5),
    ("Telecommunications", 4),
    ("Energy", 4),
    ("Transportation", 4),
    ("Consulting", 7),
    ("Not For Profit", 3),
    ("Biotechnology", 2),
)
COUNTRIES = (
    ("United States", 45),
    ("Canada", 8),
    ("United Kingdom", 10),
    ("Germany", 8),
    ("France", 6),
    ("Netherlands", 3),
    ("Australia", 5),
    ("India", 6),
    ("Brazil", 4),
    ("Japan", 3),
    ("Singapore", 2),
)
TOOLS = (
    ("Salesforce", 0.35),
    ("HubSpot", 0.25),
    ("Microsoft Dynamics", 0.08),
    ("Outreach", 0.15),
    ("Salesloft", 0.10),
    ("Gong", 0.12),
    ("Slack", 0.55),
    ("Zendesk", 0.20),
    ("Jira", 0.40),
    ("Snowflake", 0.15),
    ("Marketo", 0.10),
    ("Shopify", 0.08),
)
STAGES_OPEN = (
    "Prospecting",
    "Qualification",
    "Needs Analysis",
    "Proposal/Price Quote",
    "Negotiation/Review",
)
_WORDS = (
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Stark",
    "Wayne",
    "Hooli",
    "Vandelay",
    "Wonka",
    "Cyberdyne",
    "Soylent",
    "Tyrell",
    "Massive",
    "Aperture",
    "Nimbus",
    "Vertex",
    "Quantum",
    "Summit",
    "Harbor",
    "Pioneer",
    "Beacon",
    "Northwind",
    "Contoso",
    "Fabrikam",
    "Lumen",
)
_SUFFIXES = ("Inc", "Corp", "Labs", "Group", "Systems", "Holdings", "Partners", "Analytics")

AS_OF = datetime(2026, 11, 1, tzinfo=UTC)


def true_win_probability(account: Account) -> float:
    """The win probability the generator used for deals of ``account``."""
    logit = -0.9
    industry = account.industry
    if industry == "Technology":
        logit += 1.3
    elif industry in ("Finance", "Banking", "Insurance"):
        logit += 0.6
    elif industry in ("Education", "Government", "Not For Profit"):
        logit -= 1.2
    employees = account.employees
    if employees is not None:
        if 200 <= employees <= 2000:
            logit += 1.1
        elif 50 <= employees < 200:
            logit += 0.3
        elif employees < 10:
            logit -= 1.5
    if account.country in ("United States", "Canada"):
        logit += 0.5
    stack = account.tech_stack
    if stack & {"Salesforce", "HubSpot", "Microsoft Dynamics"}:
        logit += 0.7
    if stack & {"Outreach", "Salesloft", "Gong"}:
        logit += 0.4
    return 1.0 / (1.0 + math.exp(-logit))


def _pick(rng: random.Random, table: tuple[tuple[str, int], ...]) -> str:
    names = [n for n, _ in table]
    weights = [w for _, w in table]
    return rng.choices(names, weights=weights)[0]


@dataclass(frozen=True)
class SyntheticData:
    """A seeded data set of ``accounts`` accounts and ``opportunities`` deals.

    Args:
        accounts: number of accounts.
        opportunities: number of deals, spread over the accounts.
        seed: random seed; the same seed gives the same data.
        as_of: the "now" of the data set; deals are created in the three years before it.
        missing_rate: share of firmographic values left empty.
    """

    accounts: int = 2000
    opportunities: int = 6000
    seed: int = 7
    as_of: datetime = AS_OF
    missing_rate: float = 0.05

    def account_id(self, index: int) -> str:
        """The canonical id of account ``index`` (connectors may re-key)."""
        return f"A{index:07d}"

    def account(self, index: int) -> Account:
        """Account number ``index`` (0-based), independent of the others."""
        rng = random.Random(self.seed * 1_000_003 + index)
        miss = self.missing_rate

        def maybe(value: object) -> object:
            return None if rng.random() < miss else value

        name = f"{rng.choice(_WORDS)} {rng.choice(_WORDS)} {rng.choice(_SUFFIXES)}"
        employees = int(math.exp(rng.gauss(5.3, 1.8)))
        employees = max(1, min(employees, 250_000))
        revenue = round(employees * rng.uniform(80_000, 260_000), -3)
        stack = frozenset(t for t, share in TOOLS if rng.random() < share)
        modified = self.as_of - timedelta(days=rng.uniform(1, 900))
        slug = name.lower().replace(" ", "")[:20]
        return Account(
            id=self.account_id(index),
            name=name,
            domain=f"{slug}{index}.example.com",
            industry=maybe(_pick(rng, INDUSTRIES)),  # type: ignore[arg-type]
            employees=maybe(employees),  # type: ignore[arg-type]
            annual_revenue=maybe(float(revenue)),  # type: ignore[arg-type]
            country=maybe(_pick(rng, COUNTRIES)),  # type: ignore[arg-type]
            tech_stack=stack,
            last_modified=modified.replace(microsecond=0),
        )

    def iter_accounts(self) -> Iterator[Account]:
        """Every account, generated lazily."""
        for index in range(self.accounts):
            yield self.account(index)

    def iter_opportunities(self) -> Iterator[Opportunity]:
        """Every deal, generated lazily; outcomes follow the account's true win probability."""
        rng = random.Random(self.seed * 7_919 + 1)
        start = self.as_of - timedelta(days=3 * 365)
        span_days = 3 * 365
        for index in range(self.opportunities):
            acc_index = int(rng.random() ** 1.3 * self.accounts) % max(self.accounts, 1)
            account = self.account(acc_index)
            created = start + timedelta(days=rng.uniform(0, span_days - 20))
            cycle = max(7, int(rng.gauss(75, 35)))
            closed_at = created + timedelta(days=cycle)
            size = account.employees or 100
            amount = round(rng.lognormvariate(math.log(5_000 + size * 40), 0.6), 2)
            is_closed = closed_at < self.as_of
            is_won = is_closed and rng.random() < true_win_probability(account)
            stage = (
                ("Closed Won" if is_won else "Closed Lost")
                if is_closed
                else rng.choice(STAGES_OPEN)
            )
            yield Opportunity(
                id=f"O{index:08d}",
                account_id=account.id,
                stage=stage,
                is_closed=is_closed,
                is_won=is_won,
                amount=amount,
                created=created.date(),
                closed=closed_at.date() if is_closed else None,
                last_modified=min(closed_at, self.as_of).replace(microsecond=0),
            )

"""Seed data in HubSpot's own vocabulary, from :class:`icpsync.core.synthetic.SyntheticData`.

Companies carry the industry enumeration (``COMPUTER_SOFTWARE``...), free-text countries
(with the odd ``USA``), ``web_technologies`` internal values and numbers as strings; deals
carry pipeline stage ids of the default pipeline and ``hs_is_closed(_won)`` flags.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, date, datetime

from icpsync.core.synthetic import SyntheticData

COMPANY_ID_BASE = 9_000_000_000
DEAL_ID_BASE = 7_000_000_000

#: canonical industry -> the HubSpot industry values used for it (first is the usual one).
INDUSTRY_VALUES: dict[str, tuple[str, ...]] = {
    "Technology": ("COMPUTER_SOFTWARE", "INFORMATION_TECHNOLOGY_AND_SERVICES", "INTERNET"),
    "Finance": ("FINANCIAL_SERVICES",),
    "Banking": ("BANKING",),
    "Insurance": ("INSURANCE",),
    "Healthcare": ("HOSPITAL_HEALTH_CARE",),
    "Manufacturing": ("MACHINERY", "ELECTRICAL_ELECTRONIC_MANUFACTURING"),
    "Retail": ("RETAIL",),
    "Education": ("EDUCATION_MANAGEMENT", "HIGHER_EDUCATION"),
    "Government": ("GOVERNMENT_ADMINISTRATION",),
    "Media": ("ONLINE_MEDIA", "BROADCAST_MEDIA"),
    "Telecommunications": ("TELECOMMUNICATIONS",),
    "Energy": ("OIL_ENERGY", "RENEWABLES_ENVIRONMENT"),
    "Transportation": ("TRANSPORTATION_TRUCKING_RAILROAD",),
    "Consulting": ("MANAGEMENT_CONSULTING",),
    "Not For Profit": ("NON_PROFIT_ORGANIZATION_MANAGEMENT",),
    "Biotechnology": ("BIOTECHNOLOGY",),
}
INDUSTRY_OPTIONS = (
    *tuple(v for values in INDUSTRY_VALUES.values() for v in values),
    "ACCOUNTING",
    "AIRLINES_AVIATION",
    "LEGAL_SERVICES",
    "REAL_ESTATE",
)
TECH_VALUES = {
    "Salesforce": "salesforce",
    "HubSpot": "hubspot",
    "Microsoft Dynamics": "microsoft_dynamics",
    "Outreach": "outreach",
    "Salesloft": "salesloft",
    "Gong": "gong",
    "Slack": "slack",
    "Zendesk": "zendesk",
    "Jira": "jira",
    "Snowflake": "snowflake",
    "Marketo": "marketo",
    "Shopify": "shopify",
}
#: the default pipeline: (stage id, label, probability, closed).
STAGES = (
    ("appointmentscheduled", "Appointment Scheduled", 0.2),
    ("qualifiedtobuy", "Qualified To Buy", 0.4),
    ("presentationscheduled", "Presentation Scheduled", 0.6),
    ("decisionmakerboughtin", "Decision Maker Bought-In", 0.8),
    ("contractsent", "Contract Sent", 0.9),
    ("closedwon", "Closed Won", 1.0),
    ("closedlost", "Closed Lost", 0.0),
)
_STAGE_OF = {
    "Prospecting": "appointmentscheduled",
    "Qualification": "qualifiedtobuy",
    "Needs Analysis": "presentationscheduled",
    "Proposal/Price Quote": "decisionmakerboughtin",
    "Negotiation/Review": "contractsent",
    "Closed Won": "closedwon",
    "Closed Lost": "closedlost",
}
_COUNTRY_SPELLINGS = {"United States": ("United States", "United States", "USA", "US")}


def iso(value: datetime | date) -> str:
    """HubSpot's datetime string: ``2024-05-01T12:00:00.000Z``."""
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day, tzinfo=UTC)
    return (
        value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    )


def company_id(index: int) -> str:
    """The HubSpot id of synthetic account ``index``."""
    return str(COMPANY_ID_BASE + index)


def companies(data: SyntheticData) -> Iterator[tuple[str, dict[str, str]]]:
    """``(id, properties)`` of every seeded company, all values strings as HubSpot sends them."""
    for index, account in enumerate(data.iter_accounts()):
        rng = random.Random(data.seed * 31 + index)
        cid = company_id(index)
        modified = iso(account.last_modified or data.as_of)
        props = {
            "hs_object_id": cid,
            "name": account.name or "",
            "domain": account.domain or "",
            "createdate": modified,
            "hs_lastmodifieddate": modified,
        }
        if account.industry:
            props["industry"] = rng.choice(INDUSTRY_VALUES[account.industry])
        if account.employees is not None:
            props["numberofemployees"] = str(account.employees)
        if account.annual_revenue is not None:
            props["annualrevenue"] = str(int(account.annual_revenue))
        if account.country:
            props["country"] = rng.choice(
                _COUNTRY_SPELLINGS.get(account.country, (account.country,))
            )
        if account.tech_stack:
            props["web_technologies"] = ";".join(sorted(TECH_VALUES[t] for t in account.tech_stack))
        yield cid, props


def deals(data: SyntheticData) -> Iterator[tuple[str, str, dict[str, str]]]:
    """``(deal id, company id, properties)`` of every seeded deal."""
    for index, opp in enumerate(data.iter_opportunities()):
        did = str(DEAL_ID_BASE + index)
        account_index = int((opp.account_id or "A0")[1:])
        stage = _STAGE_OF[opp.stage or "Prospecting"]
        props = {
            "hs_object_id": did,
            "dealname": f"Deal {index}",
            "pipeline": "default",
            "dealstage": stage,
            "amount": f"{opp.amount:.2f}" if opp.amount is not None else "",
            "createdate": iso(opp.created) if opp.created else "",
            "closedate": iso(opp.closed) if opp.closed else "",
            "hs_is_closed": "true" if opp.is_closed else "false",
            "hs_is_closed_won": "true" if opp.is_won else "false",
            "hs_lastmodifieddate": iso(opp.last_modified or data.as_of),
        }
        yield did, company_id(account_index), props


EPOCH_ISO = "2020-01-01T00:00:00.000Z"


def iso_ms(epoch_s: float) -> str:
    """HubSpot's datetime string for a Unix time in seconds."""
    return iso(datetime.fromtimestamp(epoch_s, tz=UTC))

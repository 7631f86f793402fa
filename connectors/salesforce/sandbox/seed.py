"""Seed data: the shared synthetic accounts and deals in Salesforce's own vocabulary.

Ids look like real 18-character Salesforce ids (``001...`` accounts, ``006...``
opportunities) with the case-safe checksum suffix.
"""

from __future__ import annotations

import string
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from typing import Any

from icpsync.core.synthetic import SyntheticData

_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
_SUFFIX = string.ascii_uppercase + "012345"


def sf_id(prefix: str, number: int) -> str:
    """An 18-character id: 3-char key prefix, 12-char body, 3-char checksum."""
    body = ""
    while number:
        number, digit = divmod(number, 62)
        body = _BASE62[digit] + body
    id15 = f"{prefix}5g0{body:0>9}"[:15]
    suffix = ""
    for chunk in range(3):
        part = id15[chunk * 5 : chunk * 5 + 5]
        flags = sum(1 << i for i, c in enumerate(part) if c.isupper())
        suffix += _SUFFIX[flags]
    return id15 + suffix


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def accounts(data: SyntheticData) -> Iterator[dict[str, Any]]:
    """Account records of the data set."""
    for index, account in enumerate(data.iter_accounts()):
        modified = _aware(account.last_modified or data.as_of)
        yield {
            "Id": sf_id("001", index + 1),
            "Name": account.name,
            "Website": f"https://www.{account.domain}" if account.domain else None,
            "Industry": account.industry,
            "Type": "Prospect",
            "NumberOfEmployees": account.employees,
            "AnnualRevenue": account.annual_revenue,
            "BillingCountry": account.country,
            "BillingState": None,
            "Tech_Stack__c": ";".join(sorted(account.tech_stack)) or None,
            "CreatedDate": modified - timedelta(days=400),
            "LastModifiedDate": modified,
            "SystemModstamp": modified,
            "IsDeleted": False,
        }


def opportunities(data: SyntheticData) -> Iterator[dict[str, Any]]:
    """Opportunity records of the data set, linked to the accounts' Salesforce ids."""
    for index, opp in enumerate(data.iter_opportunities()):
        account_index = int(str(opp.account_id).lstrip("A") or 0)
        created = datetime.combine(opp.created or data.as_of.date(), time(9), tzinfo=UTC)
        close = opp.closed or (created + timedelta(days=90)).date()
        modified = _aware(opp.last_modified or data.as_of)
        yield {
            "Id": sf_id("006", index + 1),
            "Name": f"Deal {index + 1}",
            "AccountId": sf_id("001", account_index + 1),
            "StageName": opp.stage,
            "IsClosed": opp.is_closed,
            "IsWon": opp.is_won,
            "Amount": opp.amount,
            "CloseDate": close,
            "CreatedDate": created,
            "LastModifiedDate": modified,
            "SystemModstamp": modified,
            "IsDeleted": False,
        }

"""Dynamic company lists on the ICP tier, through the Lists API v3 (``client.crm.lists``).

"ICP Tier 1 companies", "ICP Tier 2 companies" and "Anti-ICP companies": dynamic lists
(``processingType`` DYNAMIC, companies ``0-2``) whose filter is the tier property
``IS_ANY_OF`` the tier's option (the Lists API's operators; the search API's ``EQ`` is
refused). Reps use them as saved views and in workflows and sequences. Each list is looked
up by name first: a missing one is created, one whose filter differs is updated, a matching
one is left alone. HubSpot fills dynamic lists asynchronously, so a fresh list's size may
read 0 for a while.
"""

from __future__ import annotations

from typing import Any

from hubspot.crm.lists import (
    ListCreateRequest,
    ListFilterUpdateRequest,
    PublicAndFilterBranch,
    PublicEnumerationPropertyOperation,
    PublicOrFilterBranch,
    PublicPropertyFilter,
)

from icpsync.connectors.hubspot.client import HubSpotApi, RequestRefused
from icpsync.connectors.hubspot.values import TIER_VALUE
from icpsync.core.model import ANTI_ICP, TIER_1, TIER_2
from icpsync.engine.protocol import PlanStep

COMPANIES = "0-2"
#: (list name, tier)
LISTS = (
    ("ICP Tier 1 companies", TIER_1),
    ("ICP Tier 2 companies", TIER_2),
    ("Anti-ICP companies", ANTI_ICP),
)
PAGE = 250


def filter_branch(prop: str, tier: str) -> PublicOrFilterBranch:
    """``OR`` of one ``AND`` branch: the tier property is the tier's option."""
    operation = PublicEnumerationPropertyOperation(
        operation_type="ENUMERATION",
        operator="IS_ANY_OF",
        values=[TIER_VALUE[tier]],
        include_objects_with_no_value_set=False,
    )
    condition = PublicPropertyFilter(_property=prop, filter_type="PROPERTY", operation=operation)
    inner = PublicAndFilterBranch(
        filter_branch_type="AND",
        filter_branch_operator="AND",
        filter_branches=[],
        filters=[condition],
    )
    return PublicOrFilterBranch(
        filter_branch_type="OR", filter_branch_operator="OR", filter_branches=[inner], filters=[]
    )


def _wanted(prop: str, tier: str) -> list[tuple[str, str, tuple[str, ...]]]:
    return [(prop, "IS_ANY_OF", (TIER_VALUE[tier],))]


def _conditions(branch: dict[str, Any] | None) -> list[tuple[str, str, tuple[str, ...]]]:
    """The (property, operator, values) of a list's filter, read from its JSON."""
    out = []
    for child in (branch or {}).get("filterBranches") or []:
        for flt in child.get("filters") or []:
            operation = flt.get("operation") or {}
            values = tuple(operation.get("values") or [])
            out.append((str(flt.get("property")), str(operation.get("operator")), values))
    return out


class TierLists:
    """Plans, creates and deletes the tool's company lists; counts their members."""

    def __init__(self, api: HubSpotApi, tier_property: str):
        self.api, self.prop = api, tier_property

    def find(self, name: str) -> dict[str, Any] | None:
        """A list by name, with its filters (raw JSON), or None."""
        try:
            data: dict[str, Any] = self.api.call(
                "lists",
                self.api.lists.get_by_name,
                name,
                COMPANIES,
                include_filters=True,
                raw=True,
            )
        except RequestRefused as exc:
            if exc.status == 404:
                return None
            raise
        return dict(data["list"])

    def ensure(self, *, dry_run: bool) -> list[PlanStep]:
        steps = []
        for name, tier in LISTS:
            found = self.find(name)
            if found is None:
                if not dry_run:
                    request = ListCreateRequest(
                        name=name,
                        object_type_id=COMPANIES,
                        processing_type="DYNAMIC",
                        filter_branch=filter_branch(self.prop, tier),
                    )
                    self._create(name, request)
                steps.append(PlanStep("create list", name, f"{self.prop} is {tier}", not dry_run))
            elif _conditions(found.get("filterBranch")) != _wanted(self.prop, tier):
                if not dry_run:
                    update = ListFilterUpdateRequest(filter_branch=filter_branch(self.prop, tier))
                    self.api.call(
                        "lists",
                        self.api.lists.update_list_filters,
                        found["listId"],
                        update,
                        raw=True,
                    )
                steps.append(PlanStep("update list", name, f"{self.prop} is {tier}", not dry_run))
            else:
                steps.append(PlanStep("unchanged", f"list {name}", f"id {found['listId']}", True))
        return steps

    def _create(self, name: str, request: ListCreateRequest) -> None:
        """Create (retried); a 400 for a list that now exists (a retried request whose
        response was lost had landed) counts as done."""
        try:
            self.api.call("lists", self.api.lists.create, request, raw=True)
        except RequestRefused as exc:
            if exc.status != 400 or self.find(name) is None:
                raise

    def remove(self, *, dry_run: bool) -> list[PlanStep]:
        steps = []
        for name, _ in LISTS:
            found = self.find(name)
            if found is None:
                continue
            if not dry_run:
                self.api.call("lists", self.api.lists.remove, found["listId"])
            steps.append(PlanStep("delete list", name, f"id {found['listId']}", not dry_run))
        return steps

    def members(self, list_id: str) -> list[str]:
        """Every record id in a list (pages of 250)."""
        ids: list[str] = []
        after: str | None = None
        while True:
            kwargs: dict[str, Any] = {"limit": PAGE}
            if after:
                kwargs["after"] = after
            page = self.api.call(
                "list_members", self.api.list_members.get_page, list_id, raw=True, **kwargs
            )
            ids += [str(r["recordId"]) for r in page.get("results") or []]
            after = ((page.get("paging") or {}).get("next") or {}).get("after")
            if not after:
                return ids

    def sizes(self) -> dict[str, int | None]:
        """Members per list (None: the list does not exist)."""
        out: dict[str, int | None] = {}
        for name, _ in LISTS:
            found = self.find(name)
            out[name] = None if found is None else len(self.members(str(found["listId"])))
        return out

"""Seeded Account page layouts, as an admin built them: sections, related lists, buttons.

Written in the Metadata API's own XML (element order of the WSDL), including the
``Custom Links`` section whose three columns are empty: a read-modify-write that loses
empty columns changes the layout's shape, and the tests compare before and after.
"""

from __future__ import annotations

import re
from xml.sax.saxutils import escape

MD = "http://soap.sforce.com/2006/04/metadata"


def _items(fields: list[tuple[str, str]]) -> str:
    return "".join(
        f"<layoutItems><behavior>{b}</behavior><field>{f}</field></layoutItems>" for f, b in fields
    )


def _section(label: str, style: str, *columns: list[tuple[str, str]], edit: bool = True) -> str:
    cols = "".join(
        f"<layoutColumns>{_items(c)}</layoutColumns>" if c else "<layoutColumns/>" for c in columns
    )
    return (
        "<layoutSections><customLabel>false</customLabel><detailHeading>true</detailHeading>"
        f"<editHeading>{str(edit).lower()}</editHeading><label>{escape(label)}</label>"
        f"{cols}<style>{style}</style></layoutSections>"
    )


def _related(name: str, fields: list[str], sort: str = "", exclude: str = "") -> str:
    parts = f"<excludeButtons>{exclude}</excludeButtons>" if exclude else ""
    parts += "".join(f"<fields>{f}</fields>" for f in fields)
    parts += f"<relatedList>{name}</relatedList>"
    if sort:
        parts += f"<sortField>{sort}</sortField><sortOrder>Desc</sortOrder>"
    return f"<relatedLists>{parts}</relatedLists>"


def _layout(full_name: str, buttons: str, sections: list[str], related: list[str]) -> str:
    return (
        f'<Layout xmlns="{MD}"><fullName>{escape(full_name)}</fullName>{buttons}'
        + "".join(sections)
        + "".join(related)
        + "<showEmailCheckbox>false</showEmailCheckbox>"
        "<showHighlightsPanel>true</showHighlightsPanel>"
        "<showInteractionLogPanel>true</showInteractionLogPanel>"
        "<showRunAssignmentRulesCheckbox>false</showRunAssignmentRulesCheckbox>"
        "<showSubmitAndAttachButton>false</showSubmitAndAttachButton></Layout>"
    )


def account_layouts(without_fields: tuple[str, ...] = ()) -> list[str]:
    """Two Account layouts (full names percent-encoded as the Metadata API lists them),
    without the fields the org lacks (a real layout cannot hold a field that does not exist)."""
    custom_links = _section("Custom Links", "CustomLinks", [], [], [], edit=False)
    standard = _layout(
        "Account-Account Layout",
        "<excludeButtons>Submit</excludeButtons><excludeButtons>IncludeOffline</excludeButtons>",
        [
            _section(
                "Account Information",
                "TwoColumnsTopToBottom",
                [
                    ("OwnerId", "Edit"),
                    ("Name", "Required"),
                    ("ParentId", "Edit"),
                    ("Website", "Edit"),
                ],
                [
                    ("Type", "Edit"),
                    ("Industry", "Edit"),
                    ("AnnualRevenue", "Edit"),
                    ("NumberOfEmployees", "Edit"),
                ],
            ),
            _section(
                "Address Information",
                "TwoColumnsLeftToRight",
                [("BillingAddress", "Edit")],
                [("ShippingAddress", "Edit")],
            ),
            _section(
                "Additional Information",
                "TwoColumnsTopToBottom",
                [("Tech_Stack__c", "Edit")],
                [],
            ),
            _section(
                "System Information",
                "TwoColumnsTopToBottom",
                [("CreatedById", "Readonly")],
                [("LastModifiedById", "Readonly")],
                edit=False,
            ),
            _section("Description Information", "OneColumn", [("Description", "Edit")]),
            custom_links,
        ],
        [
            _related(
                "RelatedContactList",
                ["FULL_NAME", "CONTACT.TITLE", "CONTACT.EMAIL", "CONTACT.PHONE1"],
            ),
            _related(
                "RelatedOpportunityList",
                [
                    "OPPORTUNITY.NAME",
                    "OPPORTUNITY.STAGE_NAME",
                    "OPPORTUNITY.AMOUNT",
                    "OPPORTUNITY.CLOSE_DATE",
                ],
                sort="OPPORTUNITY.CLOSE_DATE",
            ),
            _related(
                "RelatedActivityList",
                ["TASK.SUBJECT", "TASK.WHO_NAME", "ACTIVITY.TASK", "TASK.DUE_DATE"],
            ),
            _related("RelatedHistoryList", []),
        ],
    )
    marketing = _layout(
        "Account-Account %28Marketing%29 Layout",
        "<customButtons>Request_Enrichment</customButtons><excludeButtons>Submit</excludeButtons>",
        [
            _section(
                "Account Information",
                "TwoColumnsLeftToRight",
                [("Name", "Required"), ("Website", "Edit"), ("Industry", "Edit")],
                [("OwnerId", "Edit"), ("NumberOfEmployees", "Edit"), ("BillingCountry", "Edit")],
            ),
            _section(
                "Campaign Fit", "OneColumn", [("Tech_Stack__c", "Edit"), ("Description", "Edit")]
            ),
            custom_links,
        ],
        [
            _related("RelatedContactList", ["FULL_NAME", "CONTACT.EMAIL"], exclude="New"),
            _related("RelatedCampaignList", ["CAMPAIGN.NAME", "CAMPAIGN.STATUS"]),
        ],
    )
    return [_without(layout, without_fields) for layout in (standard, marketing)]


def _without(layout: str, fields: tuple[str, ...]) -> str:
    for name in fields:
        layout = re.sub(
            rf"<layoutItems><behavior>\w+</behavior><field>{re.escape(name)}</field>"
            r"</layoutItems>",
            "",
            layout,
        )
    return layout

"""Account list views on the ICP tier, through ``sf.mdapi.ListView``.

Each view is read first: a missing one is created, one that differs from what the tool
wants is updated, a matching one is left alone.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from icpsync.connectors.salesforce.api import Api
from icpsync.connectors.salesforce.metadata import md_call


@dataclass(frozen=True)
class ViewSpec:
    """One list view: API name (after ``Account.``), label, scope and the tier it shows."""

    name: str
    label: str
    scope: str
    tier: str


VIEWS = (
    ViewSpec("ICP_Tier_1", "ICP Tier 1 accounts", "Everything", "Tier 1"),
    ViewSpec("My_ICP_Tier_1", "My ICP Tier 1 accounts", "Mine", "Tier 1"),
    ViewSpec("Anti_ICP", "Anti-ICP accounts", "Everything", "Anti-ICP"),
)


def columns(icp: Mapping[str, str]) -> list[str]:
    """Name, tier, score, owner, reasons (standard columns use the list-view names)."""
    return [
        "ACCOUNT.NAME",
        *(icp[k] for k in ("tier", "score") if k in icp),
        "CORE.USERS.ALIAS",
        *(icp[k] for k in ("reasons",) if k in icp),
    ]


class ListViews:
    """Plans, creates and deletes the tool's list views."""

    def __init__(self, api: Api, obj: str, icp: Mapping[str, str]):
        self.api, self.obj, self.icp = api, obj, icp

    def full_names(self) -> list[str]:
        return [f"{self.obj}.{v.name}" for v in VIEWS]

    def wanted(self, view: ViewSpec) -> dict[str, Any]:
        return {
            "fullName": f"{self.obj}.{view.name}",
            "label": view.label,
            "filterScope": view.scope,
            "columns": columns(self.icp),
            "filters": [{"field": self.icp["tier"], "operation": "equals", "value": view.tier}],
        }

    def read(self) -> dict[str, Any]:
        """The tool's views that exist, by full name."""
        found = md_call(self.api, "metadata_read", lambda md: md.ListView.read(self.full_names()))
        records = found if isinstance(found, list) else [found]
        return {r.fullName: r for r in records if r is not None and r.fullName}

    def ensure(self, *, dry_run: bool) -> list[Any]:
        from icpsync.engine.protocol import PlanStep

        steps = []
        current = self.read()
        to_create: list[dict[str, Any]] = []
        to_update: list[dict[str, Any]] = []
        for view in VIEWS:
            body = self.wanted(view)
            have = current.get(body["fullName"])
            if have is not None and _as_dict(have) == body:
                steps.append(
                    PlanStep("unchanged", f"list view {body['fullName']}", view.label, True)
                )
                continue
            (to_create if have is None else to_update).append(body)
            action = "create list view" if have is None else "update list view"
            steps.append(PlanStep(action, body["fullName"], view.label, not dry_run))
        if not dry_run:
            for kind, bodies in (("create", to_create), ("update", to_update)):
                if bodies:
                    md_call(self.api, f"metadata_{kind}", _send(kind, bodies))
        return steps

    def remove(self, *, dry_run: bool) -> list[Any]:
        from icpsync.engine.protocol import PlanStep

        names = sorted(self.read())
        if names and not dry_run:
            md_call(self.api, "metadata_delete", lambda md: md.ListView.delete(names))
        return [PlanStep("delete list view", n, "", not dry_run) for n in names]


def _send(kind: str, bodies: list[dict[str, Any]]) -> Callable[[Any], None]:
    def send(md: Any) -> None:
        getattr(md.ListView, kind)([md.ListView(**_typed(md, body)) for body in bodies])

    return send


def _typed(md: Any, body: dict[str, Any]) -> dict[str, Any]:
    return {**body, "filters": [md.ListViewFilter(**f) for f in body["filters"]]}


def _as_dict(view: Any) -> dict[str, Any]:
    return {
        "fullName": view.fullName,
        "label": view.label,
        "filterScope": view.filterScope,
        "columns": list(view.columns or []),
        "filters": [
            {"field": f.field, "operation": f.operation, "value": f.value}
            for f in view.filters or []
        ],
    }

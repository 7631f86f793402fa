"""The HubSpot connector under the contract: the sandbox portal over HTTP.

The portal runs with limits far above what these few calls need (rate limits have their
own tests beside the connector). A person's edits and overrides go through the API with
the real client, as a user's script or the HubSpot app would send them.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from hubspot.crm.companies import (
    BatchInputSimplePublicObjectBatchInput,
    SimplePublicObjectBatchInput,
)

from contract.harness import (
    ACCOUNTS,
    OPPORTUNITIES,
    REVOKE_ACCESS,
    SEED,
    SPURIOUS_401,
    HarnessBase,
    Held,
    seed_index,
    split_flags,
)
from icpsync.connectors.hubspot.client import HubSpotApi
from icpsync.connectors.hubspot.sandbox import ICP_VALUES, Sandbox, edit_accounts
from icpsync.connectors.hubspot.sandbox.properties import default_groups
from icpsync.connectors.hubspot.sandbox.seed import DEAL_ID_BASE, company_id
from icpsync.connectors.hubspot.values import TIER_LABEL, TIER_VALUE

OVERRIDE = "icp_tier_override"


class HubSpotCrm(HarnessBase):
    """A sandbox portal seeded with the contract's data."""

    name: ClassVar[str] = "hubspot"
    needs_install: ClassVar[bool] = True
    edits_seen_by_incremental: ClassVar[bool] = True
    cannot: ClassVar[Mapping[str, str]] = {
        SPURIOUS_401: "a private-app token does not expire and HubSpot answers no spurious "
        "401: a 401 means the token was rotated or revoked (see " + REVOKE_ACCESS + ")"
    }

    def __init__(self, folder: Path):
        super().__init__(folder)
        self.box = Sandbox(
            accounts=ACCOUNTS,
            opportunities=OPPORTUNITIES,
            seed=SEED,
            rate_limit=10_000,
            search_per_second=100,
        )
        assert self.box.data == self.data
        #: the portals started, by number (1: the seeded one; 2...: see ``use_org``).
        self._boxes = {1: self.box}

    def start(self) -> None:
        self.box.start()

    def stop(self) -> None:
        self.close_state()
        for box in self._boxes.values():
            box.stop()

    def restore(self) -> None:
        self.box = self._boxes[1]
        for box in self._boxes.values():
            box.restore()
            box.portal.reject_whole_batch = False
            box.limits.fault_rate = 0.0
            box.limits.__dict__.pop("fault", None)  # an access revocation's trigger

    def connection(self) -> dict[str, Any]:
        return self.box.settings_overrides(retry_backoff_s=0.01)

    def account_id(self, seed_id: str) -> str:
        return company_id(seed_index(seed_id))

    def opportunity_id(self, seed_id: str) -> str:
        return str(DEAL_ID_BASE + seed_index(seed_id))

    # -- observed from outside -------------------------------------------------------

    def reset_counts(self) -> None:
        self.box.reset_stats()

    def write_counts(self) -> Counter[str]:
        return self.box.write_counts()

    def held(self) -> dict[str, Held]:
        held = {}
        for rid, (score, tier, flags, reasons, version) in self.box.values(ICP_VALUES).items():
            held[rid] = Held(
                round(float(score)) if score else None,
                TIER_LABEL.get(tier or "", tier or None),
                split_flags(flags),
                reasons or None,
                version or None,
            )
        return held

    def overrides(self) -> dict[str, str]:
        return {rid: TIER_LABEL[v[0]] for rid, v in self.box.values((OVERRIDE,)).items() if v[0]}

    def schema(self) -> frozenset[str]:
        portal = self.box.portal
        with portal.lock:
            made = {
                f"property {kind} {json.dumps(prop, sort_keys=True)}"
                for kind, props in portal.properties.items()
                for prop in props.values()
                if not prop["hubspotDefined"]
            }
            built_in = default_groups()
            made |= {
                f"group {kind} {json.dumps(group, sort_keys=True)}"
                for kind, groups in portal.schema.groups.items()
                for name, group in groups.items()
                if name not in built_in[kind]
            }
        return frozenset(made)

    # -- what a person does ----------------------------------------------------------

    def edit_accounts(self, n: int, seed: int) -> list[str]:
        return edit_accounts(self.settings(), n, seed)

    def set_override(self, account_id: str, tier: str) -> None:
        self._update(account_id, {OVERRIDE: TIER_VALUE[tier]})

    def _update(self, account_id: str, properties: dict[str, str]) -> None:
        """One company's properties, updated through the API as a user's script would."""
        api = HubSpotApi.from_settings(self.settings().hubspot)
        try:
            body = BatchInputSimplePublicObjectBatchInput(
                inputs=[SimplePublicObjectBatchInput(id=account_id, properties=properties)]
            )
            api.call_once("batch_update", api.companies_batch.update, body)
        finally:
            api.close()

    def reject_writes(self, ids: list[str]) -> None:
        self.box.reject_writes(ids)

    # -- left alone for a month ------------------------------------------------------

    def rep_sets_tier(self, account_id: str, tier: str) -> None:
        self._update(account_id, {"icp_tier": TIER_VALUE[tier]})

    def reject_whole_batch(self, on: bool) -> None:
        with self.box.portal.lock:
            self.box.portal.reject_whole_batch = on

    def inject_faults(self, rate: float) -> None:
        """Every kind of :mod:`~icpsync.connectors.hubspot.sandbox.limits` at ``rate``, and
        for sure a 503, a lost response, a 429 and a 207 on the first batch updates."""
        self.box.reset_stats()
        self.box.limits.fault_rate = rate
        if rate:
            self.box.limits.inject("batch_update_companies", "503", "timeout", "429", "207")

    def faults_injected(self) -> int:
        stats = self.box.stats()
        return sum(n for kind, n in stats.items() if kind.startswith("fault_"))

    def spurious_401s(self, count: int) -> None:
        raise NotImplementedError(self.cannot[SPURIOUS_401])

    def revoke_access_after(self, writes: int) -> None:
        box, fault = self.box, self.box.limits.fault

        def revoking(kind: str, partial_possible: bool) -> str | None:
            if sum(box.write_counts().values()) >= writes:
                box.revoke_token()
            return fault(kind, partial_possible)

        box.limits.fault = revoking  # type: ignore[method-assign]

    def budget(self, calls: int | None) -> None:
        if calls is None:
            self._section.pop("daily_budget_share", None)
            return
        limits = self.box.limits
        left = limits.daily_limit - limits.daily_used
        self._section["daily_budget_share"] = (calls + 0.5) / left

    def use_org(self, number: int) -> str:
        if number not in self._boxes:
            box = Sandbox(
                accounts=ACCOUNTS,
                opportunities=OPPORTUNITIES,
                seed=SEED,
                org=number,
                rate_limit=10_000,
                search_per_second=100,
            )
            self._boxes[number] = box.start()
            self.box = box
            self.install()
        self.box = self._boxes[number]
        return str(self.box.portal.portal_id)

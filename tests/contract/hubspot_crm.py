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
    SEED,
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
    cannot: ClassVar[Mapping[str, str]] = {}

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

    def start(self) -> None:
        self.box.start()

    def stop(self) -> None:
        self.close_state()
        self.box.stop()

    def restore(self) -> None:
        self.box.restore()

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
        api = HubSpotApi.from_settings(self.settings().hubspot)
        try:
            body = BatchInputSimplePublicObjectBatchInput(
                inputs=[
                    SimplePublicObjectBatchInput(
                        id=account_id, properties={OVERRIDE: TIER_VALUE[tier]}
                    )
                ]
            )
            api.call_once("batch_update", api.companies_batch.update, body)
        finally:
            api.close()

    def reject_writes(self, ids: list[str]) -> None:
        self.box.reject_writes(ids)
